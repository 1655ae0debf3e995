"""Alerts end to end inside the SDK (PROTOCOL 9.2, 9.3), on a real database, a fake clock and real
loopback endpoints: a real SMTP server (aiosmtpd), a webhook and a PagerDuty endpoint. Every alert
is raised in its cause's transaction or by the worker's schedule, sent once per (channel, event,
order), and says exactly what 9.3 says and nothing more."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.alerts.schedule import AlertSchedule
from hoster_compliance.automation import AutomationContext, AutomationRunner
from hoster_compliance.config import Config
from hoster_compliance.config_alerts import AlertChannel
from hoster_compliance.config_hashcheck import HashcheckConfig
from hoster_compliance.config_mail import MailConfig
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer
from hoster_compliance.orders.own_initiative import Finding
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries
from tests.helpers import FakeClock, make_config, order_data
from tests.helpers.hooks import HookSink
from tests.helpers.notices import URLS as NOTICE_URLS
from tests.helpers.notices import notice
from tests.helpers.smtp import SmtpSink

ROUTING_KEY = "R0UTINGKEY0123456789abcdefghijkl"
DASHBOARD = "https://compliance.example.nl"
URLS = ["https://files.example-hosting.nl/u/1/a.jpg", "https://files.example-hosting.nl/u/1/b.jpg"]


@dataclass
class World:
    config: Config
    service: ComplianceService
    worker: DeliveryWorker
    clock: FakeClock
    smtp: SmtpSink
    chat: HookSink
    pager: HookSink
    sender_for: Any

    def receive(self, order_id: str = "ord-1", issuer_id: str = "nl-atkm", **data: Any) -> None:
        sender = self.sender_for("http://unused", issuer_id=issuer_id)
        body = sender.envelope("order.created", order_data(order_id, **data),
                               timestamp=int(self.clock.timestamp()))
        result = self.service.receive(issuer_id, sender.headers_for(body), body)
        assert result.status == 201, result.body

    def withdraw(self, order_id: str = "ord-1") -> None:
        sender = self.sender_for("http://unused")
        body = sender.envelope("order.withdrawn", {"order_id": order_id, "reason": "done"},
                               timestamp=int(self.clock.timestamp()))
        assert self.service.receive("nl-atkm", sender.headers_for(body), body).status == 200

    def drain(self) -> None:
        """Run the worker until nothing is due now (bounded)."""
        for _ in range(50):
            if not self.worker.run_once():
                return
        raise AssertionError("the worker kept finding work")

    def alerts(self) -> list[tuple[str, str, str, str]]:
        """(channel, event, order_id, state) of every alert row, in order."""
        with self.service.engine.connect() as conn:
            return [(r.channel, r.type.removeprefix("alert."), r.order_id, r.state)
                    for r in conn.execute(sa.select(deliveries)
                                          .where(deliveries.c.channel.is_not(None))
                                          .order_by(deliveries.c.id))]

    def events_sent(self) -> list[tuple[str, str]]:
        """(channel, event) of every alert that arrived at the sinks, in arrival order per sink."""
        sent = [("abuse-desk", m["Subject"].split("] ")[1].split(":")[0])
                for m in self.smtp.messages]
        sent += [("chat", b["hoster_compliance"]["event"]) for b in self.chat.bodies]
        sent += [("pager", b["payload"]["custom_details"]["event"]
                  if b["event_action"] == "trigger" else "resolved") for b in self.pager.bodies]
        return sent


def channels(smtp: SmtpSink, chat: HookSink, pager: HookSink, **changes: Any) -> tuple[
        AlertChannel, ...]:
    return (
        AlertChannel(name="abuse-desk", channel="email",
                     to=("abuse@example.nl", "Night <night@example.nl>"),
                     **changes.get("email", {})),
        AlertChannel(name="chat", channel="webhook", url=chat.url, **changes.get("webhook", {})),
        AlertChannel(name="pager", channel="pagerduty", routing_key=ROUTING_KEY, url=pager.url,
                     **changes.get("pagerduty", {})),
    )


@pytest.fixture
def build(db_url: str, fake_issuer: CallbackServer, clock: FakeClock,
          sender_for: Any) -> Iterator[Any]:
    made: list[World] = []
    with SmtpSink() as smtp, HookSink() as chat, HookSink(202, "/v2/enqueue") as pager:

        def world(**changes: Any) -> World:
            alerts = changes.pop("alerts", None) or channels(smtp, chat, pager, **changes.pop(
                "channel_changes", {}))
            changes.setdefault("dashboard_url", DASHBOARD)
            changes.setdefault("callback_timeout_seconds", 3)
            config = make_config(db_url, api_base=fake_issuer.url,
                                 mail=MailConfig(smtp_url=smtp.url, sender="hc@example.nl"),
                                 alerts=alerts, **changes)
            service = ComplianceService(config, clock=clock)
            worker = DeliveryWorker(config, service.engine, clock=clock,
                                    uniform=lambda a, b: b)
            made.append(World(config, service, worker, clock, smtp, chat, pager, sender_for))
            return made[-1]

        yield world
        for w in made:
            w.service.engine.dispose()


# -- received, and what alerts say --------------------------------------------------------------


def test_received_reaches_every_channel_saying_exactly_what_9_3_says(build: Any) -> None:
    w = build()
    w.receive()
    assert [a[:2] for a in w.alerts()] == [
        ("abuse-desk", "received"), ("chat", "received"), ("pager", "received")]
    w.drain()
    subject = ("[example-hosting] received: NL_ATKM order nl-atkm/ord-1, "
               "deadline 2026-11-22T21:00:00Z (in 12 h)")
    link = f"{DASHBOARD}/ui/orders/nl-atkm/ord-1"
    (mail,) = w.smtp.wait(1)
    assert mail["Subject"] == subject
    assert mail["To"] == "abuse@example.nl, Night <night@example.nl>"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    body = mail.get_content()
    for line in ("Issuer:      ATKM (nl-atkm)", "Kind:        order", "Regime:      NL_ATKM",
                 "Category:    STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                 "Items:       2 (0 resolved)", "Received at: 2026-11-22T09:00:00Z",
                 "Deadline:    2026-11-22T21:00:00Z", "Time left:   in 12 h",
                 f"Link:        {link}"):
        assert line in body.splitlines()
    details = {
        "event": "received", "issuer_id": "nl-atkm", "order_id": "ord-1", "kind": "order",
        "regime": "NL_ATKM", "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "received_at": "2026-11-22T09:00:00Z", "deadline": "2026-11-22T21:00:00Z",
        "overdue": False, "items_total": 2, "items_resolved": 0, "link": link,
    }
    assert w.chat.bodies == [{"text": subject, "hoster_compliance": details}]
    assert w.chat.posts[0].headers["Content-Type"] == "application/json"
    assert w.pager.bodies == [{
        "routing_key": ROUTING_KEY, "event_action": "trigger",
        "dedup_key": "example-hosting/nl-atkm/ord-1",
        "payload": {"summary": subject, "source": "example-hosting", "severity": "error",
                    "timestamp": "2026-11-22T09:00:00Z", "component": "removal-orders",
                    "custom_details": details},
        "links": [{"href": link, "text": "Open in the hoster-compliance dashboard"}],
    }]
    assert [a[3] for a in w.alerts()] == ["delivered"] * 3
    w.drain()
    assert len(w.chat.bodies) == 1 and len(w.smtp.messages) == 1  # sent once


def test_no_item_url_anywhere_unless_the_channel_includes_urls(build: Any) -> None:
    w = build(channel_changes={"webhook": {"include_urls": True}})
    w.receive()
    w.drain()
    (mail,) = w.smtp.wait(1)
    for text in (mail.as_string(), str(w.pager.bodies)):
        for url in URLS:
            assert url not in text
            assert "files.example-hosting.nl" not in text
    assert w.chat.bodies[0]["hoster_compliance"]["urls"] == URLS
    with w.service.engine.connect() as conn:  # nor stored for the channels without
        bodies = dict(conn.execute(sa.select(deliveries.c.channel, deliveries.c.body)
                                   .where(deliveries.c.channel.is_not(None))).all())
    assert URLS[0] in bodies["chat"] and URLS[0] not in bodies["pager"]
    assert ROUTING_KEY not in str(bodies) and w.chat.url not in str(bodies)


def test_tco_is_critical_and_no_deadline_says_none(build: Any) -> None:
    w = build()
    w.receive("tco-1", regime="EU_TCO")
    w.receive("other-1", regime="OTHER")
    w.drain()
    by_order = {b["payload"]["custom_details"]["order_id"]: b for b in w.pager.bodies}
    assert by_order["tco-1"]["payload"]["severity"] == "critical"
    assert by_order["tco-1"]["payload"]["summary"].endswith(
        "deadline 2026-11-22T10:00:00Z (in 1 h)")
    assert by_order["other-1"]["payload"]["severity"] == "warning"
    assert by_order["other-1"]["payload"]["summary"] == (
        "[example-hosting] received: OTHER order nl-atkm/other-1, deadline none")


def test_filters_by_event_kind_and_regime(build: Any) -> None:
    w = build(channel_changes={
        "email": {"kinds": frozenset({"notice"})},
        "webhook": {"regimes": frozenset({"EU_TCO"})},
        "pagerduty": {"events": frozenset({"overdue"})},
    })
    w.receive("ord-1")                       # an NL_ATKM order: nobody wants its received
    w.receive("tco-1", regime="EU_TCO")      # the chat wants it
    w.receive("n-1", kind="notice", regime="NL_NTD",
              category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")  # the mailbox wants it
    assert [a[:3] for a in w.alerts()] == [("chat", "received", "tco-1"),
                                           ("abuse-desk", "received", "n-1")]


def test_without_a_dashboard_there_is_no_link(build: Any) -> None:
    w = build(dashboard_url=None)
    w.receive()
    w.drain()
    assert w.chat.bodies[0]["hoster_compliance"]["link"] is None
    assert w.pager.bodies[0]["links"] == []
    assert "Link:" not in w.smtp.wait(1)[0].get_content()


def test_an_own_initiative_entry_is_alerted_like_an_order(build: Any) -> None:
    w = build(hashcheck=HashcheckConfig(lists=("known.txt",)),
              channel_changes={"webhook": {"kinds": frozenset({"own_initiative"})}})
    stored = w.service.record_own_initiative(
        [Finding("https://files.example-hosting.nl/x.jpg", "sha1", "a" * 40, "known.txt")])
    w.drain()
    (received,) = w.chat.bodies
    assert received["text"] == (
        f"[example-hosting] received: OTHER own_initiative self/{stored['order_id']}, "
        "deadline 2026-11-22T10:00:00Z (in 1 h)")
    assert "files.example-hosting.nl" not in str(w.chat.bodies)
    w.clock.advance(hours=1, seconds=1)
    w.drain()
    assert [b["hoster_compliance"]["event"] for b in w.chat.bodies] == ["received", "overdue"]


# -- time-based events ------------------------------------------------------------------------


def test_due_soon_and_overdue_arrive_once_each_at_their_time(build: Any) -> None:
    w = build()
    w.receive()                                     # NL_ATKM: 12 h, due soon after 9 h
    w.drain()
    w.clock.advance(hours=8, minutes=59)
    w.drain()
    assert {e for _, e in w.events_sent()} == {"received"}
    w.clock.advance(minutes=1, seconds=20)          # 9 h after receipt (+20 s)
    w.drain()
    assert sorted(e for _, e in w.events_sent()).count("due_soon") == 3
    subject = w.chat.bodies[-1]["text"]
    assert subject == ("[example-hosting] due_soon: NL_ATKM order nl-atkm/ord-1, "
                       "deadline 2026-11-22T21:00:00Z (in 2 h 59 min)")
    w.clock.advance(hours=2, minutes=40)
    w.drain()
    assert "overdue" not in {e for _, e in w.events_sent()}
    w.clock.advance(minutes=21)                     # 1 min past the deadline
    w.drain()
    overdue = [b for b in w.chat.bodies if b["hoster_compliance"]["event"] == "overdue"]
    assert len(overdue) == 1 and overdue[0]["hoster_compliance"]["overdue"] is True
    assert overdue[0]["text"].endswith("(overdue by 1 min)")
    assert w.pager.bodies[-1]["payload"]["severity"] == "critical"
    for _ in range(3):                              # and never again
        w.clock.advance(hours=1)
        w.drain()
    assert sorted(w.events_sent()) == sorted(
        (c, e) for c in ("abuse-desk", "chat", "pager")
        for e in ("received", "due_soon", "overdue"))


def test_an_order_that_passed_its_deadline_while_nothing_ran_gets_overdue_only(
    build: Any,
) -> None:
    w = build()
    w.receive("tco-1", regime="EU_TCO")
    w.clock.advance(hours=3)                        # nothing ran for three hours
    w.drain()
    events = [b["hoster_compliance"]["event"] for b in w.chat.bodies]
    assert events == ["received", "overdue"]
    assert w.chat.bodies[1]["text"].endswith("(overdue by 2 h)")


def test_a_completed_order_raises_no_time_based_alert(build: Any) -> None:
    w = build()
    w.receive()
    w.service.act("nl-atkm", "ord-1", None, {"action": "removed"}, actor="operator:t")
    w.clock.advance(hours=13)
    w.drain()
    assert {e for _, e in w.events_sent()} == {"received", "resolved"}


def test_time_based_alerts_are_raised_within_30_seconds_by_a_running_worker(
    build: Any,
) -> None:
    """The schedule looks every 5 s of the worker's clock."""
    w = build()
    w.receive("tco-1", regime="EU_TCO")
    w.drain()
    w.clock.advance(minutes=60)                     # the deadline, to the microsecond
    seen_after = None
    for step in range(31):
        w.worker.run_once()
        if any(b["hoster_compliance"]["event"] == "overdue" for b in w.chat.bodies):
            seen_after = step
            break
        w.clock.advance(seconds=1)
    assert seen_after is not None and seen_after <= 30


