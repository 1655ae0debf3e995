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
