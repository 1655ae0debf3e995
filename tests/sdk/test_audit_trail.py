"""The audit trail as evidence (PROTOCOL 13.4) and the audit witness (3), on both databases:
a store written by the real code verifies; an SQL UPDATE of what a report reads is named; a
recomputed chain is caught by a head kept elsewhere; events of the first release still verify;
every callback carries the trail's head from its own transaction."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.orders import intake
from hoster_compliance.report import build_report
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.audit import AuditHead
from hoster_compliance.store.tables import deliveries, events, items, orders
from tests.helpers import FakeClock, make_config, order_data
from tests.helpers.audit import rewrite as rewrite_chain
from tests.helpers.databases import copy_rows, restore_rows
from tests.helpers.webhooks import envelope, new_order, receive, signed


def _seed(service: ComplianceService, clock: FakeClock, sender_for: Any,
          worker: DeliveryWorker) -> None:
    """Four orders as the code writes them: ord-1 acknowledged and completed in time (one
    item removed, one refused), ord-2 withdrawn, ord-3 (EU_TCO, 1 h) open past its deadline,
    and a notice with preservation."""
    receive(service, clock, sender_for, order_id="ord-1")
    receive(service, clock, sender_for, order_id="ord-2")
    receive(service, clock, sender_for, order_id="ord-3", regime="EU_TCO")
    receive(service, clock, sender_for, issuer="offlimits", order_id="n-1", kind="notice",
            regime="NL_NTD",
            category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD", preserve_for_days=30,
            subcategory="KEYWORD_OTHER", subcategory_other="Fake shop")
    # one destination per claim: nl-atkm's three, then offlimits' one
    assert worker.run_once() + worker.run_once() == 4  # the acknowledgements
    assert worker.run_once() == 0
    clock.advance(minutes=30)
    service.act("nl-atkm", "ord-1", "i1", {"action": "removed"}, actor="operator:abc")
    service.act("nl-atkm", "ord-1", "i2", {"action": "refused", "reason": "manifest error"},
                actor="operator:abc")
    service.act("offlimits", "n-1", None, {"action": "disabled", "basis": "terms"},
                actor="cli:alice")
    sender = sender_for("http://unused")
    withdrawal = sender.envelope("order.withdrawn", {"order_id": "ord-2", "reason": "mistake"},
                                 timestamp=int(clock.timestamp()))
    assert service.receive("nl-atkm", sender.headers_for(withdrawal), withdrawal).status == 200
    assert worker.run_once() + worker.run_once() == 2  # the outcomes (one per issuer)
    assert worker.run_once() == 0
    clock.advance(hours=2)  # ord-3 is now overdue


#: How long the seeding moves the clock on (``_seed``).
SEEDED_FOR = timedelta(minutes=30) + timedelta(hours=2)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seeded database of each kind, once built: a copy of the SQLite file, or the rows
    of the PostgreSQL database (building it by the code costs over a second; copying it, a few
    milliseconds)."""
    return {"dir": tmp_path_factory.mktemp("seeded")}


