"""The database becomes unavailable under a running receiver: the webhook answers 503 with
Retry-After (never 500), and once the database is back the same receiver, not restarted,
stores orders again and its delivery worker sends the acknowledgements.

PostgreSQL: connections to a dedicated database are forbidden (ALTER DATABASE ...
ALLOW_CONNECTIONS false) and its backends terminated, as in a failover or a restart of the
server. SQLite: another process holds the write lock longer than the database_url's
``?timeout=`` (an exclusive backup, a stuck writer): SQLite's own form of unavailability."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hoster_compliance.issuer import CallbackServer, IssuerSender, new_message_id
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.engine import make_engine
from tests.helpers import ISSUER_SECRET, make_config, order_data
from tests.helpers.processes import AUTH, Receiver, free_port, pg_admin, write_config

pytestmark = pytest.mark.reliability


@contextmanager
def outage(db_url: str) -> Iterator[None]:
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///").partition("?")[0]
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    name = db_url.rsplit("/", 1)[1]
    admin = pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
            ), {"name": name})
        try:
            yield
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        admin.dispose()


def acked(issuer: CallbackServer) -> set[str]:
    return {r.payload["data"]["order_id"] for r in issuer.received
            if r.verified and r.status == 200}


def assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_receiver_answers_503_while_the_database_is_away_and_recovers_by_itself(
    rel_db: str, tmp_path: Path
) -> None:
    sqlite = rel_db.startswith("sqlite")
    db_url = rel_db + "?timeout=0.5" if sqlite else rel_db
    with CallbackServer(ISSUER_SECRET) as issuer:
        config = write_config(tmp_path / "hc.toml", db_url, issuer.url,
                              callback_timeout_seconds=5)
        with Receiver(config, free_port(), tmp_path / "receiver.log", threads=4) as receiver, \
                IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as sender:
            assert sender.send_order(order_data("before")).status_code == 201
            issuer.wait_for(lambda _: "before" in acked(issuer), timeout=10)
            during, msg_id = order_data("during"), new_message_id()

            with outage(rel_db):
                for _ in range(3):  # the issuer retries; each answer is the same
                    assert_unavailable(sender.send_order(during, msg_id=msg_id))
                act = requests.post(f"{receiver.url}/v1/orders/nl-atkm/before/action",
                                    json={"action": "removed"}, headers=AUTH, timeout=10)
                assert_unavailable(act)
                health = requests.get(receiver.url + "/healthz", timeout=10)
                listing = requests.get(receiver.url + "/v1/orders", headers=AUTH, timeout=10)
                if sqlite:  # readers are not blocked by a writer's lock (WAL)
                    assert (health.status_code, listing.status_code) == (200, 200)
                else:
                    assert health.status_code == 503
                    assert_unavailable(listing)
                # A worker process dies and gunicorn starts another: it must boot without the
                # database (a worker that fails to boot makes gunicorn halt the whole server).
                respawned = receiver.replace_a_worker()
                assert_unavailable(sender.send_order(during, msg_id=msg_id))

            # Back: the same processes recover on the next request, no restart.
            assert sender.send_order(during, msg_id=msg_id).status_code == 201
            assert requests.get(receiver.url + "/healthz", timeout=10).status_code == 200
            act = requests.post(f"{receiver.url}/v1/orders/nl-atkm/before/action",
                                json={"action": "removed"}, headers=AUTH, timeout=10)
            assert act.status_code == 200, act.text
            # Up to 35 s: the killed process may have held the issuer's lease (an attempt whose
            # answer the outage kept from being recorded), and nobody else sends to that issuer
            # until it runs out (callback_timeout_seconds + 15 s after its claim).
            issuer.wait_for(lambda _: "during" in acked(issuer), timeout=35)
            assert receiver.worker_pids() == [respawned]
            log = receiver.log_tail(100_000)
    # The access log shows every answer: none was a 500.
    assert not re.search(r'HTTP/1\.[01]" 5(?!03)\d\d ', log), log


def test_no_connection_free_in_the_pool_is_503_not_an_exception(rel_db: str) -> None:
    """Every connection of the process's pool is busy past the pool's timeout (more request
    threads than connections, or connections stuck on a dying database): storage is
    unavailable to this request, which PROTOCOL 2.3 answers 503 with Retry-After."""
    engine = make_engine(rel_db, pool_size=1, max_overflow=0, pool_timeout=0.1)
    service = ComplianceService(make_config(rel_db), engine)
    sender = IssuerSender("http://127.0.0.1:9", "nl-atkm", ISSUER_SECRET)
    body = sender.envelope("order.created", order_data("pool"), timestamp=int(time.time()))
    try:
        with engine.connect():  # the only connection, held
            result = service.receive("nl-atkm", sender.headers_for(body), body)
    finally:
        sender.close()
        engine.dispose()
    assert result.status == 503
    assert result.body["error"] == "unavailable"
    assert int(result.headers["Retry-After"]) > 0
