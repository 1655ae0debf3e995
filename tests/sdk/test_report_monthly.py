"""orders_by_month: the report's order figures for each month of the period, judged as the
whole report is, so that the months add up to the report (the dashboard's charts)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from hoster_compliance.errors import InvalidQuery
from hoster_compliance.report import build_report, orders_by_month
from hoster_compliance.service import ComplianceService
from tests.helpers import FakeClock
from tests.helpers.webhooks import receive


def test_months_add_up_to_the_report_and_an_order_late_after_its_month_counts_overdue(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    # 31 January 20:00: NL_ATKM, 12 h: due 1 February 08:00, still open at the report's end
    clock.now = clock.now.replace(month=1, day=31, hour=20)
    receive(service, clock, sender_for, order_id="jan-open", issued_at="2026-01-31T19:00:00Z")
    clock.now = clock.now.replace(month=3, day=3, hour=9)
    receive(service, clock, sender_for, order_id="mar", issued_at="2026-03-03T08:00:00Z")
    clock.advance(hours=3)
    service.act("nl-atkm", "mar", None, {"action": "removed"}, actor="t")
    clock.now = clock.now.replace(month=11, day=22)
    months = orders_by_month(service.engine, date(2026, 1, 15), date(2026, 4, 10), now=clock())
    assert [m["month"] for m in months] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [(m["count"], m["within_deadline"], m["overdue"]) for m in months] == [
        (1, 0, 1), (0, 0, 0), (1, 1, 0), (0, 0, 0)]
    assert months[2]["median_hours_to_effect"] == pytest.approx(3.0)
    assert months[1]["median_hours_to_effect"] is None
    total = build_report(service.engine, date(2026, 1, 15), date(2026, 4, 10),
                         now=clock())["orders"]["total"]
    for key in ("count", "items", "within_deadline", "overdue"):
        assert sum(m[key] for m in months) == total[key], key


def test_the_first_and_last_months_are_clipped_to_the_period(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    clock.now = clock.now.replace(month=3, day=1)
    receive(service, clock, sender_for, order_id="early-march", issued_at="2026-03-01T08:00:00Z")
    clock.now = clock.now.replace(day=20)
    receive(service, clock, sender_for, order_id="late-march", issued_at="2026-03-20T08:00:00Z")
    months = orders_by_month(service.engine, date(2026, 3, 10), date(2026, 3, 31), now=clock())
    assert [(m["month"], m["count"]) for m in months] == [("2026-03", 1)]


def test_a_period_is_checked(service: ComplianceService, clock: FakeClock) -> None:
    with pytest.raises(InvalidQuery):
        orders_by_month(service.engine, date(2026, 2, 1), date(2026, 1, 1), now=clock())
    with pytest.raises(InvalidQuery):
        orders_by_month(service.engine, date(2000, 1, 1), date(2026, 1, 1), now=clock())
    months = orders_by_month(service.engine, date(2016, 2, 1), date(2026, 1, 1) - timedelta(1),
                             now=clock())
    assert len(months) == 119 and months[-1]["month"] == "2025-12"
