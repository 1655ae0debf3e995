"""The notifier's two messages (PROTOCOL 10.2) through a real SMTP server on loopback: the
confirmation queued with the notice, the decision when every item has an action; retried from
the outbox, the address never in an error or event; and the erasure after the retention."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.config_mail import MailConfig
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries
from tests.helpers import FakeClock
from tests.helpers.notices import NOTIFIER, URLS, notice, notices_service
from tests.helpers.smtp import SmtpSink

REDRESS = "Reply to abuse@example-hosting.nl, or go to a dispute settlement body or a court."


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def svc(db_url: str, clock: FakeClock, smtp: SmtpSink) -> Iterator[ComplianceService]:
    mail = MailConfig(smtp_url=smtp.url, sender="Compliance <compliance@example-hosting.nl>")
    service = notices_service(db_url, clock, mail=mail, redress=REDRESS)
    yield service
    service.close()


@pytest.fixture
def worker(svc: ComplianceService, clock: FakeClock) -> DeliveryWorker:
    return DeliveryWorker(svc.config, svc.engine, clock=clock, uniform=lambda a, b: b)


def submit(svc: ComplianceService, **overrides: Any) -> str:
    status, body = svc.submit_notice(notice(notifier=NOTIFIER, **overrides), "client")
    assert status == 201
    return str(body["notice_id"])


def test_confirmation_then_decision_reach_the_notifier(
    svc: ComplianceService, worker: DeliveryWorker, smtp: SmtpSink
) -> None:
    notice_id = submit(svc)
    assert worker.run_once() == 1
    [confirmation] = smtp.wait(1)
    assert confirmation["To"] == NOTIFIER["email"]
    assert notice_id in confirmation["Subject"]
    text = confirmation.get_content()
    assert all(url in text for url in URLS) and "What happens next" in text
    svc.act("public", notice_id, "1", {"action": "removed"}, actor="operator:t")
    assert worker.run_once() == 0  # not complete yet: no decision
    svc.act("public", notice_id, "2", {"action": "refused", "reason": "The image is legal art."},
            actor="operator:t")
    assert worker.run_once() == 1
    decision = smtp.wait(2)[1]
    assert decision["To"] == NOTIFIER["email"] and notice_id in decision["Subject"]
    text = decision.get_content()
    assert f"{URLS[0]}\n    removed: the content has been deleted." in text
    assert "we decided not to act" in text and "Reason: The image is legal art." in text
    assert "Automated means: none" in text and REDRESS in text
    events = [e["type"] for e in svc.get_order("public", notice_id)["events"]]
    assert events.count("notifier_confirmed") == 1 and events.count("notifier_informed") == 1


def test_automated_decisions_are_said_so(
    svc: ComplianceService, worker: DeliveryWorker, smtp: SmtpSink
) -> None:
    notice_id = submit(svc, urls=[URLS[0]])
    svc.act("public", notice_id, None, {"action": "disabled", "automated": True},
            actor="automation:t")
    worker.run_once()
    decision = smtp.wait(2)[-1].get_content()
    assert "every address was taken by automated means" in decision


def test_no_email_no_message(svc: ComplianceService, worker: DeliveryWorker) -> None:
    status, body = svc.submit_notice(notice(), "client")
    svc.act("public", body["notice_id"], None, {"action": "removed"}, actor="operator:t")
    assert worker.run_once() == 0


def test_a_refused_recipient_is_retried_and_its_address_never_recorded(
    svc: ComplianceService, worker: DeliveryWorker, smtp: SmtpSink, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp.fail_rcpt["*"] = "450 mailbox busy"
    notice_id = submit(svc)
    worker.run_once()
    [row] = svc.list_deliveries()["deliveries"]
    assert row["state"] == "pending" and row["attempts"] == 1
    assert "[notifier]" in row["last_error"] and NOTIFIER["email"] not in row["last_error"]
    assert NOTIFIER["email"] not in caplog.text
    smtp.fail_rcpt.clear()
    clock.advance(minutes=5)
    worker.run_once()
    assert smtp.wait(1)[0]["To"] == NOTIFIER["email"]
    assert svc.list_deliveries()["deliveries"][0]["state"] == "delivered"
    assert notice_id


def test_the_notifier_is_erased_after_the_retention(
    svc: ComplianceService, worker: DeliveryWorker, clock: FakeClock
) -> None:
    notice_id = submit(svc)
    kept = submit(svc, urls=["https://x.example/open"])  # never completed: kept
    svc.act("public", notice_id, None, {"action": "removed"}, actor="operator:t")
    worker.run_once()
    worker.run_once()
    clock.advance(days=364)
    assert svc.erase_expired_notifiers() == 0
    clock.advance(days=1)
    assert svc.erase_expired_notifiers() == 1
    detail = svc.get_order("public", notice_id)
    assert detail["notifier"] is None
    erased = [e for e in detail["events"] if e["type"] == "notifier_erased"]
    assert erased and erased[0]["detail"] == {"retention_days": 365}
    assert svc.get_order("public", kept)["notifier"] == NOTIFIER
    with svc.engine.connect() as conn:
        bodies = conn.execute(sa.select(deliveries.c.body).where(
            deliveries.c.order_id == notice_id)).scalars().all()
    assert bodies and all(NOTIFIER["email"] not in body for body in bodies)
    assert svc.erase_expired_notifiers() == 0
    report = svc.verify_audit()
    assert report.intact and report.orders == 2, report


def test_the_workers_retention_loop_erases_and_stops(
    svc: ComplianceService, clock: FakeClock
) -> None:
    import threading

    from hoster_compliance.workers import run_retention

    notice_id = submit(svc)
    svc.act("public", notice_id, None, {"action": "removed"}, actor="operator:t")
    clock.advance(days=366)
    stop = threading.Event()
    thread = threading.Thread(target=run_retention, args=(svc, stop, 0.05), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if svc.get_order("public", notice_id)["notifier"] is None:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert svc.get_order("public", notice_id)["notifier"] is None


def test_without_mail_the_message_fails_visibly(db_url: str, clock: FakeClock) -> None:
    service = notices_service(db_url, clock)
    try:
        status, _ = service.submit_notice(notice(notifier=NOTIFIER), "client")
        DeliveryWorker(service.config, service.engine, clock=clock).run_once()
        [row] = service.list_deliveries("failed")["deliveries"]
        assert (row["type"], row["last_error"]) == ("notice.confirmation", "no [mail] configured")
    finally:
        service.close()


def test_a_message_still_being_tried_at_the_erasure_loses_its_address_once_it_ends(
    db_url: str, clock: FakeClock, smtp: SmtpSink
) -> None:
    # Retention 1 day, the mail server refusing for longer: the notice's messages are still
    # pending when its notifier is erased, so they keep their body (and go out). Once they
    # ended, the next erasure pass must drop the address from them too: nothing else would.
    mail = MailConfig(smtp_url=smtp.url, sender="Compliance <compliance@example-hosting.nl>")
    svc = notices_service(db_url, clock, mail=mail, redress=REDRESS, notifier_retention_days=1)
    worker = DeliveryWorker(svc.config, svc.engine, clock=clock, uniform=lambda a, b: b)
    try:
        smtp.fail_rcpt["*"] = "450 mailbox busy"
        notice_id = submit(svc, urls=[URLS[0]])
        svc.act("public", notice_id, None, {"action": "removed"}, actor="operator:t")
        worker.run_once()
        clock.advance(days=1)
        assert svc.erase_expired_notifiers() == 1
        smtp.fail_rcpt.clear()
        while worker.run_once():
            clock.advance(hours=1)
        assert {d["state"] for d in svc.list_deliveries(None)["deliveries"]} == {"delivered"}
        svc.erase_expired_notifiers()
        with svc.engine.connect() as conn:
            bodies = conn.execute(sa.select(deliveries.c.body).where(
                deliveries.c.order_id == notice_id)).scalars().all()
        assert len(bodies) == 2 and all(NOTIFIER["email"] not in body for body in bodies)
        assert all(NOTIFIER["name"] not in body for body in bodies)
    finally:
        svc.close()
