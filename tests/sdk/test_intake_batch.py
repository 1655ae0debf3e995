"""Storing orders in batches (group commit), on both databases: what one transaction writes,
redeliveries and conflicts inside and across batches, a broken order among good ones, and
concurrent requests sharing a transaction."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.errors import Conflict
from hoster_compliance.orders import intake
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.audit import verify_chain
from hoster_compliance.store.engine import is_sqlite, make_engine
from hoster_compliance.store.tables import chain_head, deliveries, events, items, orders
from tests.helpers import FakeClock, make_config, order_data
from tests.helpers.webhooks import envelope, new_order, signed

JOIN = 30  # seconds: only a hang would take this long


def count_commits(engine: sa.Engine) -> list[int]:
    commits = [0]

    @sa.event.listens_for(engine, "commit")
    def _count(_conn: Any) -> None:
        commits[0] += 1

    return commits


def rows(engine: sa.Engine, table: sa.Table) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)))


def chain_ok(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        count, problems = verify_chain(conn)
        head = conn.execute(sa.select(chain_head)).one()
        newest = conn.execute(sa.select(sa.func.max(events.c.id))).scalar_one()
    assert problems == []
    assert head.event_id == newest
    return count


def test_a_batch_is_one_transaction_with_all_it_must_write(
    service: ComplianceService, clock: FakeClock
) -> None:
    batch = [new_order(service, clock, f"ord-{n}") for n in range(3)]
    commits = count_commits(service.engine)
    outcomes = intake.commit_orders(service.engine, batch)
    assert [outcome[0] for outcome in outcomes] == [201, 201, 201]  # type: ignore[index]
    assert [outcome[1]["order_id"] for outcome in outcomes] == [  # type: ignore[index]
        "ord-0", "ord-1", "ord-2"]
    assert commits == [1]
    stored = rows(service.engine, orders)
    assert [row.order_id for row in stored] == ["ord-0", "ord-1", "ord-2"]
    pk = {row.order_id: row.id for row in stored}
    stored_items = rows(service.engine, items)
    assert sorted((row.order_pk, row.position, row.item_id) for row in stored_items) == sorted(
        (pk[f"ord-{n}"], position, f"i{position + 1}") for n in range(3) for position in (0, 1))
    acks = rows(service.engine, deliveries)
    assert sorted(row.order_pk for row in acks) == sorted(pk.values())
    assert {row.type for row in acks} == {"order.acknowledged"}
    assert len({row.webhook_id for row in acks}) == 3
    order_id_of = {pk_: order_id for order_id, pk_ in pk.items()}
    for row in acks:
        assert json.loads(row.body)["data"]["order_id"] == order_id_of[row.order_pk]
    received = [row for row in rows(service.engine, events) if row.type == "received"]
    assert [row.order_pk for row in received] == [pk["ord-0"], pk["ord-1"], pk["ord-2"]]
    assert chain_ok(service.engine) == 3


def test_the_same_order_twice_in_a_batch_is_stored_once(
    service: ComplianceService, clock: FakeClock
) -> None:
    first, again = new_order(service, clock, "ord-1"), new_order(service, clock, "ord-1")
    outcomes = intake.commit_orders(service.engine, [first, again])
    assert outcomes[0][0] == 201  # type: ignore[index]
    assert outcomes[1] == (200, {  # the answer of a redelivery
        "order_id": "ord-1", "status": "open", "received_at": outcomes[0][1]["received_at"],  # type: ignore[index]
        "deadline": outcomes[0][1]["deadline"], "duplicate": True})  # type: ignore[index]
    assert len(rows(service.engine, orders)) == 1
    assert len(rows(service.engine, deliveries)) == 1
    assert [row.type for row in rows(service.engine, events)] == [
        "received", "duplicate_delivery"]
    chain_ok(service.engine)


def test_the_same_order_id_with_other_data_in_a_batch_conflicts(
    service: ComplianceService, clock: FakeClock
) -> None:
    first = new_order(service, clock, "ord-1")
    other = new_order(service, clock, "ord-1", statement_of_reasons="Something else.")
    outcomes = intake.commit_orders(service.engine, [first, other])
    assert outcomes[0][0] == 201  # type: ignore[index]
    assert isinstance(outcomes[1], Conflict)
    assert len(rows(service.engine, orders)) == 1
    assert [row.type for row in rows(service.engine, events)] == ["received"]


@pytest.mark.parametrize("changed", [False, True])
def test_an_order_stored_earlier_is_answered_as_a_redelivery_and_the_rest_stored(
    service: ComplianceService, clock: FakeClock, changed: bool
) -> None:
    assert intake.commit_orders(service.engine, [new_order(service, clock, "ord-old")])[0][0] == 201
    clock.advance(seconds=5)
    extra = {"statement_of_reasons": "Something else."} if changed else {}
    batch = [new_order(service, clock, "ord-a"), new_order(service, clock, "ord-old", **extra),
             new_order(service, clock, "ord-b")]
    outcomes = intake.commit_orders(service.engine, batch)
    assert outcomes[0][0] == 201 and outcomes[2][0] == 201  # type: ignore[index]
    if changed:
        assert isinstance(outcomes[1], Conflict)
    else:
        assert outcomes[1][0] == 200 and outcomes[1][1]["duplicate"] is True  # type: ignore[index]
    assert sorted(row.order_id for row in rows(service.engine, orders)) == [
        "ord-a", "ord-b", "ord-old"]
    types = [row.type for row in rows(service.engine, events)]
    assert types.count("received") == 3
    assert types.count("duplicate_delivery") == (0 if changed else 1)
    assert len(rows(service.engine, deliveries)) == 3
    chain_ok(service.engine)


def test_a_broken_order_fails_alone(service: ComplianceService, clock: FakeClock) -> None:
    good_1, bad, good_2 = (new_order(service, clock, f"ord-{n}") for n in range(3))
    bad.row["kind"] = None  # NOT NULL: this order cannot be stored
    outcomes = intake.commit_orders(service.engine, [good_1, bad, good_2])
    assert outcomes[0][0] == 201 and outcomes[2][0] == 201  # type: ignore[index]
    assert isinstance(outcomes[1], sa.exc.IntegrityError)
    assert sorted(row.order_id for row in rows(service.engine, orders)) == ["ord-0", "ord-2"]
    assert len(rows(service.engine, items)) == 4  # nothing of the broken order
    assert chain_ok(service.engine) == 2


def test_orders_from_two_issuers_in_one_batch(service: ComplianceService, clock: FakeClock) -> None:
    batch = [new_order(service, clock, "same-id", issuer="nl-atkm"),
             new_order(service, clock, "same-id", issuer="offlimits")]
    assert [o[0] for o in intake.commit_orders(service.engine, batch)] == [201, 201]  # type: ignore[index]
    # A redelivery of both finds each under its own issuer.
    outcomes = intake.commit_orders(service.engine, batch)
    assert [o[0] for o in outcomes] == [200, 200]  # type: ignore[index]
    assert len(rows(service.engine, orders)) == 2


def wait_for(predicate: Any) -> None:
    for _ in range(JOIN * 100):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError("condition never became true")


def hold_writes(db_url: str) -> Any:
    """Another connection (another process, as far as the store can tell) holding what every
    order's transaction needs: SQLite's write lock, or PostgreSQL's audit chain head."""
    engine = make_engine(db_url)
    conn = engine.connect()
    if is_sqlite(engine):
        conn.begin()  # BEGIN IMMEDIATE (store/engine.py)
    else:
        conn.begin()
        conn.execute(sa.select(chain_head).with_for_update())
    return engine, conn


