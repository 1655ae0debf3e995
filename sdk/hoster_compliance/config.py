"""The hoster's configuration (PROTOCOL.md 7.1): a TOML file read into frozen dataclasses.

Every problem raises ``ConfigError(key, problem)`` naming the dotted key (``issuers[1].secrets``),
so start-up can stop with one clear line. Secret values never appear in a message."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hoster_compliance import config_values as check
from hoster_compliance.config_alerts import AlertChannel, check_period, parse_alert_settings
from hoster_compliance.config_hashcheck import HashcheckConfig, parse_hashcheck
from hoster_compliance.config_mail import MailConfig, parse_mail
from hoster_compliance.config_notices import NoticesConfig, parse_notices
from hoster_compliance.errors import ConfigError
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol.signing import Signer
from hoster_compliance.vocabulary import REGIMES, RESERVED_ISSUER_IDS

_ISSUER_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_TOP_KEYS = (
    "hoster_id", "service_name", "provider_name", "database_url", "operator_tokens",
    "operator_tokens_env", "max_body_bytes", "timestamp_tolerance_seconds",
    "callback_timeout_seconds", "signing_key_env", "issuers", "mail", "dashboard_url",
    "dashboard_secret_env", "hashcheck", "notices", "due_soon_at", "alert_check_seconds",
    "metrics_public", "alerts",
)
_ISSUER_KEYS = (
    "id", "name", "member_state", "secrets", "secrets_env", "public_keys", "public_keys_env",
    "api_base", "default_regime", "callback_signature",
)
#: How callbacks to an issuer are signed (PROTOCOL 1): with its newest secret (HMAC) or with
#: the hoster's own Ed25519 keys.
CALLBACK_SIGNATURES = ("v1", "v1a")


@dataclass(frozen=True, kw_only=True)
class IssuerConfig:
    """One registered issuer. Its requests verify against ``secrets`` (``v1``, all accepted) or
    ``public_keys`` (``v1a``, Ed25519 ``whpk_...``); it needs at least one of them. Callbacks
    to it are signed ``callback_signature``: ``v1`` with the newest (last) secret, ``v1a`` with
    the hoster's keys; the default is ``v1`` when it has secrets, else ``v1a``."""

    id: str
    member_state: str
    secrets: tuple[str, ...] = field(default=(), repr=False)
    api_base: str
    name: str | None = None
    default_regime: str | None = None
    public_keys: tuple[str, ...] = ()
    callback_signature: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "secrets", tuple(self.secrets))
        object.__setattr__(self, "public_keys", tuple(self.public_keys))
        if isinstance(self.api_base, str):
            object.__setattr__(self, "api_base", self.api_base.rstrip("/"))
        if not self.secrets and not self.public_keys:
            raise ConfigError("secrets", "at least one secret or public key is required")
        parsed = []
        for position, text in enumerate(self.public_keys):
            try:
                parsed.append(ed25519.parse_public_key(text))
            except ValueError as exc:
                raise ConfigError(f"public_keys[{position}]", str(exc)) from None
        object.__setattr__(self, "_verify_keys", tuple(parsed))
        if self.callback_signature is None:
            object.__setattr__(self, "callback_signature", "v1" if self.secrets else "v1a")
        elif self.callback_signature not in CALLBACK_SIGNATURES:
            raise ConfigError("callback_signature", "must be v1 or v1a")
        elif self.callback_signature == "v1" and not self.secrets:
            raise ConfigError("callback_signature",
                              "v1 callbacks are signed with the issuer's newest secret, and "
                              "this issuer has none (use v1a, or give secrets)")

    @property
    def signing_secret(self) -> str | None:
        """The newest secret (the last one), used to sign ``v1`` callbacks (PROTOCOL.md 1)."""
        return self.secrets[-1] if self.secrets else None

    @property
    def verify_keys(self) -> tuple[ed25519.Ed25519PublicKey, ...]:
        """``public_keys``, parsed once."""
        keys: tuple[ed25519.Ed25519PublicKey, ...] = self.__dict__["_verify_keys"]
        return keys


