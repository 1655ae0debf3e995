"""The issuer is down (connection refused), then answers 503 (then 503 with Retry-After), then
is back: every callback queued by a real receiver process is delivered, none dropped, with one
webhook-id per message across its attempts and a fresh webhook-timestamp on each.

The delivery worker runs in the test on an injected clock, and full jitter is pinned to its
upper bound, so the backoff schedule (10 s, 20 s, 40 s, ...) is checked exactly without waiting
for it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hoster_compliance.config import load_config
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.store.engine import make_engine
from hoster_compliance.store.tables import deliveries, orders
from hoster_compliance.timeutil import to_micros, utcnow
from tests.helpers import ISSUER_SECRET, FakeClock, order_data
from tests.helpers.processes import AUTH, Receiver, free_port, write_config

pytestmark = pytest.mark.reliability

ORDERS = 10
ACTED = 3  # orders completed at once: an outcome is queued for each


def rows(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(deliveries).order_by(deliveries.c.id)))


def test_callbacks_survive_an_issuer_that_refuses_then_fails_then_recovers(
    rel_db: str, tmp_path: Path
) -> None:
    issuer_port = free_port()  # nothing listens there: connection refused
    config_path = write_config(tmp_path / "hc.toml", rel_db, f"http://127.0.0.1:{issuer_port}",
                               callback_timeout_seconds=5)
    with Receiver(config_path, free_port(), tmp_path / "receiver.log", worker=False) as receiver, \
            IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as sender:
        for n in range(ORDERS):
            assert sender.send_order(order_data(f"out-{n}")).status_code == 201
        for n in range(ACTED):
            answer = requests.post(f"{receiver.url}/v1/orders/nl-atkm/out-{n}/action",
                                   json={"action": "removed"}, headers=AUTH, timeout=10)
            assert answer.status_code == 200, answer.text
    total = ORDERS + ACTED

    engine = make_engine(rel_db)
    clock = FakeClock(utcnow())
    worker = DeliveryWorker(load_config(config_path), engine, clock=clock,
                            uniform=lambda low, high: high)
    try:
        # Down: every attempt is refused and rescheduled at the backoff's cap.
        for attempt, cap in ((1, 10), (2, 20)):
            assert worker.run_once(limit=100) == total
            for row in rows(engine):
                assert (row.state, row.attempts, row.last_status) == ("pending", attempt, None)
                assert "ConnectionError" in row.last_error
                assert row.next_attempt_at == to_micros(clock()) + cap * 1_000_000
            clock.advance(seconds=cap)

        plan = [503] * total + [(503, "7")] * total
        with CallbackServer(ISSUER_SECRET, port=issuer_port, responses=plan,
                            clock=clock.timestamp) as issuer:
            assert worker.run_once(limit=100) == total  # 503: back off 40 s
            clock.advance(seconds=40)
            assert worker.run_once(limit=100) == total  # 503 with Retry-After: 7 s, not the backoff
            assert {r.next_attempt_at - to_micros(clock()) for r in rows(engine)} == {7_000_000}
            clock.advance(seconds=6)
            assert worker.run_once(limit=100) == 0  # not due yet
            clock.advance(seconds=1)
            assert worker.run_once(limit=100) == total  # 200
            assert worker.run_once(limit=100) == 0
            received = issuer.received
        final = rows(engine)
        with engine.connect() as conn:
            unacknowledged = conn.execute(sa.select(sa.func.count()).where(
                orders.c.acknowledged_at.is_(None))).scalar()
    finally:
        engine.dispose()

    assert unacknowledged == 0
    assert [(r.state, r.attempts, r.last_status) for r in final] == [("delivered", 5, 200)] * total
    assert sorted(r.type for r in final) == \
        ["order.acknowledged"] * ORDERS + ["order.outcome"] * ACTED
    by_id: dict[str, list] = defaultdict(list)
    for callback in received:
        assert callback.verified, callback.error
        by_id[callback.webhook_id].append(callback)
    assert set(by_id) == {r.webhook_id for r in final}  # every message, none dropped
    for row in final:
        attempts = by_id[row.webhook_id]
        assert [a.status for a in attempts] == [503, 503, 200]
        assert {a.body for a in attempts} == {row.body.encode()}  # the same message each time
        assert {a.path for a in attempts} == {row.path}
        stamps = [a.headers["webhook-timestamp"] for a in attempts]
        assert len(set(stamps)) == 3  # signed afresh for every attempt