@pytest.mark.parametrize("period", [1, 2, 25])
def test_the_schedule_looks_every_alert_check_seconds(build: Any, period: int) -> None:
    """``alert_check_seconds`` (5 by default, 25 at most): a worker's schedule looks that long
    after its last look, by the worker's clock, and not before."""
    w = build(alert_check_seconds=period)
    w.receive("tco-1", regime="EU_TCO")
    w.drain()
    w.clock.advance(minutes=60, seconds=-1)         # a second before the deadline
    w.drain()                                       # looks: due_soon, not yet overdue
    looked = w.clock()
    assert [e for _, e in w.events_sent()].count("overdue") == 0
    for _ in range(31):
        w.clock.advance(seconds=1)
        w.drain()                                   # every pass of the worker at this instant
        if any(b["hoster_compliance"]["event"] == "overdue" for b in w.chat.bodies):
            break
    assert (w.clock() - looked).total_seconds() == period


# -- resolved (PagerDuty) ---------------------------------------------------------------------


def test_completing_the_order_resolves_its_pagerduty_incident(build: Any) -> None:
    w = build()
    w.receive()
    w.drain()
    w.service.act("nl-atkm", "ord-1", "i1", {"action": "removed"}, actor="operator:t")
    w.drain()
    assert len(w.pager.bodies) == 1                 # still open: nothing resolved yet
    w.service.act("nl-atkm", "ord-1", "i2", {"action": "not_found"}, actor="operator:t")
    w.drain()
    assert w.pager.bodies[-1] == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                                  "dedup_key": "example-hosting/nl-atkm/ord-1"}
    assert ("chat", "resolved") not in w.events_sent()      # PagerDuty only
    assert ("abuse-desk", "resolved") not in w.events_sent()


