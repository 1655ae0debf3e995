"""Alerts configuration (PROTOCOL 9.1 and 9.4): ``due_soon_at``, ``alert_check_seconds``,
``metrics_public`` and the ``[[alerts]]`` channels, parsed by ``config.load_config`` (alerts
link to the dashboard's ``dashboard_url``).

```toml
[[alerts]]
name = "abuse-desk"          # unique
channel = "email"            # email | webhook | pagerduty
to = ["abuse@example.nl"]    # email only
events = ["received", "overdue"]                # default: all (pagerduty also: resolved)
kinds = ["order", "notice", "own_initiative"]   # default: all
regimes = ["EU_TCO", "NL_ATKM"]                 # default: all
include_urls = false                            # default false
```

A webhook channel takes ``url`` or ``url_env``; a pagerduty channel ``routing_key`` or
``routing_key_env`` and optionally ``url``. Both URLs and the routing key are secrets (an incoming
webhook's URL is its password): never in a repr, a message or a stored alert."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import config_values as check
from .config_mail import parse_address
from .errors import ConfigError
from .vocabulary import KINDS, REGIMES

CHANNELS = ("email", "webhook", "pagerduty")
#: Every event of PROTOCOL 9.2, in its order.
EVENTS = ("received", "due_soon", "overdue", "resolved", "delivery_failed", "automation_failed",
          "test")
#: The events raised about one order and kept open as a PagerDuty incident until it is resolved.
ORDER_EVENTS = ("received", "due_soon", "overdue")
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_DUE_SOON_AT = 0.75

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_COMMON_KEYS = ("name", "channel", "events", "kinds", "regimes", "include_urls")
_CHANNEL_KEYS = {
    "email": ("to",),
    "webhook": ("url", "url_env"),
    "pagerduty": ("routing_key", "routing_key_env", "url"),
}


@dataclass(frozen=True)
class AlertChannel:
    """One ``[[alerts]]`` table. ``url`` and ``routing_key`` are secrets and not in the repr."""

    name: str
    channel: str
    to: tuple[str, ...] = ()
    url: str | None = field(default=None, repr=False)
    routing_key: str | None = field(default=None, repr=False)
    events: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset(KINDS)
    regimes: frozenset[str] = frozenset(REGIMES)
    include_urls: bool = False

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ConfigError("alerts.channel", f"must be one of {', '.join(CHANNELS)}")
        object.__setattr__(self, "to", tuple(self.to))
        if not self.events:
            object.__setattr__(self, "events", default_events(self.channel))
        for name in ("events", "kinds", "regimes"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if self.channel == "pagerduty" and self.url is None:
            object.__setattr__(self, "url", PAGERDUTY_URL)

    def wants(self, event: str, kind: str | None = None, regime: str | None = None) -> bool:
        """Whether this channel is sent ``event`` about an entry of ``kind`` and ``regime``
        (``test`` goes to every channel)."""
        if event == "test":
            return True
        if event not in self.events:
            return False
        return (kind is None or kind in self.kinds) and (regime is None or regime in self.regimes)


def default_events(channel: str) -> frozenset[str]:
    """Every event a channel can take: ``resolved`` only means something to PagerDuty."""
    return frozenset(e for e in EVENTS if e != "resolved" or channel == "pagerduty")


def parse_alert_settings(
    data: Mapping[str, Any], env: Mapping[str, str], *, has_mail: bool
) -> dict[str, Any]:
    """``due_soon_at``, ``alert_check_seconds``, ``metrics_public`` and ``[[alerts]]`` from the
    top level of the file, as keyword arguments of ``Config`` (only those given;
    ``dashboard_url`` is the dashboard's, PROTOCOL 12)."""
    settings: dict[str, Any] = {}
    if "due_soon_at" in data:
        settings["due_soon_at"] = _fraction(data["due_soon_at"], "due_soon_at")
    if "alert_check_seconds" in data:
        settings["alert_check_seconds"] = check_period(data["alert_check_seconds"],
                                                       "alert_check_seconds")
    if "metrics_public" in data:
        settings["metrics_public"] = _bool(data["metrics_public"], "metrics_public")
    tables = data.get("alerts", [])
    if not isinstance(tables, list):
        raise ConfigError("alerts", "must be an array of tables ([[alerts]]), not "
                                    + check.kind_of(tables))
    channels: list[AlertChannel] = []
    seen: dict[str, int] = {}
    for position, table in enumerate(tables):
        prefix = f"alerts[{position}]."
        if not isinstance(table, dict):
            raise ConfigError(f"alerts[{position}]", f"must be a table, not {check.kind_of(table)}")
        channel = _channel(table, prefix, env)
        if channel.name in seen:
            raise ConfigError(prefix + "name",
                              f"{channel.name!r} is used twice (also alerts[{seen[channel.name]}])")
        if channel.channel == "email" and not has_mail:
            raise ConfigError("mail", f"required: alerts[{position}] ({channel.name}) sends e-mail "
                                      "(add a [mail] table with smtp_url and from)")
        seen[channel.name] = position
        channels.append(channel)
    if channels:
        settings["alerts"] = tuple(channels)
    return settings


def _channel(table: dict[str, Any], prefix: str, env: Mapping[str, str]) -> AlertChannel:
    kind = check.string(check.required(table, "channel", prefix), prefix + "channel")
    if kind not in CHANNELS:
        raise ConfigError(prefix + "channel", f"must be one of {', '.join(CHANNELS)}")
    for key in table:
        if key not in _COMMON_KEYS and key not in _CHANNEL_KEYS[kind]:
            owners = [c for c, keys in _CHANNEL_KEYS.items() if key in keys]
            if owners:
                raise ConfigError(prefix + key, f"is not a key of {kind} channels "
                                                f"(only of {' and '.join(owners)})")
    check.no_unknown_keys(table, _COMMON_KEYS + _CHANNEL_KEYS[kind], prefix)
    name = check.string(check.required(table, "name", prefix), prefix + "name")
    if not _NAME.fullmatch(name):
        raise ConfigError(prefix + "name", "must be 1-64 characters of A-Z a-z 0-9 . _ -")
    events = _choices(table, "events", prefix, EVENTS)
    if events and "resolved" in events and kind != "pagerduty":
        raise ConfigError(prefix + "events", "resolved is only sent to pagerduty channels")
    values: dict[str, Any] = {
        "name": name, "channel": kind,
        "events": events or default_events(kind),
        "kinds": _choices(table, "kinds", prefix, KINDS) or frozenset(KINDS),
        "regimes": _choices(table, "regimes", prefix, REGIMES) or frozenset(REGIMES),
        "include_urls": _bool(table["include_urls"], prefix + "include_urls")
        if "include_urls" in table else False,
    }
    if kind == "email":
        values["to"] = _addresses(check.required(table, "to", prefix), prefix + "to")
    elif kind == "webhook":
        values["url"] = _secret_url(table, "url", prefix, env, required=True)
    else:
        values["routing_key"] = _routing_key(table, prefix, env)
        values["url"] = _secret_url(table, "url", prefix, env, required=False) or PAGERDUTY_URL
    return AlertChannel(**values)


def _choices(
    table: dict[str, Any], key: str, prefix: str, allowed: tuple[str, ...]
) -> frozenset[str]:
    """A non-empty array of known names; empty frozenset when the key is absent."""
    if key not in table:
        return frozenset()
    value = table[key]
    if not isinstance(value, list):
        raise ConfigError(prefix + key, f"must be an array of strings, not {check.kind_of(value)}")
    if not value:
        raise ConfigError(prefix + key, "must not be empty (leave it out for all)")
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{prefix}{key}[{position}]",
                              f"must be a string, not {check.kind_of(item)}")
        if item not in allowed:
            raise ConfigError(f"{prefix}{key}[{position}]",
                              f"unknown {key[:-1]} {item!r} (one of {', '.join(allowed)})")
    return frozenset(value)


