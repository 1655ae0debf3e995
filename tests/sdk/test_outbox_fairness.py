"""One slow destination cannot hold every delivery thread (PROTOCOL 13.1): a claim takes one
destination nobody is sending to, a timeout ends the batch and defers that destination's other
messages, and concurrent claimers never share a destination (real databases; outbound HTTP via
``responses``)."""

from __future__ import annotations

import threading
from typing import Any

import requests
import responses
import sqlalchemy as sa

from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.protocol.callbacks import Callback, new_webhook_id
from hoster_compliance.service import ComplianceService
from hoster_compliance.store import orders as store
from hoster_compliance.store.tables import deliveries, orders
from hoster_compliance.timeutil import to_micros
from tests.helpers import FakeClock, order_data


def receive(service: ComplianceService, clock: FakeClock, sender_for: Any, issuer_id: str,
            order_id: str) -> None:
    sender = sender_for("http://unused", issuer_id)
    body = sender.envelope("order.created", order_data(order_id), timestamp=int(clock.timestamp()))
    result = service.receive(issuer_id, sender.headers_for(body), body)
    assert result.status == 201, result.body


def ack_url(service: ComplianceService, order_id: str) -> str:
    return service.config.issuers[0].api_base + f"/v1/orders/{order_id}/acknowledgement"


def rows(service: ComplianceService) -> dict[str, Any]:
    with service.engine.connect() as conn:
        return {r.order_id: r for r in conn.execute(sa.select(deliveries))}


def worker(service: ComplianceService, clock: FakeClock, owner: str) -> DeliveryWorker:
    return DeliveryWorker(service.config, service.engine, clock=clock, owner=owner,
                          uniform=lambda a, b: b)


