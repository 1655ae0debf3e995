"""Alerts on the dashboard's deliveries page (PROTOCOL 12, 9.4): failed and pending alerts in
their own section, each failed one with a retry button (a POST with the CSRF token) that puts it
back in the queue; what a channel answered is shown as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.config_alerts import AlertChannel
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries, events
from hoster_compliance_receiver import create_app
from tests.helpers import FakeClock, make_config
from tests.helpers.hooks import HookSink
from tests.helpers.ui import login, parse
from tests.helpers.webhooks import receive

HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "{{ 7*7 }}"]


@pytest.fixture
def hook() -> Iterator[HookSink]:
    with HookSink() as sink:
        yield sink


@pytest.fixture
def alerting(db_url: str, fake_issuer: CallbackServer, clock: FakeClock,
             hook: HookSink) -> Iterator[tuple[Any, ComplianceService, DeliveryWorker]]:
    """A receiver whose `received` alerts go to a chat webhook (``hook``), logged in."""
    config = make_config(db_url, api_base=fake_issuer.url, callback_timeout_seconds=3,
                         alerts=(AlertChannel(name="chat", channel="webhook", url=hook.url,
                                              events=("received",)),))
    service = ComplianceService(config, clock=clock)
    app = create_app(config, service=service)
    app.testing = True
    worker = DeliveryWorker(config, service.engine, clock=clock, uniform=lambda a, b: b)
    yield app.test_client(), service, worker
    service.engine.dispose()


def alert_rows(service: ComplianceService) -> dict[str, tuple[str, int]]:
    with service.engine.connect() as conn:
        return {r.order_id: (r.state, r.attempts) for r in conn.execute(
            sa.select(deliveries).where(deliveries.c.channel.is_not(None)))}


def section(html: str) -> str:
    """The alerts section of the deliveries page, as text."""
    part = html.split('id="alerts"', 1)[1].split("</section>", 1)[0]
    return " ".join(parse(part).text.split())


def test_failed_and_pending_alerts_are_listed_and_a_failed_one_is_retried(
    alerting: tuple[Any, ComplianceService, DeliveryWorker], clock: FakeClock,
    sender_for: Any, hook: HookSink,
) -> None:
    client, service, worker = alerting
    token = login(client)
    receive(service, clock, sender_for, order_id="ord-refused")
    receive(service, clock, sender_for, order_id="ord-later")
    receive(service, clock, sender_for, order_id="ord-fine")
    hook.statuses = [400, 503, 200]  # refused at once; tried again later; delivered
    while worker.run_once():
        pass
    assert alert_rows(service) == {"ord-refused": ("failed", 1), "ord-later": ("pending", 1),
                                   "ord-fine": ("delivered", 1)}
    page = client.get("/ui/deliveries")
    shown = section(page.text)
    assert re.findall(r'href="/ui/orders/nl-atkm/([^"]+)"', page.text.split('id="alerts"')[1]) \
        == ["ord-refused", "ord-later"]  # failed first, then pending; never the delivered one
    assert "received chat nl-atkm / ord-refused failed 1 HTTP 400" in shown
    # a 503 is no error text (GET /v1/alerts has no last status): only its attempt shows
    assert "received chat nl-atkm / ord-later pending 1 2026-11-22" in shown
    assert hook.url not in page.text and "SECRETtoken" not in page.text
    [retry] = re.findall(r'action="(/ui/alerts/\d+/retry)"', page.text)  # the failed one only
    assert re.findall(r'<button type="submit" aria-label="(Retry alert \d+)">', page.text) == [
        "Retry alert " + retry.split("/")[3]]

    refused = client.post(retry, data={})  # no CSRF token: refused, nothing changes
    assert refused.status_code == 400 and "csrf_failed" in refused.text
    assert alert_rows(service)["ord-refused"] == ("failed", 1)

    answer = client.post(retry, data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/deliveries#alerts"
    assert alert_rows(service)["ord-refused"] == ("pending", 1)
    assert "is queued again" in client.get("/ui/deliveries").text
    with service.engine.connect() as conn:
        [event] = conn.execute(sa.select(events).where(events.c.type == "retried")).all()
    assert event.actor.startswith("operator:") and '"channel":"chat"' in event.detail
    hook.statuses = [200, 200]
    clock.advance(minutes=10)
    while worker.run_once():
        pass
    assert alert_rows(service)["ord-refused"] == ("delivered", 2)
    assert [p.body["hoster_compliance"]["order_id"] for p in hook.posts].count("ord-refused") == 2

    again = client.post(retry, data={"csrf_token": token})
    assert again.status_code == 303
    assert "was not retried: Only a failed alert can be retried; this one is delivered." in \
        client.get("/ui/deliveries").text
    assert "delivered" in section(client.get("/ui/deliveries?state=delivered").text)
    assert "ord-fine" in section(client.get("/ui/deliveries?state=all").text)
    assert "ord-fine" not in section(client.get("/ui/deliveries?state=pending").text)


def test_a_callbacks_id_is_no_alert_and_an_alerts_id_no_callback(
    alerting: tuple[Any, ComplianceService, DeliveryWorker], clock: FakeClock,
    sender_for: Any, hook: HookSink, fake_issuer: CallbackServer,
) -> None:
    client, service, worker = alerting
    token = login(client)
    receive(service, clock, sender_for)
    hook.statuses = [400]
    fake_issuer.respond_with(422)
    while worker.run_once():
        pass
    with service.engine.connect() as conn:
        ids = {("alert" if r.channel else "callback"): (r.id, r.state)
               for r in conn.execute(sa.select(deliveries))}
    assert ids["alert"][1] == ids["callback"][1] == "failed"
    client.post(f"/ui/alerts/{ids['callback'][0]}/retry", data={"csrf_token": token})
    assert f"Alert {ids['callback'][0]} was not retried: No such alert." in \
        client.get("/ui/deliveries").text
    client.post(f"/ui/deliveries/{ids['alert'][0]}/retry", data={"csrf_token": token})
    assert f"Delivery {ids['alert'][0]} was not retried: No such delivery." in \
        client.get("/ui/deliveries").text
    client.post("/ui/alerts/99999/retry", data={"csrf_token": token})
    assert "Alert 99999 was not retried: No such alert." in client.get("/ui/deliveries").text
    with service.engine.connect() as conn:
        assert {r.state for r in conn.execute(sa.select(deliveries))} == {"failed"}


def test_an_alerts_error_is_shown_as_text_never_run(
    alerting: tuple[Any, ComplianceService, DeliveryWorker], clock: FakeClock,
    sender_for: Any, hook: HookSink,
) -> None:
    client, service, worker = alerting
    login(client)
    receive(service, clock, sender_for)
    hook.statuses = [400]
    worker.run_once()
    text = " ".join(HOSTILE)
    with service.engine.begin() as conn:  # as a mail server's reply text could read
        conn.execute(deliveries.update().where(deliveries.c.channel.is_not(None))
                     .values(last_error=f"SMTP 550 {text}"))
    html = client.get("/ui/deliveries").text
    doc = parse(html)
    assert [s.get("src") for s in doc.all("script")] == ["/ui/static/countdown.js"]
    assert doc.all("img") == []
    assert not any(k.startswith("on") for _, attrs in doc.elements for k in attrs)
    assert f"SMTP 550 {text}" in section(html)
    assert "49" not in section(html)
