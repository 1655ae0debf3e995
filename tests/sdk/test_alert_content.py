"""What an alert says (alerts/content.py, PROTOCOL 9.3), as pure functions, and the channel
senders' decisions (alerts/channels.py) against ``responses`` for outbound HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
import responses

from hoster_compliance.alerts import content
from hoster_compliance.alerts.channels import AlertSender
from hoster_compliance.config_alerts import AlertChannel
from tests.helpers import START, make_config

HOOK = "https://hooks.slack.com/services/T000/B000/SECRETtoken"
KEY = "R0UTINGKEY0123456789abcdefghijkl"


def facts(event: str = "received", regime: str = "NL_ATKM", deadline: str | None = "21:00:00",
          at: str = "09:00:00", **extra: Any) -> dict[str, Any]:
    return {"event": event, "at": f"2026-11-22T{at}Z", "issuer_id": "nl-atkm",
            "issuer_name": "ATKM", "order_id": "2026:0001/a", "kind": "order", "regime": regime,
            "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
            "received_at": "2026-11-22T09:00:00Z",
            "deadline": f"2026-11-22T{deadline}Z" if deadline else None,
            "items_total": 2, "items_resolved": 1, **extra}


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(0), "0 min"), (timedelta(seconds=59), "0 min"), (timedelta(minutes=47), "47 min"),
    (timedelta(hours=2, minutes=5, seconds=30), "2 h 5 min"), (timedelta(hours=12), "12 h"),
    (timedelta(days=1, hours=3), "1 d 3 h"), (timedelta(days=2, minutes=1), "2 d 1 min"),
    (-timedelta(hours=2, minutes=5), "2 h 5 min"),
])
def test_duration_in_whole_minutes(delta: timedelta, text: str) -> None:
    assert content.duration(delta) == text


def test_subject_line() -> None:
    assert content.subject("h", facts()) == (
        "[h] received: NL_ATKM order nl-atkm/2026:0001/a, deadline 2026-11-22T21:00:00Z "
        "(in 12 h)")
    assert content.subject("h", facts("overdue", at="23:05:00")).endswith(
        "(overdue by 2 h 5 min)")
    assert content.subject("h", facts(regime="OTHER", deadline=None)) == (
        "[h] received: OTHER order nl-atkm/2026:0001/a, deadline none")


@pytest.mark.parametrize(("f", "severity"), [
    (facts(regime="EU_TCO", deadline="10:00:00"), "critical"),
    (facts("overdue", at="21:00:00"), "critical"),
    (facts(at="21:30:00"), "critical"),                    # past the deadline at the instant
    (facts(), "error"),                                    # exactly 12 h left
    (facts(deadline="21:00:01"), "warning"),
    (facts(regime="OTHER", deadline=None), "warning"),
    (content.test_facts("x", START, "pager"), "warning"),
])
def test_severity(f: dict[str, Any], severity: str) -> None:
    assert content.severity(f) == severity


def test_link_quotes_the_ids_and_needs_a_dashboard() -> None:
    assert content.link("https://c.example/", facts()) == (
        "https://c.example/ui/orders/nl-atkm/2026%3A0001%2Fa")
    assert content.link(None, facts()) is None


def test_pagerduty_summary_is_cut_at_1024_and_resolve_says_only_three_things() -> None:
    long = facts(order_id="x" * 2000)
    assert len(content.pagerduty_payload("h", None, long, KEY)["payload"]["summary"]) == 1024
    assert content.pagerduty_payload("h", "https://c", facts("resolved"), KEY) == {
        "routing_key": KEY, "event_action": "resolve", "dedup_key": "h/nl-atkm/2026:0001/a"}


def test_dedup_keys() -> None:
    assert content.dedup_key("h", facts("overdue")) == "h/nl-atkm/2026:0001/a"
    assert content.dedup_key("h", facts("delivery_failed", detail={"delivery_id": 7})) == (
        "h/delivery_failed/7")
    assert content.dedup_key("h", facts("automation_failed")) == (
        "h/automation_failed/nl-atkm/2026:0001/a")
    assert content.dedup_key("h", content.test_facts("abc", START, "p")) == "h/test/abc"


def test_urls_only_when_the_facts_carry_them() -> None:
    body = content.email_body("h", None, facts())
    assert "https://" not in body and "Item URLs" not in body
    with_urls = content.email_body("h", None, facts(urls=["https://files/x.jpg"]))
    assert "  https://files/x.jpg" in with_urls.splitlines()
    assert content.details("h", None, facts(urls=["u"]))["urls"] == ["u"]
    assert "urls" not in content.details("h", None, facts())


# -- the senders, outbound HTTP through `responses` --------------------------------------------


def sender() -> AlertSender:
    return AlertSender(make_config("sqlite://", callback_timeout_seconds=2))


WEBHOOK = AlertChannel(name="chat", channel="webhook", url=HOOK)
PAGER = AlertChannel(name="pager", channel="pagerduty", routing_key=KEY)


@responses.activate
@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (204, "delivered"), (302, "retry"), (429, "retry"), (503, "retry"),
    (400, "failed"), (404, "failed"),
])
def test_webhook_answers_become_outcomes(status: int, outcome: str) -> None:
    responses.add(responses.POST, HOOK, status=status,
                  headers={"Location": "https://elsewhere.example/"} if status == 302 else {})
    sent = sender().send(WEBHOOK, facts(), message_id="m1")
    assert sent.outcome == outcome and sent.result.status == status
    assert len(responses.calls) == 1                       # a redirect is never followed
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"


@responses.activate
def test_pagerduty_goes_to_the_default_events_url() -> None:
    responses.add(responses.POST, "https://events.pagerduty.com/v2/enqueue", status=202)
    assert sender().send(PAGER, facts(), message_id="m1").delivered


@responses.activate
def test_network_errors_are_retried_and_never_name_the_webhook_url() -> None:
    responses.add(responses.POST, HOOK, body=requests.ConnectionError(
        f"HTTPSConnectionPool(host='hooks.slack.com'): Max retries exceeded with url: "
        f"/services/T000/B000/SECRETtoken ({HOOK})"))
    sent = sender().send(WEBHOOK, facts(), message_id="m1")
    assert sent.outcome == "retry"
    assert sent.result.error is not None
    assert "SECRETtoken" not in sent.result.error and "[secret]" in sent.result.error


def test_an_email_channel_without_mail_fails_for_good() -> None:
    channel = AlertChannel(name="desk", channel="email", to=("a@b.nl",))
    sent = sender().send(channel, facts(), message_id="m1")
    assert (sent.outcome, sent.result.error) == ("failed", "no [mail] configured")