@dataclass(frozen=True)
class Config:
    """The whole configuration; build it with ``load_config`` or directly with keywords."""

    hoster_id: str
    database_url: str = field(repr=False)  # may hold a password
    operator_tokens: tuple[str, ...] = field(repr=False)
    issuers: tuple[IssuerConfig, ...]
    service_name: str | None = None
    provider_name: str | None = None
    max_body_bytes: int = 1048576
    timestamp_tolerance_seconds: int = 300
    callback_timeout_seconds: float = 15.0
    #: Outgoing mail (``[mail]``, config_mail.py); None when not configured.
    mail: MailConfig | None = None
    #: The hoster's Ed25519 signing keys (``whsk_...``), oldest first: all are published, all
    #: sign ``v1a`` callbacks (the newest first), so that an issuer still holding the old
    #: public key keeps verifying during a rotation.
    signing_keys: tuple[str, ...] = field(default=(), repr=False)
    #: Where people reach the dashboard (``https://...`` makes its cookie ``Secure``).
    dashboard_url: str | None = None
    #: The dashboard's session key, from ``dashboard_secret_env``; ``None``: a random key kept
    #: in the database (PROTOCOL 12).
    dashboard_secret: str | None = field(default=None, repr=False)
    #: Own-initiative detection (``[hashcheck]``, config_hashcheck.py); None when not configured.
    hashcheck: HashcheckConfig | None = None
    #: Notices from anyone (``[notices]``, config_notices.py).
    notices: NoticesConfig = field(default_factory=NoticesConfig)
    #: Alerts (PROTOCOL 9, config_alerts.py): ``due_soon`` is raised at this fraction of the
    #: time from receipt to deadline; alerts link to ``<dashboard_url>/ui/orders/...``.
    due_soon_at: float = 0.75
    #: How often a delivery worker looks for ``due_soon``/``overdue`` alerts and expired
    #: automation holds (PROTOCOL 9.2: within 30 s of their instant); at most 25 s.
    alert_check_seconds: float = 5.0
    metrics_public: bool = False
    alerts: tuple[AlertChannel, ...] = ()

    def __post_init__(self) -> None:
        if self.service_name is None:
            object.__setattr__(self, "service_name", self.hoster_id)
        if self.provider_name is None:
            object.__setattr__(self, "provider_name", self.service_name)
        object.__setattr__(self, "operator_tokens", tuple(self.operator_tokens))
        object.__setattr__(self, "issuers", tuple(self.issuers))
        object.__setattr__(self, "alerts", tuple(self.alerts))
        if any(a.channel == "email" for a in self.alerts) and self.mail is None:
            raise ConfigError("mail", "required: an alert channel sends e-mail")
        object.__setattr__(self, "callback_timeout_seconds", float(self.callback_timeout_seconds))
        object.__setattr__(self, "alert_check_seconds",
                           check_period(self.alert_check_seconds, "alert_check_seconds"))
        object.__setattr__(self, "signing_keys", tuple(self.signing_keys))
        parsed = []
        for position, text in enumerate(self.signing_keys):
            try:
                parsed.append(ed25519.parse_signing_key(text))
            except ValueError as exc:
                raise ConfigError(f"signing_keys[{position}]", str(exc)) from None
        object.__setattr__(self, "_signing_keys", tuple(parsed))
        by_id: dict[str, IssuerConfig] = {}
        key_owner: dict[str, int] = {}
        for position, issuer in enumerate(self.issuers):
            if issuer.id in by_id:
                raise ConfigError(f"issuers[{position}].id", f"duplicate issuer id {issuer.id!r}")
            if issuer.id in RESERVED_ISSUER_IDS:
                raise ConfigError(f"issuers[{position}].id",
                                  f"{issuer.id!r} is reserved (notices and own-initiative entries)")
            by_id[issuer.id] = issuer
            if issuer.callback_signature == "v1a" and not parsed:
                raise ConfigError(f"issuers[{position}].callback_signature",
                                  "v1a callbacks are signed with the hoster's own key: set "
                                  "signing_key_env (hoster-compliance keys generate)")
            for key in issuer.verify_keys:
                kid = ed25519.kid(key)
                if key_owner.setdefault(kid, position) != position:
                    raise ConfigError(
                        f"issuers[{position}].public_keys",
                        f"the public key {kid} is also issuers[{key_owner[kid]}]'s: each issuer "
                        "needs its own key, or one could send orders in the other's name")
        shared = check.shared_secret([issuer.secrets for issuer in self.issuers])
        if shared is not None:
            position, index, earlier = shared
            raise ConfigError(f"issuers[{position}].secrets[{index}]",
                              f"is also a secret of issuers[{earlier}]: each issuer needs its own")
        object.__setattr__(self, "_issuers_by_id", by_id)

    def issuer(self, issuer_id: str) -> IssuerConfig | None:
        """The configured issuer with this id, or None."""
        by_id: dict[str, IssuerConfig] = self.__dict__["_issuers_by_id"]
        return by_id.get(issuer_id)

    @property
    def hoster_signing_keys(self) -> tuple[ed25519.Ed25519PrivateKey, ...]:
        """``signing_keys``, parsed once (oldest first)."""
        keys: tuple[ed25519.Ed25519PrivateKey, ...] = self.__dict__["_signing_keys"]
        return keys

    def published_keys(self) -> dict[str, list[dict[str, str]]]:
        """``GET /.well-known/hoster-compliance/keys``: every public key of the hoster."""
        return {"keys": [ed25519.key_entry(key) for key in self.hoster_signing_keys]}

    def callback_signer(self, issuer: IssuerConfig) -> Signer:
        """How callbacks to ``issuer`` are signed: its newest secret (``v1``) or the hoster's
        Ed25519 keys (``v1a``)."""
        if issuer.callback_signature == "v1a":
            return Signer(keys=self.hoster_signing_keys)
        return Signer(secrets=(issuer.secrets[-1],))

    def alert_channel(self, name: str) -> AlertChannel | None:
        """The ``[[alerts]]`` channel with this name, or None."""
        return next((a for a in self.alerts if a.name == name), None)


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and check the TOML file at ``path``; ``environ`` (default ``os.environ``) serves
    ``secrets_env`` and ``operator_tokens_env``. Raises ConfigError on any problem."""
    name = os.fsdecode(path)
    try:
        with open(name, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(name, "no such file") from None
    except IsADirectoryError:
        raise ConfigError(name, "is a directory, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(name, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("config", "not valid UTF-8 (a TOML file is UTF-8 text)") from None
    base_dir = os.path.dirname(os.path.abspath(name))
    return _build(data, base_dir, os.environ if environ is None else environ)


def _build(data: dict[str, Any], base_dir: str, env: Mapping[str, str]) -> Config:
    check.no_unknown_keys(data, _TOP_KEYS, "")
    hoster_id = check.string(check.required(data, "hoster_id", ""), "hoster_id")
    service_name = check.optional(data, "service_name", check.string)
    provider_name = check.optional(data, "provider_name", check.string)
    database_url = check.database_url(
        check.required(data, "database_url", ""), "database_url", base_dir
    )
    tokens = check.string_list(data, "operator_tokens", "", env, check.check_token)
    numbers: dict[str, Any] = {}
    for key in ("max_body_bytes", "timestamp_tolerance_seconds"):
        if key in data:
            numbers[key] = check.positive_int(data[key], key)
    if "callback_timeout_seconds" in data:
        numbers["callback_timeout_seconds"] = check.positive_number(
            data["callback_timeout_seconds"], "callback_timeout_seconds"
        )
    signing_keys: tuple[str, ...] = ()
    if "signing_key_env" in data:
        signing_keys = check.string_list(data, "signing_key", "", env, check.check_signing_key)
    issuers = _issuers(data, env)
    if "mail" in data:
        numbers["mail"] = parse_mail(data["mail"], env)
    # the dashboard's address follows the rules of api_base (absolute http(s), no query, no
    # credentials; a trailing "/" dropped)
    dashboard_url = check.optional(data, "dashboard_url", check.api_base)
    dashboard_secret = check.optional(
        data, "dashboard_secret_env", lambda value, key: _dashboard_secret(value, key, env)
    )
    if "hashcheck" in data:
        numbers["hashcheck"] = parse_hashcheck(data["hashcheck"], env, base_dir)
    if "notices" in data:
        numbers["notices"] = parse_notices(data["notices"])
    numbers.update(parse_alert_settings(data, env, has_mail="mail" in numbers))
    return Config(
        hoster_id=hoster_id, database_url=database_url, operator_tokens=tokens, issuers=issuers,
        service_name=service_name, provider_name=provider_name, signing_keys=signing_keys,
        dashboard_url=dashboard_url, dashboard_secret=dashboard_secret, **numbers,
    )


def _issuers(data: dict[str, Any], env: Mapping[str, str]) -> tuple[IssuerConfig, ...]:
    tables = check.required(data, "issuers", "")
    if not isinstance(tables, list):
        raise ConfigError(
            "issuers", f"must be an array of tables ([[issuers]]), not {check.kind_of(tables)}"
        )
    if not tables:
        raise ConfigError("issuers", "must not be empty: configure at least one issuer")
    issuers: list[IssuerConfig] = []
    seen: dict[str, int] = {}
    for position, table in enumerate(tables):
        prefix = f"issuers[{position}]."
        if not isinstance(table, dict):
            raise ConfigError(
                f"issuers[{position}]", f"must be a table, not {check.kind_of(table)}"
            )
        issuer = _issuer(table, prefix, env)
        if issuer.id in seen:
            raise ConfigError(
                prefix + "id",
                f"duplicate issuer id {issuer.id!r} (also issuers[{seen[issuer.id]}].id)",
            )
        seen[issuer.id] = position
        issuers.append(issuer)
        shared = check.shared_secret([issuer.secrets for issuer in issuers])
        if shared is not None:
            _, index, earlier = shared
            key = prefix + ("secrets_env" if "secrets_env" in table else f"secrets[{index}]")
            raise ConfigError(key, f"is also a secret of issuers[{earlier}] "
                                   f"({issuers[earlier].id}): each issuer needs its own")
    return tuple(issuers)


def _issuer(table: dict[str, Any], prefix: str, env: Mapping[str, str]) -> IssuerConfig:
    check.no_unknown_keys(table, _ISSUER_KEYS, prefix)
    issuer_id = check.string(check.required(table, "id", prefix), prefix + "id")
    if not _ISSUER_ID.fullmatch(issuer_id) or set(issuer_id) == {"."}:
        raise ConfigError(
            prefix + "id", "must be 1-128 characters of A-Z a-z 0-9 . _ - (and not only dots)"
        )
    if issuer_id in RESERVED_ISSUER_IDS:
        raise ConfigError(prefix + "id", f"{issuer_id!r} is reserved (notices from the public, "
                          "the hoster's own detection)")
    name = check.optional(table, "name", check.string, prefix)
    member_state = check.member_state(
        check.required(table, "member_state", prefix), prefix + "member_state"
    )
    public_keys: tuple[str, ...] = ()
    if "public_keys" in table or "public_keys_env" in table:
        public_keys = check.string_list(table, "public_keys", prefix, env,
                                        check.check_public_key)
    secrets: tuple[str, ...] = ()
    if "secrets" in table or "secrets_env" in table:
        secrets = check.string_list(table, "secrets", prefix, env, check.check_secret)
    elif not public_keys:
        raise ConfigError(prefix + "secrets", "required key is missing (give secrets or "
                                              "secrets_env, or public_keys or public_keys_env)")
    api_base = check.api_base(check.required(table, "api_base", prefix), prefix + "api_base")
    regime = check.optional(table, "default_regime", check.string, prefix)
    if regime is not None and regime not in REGIMES:
        raise ConfigError(prefix + "default_regime", f"must be one of {', '.join(REGIMES)}")
    callback_signature = check.optional(table, "callback_signature", check.string, prefix)
    try:
        return IssuerConfig(
            id=issuer_id, member_state=member_state, secrets=secrets, api_base=api_base,
            name=name, default_regime=regime, public_keys=public_keys,
            callback_signature=callback_signature,
        )
    except ConfigError as exc:  # the cross-field rules of IssuerConfig, named in full here
        raise ConfigError(prefix + exc.key, exc.problem) from None


#: The shortest session key taken from ``dashboard_secret_env``: whoever guesses it can forge a
#: dashboard session, so it must be at least as strong as 32 random hex digits (128 bits).
MIN_DASHBOARD_SECRET = 32


def _dashboard_secret(value: Any, key: str, env: Mapping[str, str]) -> str:
    secret = check.env_variable(value, key, env)
    if len(secret) < MIN_DASHBOARD_SECRET:
        raise ConfigError(
            key, f"the environment variable must hold at least {MIN_DASHBOARD_SECRET} "
            "characters (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return secret
