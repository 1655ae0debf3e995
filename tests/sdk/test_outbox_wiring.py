"""The outbox sends each kind of message through the sender its wiring gives for that kind,
runs the failure hook in the transaction that records the failure, and keeps a message no
sender of this worker takes (the store is a real database; the senders are the wiring's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hoster_compliance.delivery.claims import ALERT, CALLBACK, MAIL, Claim
from hoster_compliance.delivery.client import AttemptResult
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.delivery.senders import Attempt, Sender, Wiring, failed
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries
from tests.helpers import FakeClock
from tests.helpers.webhooks import receive


class Answering(Sender):
    """Answers every attempt with ``attempt`` and keeps what it was asked to send."""

    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt
        self.sent: list[Claim] = []

    def send(self, claim: Claim) -> Attempt:
        self.sent.append(claim)
        return self.attempt


def only_row(service: ComplianceService) -> Any:
    with service.engine.connect() as conn:
        return conn.execute(sa.select(deliveries)).one()


def test_each_kind_goes_through_its_sender_and_the_pass_hook_runs_first(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    callbacks = Answering(Attempt(AttemptResult(200, None, None, 1.0)))
    others = Answering(failed("not this one"))
    passes: list[int] = []
    worker = DeliveryWorker(service.config, service.engine, clock=clock, wiring=lambda w: Wiring(
        senders={CALLBACK: callbacks, MAIL: others, ALERT: others},
        before_pass=lambda: passes.append(len(callbacks.sent))))
    receive(service, clock, sender_for)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert passes == [0, 1]
    [claim] = callbacks.sent
    assert (claim.kind, claim.type, others.sent) == (CALLBACK, "order.acknowledged", [])
    assert only_row(service).state == "delivered"


def test_the_failure_hook_runs_in_the_transaction_that_records_the_failure(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    seen: list[tuple[str, str, str]] = []

    def hook(conn: Connection, claim: Claim, error: str, at: datetime) -> None:
        state = conn.execute(sa.select(deliveries.c.state)
                             .where(deliveries.c.id == claim.id)).scalar_one()
        seen.append((state, error, at.isoformat()))

    worker = DeliveryWorker(service.config, service.engine, clock=clock, wiring=lambda w: Wiring(
        senders={CALLBACK: Answering(failed("issuer gone"))}, on_failed={CALLBACK: hook}))
    receive(service, clock, sender_for)
    assert worker.run_once() == 1
    assert seen == [("failed", "issuer gone", clock().isoformat())]
    row = only_row(service)
    assert (row.state, row.last_error, row.attempts) == ("failed", "issuer gone", 1)


def test_a_message_no_sender_of_this_worker_takes_stays_queued(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    worker = DeliveryWorker(service.config, service.engine, clock=clock,
                            wiring=lambda w: Wiring(senders={}))
    receive(service, clock, sender_for)
    assert worker.run_once() == 1
    row = only_row(service)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == "no callback sender in this worker"


def test_a_worker_built_without_wiring_gets_the_packages(service: ComplianceService) -> None:
    worker = service.delivery_worker()
    assert set(worker.wiring.senders) == {CALLBACK, MAIL, ALERT}
    assert worker.wiring.on_failed == {} and worker.wiring.before_pass is None  # no [[alerts]]