def test_withdrawal_resolves_and_nothing_is_resolved_that_never_triggered(build: Any) -> None:
    w = build(channel_changes={"pagerduty": {"events": frozenset({"overdue", "resolved"})}})
    w.receive("ord-1")
    w.receive("ord-2")
    w.clock.advance(hours=12, seconds=1)
    w.drain()                                       # both overdue: two incidents
    w.withdraw("ord-1")
    w.receive("ord-3")
    w.service.act("nl-atkm", "ord-3", None, {"action": "removed"}, actor="operator:t")
    w.drain()                                       # ord-3 never triggered: no resolve
    resolves = [b for b in w.pager.bodies if b["event_action"] == "resolve"]
    assert [r["dedup_key"] for r in resolves] == ["example-hosting/nl-atkm/ord-1"]


def test_a_resolve_never_overtakes_its_trigger(build: Any) -> None:
    w = build()
    w.pager.statuses = [503]                        # the trigger must be retried
    w.receive()
    w.drain()
    w.service.act("nl-atkm", "ord-1", None, {"action": "removed"}, actor="operator:t")
    w.drain()
    assert [b["event_action"] for b in w.pager.bodies] == ["trigger"]  # the 503 one
    for _ in range(6):
        w.clock.advance(seconds=60)
        w.drain()
    assert [b["event_action"] for b in w.pager.bodies] == ["trigger", "trigger", "resolve"]


