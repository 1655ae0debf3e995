"""When to try a callback again: pure functions, randomness injected (PROTOCOL 3)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

FIRST_RETRY_CAP_SECONDS = 10.0
MAX_DELAY_SECONDS = 3600.0
#: No attempt follows the previous one of the same message sooner (PROTOCOL 13.1), whatever
#: ``Retry-After`` says and however small the jitter drew.
MIN_DELAY_SECONDS = 1.0

#: 4xx answers that mean "try again later" rather than "never".
RETRYABLE_4XX = frozenset({408, 425, 429})

DELIVERED, RETRY, FAILED = "delivered", "retry", "failed"


def classify(status: int | None) -> str:
    """What an attempt's answer means: ``delivered`` (2xx), ``retry`` (network error, timeout,
    3xx, 408, 425, 429, 5xx) or ``failed`` (any other 4xx: the issuer refuses the message)."""
    if status is None:
        return RETRY
    if 200 <= status < 300:
        return DELIVERED
    if 300 <= status < 400 or status >= 500 or status in RETRYABLE_4XX:
        return RETRY
    return FAILED


def classify_smtp(code: int | None) -> str:
    """What an SMTP attempt's reply means: ``delivered`` (2xx), ``retry`` (no reply: network
    error or timeout; or a 4xx transient failure) or ``failed`` (5xx, or anything else: the
    server refuses the message for good)."""
    if code is None:
        return RETRY
    if 200 <= code < 300:
        return DELIVERED
    if 400 <= code < 500:
        return RETRY
    return FAILED


def backoff_cap(attempt: int) -> float:
    """Upper bound of the delay after failed attempt number ``attempt`` (1-based):
    10 s, 20 s, 40 s, … capped at 1 h."""
    exponent = min(max(attempt - 1, 0), 20)
    return float(min(FIRST_RETRY_CAP_SECONDS * (2**exponent), MAX_DELAY_SECONDS))


def retry_delay(attempt: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
    """Full jitter: a delay drawn uniformly from [0, cap]."""
    return uniform(0.0, backoff_cap(attempt))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or an HTTP date), capped at 1 h;
    ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_DELAY_SECONDS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_DELAY_SECONDS)


def operator_retry_due(now: int, last_attempt: int | None) -> int:
    """When an operator's retry of a failed message is due (microseconds since the epoch): at
    once, but never sooner than ``MIN_DELAY_SECONDS`` after the message's last attempt ended
    (``last_attempt``; None: unknown). A person or a script retrying in a loop thus gets no
    more than one attempt a second per message, like the policy (PROTOCOL 13.1)."""
    if last_attempt is None:
        return now
    return max(now, last_attempt + int(MIN_DELAY_SECONDS * 1_000_000))


def next_delay(
    attempt: int,
    retry_after: str | None,
    now: datetime,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds until the next attempt: the issuer's ``Retry-After`` wins over the backoff;
    never less than ``MIN_DELAY_SECONDS`` (``Retry-After: 0`` or a past date is no storm)."""
    told = parse_retry_after(retry_after, now)
    delay = told if told is not None else retry_delay(attempt, uniform)
    return max(delay, MIN_DELAY_SECONDS)