@pytest.fixture
def store(request: pytest.FixtureRequest, seeded: dict[str, Any], db_url: str,
          clock: FakeClock) -> ComplianceService:
    """The seeded database (``_seed``), written by the real code for the first test of each
    database kind and copied for every other (they tamper with it), with the clock where the
    seeding left it."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    path = Path(db_url.removeprefix("sqlite:///"))
    if kind not in seeded:
        service: ComplianceService = request.getfixturevalue("service")
        _seed(service, clock, request.getfixturevalue("sender_for"),
              request.getfixturevalue("worker"))
        if kind == "sqlite":  # SQLite's backup: the file with what its WAL holds
            with closing(sqlite3.connect(path)) as source, \
                    closing(sqlite3.connect(seeded["dir"] / "hc.db")) as copy:
                source.backup(copy)
            seeded[kind] = seeded["dir"] / "hc.db"
        else:
            seeded[kind] = copy_rows(db_url)
        return service
    if kind == "sqlite":
        shutil.copyfile(seeded[kind], path)
    else:
        restore_rows(db_url, seeded[kind])
    clock.advance(seconds=SEEDED_FOR.total_seconds())
    return request.getfixturevalue("service")  # type: ignore[no-any-return]


def newest(service: ComplianceService) -> AuditHead:
    with service.engine.connect() as conn:
        row = conn.execute(sa.select(events).order_by(events.c.id.desc()).limit(1)).one()
    return AuditHead(row.id, row.hash)


def tamper(service: ComplianceService, statement: Any) -> None:
    with service.engine.begin() as conn:
        conn.execute(statement)


def item_of(order_id: str, item_id: str) -> Any:
    order_pk = sa.select(orders.c.id).where(orders.c.order_id == order_id).scalar_subquery()
    return items.update().where(items.c.order_pk == order_pk, items.c.item_id == item_id)


def order(order_id: str) -> Any:
    return orders.update().where(orders.c.order_id == order_id)


def test_a_store_written_by_the_code_is_intact(store: ComplianceService) -> None:
    report = store.verify_audit()
    assert report.intact, (report.chain, report.state)
    assert report.orders == 4 and report.partial_orders == 0
    assert report.head == newest(store)
    with store.engine.connect() as conn:
        assert report.events == conn.execute(
            sa.select(sa.func.count()).select_from(events)).scalar_one()


@pytest.mark.parametrize(("statement", "said"), [
    (item_of("ord-1", "i2").values(action="removed"),
     "order nl-atkm/ord-1 item i2: action is 'removed' in the table, 'refused' by the trail"),
    (item_of("ord-1", "i1").values(acted_at=1_795_338_000_000_000),
     "order nl-atkm/ord-1 item i1: acted_at is 2026-11-22T09:00:00Z in the table, "
     "2026-11-22T09:30:00Z by the trail"),
    (order("ord-3").values(deadline=None),
     "order nl-atkm/ord-3: deadline is none in the table, 2026-11-22T10:00:00Z by the trail"),
    (order("ord-3").values(status="completed"),
     "order nl-atkm/ord-3: status is 'completed' in the table, 'open' by the trail"),
    (order("ord-1").values(effect_given_at=1_795_338_000_000_000),
     "order nl-atkm/ord-1: effect_given_at is 2026-11-22T09:00:00Z in the table, "
     "2026-11-22T09:30:00Z by the trail"),
    (order("ord-2").values(status="open"),
     "order nl-atkm/ord-2: status is 'open' in the table, 'withdrawn' by the trail"),
    (order("ord-1").values(acknowledged_at=None),
     "order nl-atkm/ord-1: acknowledged_at is none in the table, 2026-11-22T09:00:00Z"),
    (order("n-1").values(category="STATEMENT_CATEGORY_PROTECTION_OF_MINORS"),
     "order offlimits/n-1: category is 'STATEMENT_CATEGORY_PROTECTION_OF_MINORS' in the table"),
    (order("n-1").values(subcategory_other="=HYPERLINK()"),
     "order offlimits/n-1: subcategory_other is '=HYPERLINK()' in the table, 'Fake shop'"),
    (item_of("n-1", "i1").values(preserve_until=None),
     "order offlimits/n-1 item i1: preserve_until is none in the table, 2026-12-22T09:30:00Z"),
    (item_of("n-1", "i2").values(basis="law"),
     "order offlimits/n-1 item i2: basis is 'law' in the table, 'terms' by the trail"),
    (item_of("ord-1", "i1").values(url="https://elsewhere.example/x"),
     "order nl-atkm/ord-1: the items' ids, URLs, content hashes or notes are not what was"),
    (order("ord-1").values(data='{"order_id":"ord-1"}'),
     "order nl-atkm/ord-1: data is not what was received"),
])
def test_an_sql_update_of_what_a_report_reads_is_named(
    store: ComplianceService, statement: Any, said: str
) -> None:
    tamper(store, statement)
    report = store.verify_audit()
    assert not report.intact
    assert report.chain == []  # the chain itself is untouched: only the replay finds it
    assert [str(p) for p in report.state if str(p).startswith(said)], \
        [str(p) for p in report.state]


def test_the_review_finding_a_better_report_by_sql_is_found(
    store: ComplianceService, clock: FakeClock
) -> None:
    """The security review moved deadlines and statuses with SQL to turn late orders into
    orders handled in time; the report changed while the trail said "intact"."""
    def within() -> int:
        report = build_report(store.engine, date(2026, 1, 1), date(2026, 12, 31), now=clock())
        return int(report["orders"]["total"]["within_deadline"])

    before = within()
    half_past_nine = 1_795_339_800_000_000  # the deadline was 10:00
    tamper(store, order("ord-3").values(status="completed", completed_at=half_past_nine,
                                        items_resolved=2))
    for item_id in ("i1", "i2"):
        tamper(store, item_of("ord-3", item_id).values(action="not_found",
                                                       acted_at=half_past_nine))
    assert within() == before + 1
    report = store.verify_audit()
    named = {(p.order_id, p.item_id) for p in report.state}
    assert named == {("ord-3", None), ("ord-3", "i1"), ("ord-3", "i2")}


def test_deleted_and_inserted_orders_are_named(store: ComplianceService) -> None:
    with store.engine.begin() as conn:
        pk = conn.execute(sa.select(orders.c.id).where(orders.c.order_id == "ord-2")).scalar()
        conn.execute(items.delete().where(items.c.order_pk == pk))
        conn.execute(deliveries.delete().where(deliveries.c.order_pk == pk))
        conn.execute(orders.delete().where(orders.c.id == pk))
        row = conn.execute(sa.select(orders).where(orders.c.order_id == "ord-3")).one()
        copy = {k: v for k, v in row._mapping.items() if k != "id"}
        conn.execute(orders.insert().values({**copy, "order_id": "ord-forged"}))
    found = [str(p) for p in store.verify_audit().state]
    assert f"order #{pk}: events of an order that is not in the table (deleted)" in found
    assert ("order nl-atkm/ord-forged: no received event: the order is not in the trail"
            in found)


def rewrite(service: ComplianceService, event_id: int, detail: dict[str, Any]) -> None:
    rewrite_chain(service.engine, event_id, detail)


def received_event(service: ComplianceService, order_id: str) -> Any:
    with service.engine.connect() as conn:
        pk = conn.execute(sa.select(orders.c.id).where(orders.c.order_id == order_id)).scalar()
        return conn.execute(sa.select(events).where(
            events.c.order_pk == pk, events.c.type == "received")).one()


def test_a_recomputed_chain_is_caught_by_a_head_kept_elsewhere(
    store: ComplianceService
) -> None:
    kept = newest(store)
    assert store.verify_audit([kept]).intact
    # the forger moves ord-3's deadline in the table and in its received event, and
    # recomputes the chain: the chain and the replay agree again
    event = received_event(store, "ord-3")
    detail = json.loads(event.detail)
    detail["deadline"] = "2026-11-23T09:00:00Z"
    rewrite(store, event.id, detail)
    tamper(store, order("ord-3").values(deadline=1_795_424_400_000_000))
    assert store.verify_audit().intact
    report = store.verify_audit([kept])
    assert not report.intact
    assert [str(p) for p in report.expected] == [
        f"expected head {kept}: event {kept.seq} now has hash {report.head.hash}: "  # type: ignore[union-attr]
        "the trail was rewritten at or before it"]
    # an older head, before the rewritten event, still holds
    with store.engine.connect() as conn:
        before = conn.execute(sa.select(events).where(events.c.id < event.id)
                              .order_by(events.c.id.desc()).limit(1)).one()
    assert store.verify_audit([AuditHead(before.id, before.hash)]).intact
    assert [str(p) for p in store.verify_audit([AuditHead(10**6, "a" * 64)]).expected] == [
        f"expected head 1000000:{'a' * 64}: event 1000000 is not in the trail (deleted, or the "
        "trail was rebuilt)"]


def test_events_of_the_first_release_still_verify(store: ComplianceService) -> None:
    """Received events written before v1.1 hold kind, regime, items and deadline only (the
    shape kept here): such orders verify, are counted as partial, and what their events do
    hold is still checked."""
    event = received_event(store, "ord-3")
    old = {k: v for k, v in json.loads(event.detail).items()
           if k in ("kind", "regime", "items", "deadline")}
    rewrite(store, event.id, old)
    report = store.verify_audit()
    assert report.intact and report.partial_orders == 1
    tamper(store, order("ord-3").values(category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD"))
    assert store.verify_audit().intact  # not recorded by the first release: not checked
    tamper(store, order("ord-3").values(deadline=None))
    assert [p.order_id for p in store.verify_audit().state] == ["ord-3"]


def test_every_callback_carries_the_head_of_its_own_transaction(
    store: ComplianceService
) -> None:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries).order_by(deliveries.c.id)).all()
        by_id = {r.id: r for r in conn.execute(sa.select(events))}
    assert len(rows) == 6
    witnesses = []
    for row in rows:
        witness = json.loads(row.body)["data"]["audit"]
        event = by_id[witness["seq"]]
        assert event.hash == witness["hash"] and event.order_pk == row.order_pk
        # the newest event when queued, in the same transaction: this order's receipt, or
        # its completion
        expected = "received" if row.type == "order.acknowledged" else "completed"
        assert event.type == expected
        witnesses.append(AuditHead(witness["seq"], witness["hash"]))
    assert store.verify_audit(witnesses).intact


def test_a_batch_of_orders_acknowledges_with_the_batch_head(
    service: ComplianceService, clock: FakeClock
) -> None:
    batch = [new_order(service, clock, f"ord-{n}") for n in range(3)]
    batch.append(new_order(service, clock, "ord-0"))  # a redelivery in the same batch
    intake.commit_orders(service.engine, batch)
    with service.engine.connect() as conn:
        last = conn.execute(sa.select(events).order_by(events.c.id.desc()).limit(1)).one()
        bodies = [json.loads(b) for b in conn.execute(sa.select(deliveries.c.body)).scalars()]
    assert last.type == "duplicate_delivery"
    assert [b["data"]["audit"] for b in bodies] == [{"seq": last.id, "hash": last.hash}] * 3


def test_a_second_batch_sees_the_first_ones_events(
    client: Any, clock: FakeClock, service: ComplianceService
) -> None:
    for n in range(2):
        body, headers = signed(clock, envelope(order_data(f"o-{n}")), msg_id=f"m{n}")
        assert client.post("/v1/webhooks/nl-atkm", data=body, headers=headers).status_code == 201
    with service.engine.connect() as conn:
        seqs = [json.loads(b)["data"]["audit"]["seq"]
                for b in conn.execute(sa.select(deliveries.c.body)
                                      .order_by(deliveries.c.id)).scalars()]
    assert seqs == [1, 2]



def test_own_initiative_entries_and_reinstatements_verify_and_their_tampering_is_named(
    db_url: str, clock: FakeClock
) -> None:
    """Entries of the hoster's own detection (no issuer, no callbacks) go through the same
    trail; a reinstatement is replayed beside the action it undoes."""
    from hoster_compliance.config_hashcheck import HashcheckConfig
    from hoster_compliance.orders.own_initiative import Finding

    own = ComplianceService(make_config(db_url, hashcheck=HashcheckConfig(lists=("k.txt",))),
                            clock=clock)
    try:
        entry = own.record_own_initiative([
            Finding(f"https://files.example-hosting.nl/{k}.jpg", "sha1", f"{k:040x}", "list")
            for k in range(2)])["order_id"]
        own.act("self", entry, None, {"action": "disabled", "automated": True},
                actor="automation:x")
        clock.advance(minutes=5)
        own.act("self", entry, "1", {"action": "reinstated", "reason": "stock image"},
                actor="operator:abc")
        assert own.verify_audit().intact
        with own.engine.begin() as conn:
            conn.execute(items.update().where(items.c.item_id == "1")
                         .values(reinstated_at=None, reinstated_reason=None))
        assert [str(p) for p in own.verify_audit().state] == [
            f"order self/{entry} item 1: reinstated_at is none in the table, "
            "2026-11-22T09:05:00Z by the trail",
            f"order self/{entry} item 1: reinstated_reason is none in the table, "
            "'stock image' by the trail"]
    finally:
        own.close()
