"""kill -9 of the receiver (gunicorn master and workers) in the middle of a burst of concurrent
signed orders, then a restart: every order answered 2xx is stored as answered, the issuer's
retries of the unanswered ones are accepted, and every order gets its acknowledgement."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from hoster_compliance.config import load_config
from hoster_compliance.delivery.outbox import LEASE_MARGIN_SECONDS, DeliveryWorker
from hoster_compliance.issuer import CallbackServer, IssuerSender, new_message_id
from hoster_compliance.orders.trail import verify_audit
from hoster_compliance.store.audit import AuditHead, verify_chain
from hoster_compliance.store.engine import make_engine
from hoster_compliance.store.tables import deliveries, orders
from hoster_compliance.timeutil import format_time, from_micros, utcnow
from tests.helpers import ISSUER_SECRET, order_data
from tests.helpers.processes import Receiver, free_port, write_config

pytestmark = pytest.mark.reliability

THREADS = 8
KILL_AFTER = 40  # orders answered 2xx before the kill
MAX_PER_THREAD = 150
CALLBACK_TIMEOUT = 2


@dataclass
class Sent:
    data: dict[str, Any]
    msg_id: str
    status: int | None = None  # None: no answer (the connection died)
    answer: dict[str, Any] | None = None


def burst(url: str, sent: dict[str, Sent], lock: threading.Lock, enough: threading.Event,
          stop: threading.Event) -> list[threading.Thread]:
    """THREADS senders posting new orders until ``stop``; ``enough`` once KILL_AFTER got 2xx."""

    def run(n: int) -> None:
        with IssuerSender(url, "nl-atkm", ISSUER_SECRET, timeout=10) as sender:
            for i in range(MAX_PER_THREAD):
                if stop.is_set():
                    return
                entry = Sent(order_data(f"burst-{n}-{i}"), new_message_id())
                with lock:
                    sent[entry.data["order_id"]] = entry
                try:
                    response = sender.send_order(entry.data, msg_id=entry.msg_id)
                except requests.RequestException:
                    continue  # killed under us: the issuer will retry it
                with lock:
                    entry.status = response.status_code
                    entry.answer = response.json()
                    if sum(1 for s in sent.values() if s.status in (200, 201)) >= KILL_AFTER:
                        enough.set()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    return threads


def lease_seconds() -> float:
    return CALLBACK_TIMEOUT + LEASE_MARGIN_SECONDS


def test_kill9_during_a_burst_loses_no_order_answered_2xx(rel_db: str, tmp_path: Path) -> None:
    with CallbackServer(ISSUER_SECRET) as issuer:
        config_path = write_config(tmp_path / "hc.toml", rel_db, issuer.url,
                                   callback_timeout_seconds=CALLBACK_TIMEOUT)
        port = free_port()
        sent: dict[str, Sent] = {}
        lock, enough, stop = threading.Lock(), threading.Event(), threading.Event()

        first = Receiver(config_path, port, tmp_path / "first.log", processes=2).start()
        try:
            threads = burst(first.url, sent, lock, enough, stop)
            reached = enough.wait(60)
            first.kill9()
        finally:
            stop.set()
            first.stop()
        for thread in threads:
            thread.join(30)
        assert reached, f"the burst never reached {KILL_AFTER} answers:\n{first.log_tail()}"
        with pytest.raises(requests.ConnectionError):
            requests.get(first.url + "/healthz", timeout=2)  # nothing survived the kill

        engine = make_engine(rel_db)
        try:
            # Claims the killed processes held: nobody may send them until their lease ends.
            with engine.connect() as conn:
                stuck = set(conn.execute(sa.select(deliveries.c.id).where(
                    deliveries.c.state == "pending", deliveries.c.lease_owner.is_not(None),
                )).scalars())

            with Receiver(config_path, port, tmp_path / "second.log", processes=2) as second, \
                    IssuerSender(second.url, "nl-atkm", ISSUER_SECRET) as sender:
                unanswered = [e for e in sent.values() if e.status is None]
                for entry in unanswered:
                    # The issuer retries what was never answered (same message id).
                    response = sender.send_order(entry.data, msg_id=entry.msg_id)
                    assert response.status_code in (200, 201), response.text
                    entry.status, entry.answer = response.status_code, response.json()
                wait_until_only(engine, stuck, second)
                # Time passes beyond the dead claims' lease: a worker takes them over.
                later = DeliveryWorker(
                    load_config(config_path), engine,
                    clock=lambda: utcnow() + timedelta(seconds=lease_seconds() + 1),
                )
                for _ in range(50):
                    if not later.run_once():
                        break
                received = issuer.wait_for(
                    lambda got: acked(got) >= set(sent), timeout=60)
            check_stored_and_acknowledged(engine, sent, received)
        finally:
            engine.dispose()


def wait_until_only(engine: sa.Engine, stuck: set[int], receiver: Receiver) -> None:
    """Until the restarted receiver delivered every callback it may send now."""
    done = threading.Event()
    for _ in range(600):
        with engine.connect() as conn:
            pending = set(conn.execute(sa.select(deliveries.c.id).where(
                deliveries.c.state == "pending")).scalars())
        if pending <= stuck:
            return
        done.wait(0.05)
    raise AssertionError(f"undelivered after 30 s: {sorted(pending - stuck)}\n"
                         f"{receiver.log_tail()}")


def acked(received: list[Any]) -> set[str]:
    return {r.payload["data"]["order_id"] for r in received
            if r.verified and r.status == 200 and r.path.endswith("/acknowledgement")}


def check_stored_and_acknowledged(engine: sa.Engine, sent: dict[str, Sent],
                                  received: list[Any]) -> None:
    with engine.connect() as conn:
        stored = {r.order_id: r for r in conn.execute(sa.select(orders))}
        acks = {r.order_id: r for r in conn.execute(
            sa.select(deliveries).where(deliveries.c.type == "order.acknowledged"))}
        assert verify_chain(conn)[1] == []
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert set(stored) == set(sent)  # every order, answered or retried, is there once
    for order_id, entry in sent.items():
        row = stored[order_id]
        assert entry.answer is not None
        # What was answered is what was stored (a duplicate answer shows the first receipt).
        assert entry.answer["received_at"] == format_time(from_micros(row.received_at))
        assert acks[order_id].state == "delivered"
        assert row.acknowledged_at is not None
    for callback in received:
        assert callback.verified, callback.error
        order_id = callback.payload["data"]["order_id"]
        # A callback re-sent after the crash carries the message's one webhook-id.
        assert callback.webhook_id == acks[order_id].webhook_id
        assert callback.payload["data"]["received_at"] == \
            format_time(from_micros(stored[order_id].received_at))
    # Every order's state agrees with its events, and every audit witness an issuer received
    # (PROTOCOL 3) is still in the trail after the crash.
    witnesses = {AuditHead(c.payload["data"]["audit"]["seq"], c.payload["data"]["audit"]["hash"])
                 for c in received}
    report = verify_audit(engine, sorted(witnesses, key=lambda h: h.seq))
    assert report.intact, (report.chain, report.state, report.expected)
