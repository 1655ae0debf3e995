"""The ``[mail]`` table (PROTOCOL 9.1): how the hoster sends mail, to its own people (alerts) and
to notifiers (notices). Parsed by ``config.load_config`` into ``Config.mail``.

```toml
[mail]
smtp_url = "smtp://mail.example.nl:587"   # smtp:// (STARTTLS when offered) or smtps://
username = "compliance"                   # optional
password_env = "HC_SMTP_PASSWORD"         # optional; or password = "..."
from = "Example Hosting compliance <compliance@example.nl>"
```

Every problem raises ``ConfigError`` naming the dotted key; the password never appears in a
message or a repr."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address, AddressHeader
from typing import Any
from urllib.parse import urlsplit

from . import config_values as check
from .errors import ConfigError

#: Default ports: 25 for ``smtp://`` (plain SMTP, upgraded by STARTTLS when offered), 465 for
#: ``smtps://`` (TLS from the first byte).
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_MAIL_KEYS = ("smtp_url", "username", "password", "password_env", "from")


@dataclass(frozen=True)
class MailConfig:
    """Outgoing mail. ``sender`` is the ``from`` key (a display name and address, or an address).
    ``password`` is only sent after the connection is encrypted (see delivery/mail.py)."""

    smtp_url: str
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.smtp_url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ConfigError("mail.smtp_url", "must be smtp://HOST[:PORT] or smtps://HOST[:PORT]")
        if (self.username is None) != (self.password is None):
            raise ConfigError("mail.username", "username and password go together")

    @property
    def host(self) -> str:
        """The SMTP server's host name or address."""
        return urlsplit(self.smtp_url).hostname or ""

    @property
    def port(self) -> int:
        """The SMTP server's port (25 for smtp://, 465 for smtps:// unless given)."""
        parts = urlsplit(self.smtp_url)
        return parts.port or DEFAULT_PORTS[parts.scheme]

    @property
    def implicit_tls(self) -> bool:
        """True for ``smtps://`` (TLS from the first byte)."""
        return urlsplit(self.smtp_url).scheme == "smtps"


def parse_mail(table: Any, env: Mapping[str, str]) -> MailConfig:
    """The ``[mail]`` table as a MailConfig; ``env`` serves ``password_env``."""
    if not isinstance(table, dict):
        raise ConfigError("mail", "must be a table ([mail])")
    check.no_unknown_keys(table, _MAIL_KEYS, "mail.")
    url = _smtp_url(check.required(table, "smtp_url", "mail."), "mail.smtp_url")
    sender = _address(check.required(table, "from", "mail."), "mail.from")
    username = check.optional(table, "username", check.string, "mail.")
    password: str | None = None
    if "password" in table and "password_env" in table:
        raise ConfigError("mail.password_env", "give either password or password_env, not both")
    if "password" in table:
        password = check.string(table["password"], "mail.password")
    elif "password_env" in table:
        password = check.env_variable(table["password_env"], "mail.password_env", env)
    if username is None and password is not None:
        raise ConfigError("mail.username", "required when a password is given")
    if username is not None and password is None:
        raise ConfigError("mail.password", "required when a username is given (or password_env)")
    return MailConfig(smtp_url=url, sender=sender, username=username, password=password)


def _smtp_url(value: Any, key: str) -> str:
    url = check.string(value, key)
    if any(c.isspace() for c in url):
        raise ConfigError(key, "must not contain white space")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ConfigError(key, "is not a valid URL") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(key, "must be smtp://HOST[:PORT] or smtps://HOST[:PORT]")
    if "@" in parts.netloc:
        raise ConfigError(key, "must not contain credentials (use username and password)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(key, "must be only smtp://HOST[:PORT] or smtps://HOST[:PORT]")
    return url.rstrip("/")


def parse_address(text: str) -> Address:
    """One mail address, with or without a display name; ValueError when it is not exactly one
    address with a local part and a domain."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("control characters")
    try:
        parsed: dict[str, Any] = {}
        AddressHeader.parse(text, parsed)
    except (HeaderParseError, IndexError, ValueError):
        raise ValueError("not an address") from None
    groups = parsed.get("groups", ())
    addresses = [a for g in groups for a in g.addresses]
    if len(addresses) != 1 or parsed.get("defects"):
        raise ValueError("not exactly one address")
    address: Address = addresses[0]
    if not address.username or not address.domain:
        raise ValueError("needs a local part and a domain")
    return address


def _address(value: Any, key: str) -> str:
    text = check.string(value, key)
    try:
        parse_address(text)
    except ValueError:
        raise ConfigError(
            key, 'must be one mail address, e.g. "Compliance <compliance@example.nl>"'
        ) from None
    return text
