"""Deadlines for people: the time left in words and the "due soon" rule (PROTOCOL 9.1, 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hoster_compliance.protocol.regimes import is_due_soon
from hoster_compliance.timeutil import duration_text, time_left_text

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "under 1 min"), (59, "under 1 min"), (60, "1 min"), (47 * 60 + 59, "47 min"),
    (3600, "1 h"), (2 * 3600 + 5 * 60, "2 h 5 min"), (86400, "1 d"),
    (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"), (3 * 86400 + 5 * 60, "3 d"), (-125 * 60, "2 h 5 min"),
])
def test_duration_text_gives_the_two_largest_units(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


def test_time_left_before_at_and_after_the_deadline() -> None:
    deadline = T0 + timedelta(minutes=47)
    assert time_left_text(deadline, T0) == "in 47 min"
    assert time_left_text(deadline, deadline) == "in under 1 min"
    assert time_left_text(deadline, deadline + timedelta(hours=2, minutes=5, seconds=30)) == \
        "overdue by 2 h 5 min"
    assert time_left_text(None, T0) == "no deadline"


def test_due_soon_from_three_quarters_of_the_time_until_the_deadline() -> None:
    deadline = T0 + timedelta(hours=12)
    assert not is_due_soon("open", T0, deadline, T0 + timedelta(hours=8, minutes=59))
    assert is_due_soon("open", T0, deadline, T0 + timedelta(hours=9))
    assert is_due_soon("open", T0, deadline, deadline)  # not yet overdue at the instant
    assert not is_due_soon("open", T0, deadline, deadline + timedelta(seconds=1))  # overdue
    assert not is_due_soon("completed", T0, deadline, T0 + timedelta(hours=10))
    assert not is_due_soon("open", T0, None, T0 + timedelta(days=9))
    assert is_due_soon("open", T0, deadline, T0 + timedelta(hours=6), fraction=0.5)
    # received after its deadline had passed: overdue at once, never "due soon"
    assert not is_due_soon("open", T0, T0 - timedelta(hours=1), T0)
