"""The pure retry decisions of PROTOCOL 3."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hoster_compliance.delivery import retry_policy as rp

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(None, rp.RETRY), (200, rp.DELIVERED), (204, rp.DELIVERED), (299, rp.DELIVERED),
     (301, rp.RETRY), (302, rp.RETRY), (308, rp.RETRY), (408, rp.RETRY), (425, rp.RETRY),
     (429, rp.RETRY), (500, rp.RETRY), (503, rp.RETRY), (599, rp.RETRY),
     (400, rp.FAILED), (401, rp.FAILED), (403, rp.FAILED), (404, rp.FAILED), (409, rp.FAILED),
     (410, rp.FAILED), (422, rp.FAILED)],
)
def test_classify(status: int | None, expected: str) -> None:
    assert rp.classify(status) == expected


def test_backoff_caps_double_from_ten_seconds_to_an_hour() -> None:
    assert [rp.backoff_cap(n) for n in range(1, 11)] == [
        10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert rp.backoff_cap(1000) == 3600


def test_full_jitter_draws_between_zero_and_the_cap() -> None:
    calls: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        calls.append((a, b))
        return (a + b) / 2

    assert rp.retry_delay(3, uniform) == 20.0
    assert calls == [(0.0, 40.0)]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("0", 0.0), ("99999", 3600.0), (None, None), ("soon", None),
     ("Sun, 22 Nov 2026 09:02:00 GMT", 120.0), ("Sun, 22 Nov 2026 08:00:00 GMT", 0.0),
     ("Mon, 23 Nov 2026 09:00:00 GMT", 3600.0), ("-5", None)],
)
def test_retry_after_seconds_or_http_date_capped(
    header: str | None, expected: float | None
) -> None:
    assert rp.parse_retry_after(header, NOW) == expected


def test_retry_after_replaces_the_computed_delay() -> None:
    assert rp.next_delay(1, "7", NOW, lambda a, b: b) == 7.0
    assert rp.next_delay(1, None, NOW, lambda a, b: b) == 10.0


@pytest.mark.parametrize(
    "header", ["0", "1", "-5", "Sun, 22 Nov 2026 08:00:00 GMT", "Sun, 22 Nov 2026 09:00:00 GMT",
               " 0 ", "0.2"])
def test_no_retry_after_brings_the_next_attempt_sooner_than_one_second(header: str) -> None:
    # A past date, zero and a negative number (unreadable: the backoff, jitter drawing 0).
    assert rp.next_delay(1, header, NOW, lambda a, b: a) == rp.MIN_DELAY_SECONDS == 1.0


@pytest.mark.parametrize("drawn", [0.0, 0.001, 0.999])
def test_full_jitter_drawing_almost_nothing_still_waits_one_second(drawn: float) -> None:
    assert rp.next_delay(5, None, NOW, lambda a, b: drawn) == 1.0


def test_delays_above_the_floor_are_kept() -> None:
    assert rp.next_delay(1, "2", NOW, lambda a, b: a) == 2.0
    assert rp.next_delay(1, None, NOW, lambda a, b: 1.5) == 1.5
