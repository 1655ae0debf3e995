"""GET /v1/reports/transparency (PROTOCOL 7.3): the report JSON of section 8 over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from hoster_compliance.service import ComplianceService
from tests.helpers import AUTH, FakeClock
from tests.helpers.webhooks import receive


def test_report_counts_what_was_received_in_the_period(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, order_id="a")
    clock.advance(hours=1)
    receive(service, clock, sender_for, order_id="b",
            items=[{"item_id": "x", "url": "https://f.example/x"}])
    clock.advance(minutes=30)
    service.act("nl-atkm", "a", None, {"action": "removed"}, actor="operator:t")
    response = client.get("/v1/reports/transparency?start=2026-11-22&end=2026-11-22",
                          headers=AUTH)
    assert response.status_code == 200
    report = response.json
    assert report["period"] == {"start": "2026-11-22", "end": "2026-11-22"}
    total = report["orders"]["total"]
    assert total["count"] == 2 and total["items"] == 3
    assert total["median_hours_to_effect"] == 1.5  # only "a" was given effect, after 1.5 h
    assert report["orders"]["by_member_state"]["NL"]["count"] == 2
    empty = client.get("/v1/reports/transparency?start=2026-11-23&end=2026-12-31",
                       headers=AUTH).json
    assert empty["orders"]["total"]["count"] == 0


@pytest.mark.parametrize("query", ["", "start=2026-01-01", "start=2026-01-01&end=soon",
                                   "start=2026-12-31&end=2026-01-01"])
def test_bad_dates_are_400_invalid_query(client: Any, query: str) -> None:
    response = client.get(f"/v1/reports/transparency?{query}", headers=AUTH)
    assert response.status_code == 400 and response.json["error"] == "invalid_query"