# -- failures elsewhere ------------------------------------------------------------------------


def test_a_failed_callback_raises_delivery_failed(build: Any, fake_issuer: CallbackServer) -> None:
    w = build()
    fake_issuer.respond_with(410)
    w.receive()
    w.drain()
    failed = [b for b in w.chat.bodies if b["hoster_compliance"]["event"] == "delivery_failed"]
    assert len(failed) == 1
    detail = failed[0]["hoster_compliance"]["detail"]
    assert detail["callback"] == "order.acknowledged" and detail["error"] == "HTTP 410"
    pager = [b for b in w.pager.bodies
             if b["payload"]["custom_details"]["event"] == "delivery_failed"]
    assert pager[0]["dedup_key"] == f"example-hosting/delivery_failed/{detail['delivery_id']}"
    mail = [m for m in w.smtp.messages if "delivery_failed" in m["Subject"]][0]
    assert "Callback:    order.acknowledged" in mail.get_content()


# -- automation ---------------------------------------------------------------------------------


def test_received_waits_for_automation_and_none_when_it_completes_the_order(
    build: Any,
) -> None:
    w = build()

    def takedown(ctx: AutomationContext) -> None:
        if ctx.order["order_id"] == "auto-done":
            ctx.act(None, "removed")
        elif ctx.order["order_id"] == "auto-broken":
            raise FileNotFoundError("/srv/files/u/1/a.jpg")

    runner = AutomationRunner(w.service, [takedown])
    runner.heartbeat()
    w.receive("auto-done")
    w.receive("auto-open")
    w.receive("auto-broken")
    assert w.alerts() == []                         # all held for the handlers
    runner.run_once()
    assert [a[:3] for a in w.alerts() if a[0] == "chat"] == [
        ("chat", "received", "auto-open"), ("chat", "automation_failed", "auto-broken"),
        ("chat", "received", "auto-broken")]
    w.drain()
    broken = [b for b in w.chat.bodies if b["hoster_compliance"]["event"] == "automation_failed"]
    assert broken[0]["hoster_compliance"]["detail"] == {
        "handlers": [{"handler": "takedown", "error": "FileNotFoundError"}]}
    assert "/srv/files" not in str(w.chat.bodies) + str(w.pager.bodies)
    assert "/srv/files" not in "".join(m.as_string() for m in w.smtp.messages)
    assert not any(b["hoster_compliance"]["order_id"] == "auto-done" for b in w.chat.bodies)


