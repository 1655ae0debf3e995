"""The dashboard's deliveries, report and audit pages (PROTOCOL 12)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries, events, orders
from tests.helpers import FakeClock
from tests.helpers.ui import login, parse
from tests.helpers.webhooks import receive


@pytest.fixture
def token(client: Any) -> str:
    return login(client)


def states(service: ComplianceService) -> dict[str, str]:
    with service.engine.connect() as conn:
        return {r.order_id: r.state for r in conn.execute(sa.select(deliveries))}


def test_failed_deliveries_are_listed_first_and_retried_with_a_button(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any,
    worker: DeliveryWorker, fake_issuer: CallbackServer,
) -> None:
    receive(service, clock, sender_for, order_id="ord-bad")
    receive(service, clock, sender_for, order_id="ord-good")
    fake_issuer.respond_with(422, 200)
    assert worker.run_once() == 2
    assert states(service) == {"ord-bad": "failed", "ord-good": "delivered"}
    page = client.get("/ui/deliveries")
    listed = re.findall(r'href="/ui/orders/nl-atkm/([^"]+)"', page.text)
    assert listed == ["ord-bad"]
    assert "422" in parse(page.text).text
    assert re.findall(r'href="/ui/orders/nl-atkm/([^"]+)"',
                      client.get("/ui/deliveries?state=all").text) == ["ord-good", "ord-bad"]
    [retry] = re.findall(r'action="(/ui/deliveries/\d+/retry)"', page.text)
    answer = client.post(retry, data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/deliveries"
    assert states(service)["ord-bad"] == "pending"
    assert "is queued again (same webhook-id)" in client.get("/ui/deliveries").text
    again = client.post(retry, data={"csrf_token": token})
    assert again.status_code == 303
    assert "was not retried: Only a failed delivery can be retried" in \
        client.get("/ui/deliveries").text
    assert client.post("/ui/deliveries/99999/retry",
                       data={"csrf_token": token}).status_code == 303
    assert "Delivery 99999 was not retried: No such delivery." in \
        client.get("/ui/deliveries").text
    assert client.get("/ui/deliveries?state=lost").status_code == 400


@pytest.fixture
def year(service: ComplianceService, clock: FakeClock, sender_for: Any) -> None:
    """Three orders in September 2026 (one handled in time, one late, one open past its
    deadline) and one in November handled in time after 2 hours."""
    clock.now = clock.now.replace(month=9, day=10)
    for order_id in ("sep-in-time", "sep-late", "sep-open"):
        receive(service, clock, sender_for, order_id=order_id, issued_at="2026-09-10T08:55:00Z")
    clock.advance(hours=1)
    service.act("nl-atkm", "sep-in-time", None, {"action": "removed"}, actor="t")
    clock.advance(hours=13)
    service.act("nl-atkm", "sep-late", None, {"action": "removed"}, actor="t")
    clock.now = clock.now.replace(month=11, day=22, hour=9, minute=0)
    receive(service, clock, sender_for, order_id="nov")
    clock.advance(hours=2)
    service.act("nl-atkm", "nov", None, {"action": "disabled"}, actor="t")


def test_the_report_page_shows_the_headline_figures_and_charts_per_month(
    client: Any, token: str, year: None
) -> None:
    page = client.get("/ui/report")  # default: this year to date
    assert page.status_code == 200
    doc = parse(page.text)
    text = " ".join(doc.text.split())
    assert "2026-01-01 to 2026-11-22" in text
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page.text))
    assert figures["Orders received"] == "4" and figures["Items in them"] == "8"
    assert figures["Handled within the deadline"] == "2" and figures["Overdue"] == "2"
    assert figures["Median time to effect"] == "2.00 h"  # of 1 h, 14 h and 2 h
    rects = re.findall(r'<rect class="(\w+)"[^>]*><title>([^<]+)</title>', page.text)
    assert ("within", "2026-09: 1 within the deadline") in rects
    assert ("overdue", "2026-09: 2 overdue") in rects
    assert ("within", "2026-11: 1 within the deadline") in rects
    assert ("effect", "2026-11: median 2.00 h") in rects
    assert ("effect", "2026-09: median 7.50 h") in rects
    assert len(doc.all("svg")) == 2 and 'aria-label="Orders per month' in page.text
    months = re.findall(r'<td data-label="Month">(\d{4}-\d\d)</td><td data-label="Orders">(\d+)',
                        page.text)
    assert len(months) == 11 and ("2026-09", "3") in months and ("2026-11", "1") in months


def test_a_report_period_is_checked_and_long_ones_have_no_chart(
    client: Any, token: str
) -> None:
    bad = client.get("/ui/report?start=2026-12-01&end=2026-01-01")
    assert bad.status_code == 400 and "invalid_query" in bad.text
    assert client.get("/ui/report?start=yesterday").status_code == 400
    long = client.get("/ui/report?start=2020-01-01&end=2026-11-22")
    assert long.status_code == 200 and "<svg" not in long.text
    assert "Charts are drawn for periods of up to 36 months." in long.text


def test_the_commission_files_download_as_one_zip(
    client: Any, token: str, year: None
) -> None:
    response = client.get("/ui/report/dsa-csv.zip?start=2026-01-01&end=2026-12-31")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="dsa-transparency-2026-01-01-2026-12-31.zip"'
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        part1 = archive.read("Part_1_summary.csv").decode("utf-8")
        part3 = archive.read("Part_3_member_states_orders.csv").decode("utf-8")
    assert names[:3] == ["Part_1_summary.csv", "Part_3_member_states_orders.csv",
                         "Part_4_notices.csv"]
    assert "Example Hosting B.V." in part1 and "2026-01-01/2026-12-31" in part3


def test_the_audit_page_verifies_the_trail_and_finds_an_edited_event(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for)
    before = client.get("/ui/audit")
    assert "Intact" not in before.text and "BROKEN" not in before.text  # runs on request only
    page = client.get("/ui/audit?verify=1")
    text = " ".join(parse(page.text).text.split())
    assert "Intact: 1 events verified; every order and item agrees with its events." in text
    with service.engine.connect() as conn:
        head = conn.execute(sa.select(events.c.id, events.c.hash)).one()
    assert f"{head.id}:{head.hash}" in text
    with service.engine.begin() as conn:
        conn.execute(events.update().values(actor="someone else"))
    broken = " ".join(parse(client.get("/ui/audit?verify=1").text).text.split())
    assert "BROKEN: 1 problem(s) in 1 events." in broken
    assert f"event {head.id} content does not match its hash (edited)" in broken


def test_the_audit_page_names_an_order_changed_with_sql(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for)
    with service.engine.begin() as conn:
        conn.execute(orders.update().values(deadline=None))
    broken = " ".join(parse(client.get("/ui/audit?verify=1").text).text.split())
    assert "BROKEN: 1 problem(s) in 1 events." in broken
    assert ("order nl-atkm/ord-1 deadline is none in the table, 2026-11-22T21:00:00Z by the "
            "trail") in broken
