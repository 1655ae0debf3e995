"""Times: one way to write an instant (RFC 3339, UTC, ``Z``), one way to store it (integer
microseconds since the Unix epoch), and the clock type that everything takes injected."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def utcnow() -> datetime:
    """The default clock: the current time, timezone-aware, UTC."""
    return datetime.now(UTC)


def format_time(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z``; microseconds only when the instant has them.

    Every time the project emits goes through here, so one instant is written the same way in
    responses, callbacks, listings and reports (PROTOCOL 6).
    """
    if value is None:
        return None
    value = value.astimezone(UTC)
    # isoformat, not strftime: always four year digits, and several times faster (hot path).
    text = value.replace(tzinfo=None).isoformat(timespec="seconds")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> datetime:
    """Parse RFC 3339 with a mandatory offset; raise ``ValueError`` otherwise."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError("Not a valid RFC 3339 time with an offset.")
    normalised = text.replace("z", "Z").replace("t", "T")
    main, _, rest = normalised.partition(".")
    if rest:
        digits = re.match(r"\d+", rest)
        assert digits is not None
        frac = digits.group(0)
        normalised = main + "." + (frac + "000000")[:6] + rest[len(frac):]
    return datetime.fromisoformat(normalised.replace("Z", "+00:00")).astimezone(UTC)


def to_micros(value: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (exact)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    """Integer microseconds since the epoch -> aware UTC datetime."""
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=int(value))


def format_micros(value: int | None) -> str | None:
    """A stored time (microseconds since the epoch) written as :func:`format_time` does."""
    return format_time(from_micros(value))


def duration_text(seconds: float) -> str:
    """A duration for people, its two largest units: "47 min", "2 h 5 min", "3 d 4 h"; under a
    minute, "under 1 min"."""
    minutes = int(abs(seconds)) // 60
    if minutes == 0:
        return "under 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (mins, "min")]
    while units[0][0] == 0:
        units.pop(0)
    shown = [f"{n} {unit}" for n, unit in units[:2] if n]
    return " ".join(shown)


def time_left_text(deadline: datetime | None, now: datetime) -> str:
    """The time to a deadline as the alerts and the dashboard write it: "in 47 min",
    "overdue by 2 h 5 min", or "no deadline"."""
    if deadline is None:
        return "no deadline"
    left = (deadline - now).total_seconds()
    if left < 0:
        return "overdue by " + duration_text(left)
    return "in " + duration_text(left)
