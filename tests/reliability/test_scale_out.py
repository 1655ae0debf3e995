"""Two receivers (`serve --no-worker`) and two delivery workers (`hoster-compliance worker`) on
one PostgreSQL database: every callback is delivered at least once, repeated sends only ever
carry the message's one webhook-id, and no attempt is sent by two workers at once (every
request the issuer saw is one recorded attempt)."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.store.engine import make_engine
from hoster_compliance.store.tables import deliveries
from tests.helpers import ISSUER_SECRET, order_data
from tests.helpers.processes import AUTH, Receiver, Worker, free_port, write_config

pytestmark = pytest.mark.reliability

ORDERS = 120
ACTED = 30
SENDERS = 8


def test_two_receivers_and_two_workers_deliver_every_callback(pg_db: str,
                                                                tmp_path: Path) -> None:
    # Every fourth callback is refused once with 503 and Retry-After: 0, so retries happen and
    # may be picked up by either worker.
    plan = ([200, 200, 200, (503, "0")] * (ORDERS + ACTED))
    with CallbackServer(ISSUER_SECRET, responses=plan) as issuer:
        config = write_config(tmp_path / "hc.toml", pg_db, issuer.url,
                              callback_timeout_seconds=5)
        receivers = [Receiver(config, free_port(), tmp_path / f"receiver{n}.log", worker=False)
                     for n in range(2)]
        workers = [Worker(config, tmp_path / f"worker{n}.log") for n in range(2)]
        try:
            for proc in (*receivers, *workers):
                proc.start()

            def send(n: int) -> int:
                url = receivers[n % 2].url
                with IssuerSender(url, "nl-atkm", ISSUER_SECRET) as sender:
                    return sender.send_order(order_data(f"so-{n}")).status_code

            def act(n: int) -> int:
                url = receivers[(n + 1) % 2].url
                return requests.post(f"{url}/v1/orders/nl-atkm/so-{n}/action",
                                     json={"action": "disabled"}, headers=AUTH,
                                     timeout=10).status_code

            with ThreadPoolExecutor(SENDERS) as pool:
                assert set(pool.map(send, range(ORDERS))) == {201}
                assert set(pool.map(act, range(ACTED))) == {200}
            engine = make_engine(pg_db)
            try:
                final = wait_all_delivered(engine, workers)
            finally:
                engine.dispose()
            received = issuer.received
        finally:
            for proc in (*workers, *receivers):
                proc.stop()

    assert len(final) == ORDERS + ACTED
    by_id: dict[str, list] = defaultdict(list)
    for callback in received:
        assert callback.verified, callback.error
        by_id[callback.webhook_id].append(callback)
    assert set(by_id) == {r.webhook_id for r in final}
    for row in final:
        statuses = [c.status for c in by_id[row.webhook_id]]
        assert statuses[-1] == 200 and statuses.count(200) >= 1  # delivered at least once
        assert {c.body for c in by_id[row.webhook_id]} == {row.body.encode()}
        # One (order, type) message, one webhook-id: no second id was ever made for it.
        assert len({(c.path, c.webhook_id) for c in by_id[row.webhook_id]}) == 1
    assert len({(r.order_id, r.type) for r in final}) == len(final)
    assert any(len(calls) > 1 for calls in by_id.values())  # retries did happen
    # Each request the issuer saw is exactly one recorded attempt: the lease and
    # SKIP LOCKED kept two workers from ever sending the same attempt.
    assert len(received) == sum(r.attempts for r in final)


def wait_all_delivered(engine: sa.Engine, workers: list[Worker]) -> list[sa.Row]:
    pause = threading.Event()
    for _ in range(600):  # bounded: 30 s
        with engine.connect() as conn:
            final = list(conn.execute(sa.select(deliveries).order_by(deliveries.c.id)))
        if final and all(r.state == "delivered" for r in final):
            return final
        pause.wait(0.05)
    states = sorted({r.state for r in final})
    raise AssertionError(f"not all delivered ({states}):\n" +
                         "\n".join(w.log_tail(10) for w in workers))
