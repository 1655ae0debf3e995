"""The ``[notices]`` table (PROTOCOL 10.1): notices from anyone through the public form and API.

```toml
[notices]
enabled = true                  # default true
deadline_hours = 24             # the hoster's own target; 0: no deadline
redress = "You can contest this decision by ..."
max_per_hour_per_client = 10    # per client address; 0: no limit
trusted_proxy_hops = 0          # X-Forwarded-For hops to trust for the client address
notifier_retention_days = 365   # name and e-mail erased this long after completion
```

Parsed by ``config.load_config`` into ``Config.notices``; every problem names its key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import config_values as check
from .errors import ConfigError

_KEYS = (
    "enabled", "deadline_hours", "redress", "max_per_hour_per_client", "trusted_proxy_hops",
    "notifier_retention_days",
)
#: The redress text when none is configured (Art. 16(5) asks for one; this names the ways the
#: DSA itself gives: the hoster, an out-of-court body (Art. 21) and the courts).
DEFAULT_REDRESS = (
    "You can contest this decision by replying to this message, before a certified "
    "out-of-court dispute settlement body (Art. 21 DSA), or in court."
)


@dataclass(frozen=True)
class NoticesConfig:
    """How the public reaches the hoster (defaults of PROTOCOL 10.1)."""

    enabled: bool = True
    deadline_hours: int = 24
    redress: str = DEFAULT_REDRESS
    max_per_hour_per_client: int = 10
    trusted_proxy_hops: int = 0
    notifier_retention_days: int = 365


def _non_negative_int(value: Any, key: str, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, not {check.kind_of(value)}")
    if not 0 <= value <= upper:
        raise ConfigError(key, f"must be between 0 and {upper}")
    return value


def parse_notices(table: Any) -> NoticesConfig:
    """The ``[notices]`` table as a NoticesConfig."""
    if not isinstance(table, dict):
        raise ConfigError("notices", "must be a table ([notices])")
    check.no_unknown_keys(table, _KEYS, "notices.")
    values: dict[str, Any] = {}
    if "enabled" in table:
        if not isinstance(table["enabled"], bool):
            raise ConfigError("notices.enabled",
                              f"must be true or false, not {check.kind_of(table['enabled'])}")
        values["enabled"] = table["enabled"]
    if "redress" in table:
        redress = table["redress"]
        if not isinstance(redress, str) or not redress.strip():
            raise ConfigError("notices.redress", "must be a non-empty string")
        if len(redress) > 5000:
            raise ConfigError("notices.redress", "must be at most 5000 characters")
        values["redress"] = redress
    for key, upper in (("deadline_hours", 24 * 365), ("max_per_hour_per_client", 1_000_000),
                       ("trusted_proxy_hops", 10), ("notifier_retention_days", 36500)):
        if key in table:
            values[key] = _non_negative_int(table[key], "notices." + key, upper)
    if values.get("notifier_retention_days", 1) == 0:
        raise ConfigError("notices.notifier_retention_days", "must be at least 1")
    return NoticesConfig(**values)