def test_a_claim_takes_one_destination_and_skips_those_being_sent_to(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    for order_id in ("slow-1", "slow-2"):
        receive(service, clock, sender_for, "nl-atkm", order_id)
    clock.advance(seconds=1)
    receive(service, clock, sender_for, "offlimits", "fast-1")
    first, second, third = (worker(service, clock, name) for name in ("a", "b", "c"))
    assert [c.order_id for c in first.claim(10)] == ["slow-1", "slow-2"]
    assert [(c.order_id, c.destination) for c in second.claim(10)] == [
        ("fast-1", "issuer:offlimits")]
    assert third.claim(10) == []
    assert first.claim(10) == []  # its own live leases count too
    # Both destinations are someone's: the idle worker does not poll for their rows.
    due = third.next_due_in()
    assert due is not None and due > service.config.callback_timeout_seconds


@responses.activate
def test_a_timeout_ends_the_batch_and_the_destination_waits_with_it(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    for n in (1, 2, 3):
        responses.add(responses.POST, ack_url(service, f"slow-{n}"),
                      body=requests.ReadTimeout("no answer in time"))
        receive(service, clock, sender_for, "nl-atkm", f"slow-{n}")
    responses.add(responses.POST, ack_url(service, "fast-1"), status=200)
    receive(service, clock, sender_for, "offlimits", "fast-1")
    sender = worker(service, clock, "a")

    assert sender.run_once() == 1  # slow-1 timed out; slow-2 and slow-3 were not attempted
    after = rows(service)
    retry_at = to_micros(clock()) + 10_000_000  # the first retry's cap (no jitter here)
    assert after["slow-1"].attempts == 1 and after["slow-1"].next_attempt_at == retry_at
    for order_id in ("slow-2", "slow-3"):
        row = after[order_id]
        assert (row.attempts, row.lease_owner, row.next_attempt_at) == (0, None, retry_at)
    assert sender.run_once() == 1  # the other issuer, at once
    assert rows(service)["fast-1"].state == "delivered"
    assert [c.request.url.rsplit("/", 2)[1] for c in responses.calls] == ["slow-1", "fast-1"]
    assert sender.run_once() == 0
    clock.advance(seconds=10)
    assert sender.run_once() == 1  # one attempt per retry period while the issuer is slow


@responses.activate
def test_a_plain_failure_does_not_end_the_batch(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    for n in (1, 2):
        responses.add(responses.POST, ack_url(service, f"down-{n}"),
                      body=requests.ConnectionError("refused"))
        receive(service, clock, sender_for, "nl-atkm", f"down-{n}")
    assert worker(service, clock, "a").run_once() == 2  # refused at once: no thread is held
    assert {r.attempts for r in rows(service).values()} == {1}


def test_concurrent_claimers_never_share_a_destination(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, "nl-atkm", "anchor")
    destinations = [f"alert:channel-{n}" for n in range(6)]
    with service.engine.begin() as conn:
        pk = conn.execute(sa.select(sa.func.min(deliveries.c.order_pk))).scalar()
        extra = []
        for destination in destinations:
            for n in range(4):
                message = Callback("alert.test", "/", new_webhook_id(), {})
                row = store.delivery_row(order_pk=pk, issuer_id="nl-atkm", order_id=f"x{n}",
                                         callback=message, now=to_micros(clock()))
                extra.append({**row, "destination": destination})
        store.enqueue_deliveries(conn, extra)
    workers = [worker(service, clock, f"w{n}") for n in range(10)]
    start = threading.Barrier(len(workers))
    claimed: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claim(w: DeliveryWorker) -> None:
        start.wait(10)
        got = w.claim(10)
        with lock:
            for destination in {c.destination for c in got}:
                claimed.setdefault(destination, []).append(w.owner)

    threads = [threading.Thread(target=claim, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(len(owners) == 1 for owners in claimed.values()), claimed
    assert len(claimed) >= 2  # they spread over destinations rather than queue on one
    with service.engine.connect() as conn:
        per_destination = conn.execute(
            sa.select(deliveries.c.destination,
                      sa.func.count(sa.distinct(deliveries.c.lease_owner)))
            .where(deliveries.c.lease_owner.is_not(None))
            .group_by(deliveries.c.destination)).all()
    assert per_destination and all(owners == 1 for _, owners in per_destination)


def test_a_worker_drops_its_leases_after_a_database_error(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, "nl-atkm", "ord-1")
    unlucky, other = worker(service, clock, "unlucky"), worker(service, clock, "other")
    [held] = unlucky.claim(10)  # then recording its answer failed: the lease stays behind
    assert other.claim(10) == []  # the whole destination waits for that lease ...
    unlucky.release_own_leases()  # ... unless the worker gives it back once the database is back
    assert [c.id for c in other.claim(10)] == [held.id]


@responses.activate
def test_a_batch_is_recorded_in_one_transaction_and_slow_answers_more_often(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    for n in range(5):
        responses.add(responses.POST, ack_url(service, f"ord-{n}"), status=200)
        receive(service, clock, sender_for, "nl-atkm", f"ord-{n}")
    commits: list[int] = []

    def count(conn: Any) -> None:
        commits.append(1)

    sa.event.listen(service.engine, "commit", count)
    try:
        assert worker(service, clock, "a").run_once() == 5
        # The claim and one record for all five: one transaction per message is the pace of
        # the database, not of the issuer.
        assert len(commits) == 2
        assert {r.state for r in rows(service).values()} == {"delivered"}

        def slow(request: Any) -> tuple[int, dict[str, str], str]:
            clock.advance(seconds=0.3)  # every answer takes 0.3 s
            return 200, {}, ""

        for n in range(5, 9):
            responses.add_callback(responses.POST, ack_url(service, f"ord-{n}"), callback=slow)
            receive(service, clock, sender_for, "nl-atkm", f"ord-{n}")
        commits.clear()
        assert worker(service, clock, "b").run_once() == 4
        assert len(commits) == 3  # the claim, then a record every 0.5 s of sending
    finally:
        sa.event.remove(service.engine, "commit", count)
    assert {r.state for r in rows(service).values()} == {"delivered"}
    with service.engine.connect() as conn:
        acked = conn.execute(sa.select(orders.c.order_id, orders.c.acknowledged_at)).all()
    assert all(at is not None for _, at in acked)