def test_a_runner_that_died_holds_received_back_for_60_seconds_at_most(build: Any) -> None:
    w = build()
    runner = AutomationRunner(w.service, [lambda ctx: None])
    runner.heartbeat()                              # alive now, then never runs again
    w.receive()
    w.clock.advance(seconds=59)
    w.drain()
    assert w.alerts() == []
    w.clock.advance(seconds=5)                      # the schedule looks every 5 s
    w.drain()
    assert [a[1:] for a in w.alerts()] == [("received", "ord-1", "delivered")] * 3
    runner.run_once()                               # it comes back: nothing is raised twice
    w.drain()
    assert len(w.chat.bodies) == 1


def test_an_announcement_that_ran_out_holds_nothing(build: Any) -> None:
    w = build()
    runner = AutomationRunner(w.service, [lambda ctx: None])
    runner.heartbeat()
    w.clock.advance(seconds=31)
    w.receive()
    assert len(w.alerts()) == 3


# -- retries and failure -------------------------------------------------------------------------


def test_an_alert_is_retried_like_a_callback_then_fails_after_24_h_logged_as_error(
    build: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    w = build()
    w.chat.status = 503
    w.receive()
    w.drain()
    for _ in range(23):
        w.clock.advance(hours=1)
        w.drain()
    assert ("chat", "received", "ord-1", "pending") in w.alerts()   # still trying at 23 h
    w.clock.advance(hours=1, seconds=1)
    w.drain()
    assert ("chat", "received", "ord-1", "failed") in w.alerts()
    assert len(w.chat.posts) > 10
    with w.service.engine.connect() as conn:
        row = conn.execute(sa.select(deliveries).where(
            deliveries.c.channel == "chat", deliveries.c.type == "alert.received")).one()
    assert row.last_error.startswith("gave up after") and "over 24 h" in row.last_error
    assert any(r.levelno == logging.ERROR and "channel=chat" in r.getMessage()
               for r in caplog.records)


def test_a_4xx_fails_at_once_and_the_webhook_url_is_never_in_the_error(build: Any) -> None:
    w = build()
    w.chat.status = 404
    w.pager.status = 400
    w.receive()
    w.drain()
    assert sorted(a[0] for a in w.alerts() if a[3] == "failed") == ["chat", "pager"]
    w.chat.close()                                  # and an error that names the URL
    w.receive("ord-2")
    w.drain()
    with w.service.engine.connect() as conn:
        errors = list(conn.execute(sa.select(deliveries.c.last_error)
                                   .where(deliveries.c.channel == "chat")).scalars())
    assert all(e is None or "SECRETtoken" not in e for e in errors)
    assert all(e is None or ROUTING_KEY not in e for e in errors)


def test_a_channel_removed_from_the_configuration_fails_its_alerts(build: Any) -> None:
    w = build()
    w.receive()
    smaller = DeliveryWorker(
        make_config(w.config.database_url, mail=w.config.mail, alerts=w.config.alerts[:1]),
        w.service.engine, clock=w.clock)
    while smaller.run_once():
        pass
    assert {a[0]: a[3] for a in w.alerts()} == {"abuse-desk": "delivered", "chat": "failed",
                                                "pager": "failed"}


# -- several workers ----------------------------------------------------------------------------


def test_several_schedules_at_once_raise_each_alert_once(build: Any) -> None:
    w = build()
    for n in range(30):
        w.receive(f"ord-{n}")
    with w.service.engine.begin() as conn:
        conn.execute(deliveries.delete())           # only the time-based ones count here
    w.clock.advance(hours=12, seconds=1)
    schedules = [AlertSchedule(w.config, w.service.engine, w.clock) for _ in range(4)]
    errors: list[BaseException] = []

    def run(schedule: AlertSchedule) -> None:
        try:
            schedule.run()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedules]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    rows = w.alerts()
    assert len(rows) == 90 and {e for _, e, _, _ in rows} == {"overdue"}
    assert len(set(rows)) == 90