def _addresses(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"must be an array of mail addresses, not {check.kind_of(value)}")
    if not value:
        raise ConfigError(key, "must not be empty")
    for position, item in enumerate(value):
        text = check.string(item, f"{key}[{position}]")
        try:
            parse_address(text)
        except ValueError:
            raise ConfigError(f"{key}[{position}]", "is not one mail address") from None
    return tuple(value)


def _secret_url(
    table: dict[str, Any], name: str, prefix: str, env: Mapping[str, str], *, required: bool
) -> str | None:
    key, env_key = prefix + name, prefix + name + "_env"
    if name in table and name + "_env" in table:
        raise ConfigError(env_key, f"give either {name} or {name}_env, not both")
    if name + "_env" in table:
        return _http_url(check.env_variable(table[name + "_env"], env_key, env), env_key)
    if name in table:
        return _http_url(table[name], key)
    if required:
        raise ConfigError(key, f"required key is missing (or give {name}_env)")
    return None


def _routing_key(table: dict[str, Any], prefix: str, env: Mapping[str, str]) -> str:
    key, env_key = prefix + "routing_key", prefix + "routing_key_env"
    if "routing_key" in table and "routing_key_env" in table:
        raise ConfigError(env_key, "give either routing_key or routing_key_env, not both")
    if "routing_key_env" in table:
        value, where = check.env_variable(table["routing_key_env"], env_key, env), env_key
    else:
        value, where = check.string(check.required(table, "routing_key", prefix), key), key
    if not all("!" <= c <= "~" for c in value):
        raise ConfigError(where, "must be printable ASCII without white space")
    return value


def _http_url(value: Any, key: str) -> str:
    """An absolute http(s) URL without credentials or fragment (the problem is named, the
    value never: a webhook URL is a secret)."""
    url = check.string(value, key)
    if any(c.isspace() for c in url):
        raise ConfigError(key, "must not contain white space")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ConfigError(key, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, "must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise ConfigError(key, "must not contain credentials")
    if parts.fragment:
        raise ConfigError(key, "must not have a fragment")
    return url


#: PROTOCOL 9.2: a time-based alert is raised within 30 s of its instant; a worker looks at
#: most this often, leaving 5 s for its pass to come round (it waits up to 1 s between passes)
#: and for the look itself.
MAX_CHECK_SECONDS = 25.0


def check_period(value: Any, key: str) -> float:
    """How often a delivery worker looks for time-based alerts: more than 0, at most 25 s."""
    seconds = check.positive_number(value, key)
    if seconds > MAX_CHECK_SECONDS:
        raise ConfigError(key, "must be at most 25 (PROTOCOL 9.2: time-based alerts are raised "
                               "within 30 s of their instant)")
    return seconds


def _fraction(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, not {check.kind_of(value)}")
    if not math.isfinite(value) or not 0 < value < 1:
        raise ConfigError(key, "must be a fraction between 0 and 1 (e.g. 0.75)")
    return float(value)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, not {check.kind_of(value)}")
    return value
