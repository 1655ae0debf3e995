"""Verifying the audit trail as evidence (PROTOCOL 13.4): the hash chain, every order's and
item's stored state against the replay of its events (``orders/history.py``), and heads kept
outside the database.

Everything is read in one snapshot and streamed: the chain in id order, then orders, items and
events each in order-key order, merged one order at a time. Memory holds one order's rows,
whatever the size of the store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..store.audit import AuditHead, AuditProblem, walk_chain
from ..store.engine import snapshot
from ..store.tables import events, items, orders
from .history import STATE_EVENTS, TrailEvent, differences, replay

STREAM_ROWS = 2000
#: At most this many state differences are kept in a report (the count goes on).
MAX_PROBLEMS = 1000


@dataclass(frozen=True)
class StateProblem:
    """An order (or one of its items) whose stored state differs from its events, or events
    of an order that is no longer stored."""

    order_pk: int
    issuer_id: str | None
    order_id: str | None
    item_id: str | None
    problem: str

    def __str__(self) -> str:
        where = (f"order {self.issuer_id}/{self.order_id}" if self.order_id is not None
                 else f"order #{self.order_pk}")
        if self.item_id is not None:
            where += f" item {self.item_id}"
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class ExpectProblem:
    """A head kept elsewhere that the trail no longer holds."""

    head: AuditHead
    problem: str

    def __str__(self) -> str:
        return f"expected head {self.head}: {self.problem}"


@dataclass
class AuditReport:
    """What ``audit verify`` found. ``intact`` when the chain holds, every order agrees with
    its events and every expected head is still in the trail."""

    events: int
    head: AuditHead | None
    chain: list[AuditProblem] = field(default_factory=list)
    state: list[StateProblem] = field(default_factory=list)
    state_total: int = 0  # differences found; ``state`` keeps the first MAX_PROBLEMS
    expected: list[ExpectProblem] = field(default_factory=list)
    orders: int = 0
    partial_orders: int = 0  # received before events held every fixed column (see history)

    @property
    def intact(self) -> bool:
        return not (self.chain or self.state_total or self.expected)


def verify_audit(
    engine: Engine, expect: Sequence[AuditHead] = (), *, max_problems: int = MAX_PROBLEMS
) -> AuditReport:
    """Check the chain, recompute every order's state from its events, and check that every
    head in ``expect`` (``SEQ:HASH`` kept outside the database, or received by an issuer)
    still has its hash."""
    with snapshot(engine) as conn:
        walk = walk_chain(conn)
        report = AuditReport(events=walk.count, head=walk.head, chain=walk.problems)
        report.expected = [problem for head in expect
                           if (problem := _check_head(conn, head)) is not None]
        _check_orders(conn, report, max_problems)
    return report


def _check_head(conn: Connection, head: AuditHead) -> ExpectProblem | None:
    if not 0 < head.seq < 2**31:
        return ExpectProblem(head, f"event {head.seq} is not in the trail")
    found = conn.execute(sa.select(events.c.hash).where(events.c.id == head.seq)).scalar()
    if found is None:
        return ExpectProblem(head, f"event {head.seq} is not in the trail (deleted, or the "
                                   "trail was rebuilt)")
    if found != head.hash:
        return ExpectProblem(head, f"event {head.seq} now has hash {found}: the trail was "
                                   "rewritten at or before it")
    return None


def _streamed(conn: Connection, statement: sa.Select[Any]) -> Iterator[Any]:
    return iter(conn.execute(statement.execution_options(yield_per=STREAM_ROWS)))


def _by_order(rows: Iterable[Any]) -> Iterator[tuple[int, list[Any]]]:
    return ((pk, list(group)) for pk, group in groupby(rows, key=attrgetter("order_pk")))


def _event(row: Any) -> TrailEvent:
    try:
        detail = json.loads(row.detail)
    except ValueError:
        detail = None
    return TrailEvent(row.at, row.type, row.actor, detail if isinstance(detail, dict) else {})


class _Found:
    def __init__(self, report: AuditReport, max_problems: int) -> None:
        self.report, self.max_problems = report, max_problems

    def add(self, problem: StateProblem) -> None:
        self.report.state_total += 1
        if len(self.report.state) < self.max_problems:
            self.report.state.append(problem)

    def orphans(self, pk: int, what: str) -> None:
        self.add(StateProblem(pk, None, None, None,
                              f"{what} of an order that is not in the table (deleted)"))


def _check_orders(conn: Connection, report: AuditReport, max_problems: int) -> None:
    found = _Found(report, max_problems)
    order_rows = _streamed(conn, sa.select(orders).order_by(orders.c.id))
    # (order_pk, item_id) and (order_pk, id) follow the indexes: no sort of the whole table
    item_groups = _by_order(_streamed(
        conn, sa.select(items).order_by(items.c.order_pk, items.c.item_id)))
    event_groups = _by_order(_streamed(
        conn,
        sa.select(events.c.order_pk, events.c.at, events.c.type, events.c.actor,
                  events.c.detail)
        .where(events.c.order_pk.is_not(None), events.c.type.in_(STATE_EVENTS))
        .order_by(events.c.order_pk, events.c.id),
    ))
    next_items = next(item_groups, None)
    next_events = next(event_groups, None)
    for order in order_rows:
        while next_events is not None and next_events[0] < order.id:
            found.orphans(next_events[0], "events")
            next_events = next(event_groups, None)
        while next_items is not None and next_items[0] < order.id:
            found.orphans(next_items[0], "items")
            next_items = next(item_groups, None)
        order_events: list[Any] = []
        if next_events is not None and next_events[0] == order.id:
            order_events = next_events[1]
            next_events = next(event_groups, None)
        order_items: list[Any] = []
        if next_items is not None and next_items[0] == order.id:
            order_items = next_items[1]
            next_items = next(item_groups, None)
        expected = replay(_event(row) for row in order_events)
        report.orders += 1
        if "received_at" in expected.order and not expected.complete:
            report.partial_orders += 1
        for item_id, problem in differences(expected, order._mapping,
                                            [row._mapping for row in order_items]):
            found.add(StateProblem(order.id, order.issuer_id, order.order_id, item_id, problem))
    for pk, _rows in event_groups if next_events is None else [next_events, *event_groups]:
        found.orphans(pk, "events")