def test_a_public_notice_is_alerted_without_the_notifier_or_its_urls(build: Any) -> None:
    w = build()
    status, body = w.service.submit_notice(
        notice(notifier={"name": "Ann Example", "email": "ann@example.org"}), "192.0.2.7")
    assert status == 201, body
    notice_id = body["notice_id"]
    assert [a[:3] for a in w.alerts()] == [
        ("abuse-desk", "received", notice_id), ("chat", "received", notice_id),
        ("pager", "received", notice_id)]
    w.drain()
    [hook] = w.chat.bodies
    assert (hook["hoster_compliance"]["kind"], hook["hoster_compliance"]["issuer_id"],
            hook["hoster_compliance"]["order_id"]) == ("notice", "public", notice_id)
    assert hook["text"].startswith(f"[example-hosting] received: OTHER notice public/{notice_id}")
    messages = w.smtp.wait(2)  # the alert, and the notifier's confirmation (not an alert)
    alert_mail = [m for m in messages if m["Subject"].startswith("[example-hosting] received")]
    assert len(alert_mail) == 1 and "ann@example.org" not in alert_mail[0]["To"]
    sent = repr(w.chat.bodies) + repr(w.pager.bodies) + alert_mail[0].as_string()
    for private in ("Ann Example", "ann@example.org", *NOTICE_URLS):
        assert private not in sent