def test_requests_arriving_during_a_commit_share_the_next_transaction(
    db_url: str, clock: FakeClock
) -> None:
    service = ComplianceService(make_config(db_url), clock=clock)
    commits = count_commits(service.engine)
    answers: dict[str, int] = {}

    def post(order_id: str) -> None:
        body, headers = signed(clock, envelope(order_data(order_id)))
        answers[order_id] = service.receive("nl-atkm", headers, body).status

    holder_engine, holder = hold_writes(db_url)
    try:
        leader = threading.Thread(target=post, args=("ord-0",))
        leader.start()
        wait_for(lambda: service.group_commit_stats.committing == 1)  # held up by the holder
        followers = [threading.Thread(target=post, args=(f"ord-{n}",)) for n in range(1, 6)]
        for thread in followers:
            thread.start()
        stats = service.group_commit_stats
        wait_for(lambda: stats.waiting + stats.committing == 6)  # everyone has submitted
        assert stats.batches == 0  # nothing could commit yet
    finally:
        holder.rollback()
        holder.close()
        holder_engine.dispose()
    for thread in [leader, *followers]:
        thread.join(JOIN)
        assert not thread.is_alive()
    assert answers == {f"ord-{n}": 201 for n in range(6)}
    # [ord-0], then the five that queued behind it, together.
    assert (stats.batches, stats.items, stats.largest) == (2, 6, 5)
    assert commits == [2]  # six orders, two transactions
    assert len(rows(service.engine, orders)) == 6
    assert len(rows(service.engine, deliveries)) == 6
    assert chain_ok(service.engine) == 6
    service.engine.dispose()


