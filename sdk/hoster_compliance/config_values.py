"""The checks of single configuration values, shared by every section's parser (``config``,
``config_mail``, ...): each returns the checked value or raises ``ConfigError`` naming the key,
never echoing a secret."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from .errors import ConfigError
from .protocol import keys as ed25519
from .protocol.signing import decode_secret
from .vocabulary import MEMBER_STATES

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# -- single values ---------------------------------------------------------------------------


def kind_of(value: Any) -> str:
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


def no_unknown_keys(table: dict[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(prefix + key, f"unknown key{hint}")


def required(table: dict[str, Any], key: str, prefix: str) -> Any:
    if key not in table:
        raise ConfigError(prefix + key, "required key is missing")
    return table[key]


def optional(
    table: dict[str, Any], key: str, check: Callable[[Any, str], Any], prefix: str = ""
) -> Any:
    return check(table[key], prefix + key) if key in table else None


def string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, not {kind_of(value)}")
    if not value.strip():
        raise ConfigError(key, "must not be empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ConfigError(key, "must not contain control characters")
    return value


def positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, not {kind_of(value)}")
    if value <= 0:
        raise ConfigError(key, "must be a positive integer")
    return value


def positive_number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, not {kind_of(value)}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(key, "must be a positive, finite number")
    return float(value)


def member_state(value: Any, key: str) -> str:
    code = string(value, key)
    if code in MEMBER_STATES:
        return code
    if code.upper() == "GR":
        raise ConfigError(key, "Eurostat writes Greece as EL, not GR")
    if code.upper() in MEMBER_STATES:
        raise ConfigError(key, f"write the code in upper case: {code.upper()}")
    raise ConfigError(
        key, f"must be the Eurostat code of an EU Member State ({' '.join(sorted(MEMBER_STATES))})"
    )


def api_base(value: Any, key: str) -> str:
    url = string(value, key)
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
        raise ConfigError(key, "must not have a query or fragment (paths are appended to it)")
    if "@" in parts.netloc:
        raise ConfigError(key, "must not contain credentials")
    return url.rstrip("/")


def database_url(value: Any, key: str, base_dir: str) -> str:
    url = string(value, key)
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


def env_variable(value: Any, key: str, env: Mapping[str, str]) -> str:
    """The non-empty value of the environment variable whose name ``value`` is (``*_env``)."""
    variable = string(value, key)
    if not ENV_NAME.fullmatch(variable):
        raise ConfigError(key, "must be the name of an environment variable")
    found = env.get(variable, "").strip()
    if not found:
        raise ConfigError(key, f"environment variable {variable} is unset or empty")
    return found


def string_list(
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
        variable = string(table[name + "_env"], env_key)
        if not ENV_NAME.fullmatch(variable):
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
        raise ConfigError(key, f"must be an array of strings, not {kind_of(value)}")
    if not value:
        raise ConfigError(key, "must not be empty")
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{key}[{position}]", f"must be a string, not {kind_of(item)}")
        check(item, f"{key}[{position}]", "")
    return tuple(value)


#: PROTOCOL 13.3: shorter secrets and tokens can be guessed.
MIN_SECRET_BYTES = 16
MIN_TOKEN_CHARS = 16


def check_secret(secret: str, key: str, where: str) -> None:
    """Accepts the secrets that signing accepts (one function decides) that are long enough."""
    try:
        key_bytes = decode_secret(secret)
    except ValueError as exc:  # its message never holds the secret
        raise ConfigError(key, f"{where}{exc}") from None
    if len(key_bytes) < MIN_SECRET_BYTES:
        raise ConfigError(key, f"{where}is too short: {len(key_bytes)} bytes after base64 "
                               f"decoding, at least {MIN_SECRET_BYTES} are required "
                               "(hoster_compliance.protocol.signing.new_secret() makes one)")


def check_public_key(text: str, key: str, where: str) -> None:
    """An Ed25519 public key (``whpk_...``), as signing reads it."""
    try:
        ed25519.parse_public_key(text)
    except ValueError as exc:  # its message never holds the key
        raise ConfigError(key, f"{where}{exc}") from None


def check_signing_key(text: str, key: str, where: str) -> None:
    """An Ed25519 signing key (``whsk_...``), as signing reads it."""
    try:
        ed25519.parse_signing_key(text)
    except ValueError as exc:  # its message never holds the key
        raise ConfigError(key, f"{where}{exc}") from None


def check_token(token: str, key: str, where: str) -> None:
    if not token:
        raise ConfigError(key, f"{where}must not be empty")
    if not all("!" <= c <= "~" for c in token):
        raise ConfigError(key, f"{where}must be printable ASCII without white space")
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(key, f"{where}is too short: {len(token)} characters, at least "
                               f"{MIN_TOKEN_CHARS} are required")


def shared_secret(secret_lists: Sequence[Sequence[str]]) -> tuple[int, int, int] | None:
    """The first secret that an issuer (one list each, in order) shares with an earlier one,
    compared as the decoded key (``whsec_X`` and ``X`` are one secret): ``(position, secret
    index, earlier position)``; None when each has its own (PROTOCOL 13.3: one issuer could
    otherwise sign as another)."""
    owners: dict[bytes, int] = {}
    for position, secrets in enumerate(secret_lists):
        mine: set[bytes] = set()
        for index, secret in enumerate(secrets):
            try:
                key = decode_secret(secret)
            except ValueError:  # not base64: compared as written
                key = secret.encode("utf-8", "surrogatepass")
            if key in owners:
                return position, index, owners[key]
            mine.add(key)
        for key in mine:
            owners[key] = position
    return None
