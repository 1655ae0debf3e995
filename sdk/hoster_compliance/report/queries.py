"""The report's SQL: for one slice of the period, in one read snapshot, the sums and durations of
each fine group (orders by Member State, category, sub-category and "Other" text; notices by
category, sub-category, text and trusted flagger). Two ``GROUP BY`` queries, no row in Python."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, or_, select, true
from sqlalchemy.engine import Connection, Engine

from ..protocol.limits import MAX_ITEMS
from ..store.engine import snapshot
from ..store.tables import items, orders
from ..vocabulary import COMPLETED, NOTICE, ORDER, TERMS
from .medians import concat, merge_sorted, parse_sorted

o = orders.c
i = items.c
# Per-notice counts packed in one integer: each field holds up to MAX_ITEMS.
_FIELD = 1 << MAX_ITEMS.bit_length()
_OVERDUE = 1 << 32  # within-deadline and overdue counts packed in one sum


@dataclass
class Fine:
    """One fine group: integer sums and sorted arrays of durations (microseconds)."""

    sums: list[int]
    series: list[array[int]] = field(default_factory=list)

    def merge(self, other: Fine) -> None:
        """Add another slice's figures for the same group."""
        self.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]
        self.series = [merge_sorted(a, b) for a, b in zip(self.series, other.series, strict=True)]


# Orders: key (member state, category, sub-category, "Other" text); sums: count, items, within
# deadline, overdue; series: to acknowledge, to effect.
# Notices: key (category, sub-category, "Other" text, trusted flagger); sums: count, items,
# effect-giving actions on the law, on the terms, automated, completed notices, completed ones
# processed solely by automated means; series: to action.
Groups = dict[tuple[Any, ...], Fine]


@contextmanager
def report_snapshot(engine: Engine) -> Iterator[Connection]:
    """``snapshot`` for the report's few large aggregates. PostgreSQL's JIT compiles each of
    them anew (0.1 to 1 s of a 1,000,000-order year's query) and never earns that back: off."""
    with snapshot(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL jit = off")
        yield conn


def collect(engine: Engine, lo: int, hi: int, as_of: int) -> tuple[Groups, Groups]:
    """Orders and notices received in [lo, hi) (microseconds), grouped finely."""
    with report_snapshot(engine) as conn:
        return _orders(conn, lo, hi, as_of), _notices(conn, lo, hi)


def collect_orders_by_slice(
    engine: Engine, bounds: list[tuple[int, int]], as_of: int
) -> list[Groups]:
    """The orders' fine groups of each [lo, hi) in ``bounds``, read in one snapshot."""
    with report_snapshot(engine) as conn:
        return [_orders(conn, lo, hi, as_of) for lo, hi in bounds]


def _in_period(kind: str, lo: int, hi: int) -> Any:
    return and_(o.kind == kind, o.received_at >= lo, o.received_at < hi)


def _to_effect() -> Any:
    """The duration to effect; null for withdrawn orders and orders without effect."""
    return case((o.status != "withdrawn", o.effect_given_at - o.received_at))


def _orders(conn: Connection, lo: int, hi: int, as_of: int) -> Groups:
    key = (o.issuer_member_state, o.category, o.subcategory, o.subcategory_other)
    handled = func.coalesce(o.effect_given_at, o.completed_at)  # effect, else last action
    # One CASE a row: 1 within the deadline, 2^32 overdue, 0 neither (no deadline, withdrawn,
    # open and not yet due); the sum carries both counts.
    judged = case(
        (or_(o.status == "withdrawn", o.deadline.is_(None)), 0),
        (handled <= o.deadline, 1),
        (or_(handled > o.deadline, o.deadline < as_of), _OVERDUE),
        else_=0,
    )
    stmt = (
        select(
            *key,
            func.count(),
            func.sum(o.items_total),
            func.sum(judged),
            concat(conn, o.acknowledged_at - o.received_at),
            concat(conn, _to_effect()),
        )
        .where(_in_period(ORDER, lo, hi))
        .group_by(*key)
    )
    groups = {}
    for row in conn.execute(stmt):
        judged_sum = int(row[6] or 0)  # PostgreSQL sums bigints as numeric
        sums = [row[4], int(row[5] or 0), judged_sum % _OVERDUE, judged_sum // _OVERDUE]
        groups[tuple(row[:4])] = Fine(sums, [parse_sorted(row[7]), parse_sorted(row[8])])
    return groups


def _notices(conn: Connection, lo: int, hi: int) -> Groups:
    # Each notice's items, packed law + terms * F + automated * F^2 + manual * F^3 (F above the
    # most items a notice may have): effect-giving actions on the law, on the terms, those
    # automated, and actions not taken by automated means (Part 8: a completed notice without
    # one was processed solely by automated means). One correlated lookup per notice serves
    # the four counts (no join, no second scan of the items).
    effect = i.effect_given == true()
    per_notice = (
        select(
            cast(
                func.sum(
                    case((and_(effect, i.basis == TERMS), _FIELD), (effect, 1), else_=0)
                    + case((and_(effect, i.automated == true()), _FIELD**2), else_=0)
                    + case((~(i.automated == true()), _FIELD**3), else_=0)
                ),
                BigInteger,
            )
        )
        .where(i.order_pk == o.id)
        .scalar_subquery()
    )
    rows = (
        select(
            o.category.label("c"),
            o.subcategory.label("s"),
            o.subcategory_other.label("x"),
            o.trusted_flagger.label("t"),
            o.items_total.label("n"),
            _to_effect().label("d"),
            per_notice.label("p"),
            o.status.label("st"),
        )
        .where(_in_period(NOTICE, lo, hi))
        .offset(0)  # keeps the subquery unflattened: the lookup runs once per notice
        .subquery()
    )
    key = (rows.c.c, rows.c.s, rows.c.x, rows.c.t)
    packed = rows.c.p
    completed = and_(rows.c.st == COMPLETED, packed.is_not(None))
    stmt = select(
        *key,
        func.count(),
        func.sum(rows.c.n),
        func.sum(packed % _FIELD),
        func.sum(packed // _FIELD % _FIELD),
        func.sum(packed // _FIELD**2 % _FIELD),
        func.sum(case((completed, 1), else_=0)),
        func.sum(case((and_(completed, packed // _FIELD**3 == 0), 1), else_=0)),
        concat(conn, rows.c.d),
    ).group_by(*key)
    return {
        (row[0], row[1], row[2], bool(row[3])): Fine(
            [int(v or 0) for v in row[4:11]], [parse_sorted(row[11])]
        )
        for row in conn.execute(stmt)
    }
