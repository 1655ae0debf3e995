"""Durable delivery of callbacks: retries, backoff, failure, leases (outbound HTTP via
``responses``; the store is a real database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
import sqlalchemy as sa
from standardwebhooks import Webhook

from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries, events, orders
from tests.helpers import ISSUER_SECRET, TOKEN, FakeClock, order_data


def receive(service: ComplianceService, clock: FakeClock, sender_for: Any,
            order_id: str = "ord-1") -> None:
    sender = sender_for("http://unused")
    body = sender.envelope("order.created", order_data(order_id), timestamp=int(clock.timestamp()))
    result = service.receive("nl-atkm", sender.headers_for(body), body)
    assert result.status == 201, result.body


def ack_url(service: ComplianceService, order_id: str = "ord-1") -> str:
    return service.config.issuers[0].api_base + f"/v1/orders/{order_id}/acknowledgement"


def delivery(service: ComplianceService) -> Any:
    with service.engine.connect() as conn:
        return conn.execute(sa.select(deliveries)).one()


def event_types(service: ComplianceService) -> list[str]:
    with service.engine.connect() as conn:
        return list(conn.execute(sa.select(events.c.type).order_by(events.c.id)).scalars())


@responses.activate
def test_503_503_200_is_delivered_with_the_same_id_and_fresh_timestamps(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any
) -> None:
    url = ack_url(service)
    for status in (503, 503, 200):
        responses.add(responses.POST, url, status=status)
    receive(service, clock, sender_for)
    assert worker.run_once() == 1
    first = delivery(service)
    assert first.state == "pending" and first.attempts == 1 and first.last_status == 503
    # Not due yet: the first retry comes at most 10 s later (no jitter in this worker).
    assert worker.run_once() == 0
    clock.advance(seconds=10)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    clock.advance(seconds=20)
    assert worker.run_once() == 1
    final = delivery(service)
    assert final.state == "delivered" and final.attempts == 3
    calls = responses.calls
    assert len({c.request.headers["webhook-id"] for c in calls}) == 1
    assert len({c.request.headers["webhook-timestamp"] for c in calls}) == 3
    with service.engine.connect() as conn:
        acknowledged = conn.execute(sa.select(orders.c.acknowledged_at)).scalar()
    assert acknowledged is not None
    assert event_types(service) == ["received", "acknowledged"]


@responses.activate
def test_connection_error_and_timeout_are_retried(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any
) -> None:
    url = ack_url(service)
    responses.add(responses.POST, url, body=requests.ConnectionError("refused"))
    responses.add(responses.POST, url, body=requests.Timeout("slow"))
    responses.add(responses.POST, url, status=204)
    receive(service, clock, sender_for)
    worker.run_once()
    row = delivery(service)
    assert row.state == "pending" and row.last_status is None and "refused" in row.last_error
    clock.advance(seconds=10)
    worker.run_once()
    clock.advance(seconds=20)
    worker.run_once()
    assert delivery(service).state == "delivered"


@responses.activate
def test_retry_after_replaces_the_backoff(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any
) -> None:
    url = ack_url(service)
    responses.add(responses.POST, url, status=429, headers={"Retry-After": "120"})
    responses.add(responses.POST, url, status=200)
    receive(service, clock, sender_for)
    worker.run_once()
    row = delivery(service)
    received = clock.now
    assert row.next_attempt_at == int((received.timestamp() + 120) * 1_000_000)
    clock.advance(seconds=119)
    assert worker.run_once() == 0
    clock.advance(seconds=1)
    assert worker.run_once() == 1 and delivery(service).state == "delivered"


@pytest.mark.parametrize("status", [400, 401, 404, 410])
@responses.activate
def test_other_4xx_fails_visibly(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any,
    status: int,
) -> None:
    responses.add(responses.POST, ack_url(service), status=status)
    receive(service, clock, sender_for)
    worker.run_once()
    row = delivery(service)
    assert row.state == "failed" and row.last_status == status and row.next_attempt_at is None
    assert event_types(service)[-1] == "delivery_failed"
    clock.advance(hours=2)
    assert worker.run_once() == 0  # never retried by itself


@responses.activate
def test_gives_up_only_after_72_hours(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any
) -> None:
    responses.add(responses.POST, ack_url(service), status=503)
    receive(service, clock, sender_for)
    start = clock.now
    attempts = 0
    while delivery(service).state == "pending":
        attempts += worker.run_once()
        clock.advance(hours=1)
        assert clock.now - start < timedelta(hours=80)
    row = delivery(service)
    assert row.state == "failed" and "72 h" in row.last_error
    assert clock.now - start >= timedelta(hours=72)
    assert attempts == row.attempts >= 72


@responses.activate
def test_operator_retry_keeps_the_webhook_id(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any,
    client: Any,
) -> None:
    url = ack_url(service)
    responses.add(responses.POST, url, status=410)
    responses.add(responses.POST, url, status=200)
    receive(service, clock, sender_for)
    worker.run_once()
    failed = delivery(service)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    listed = client.get("/v1/deliveries?state=failed", headers=auth).json["deliveries"]
    assert [d["id"] for d in listed] == [failed.id]
    response = client.post(f"/v1/deliveries/{failed.id}/retry", headers=auth)
    assert response.status_code == 200 and response.json["state"] == "pending"
    assert client.post(f"/v1/deliveries/{failed.id}/retry", headers=auth).status_code == 409
    assert client.post("/v1/deliveries/999/retry", headers=auth).json["error"] == \
        "unknown_delivery"
    clock.advance(seconds=1)  # the retry floor (next test)
    worker.run_once()
    assert delivery(service).state == "delivered"
    ids = [c.request.headers["webhook-id"] for c in responses.calls]
    assert ids == [failed.webhook_id, failed.webhook_id]
    assert "retried" in event_types(service)


@responses.activate
def test_an_operator_retrying_in_a_loop_gets_one_attempt_a_second(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any
) -> None:
    # The issuer refuses every attempt (410): each retry is answered at once with a failure,
    # and a script retrying again at once must not make an attempt storm (13.1).
    responses.add(responses.POST, ack_url(service), status=410)
    receive(service, clock, sender_for)
    worker.run_once()
    failed_at = clock.now
    row = delivery(service)
    assert row.state == "failed"
    clock.advance(seconds=0.25)
    view = service.retry_delivery(row.id, actor="operator:script")
    # Accepted, and due 1 s after the attempt that failed, not at once.
    assert view["state"] == "pending"
    assert view["next_attempt_at"] == (failed_at + timedelta(seconds=1)).isoformat().replace(
        "+00:00", "Z")
    assert worker.run_once() == 0
    clock.advance(seconds=0.74)
    assert worker.run_once() == 0
    clock.advance(seconds=0.01)
    assert worker.run_once() == 1
    assert len(responses.calls) == 2
    # Retried long after the failure: due at once.
    clock.advance(seconds=30)
    view = service.retry_delivery(row.id, actor="operator:script")
    assert worker.run_once() == 1
    assert len(responses.calls) == 3
    assert event_types(service).count("retried") == 2


@responses.activate
def test_expired_lease_is_taken_over_and_the_late_worker_records_nothing(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    responses.add(responses.POST, ack_url(service), status=200)
    receive(service, clock, sender_for)
    crashed = DeliveryWorker(service.config, service.engine, clock=clock, owner="crashed")
    rescuer = DeliveryWorker(service.config, service.engine, clock=clock, owner="rescuer")
    claims = crashed.claim(10)
    assert len(claims) == 1
    assert rescuer.claim(10) == []  # leased: nobody else sends the same attempt
    clock.advance(seconds=service.config.callback_timeout_seconds + 61)
    assert rescuer.run_once() == 1
    assert crashed.attempt(claims[0]) == "lost_lease"
    row = delivery(service)
    assert row.state == "delivered" and row.attempts == 1


@responses.activate
def test_callback_body_is_the_queued_body(
    service: ComplianceService, worker: DeliveryWorker, clock: FakeClock, sender_for: Any
) -> None:
    responses.add(responses.POST, ack_url(service), status=200)
    receive(service, clock, sender_for)
    worker.run_once()
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == json.loads(delivery(service).body)
    # The reference implementation checks timestamps against the real clock, so compare our
    # signature with the one it computes for the same id, timestamp and body.
    headers = dict(sent.headers)
    ts = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(ISSUER_SECRET).sign(headers["webhook-id"], ts, sent.body.decode())
    assert expected in headers["webhook-signature"].split(" ")


@responses.activate
def test_lease_is_renewed_per_attempt_and_a_lost_one_sends_nothing(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    responses.add(responses.POST, ack_url(service, "ord-1"), status=200)
    responses.add(responses.POST, ack_url(service, "ord-2"), status=200)
    receive(service, clock, sender_for, "ord-1")
    receive(service, clock, sender_for, "ord-2")
    slow = DeliveryWorker(service.config, service.engine, clock=clock, owner="slow")
    other = DeliveryWorker(service.config, service.engine, clock=clock, owner="other")
    first, second = slow.claim(10)
    # The first attempt is slow: past the batch's lease; renewal kept `first` ours meanwhile.
    assert slow.attempt(first) == "delivered"
    clock.advance(seconds=service.config.callback_timeout_seconds + 16)
    # `second` was claimed long ago and never renewed: another worker may take it over ...
    [taken] = other.claim(10)
    assert taken.id == second.id
    # ... and then the slow worker must not send it as well.
    assert slow.attempt(second) == "lost_lease"
    assert len(responses.calls) == 1
    assert other.attempt(taken) == "delivered"
    assert len(responses.calls) == 2


@responses.activate
def test_a_slow_batch_keeps_its_later_rows_by_renewing_before_each_attempt(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    timeout = service.config.callback_timeout_seconds

    def slow_issuer(request: Any) -> tuple[int, dict[str, str], str]:
        clock.advance(seconds=timeout)  # every answer takes the whole timeout
        return 200, {}, ""

    for order_id in ("ord-1", "ord-2"):
        responses.add_callback(responses.POST, ack_url(service, order_id), callback=slow_issuer)
        receive(service, clock, sender_for, order_id)
    slow = DeliveryWorker(service.config, service.engine, clock=clock, owner="slow")
    other = DeliveryWorker(service.config, service.engine, clock=clock, owner="other")
    first, second = slow.claim(10)
    assert slow.attempt(first) == "delivered"
    # `second` waited a whole timeout; renewing it before its attempt keeps it ours ...
    assert slow._renew_lease(second)
    clock.advance(seconds=timeout)
    # ... so another worker, past the batch's original lease, still cannot take it.
    assert other.claim(10) == []
    assert slow.attempt(second) == "delivered"
    assert len(responses.calls) == 2
