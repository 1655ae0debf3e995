"""The group commit thread's database connection: on PostgreSQL it keeps one for its life (no
pool checkout and pre-ping per batch), replaces one the server closed before the next batch,
gives one whose transaction failed back, and returns it to the pool when the thread ends. On
SQLite every batch takes its connection from the pool."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hoster_compliance.orders import intake
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.audit import verify_chain
from hoster_compliance.store.engine import is_sqlite
from hoster_compliance.store.group_commit import GroupCommitter, committer_resources
from hoster_compliance.store.tables import deliveries, orders
from tests.helpers import FakeClock, make_config
from tests.helpers.processes import pg_admin
from tests.helpers.webhooks import new_order

JOIN = 30  # seconds: only a hang would take this long


def count_checkouts(engine: sa.Engine) -> list[int]:
    checkouts = [0]

    @sa.event.listens_for(engine, "checkout")
    def _count(*_args: Any) -> None:
        checkouts[0] += 1

    return checkouts


def writer(service: ComplianceService, idle_exit: float = JOIN
           ) -> tuple[GroupCommitter[intake.NewOrder, intake.Response], set[int]]:
    """A committer writing through ``commit_orders``, as the service's does; and the ids of the
    threads that wrote its batches."""
    threads: set[int] = set()

    def commit(batch: Sequence[intake.NewOrder]) -> list[intake.Response | Exception]:
        threads.add(threading.get_ident())
        return intake.commit_orders(service.engine, batch)

    return GroupCommitter(commit, idle_exit=idle_exit), threads


def stored(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        count, problems = verify_chain(conn)
        assert problems == []
        return (conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one(),
                count)


def wait_for(predicate: Any) -> None:
    done = threading.Event()
    for _ in range(JOIN * 100):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition never became true")


def test_resources_exist_only_in_a_committer_thread_and_are_closed_when_it_ends() -> None:
    closed = threading.Event()

    class Resource:
        def close(self) -> None:
            closed.set()

    seen: list[dict[object, Any] | None] = []

    def commit(batch: Sequence[int]) -> list[int]:
        resources = committer_resources()
        assert resources is not None
        seen.append(resources)
        resources.setdefault("r", Resource())
        return list(batch)

    assert committer_resources() is None  # not in a committer thread
    committer: GroupCommitter[int, int] = GroupCommitter(commit, idle_exit=0.05)
    assert committer.submit(1) == 1
    assert committer.submit(2) == 2
    assert closed.wait(JOIN)  # the thread went idle, ended and closed what it kept
    assert len(seen) == 2 and seen[0] is seen[1]  # kept across the thread's batches


def test_the_committer_keeps_one_connection_and_gives_it_back_when_it_ends(
    db_url: str, clock: FakeClock
) -> None:
    service = ComplianceService(make_config(db_url), clock=clock)
    checkouts = count_checkouts(service.engine)
    committer, threads = writer(service, idle_exit=0.2)
    for n in range(3):
        assert committer.submit(new_order(service, clock, f"ord-{n}"))[0] == 201
    if is_sqlite(service.engine):
        assert checkouts == [3]  # one per batch
    else:
        assert len(threads) == 1 and checkouts == [1]  # one for the thread's life
    pool = service.engine.pool
    wait_for(lambda: pool.checkedout() == 0)  # given back when the thread ended
    assert stored(service.engine) == (3, 3, 3)
    service.engine.dispose()


def test_a_connection_the_server_closed_is_replaced_before_the_next_batch(
    db_url: str, clock: FakeClock
) -> None:
    service = ComplianceService(make_config(db_url), clock=clock)
    committer, threads = writer(service)
    assert committer.submit(new_order(service, clock, "ord-1"))[0] == 201
    if not is_sqlite(service.engine):  # the server ends every session of the database but ours
        admin = pg_admin()
        with admin.connect() as conn:
            ended = conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ), {"name": db_url.rsplit("/", 1)[1]}).scalars().all()
        admin.dispose()
        assert ended and all(ended)
    assert committer.submit(new_order(service, clock, "ord-2"))[0] == 201  # not a 503
    assert len(threads) == 1  # the same committer thread wrote both
    assert stored(service.engine) == (2, 2, 2)
    service.engine.dispose()


def test_a_failed_transaction_gives_its_connection_back(db_url: str, clock: FakeClock) -> None:
    service = ComplianceService(make_config(db_url), clock=clock)
    checkouts = count_checkouts(service.engine)
    committer, _ = writer(service)
    assert committer.submit(new_order(service, clock, "ord-1"))[0] == 201
    bad = new_order(service, clock, "ord-2")
    bad.row["kind"] = None  # NOT NULL: this order cannot be stored
    outcome: Any = None
    try:
        committer.submit(bad)
    except sa.exc.IntegrityError as exc:
        outcome = exc
    assert isinstance(outcome, sa.exc.IntegrityError)
    before = checkouts[0]
    assert committer.submit(new_order(service, clock, "ord-3"))[0] == 201
    assert checkouts[0] == before + 1  # a fresh connection from the pool, on both databases
    assert service.engine.pool.checkedout() == (0 if is_sqlite(service.engine) else 1)
    assert stored(service.engine) == (2, 2, 2)
    service.engine.dispose()