def test_two_processes_receiving_the_same_orders_store_each_once(
    db_url: str, clock: FakeClock
) -> None:
    # Two services with engines of their own stand for two receiver processes; every order
    # is delivered to both at once (an issuer retrying against two receivers).
    services = [ComplianceService(make_config(db_url), clock=clock) for _ in range(2)]
    bodies = [signed(clock, envelope(order_data(f"ord-{n}")), msg_id=f"msg_{n}")
              for n in range(12)]
    answers: list[tuple[int, int]] = []
    lock = threading.Lock()

    def post(which: int, offset: int) -> None:
        for n in range(12):
            body, headers = bodies[(n + offset) % 12]
            status = services[which].receive("nl-atkm", headers, body).status
            with lock:
                answers.append(((n + offset) % 12, status))

    threads = [threading.Thread(target=post, args=(which, offset))
               for which in (0, 1) for offset in (0, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN)
        assert not thread.is_alive()
    for n in range(12):
        statuses = sorted(status for order, status in answers if order == n)
        assert statuses == [200, 200, 200, 201], (n, statuses)
    engine = services[0].engine
    assert len(rows(engine, orders)) == 12
    assert len(rows(engine, deliveries)) == 12
    types = [row.type for row in rows(engine, events)]
    # three redeliveries of each order within a minute: one duplicate_delivery event each
    assert types.count("received") == 12 and types.count("duplicate_delivery") == 12
    chain_ok(engine)
    for service in services:
        service.engine.dispose()


def test_rows_lacking_a_defaulted_column_are_refused_on_both_databases(
    service: ComplianceService, clock: FakeClock
) -> None:
    from hoster_compliance.protocol.callbacks import Callback
    from hoster_compliance.store.orders import delivery_row, insert_rows

    intake.commit_orders(service.engine, [new_order(service, clock, "ord-1")])
    pk = rows(service.engine, orders)[0].id
    row = delivery_row(order_pk=pk, issuer_id="nl-atkm", order_id="ord-1",
                       callback=Callback("order.outcome", "/x", "msg_1", {}), now=0)
    del row["attempts"]  # SQLAlchemy would default it; psycopg's executemany would not
    with service.engine.begin() as conn, pytest.raises(ValueError, match="attempts"):
        insert_rows(conn, deliveries, [row, dict(row, webhook_id="msg_2")])


def test_several_rows_are_inserted_in_order(service: ComplianceService, clock: FakeClock) -> None:
    from hoster_compliance.store.audit import append_events, event_row

    with service.engine.begin() as conn:
        append_events(conn, [event_row(order_pk=None, at=n, type=f"t{n}", actor="test")
                             for n in range(5)])
    stored = rows(service.engine, events)
    assert [row.type for row in stored] == [f"t{n}" for n in range(5)]  # ids in list order
    assert chain_ok(service.engine) == 5
