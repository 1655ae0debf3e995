"""The hoster's configuration (PROTOCOL.md 7.1): a TOML file read into frozen dataclasses.

Every problem raises ``ConfigError(key, problem)`` naming the dotted key (``issuers[1].secrets``),
so start-up can stop with one clear line. Secret values never appear in a message."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from hoster_compliance.errors import ConfigError
from hoster_compliance.protocol.signing import decode_secret
from hoster_compliance.vocabulary import MEMBER_STATES, REGIMES

if TYPE_CHECKING:
    from hoster_compliance.config_mail import MailConfig

_ISSUER_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOP_KEYS = (
    "hoster_id", "service_name", "provider_name", "database_url", "operator_tokens",
    "operator_tokens_env", "max_body_bytes", "timestamp_tolerance_seconds",
    "callback_timeout_seconds", "issuers", "mail",
)
_ISSUER_KEYS = (
    "id", "name", "member_state", "secrets", "secrets_env", "api_base", "default_regime",
)


@dataclass(frozen=True)
class IssuerConfig:
    """One registered issuer; ``secrets`` are all accepted, the last one signs callbacks."""

    id: str
    member_state: str
    secrets: tuple[str, ...] = field(repr=False)
    api_base: str
    name: str | None = None
    default_regime: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "secrets", tuple(self.secrets))
        if isinstance(self.api_base, str):
            object.__setattr__(self, "api_base", self.api_base.rstrip("/"))
        if not self.secrets:
            raise ConfigError("secrets", "at least one secret is required")

    @property
    def signing_secret(self) -> str:
        """The newest secret (the last one), used to sign callbacks (PROTOCOL.md 1)."""
        return self.secrets[-1]


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

    def __post_init__(self) -> None:
        if self.service_name is None:
            object.__setattr__(self, "service_name", self.hoster_id)
        if self.provider_name is None:
            object.__setattr__(self, "provider_name", self.service_name)
        object.__setattr__(self, "operator_tokens", tuple(self.operator_tokens))
        object.__setattr__(self, "issuers", tuple(self.issuers))
        object.__setattr__(self, "callback_timeout_seconds", float(self.callback_timeout_seconds))
        by_id: dict[str, IssuerConfig] = {}
        for position, issuer in enumerate(self.issuers):
            if issuer.id in by_id:
                raise ConfigError(f"issuers[{position}].id", f"duplicate issuer id {issuer.id!r}")
            by_id[issuer.id] = issuer
        object.__setattr__(self, "_issuers_by_id", by_id)

    def issuer(self, issuer_id: str) -> IssuerConfig | None:
        """The configured issuer with this id, or None."""
        by_id: dict[str, IssuerConfig] = self.__dict__["_issuers_by_id"]
        return by_id.get(issuer_id)


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
    _no_unknown_keys(data, _TOP_KEYS, "")
    hoster_id = _string(_required(data, "hoster_id", ""), "hoster_id")
    service_name = _optional(data, "service_name", _string)
    provider_name = _optional(data, "provider_name", _string)
    database_url = _database_url(_required(data, "database_url", ""), "database_url", base_dir)
    tokens = _string_list(data, "operator_tokens", "", env, _check_token)
    numbers: dict[str, Any] = {}
    for key in ("max_body_bytes", "timestamp_tolerance_seconds"):
        if key in data:
            numbers[key] = _positive_int(data[key], key)
    if "callback_timeout_seconds" in data:
        numbers["callback_timeout_seconds"] = _positive_number(
            data["callback_timeout_seconds"], "callback_timeout_seconds"
        )
    issuers = _issuers(data, env)
    if "mail" in data:
        from hoster_compliance.config_mail import parse_mail  # it imports this module's checks

        numbers["mail"] = parse_mail(data["mail"], env)
    return Config(
        hoster_id=hoster_id, database_url=database_url, operator_tokens=tokens, issuers=issuers,
        service_name=service_name, provider_name=provider_name, **numbers,
    )


def _issuers(data: dict[str, Any], env: Mapping[str, str]) -> tuple[IssuerConfig, ...]:
    tables = _required(data, "issuers", "")
    if not isinstance(tables, list):
        raise ConfigError(
            "issuers", f"must be an array of tables ([[issuers]]), not {_kind(tables)}"
        )
    if not tables:
        raise ConfigError("issuers", "must not be empty: configure at least one issuer")
    issuers: list[IssuerConfig] = []
    seen: dict[str, int] = {}
    for position, table in enumerate(tables):
        prefix = f"issuers[{position}]."
        if not isinstance(table, dict):
            raise ConfigError(f"issuers[{position}]", f"must be a table, not {_kind(table)}")
        issuer = _issuer(table, prefix, env)
        if issuer.id in seen:
            raise ConfigError(
                prefix + "id",
                f"duplicate issuer id {issuer.id!r} (also issuers[{seen[issuer.id]}].id)",
            )
        seen[issuer.id] = position
        issuers.append(issuer)
    return tuple(issuers)


def _issuer(table: dict[str, Any], prefix: str, env: Mapping[str, str]) -> IssuerConfig:
    _no_unknown_keys(table, _ISSUER_KEYS, prefix)
    issuer_id = _string(_required(table, "id", prefix), prefix + "id")
    if not _ISSUER_ID.fullmatch(issuer_id) or set(issuer_id) == {"."}:
        raise ConfigError(
            prefix + "id", "must be 1-128 characters of A-Z a-z 0-9 . _ - (and not only dots)"
        )
    name = _optional(table, "name", _string, prefix)
    member_state = _member_state(_required(table, "member_state", prefix), prefix + "member_state")
    secrets = _string_list(table, "secrets", prefix, env, _check_secret)
    api_base = _api_base(_required(table, "api_base", prefix), prefix + "api_base")
    regime = _optional(table, "default_regime", _string, prefix)
    if regime is not None and regime not in REGIMES:
        raise ConfigError(prefix + "default_regime", f"must be one of {', '.join(REGIMES)}")
    return IssuerConfig(
        id=issuer_id, member_state=member_state, secrets=secrets, api_base=api_base,
        name=name, default_regime=regime,
    )


# -- single values ---------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """The TOML name of a parsed value's type, for messages (never the value itself)."""
    if isinstance(value, bool):
        return "a boolean"
    for types, name in (
        (str, "a string"), (int, "an integer"), (float, "a float"), (list, "an array"),
        (dict, "a table"), (dt.datetime, "a date-time"), (dt.date, "a date"), (dt.time, "a time"),
    ):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _no_unknown_keys(table: dict[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(prefix + key, f"unknown key{hint}")


def _required(table: dict[str, Any], key: str, prefix: str) -> Any:
    if key not in table:
        raise ConfigError(prefix + key, "required key is missing")
    return table[key]


def _optional(
    table: dict[str, Any], key: str, check: Callable[[Any, str], Any], prefix: str = ""
) -> Any:
    return check(table[key], prefix + key) if key in table else None


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, not {_kind(value)}")
    if not value.strip():
        raise ConfigError(key, "must not be empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ConfigError(key, "must not contain control characters")
    return value


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, not {_kind(value)}")
    if value <= 0:
        raise ConfigError(key, "must be a positive integer")
    return value


def _positive_number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, not {_kind(value)}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(key, "must be a positive, finite number")
    return float(value)


def _member_state(value: Any, key: str) -> str:
    code = _string(value, key)
    if code in MEMBER_STATES:
        return code
    if code.upper() == "GR":
        raise ConfigError(key, "Eurostat writes Greece as EL, not GR")
    if code.upper() in MEMBER_STATES:
        raise ConfigError(key, f"write the code in upper case: {code.upper()}")
    raise ConfigError(
        key, f"must be the Eurostat code of an EU Member State ({' '.join(sorted(MEMBER_STATES))})"
    )


def _api_base(value: Any, key: str) -> str:
    url = _string(value, key)
    if any(c.isspace() for c in url):
        raise ConfigError(key, "must not contain white space")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ConfigError(key, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, "must be an absolute http:// or https:// URL")
    if "?" in url or "#" in url:
        raise ConfigError(key, "must not have a query or fragment (callback paths are appended)")
    if "@" in parts.netloc:
        raise ConfigError(key, "must not contain credentials (callbacks are signed instead)")
    return url.rstrip("/")


def _database_url(value: Any, key: str, base_dir: str) -> str:
    url = _string(value, key)
    if url.startswith("sqlite:///"):
        path, sep, query = url[len("sqlite:///"):].partition("?")
        if not path:
            raise ConfigError(key, "names no database file (write sqlite:///FILE)")
        if path == ":memory:" or path.startswith("file:") or os.path.isabs(path):
            return url
        return "sqlite:///" + os.path.normpath(os.path.join(base_dir, path)) + sep + query
    for prefix in ("postgresql+psycopg://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
            try:
                make_url(url)
            except ValueError:  # SQLAlchemy's ArgumentError is a ValueError too
                raise ConfigError(key, "is not a valid PostgreSQL URL") from None
            return url
    if url.startswith("postgres://"):
        raise ConfigError(key, "write postgresql://, not postgres://")
    if url.startswith("postgresql+"):
        raise ConfigError(key, "only the psycopg driver is supported: postgresql+psycopg://")
    raise ConfigError(key, "must start with sqlite:/// or postgresql://")


# -- lists of secrets, from the file or the environment --------------------------------------


def _env_variable(value: Any, key: str, env: Mapping[str, str]) -> str:
    """The non-empty value of the environment variable whose name ``value`` is (``*_env``)."""
    variable = _string(value, key)
    if not _ENV_NAME.fullmatch(variable):
        raise ConfigError(key, "must be the name of an environment variable")
    found = env.get(variable, "").strip()
    if not found:
        raise ConfigError(key, f"environment variable {variable} is unset or empty")
    return found


def _string_list(
    table: dict[str, Any],
    name: str,
    prefix: str,
    env: Mapping[str, str],
    check: Callable[[str, str, str], None],
) -> tuple[str, ...]:
    """``name`` as a non-empty list of strings, or from the variable named by ``name_env``."""
    key, env_key = prefix + name, prefix + name + "_env"
    if name + "_env" in table:
        if name in table:
            raise ConfigError(env_key, f"give either {name} or {name}_env, not both")
        variable = _string(table[name + "_env"], env_key)
        if not _ENV_NAME.fullmatch(variable):
            raise ConfigError(env_key, "must be the name of an environment variable")
        items = [item.strip() for item in env.get(variable, "").split(",")]
        items = [item for item in items if item]
        if not items:
            raise ConfigError(env_key, f"environment variable {variable} is unset or empty")
        for number, item in enumerate(items, start=1):
            check(item, env_key, f"item {number} of environment variable {variable} ")
        return tuple(items)
    if name not in table:
        raise ConfigError(key, f"required key is missing (or give {name}_env)")
    value = table[name]
    if not isinstance(value, list):
        raise ConfigError(key, f"must be an array of strings, not {_kind(value)}")
    if not value:
        raise ConfigError(key, "must not be empty")
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{key}[{position}]", f"must be a string, not {_kind(item)}")
        check(item, f"{key}[{position}]", "")
    return tuple(value)


def _check_secret(secret: str, key: str, where: str) -> None:
    """Accepts exactly the secrets that signing accepts: one function decides."""
    try:
        decode_secret(secret)
    except ValueError as exc:  # its message never holds the secret
        raise ConfigError(key, f"{where}{exc}") from None


def _check_token(token: str, key: str, where: str) -> None:
    if not token:
        raise ConfigError(key, f"{where}must not be empty")
    if not all("!" <= c <= "~" for c in token):
        raise ConfigError(key, f"{where}must be printable ASCII without white space")
