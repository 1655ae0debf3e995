"""Alerts end to end over real HTTP on loopback: the receiver with its in-process worker on the
real clock, a fake issuer, a real SMTP server, a Slack-style webhook and a PagerDuty endpoint.
An order's 2xx is followed by its `received` alert on every channel; completing it resolves the
incident; the operator API and /metrics show it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from hoster_compliance.config_alerts import AlertChannel
from hoster_compliance.config_mail import MailConfig
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance_receiver import create_app
from tests.helpers import AUTH, ISSUER_SECRET, LiveServer, make_config, order_data
from tests.helpers.hooks import HookSink
from tests.helpers.smtp import SmtpSink

ROUTING_KEY = "R0UTINGKEY0123456789abcdefghijkl"


@pytest.fixture
def running(db_url: str) -> Iterator[tuple[LiveServer, SmtpSink, HookSink, HookSink]]:
    with CallbackServer(ISSUER_SECRET) as issuer, SmtpSink() as smtp, HookSink() as chat, \
            HookSink(202, "/v2/enqueue") as pager:
        config = make_config(
            db_url, api_base=issuer.url, callback_timeout_seconds=3,
            mail=MailConfig(smtp_url=smtp.url, sender="compliance@example.nl"),
            dashboard_url="https://compliance.example.nl",
            alerts=(AlertChannel(name="desk", channel="email", to=("abuse@example.nl",)),
                    AlertChannel(name="chat", channel="webhook", url=chat.url),
                    AlertChannel(name="pager", channel="pagerduty", routing_key=ROUTING_KEY,
                                 url=pager.url)))
        app = create_app(config, start_worker=True)
        try:
            with LiveServer(app) as server:
                yield server, smtp, chat, pager
        finally:
            worker = app.extensions["hoster_compliance_worker"]
            worker.stop()
            app.extensions["hoster_compliance"].engine.dispose()


def test_an_order_reaches_every_channel_and_completing_it_resolves_the_incident(
    running: tuple[LiveServer, SmtpSink, HookSink, HookSink],
) -> None:
    server, smtp, chat, pager = running
    with IssuerSender(server.url, "nl-atkm", ISSUER_SECRET) as sender:
        answered = sender.send_order(order_data("e2e-1", regime="EU_TCO"))
        acked_at = time.monotonic()
    assert answered.status_code == 201
    (post,) = chat.wait_for(lambda posts: len(posts) >= 1, timeout=5)
    assert post.at - acked_at < 2.0                 # PROTOCOL 9.2's bound, here on one order
    assert post.body["text"].startswith(
        "[example-hosting] received: EU_TCO order nl-atkm/e2e-1, deadline ")
    assert post.body["hoster_compliance"]["link"] == (
        "https://compliance.example.nl/ui/orders/nl-atkm/e2e-1")
    (trigger,) = pager.wait_for(lambda posts: len(posts) >= 1, timeout=5)
    assert trigger.body["event_action"] == "trigger"
    assert trigger.body["payload"]["severity"] == "critical"
    (mail,) = smtp.wait(1)
    assert mail["Subject"] == post.body["text"]
    assert "files.example-hosting.nl" not in mail.as_string() + str(chat.bodies)

    done = requests.post(f"{server.url}/v1/orders/nl-atkm/e2e-1/action",
                         json={"action": "removed"}, headers=AUTH, timeout=5)
    assert done.status_code == 200
    posts = pager.wait_for(lambda posts: len(posts) >= 2, timeout=5)
    assert posts[1].body == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                             "dedup_key": "example-hosting/nl-atkm/e2e-1"}

    def delivered_alerts() -> list[Any]:
        listed = requests.get(f"{server.url}/v1/alerts?state=delivered", headers=AUTH,
                              timeout=5).json()["alerts"]
        return sorted((a["channel"], a["event"]) for a in listed)

    ends = time.monotonic() + 5
    while len(delivered_alerts()) < 4 and time.monotonic() < ends:
        time.sleep(0.05)
    assert delivered_alerts() == [("chat", "received"), ("desk", "received"),
                                  ("pager", "received"), ("pager", "resolved")]
    text = requests.get(f"{server.url}/metrics", headers=AUTH, timeout=5).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("hoster_compliance_alerts", (("state", "delivered"),))] == 4
    assert samples[("hoster_compliance_orders_open", (("kind", "order"),
                                                     ("regime", "EU_TCO")))] == 0
    assert samples[("hoster_compliance_orders_received_total", (("issuer_id", "nl-atkm"),
                                                               ("kind", "order")))] == 1
