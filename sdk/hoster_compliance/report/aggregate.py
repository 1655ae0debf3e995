"""The Art. 15(1)(a) and (b) figures (PROTOCOL 8) from the store. Counts and sums are ``GROUP BY``
queries; medians are streamed from sorted cursors (see ``medians``), so a year of a large hoster
is never held in memory. Portable SQLAlchemy Core: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.engine import Connection, Engine

from ..errors import InvalidQuery
from ..store.tables import items, orders
from ..timeutil import format_time, from_micros, to_micros
from .layout import NOTICE, ORDER, TOTAL, row_sort_key, template_row_key
from .medians import Slots, stream_medians

o = orders.c
# Orders: count, items, acknowledged, effect given (not withdrawn), within deadline, overdue.
_O_COUNT, _O_ITEMS, _O_ACK, _O_EFFECT, _O_WITHIN, _O_OVERDUE = range(6)
# Notices: count, items, effect given (not withdrawn), actions on law / terms, automated.
_N_COUNT, _N_ITEMS, _N_EFFECT, _N_LAW, _N_TERMS, _N_AUTO = range(6)
_ALL, _TF = "all", "trusted_flagger"


def build_report(engine: Engine, start: date, end: date, *, now: datetime) -> dict[str, Any]:
    """The transparency report of PROTOCOL 8 for orders and notices received from ``start`` to
    ``end`` (UTC dates, both included), as of ``now`` (the earlier of ``now`` and the day after
    ``end`` decides what is overdue)."""
    if start > end:
        raise InvalidQuery("start is after end", fields={"start": ["Must not be after end."]})
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lo = to_micros(datetime.combine(start, time(), UTC))
    hi = to_micros(datetime.combine(end + timedelta(days=1), time(), UTC))
    as_of = min(to_micros(now), hi)
    with _snapshot(engine) as conn:
        order_part = _orders(conn, lo, hi, as_of)
        notice_part = _notices(conn, lo, hi)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "as_of": format_time(from_micros(as_of)),
        "generated_at": format_time(now),
        "orders": order_part,
        "notices": notice_part,
    }


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction, so that counts and medians see the same rows. SQLite: a deferred
    BEGIN that never waits for writers (WAL); PostgreSQL: a read-only REPEATABLE READ snapshot."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(readonly=True)
        else:
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def _in_period(kind: str, lo: int, hi: int) -> Any:
    return and_(o.kind == kind, o.received_at >= lo, o.received_at < hi)


def _given_effect() -> Any:
    return and_(o.status != "withdrawn", o.effect_given_at.is_not(None))


def _flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _orders(conn: Connection, lo: int, hi: int, as_of: int) -> dict[str, Any]:
    fine_cols = (o.issuer_member_state, o.category, o.subcategory, o.subcategory_other)
    handled = func.coalesce(o.effect_given_at, o.completed_at)  # effect, else last action
    live = and_(o.status != "withdrawn", o.deadline.is_not(None))
    stmt = (
        select(
            *fine_cols,
            func.count(),
            func.sum(o.items_total),
            func.count(o.acknowledged_at),
            _flag(_given_effect()),
            _flag(and_(live, handled <= o.deadline)),
            _flag(
                and_(live, or_(handled > o.deadline, and_(handled.is_(None), o.deadline < as_of)))
            ),
        )
        .where(_in_period(ORDER, lo, hi))
        .group_by(*fine_cols)
    )
    slots = Slots(6)
    states: set[str] = set()
    for row in conn.execute(stmt):
        fine = tuple(row[:4])
        states.add(fine[0])
        slots.register(fine, _order_slot_keys(*fine))
        slots.add(fine, row[4:])
    fine_ids = slots.fine_ids()
    ack = stream_medians(
        conn,
        select(*fine_cols, (o.acknowledged_at - o.received_at).label("d"))
        .where(_in_period(ORDER, lo, hi), o.acknowledged_at.is_not(None))
        .order_by("d"),
        fine_ids.__getitem__,
        [vector[_O_ACK] for vector in slots.sums],
    )
    effect = stream_medians(
        conn,
        select(*fine_cols, (o.effect_given_at - o.received_at).label("d"))
        .where(_in_period(ORDER, lo, hi), _given_effect())
        .order_by("d"),
        fine_ids.__getitem__,
        [vector[_O_EFFECT] for vector in slots.sums],
    )

    def figures(key: tuple) -> dict[str, Any]:
        s = slots.get(key)
        if s is None:
            return _order_figures(None, None, None)
        return _order_figures(slots.sums[s], ack[s], effect[s])

    return {
        "total": figures(("row", TOTAL, TOTAL, None, None)),
        "by_member_state": {ms: figures(("row", ms, TOTAL, None, None)) for ms in sorted(states)},
        "by_category": {
            key[1]: figures(key)
            for key in sorted(
                (k for k in slots.index if k[0] == "cat"),
                key=lambda k: row_sort_key(ORDER, (k[1], None, None)) + (k[1],),
            )
        },
        "breakdown": [
            {"member_state": k[1], "category": k[2], "subcategory": k[3], "description": k[4]}
            | figures(k)
            for k in sorted(
                (k for k in slots.index if k[0] == "row"),
                key=lambda k: (k[1] != TOTAL, k[1]) + row_sort_key(ORDER, k[2:]),
            )
        ],
    }


def _order_slot_keys(ms: str, category: str, sub: str | None, other: str | None) -> list[tuple]:
    row = template_row_key(ORDER, category, sub, other)
    keys: list[tuple] = [("cat", category)]
    for scope in (TOTAL, ms):
        keys += [("row", scope, TOTAL, None, None), ("row", scope, row[0], None, None)]
        if row[1] is not None:
            keys.append(("row", scope, *row))
    return keys


def _order_figures(
    sums: list[int] | None, ack: float | None, effect: float | None
) -> dict[str, Any]:
    sums = sums or [0] * 6
    return {
        "count": sums[_O_COUNT],
        "items": sums[_O_ITEMS],
        "median_hours_to_acknowledge": ack,
        "median_hours_to_effect": effect,
        "within_deadline": sums[_O_WITHIN],
        "overdue": sums[_O_OVERDUE],
    }


def _notices(conn: Connection, lo: int, hi: int) -> dict[str, Any]:
    fine_cols = (o.category, o.subcategory, o.subcategory_other, o.trusted_flagger)
    slots = Slots(6)
    received = (
        select(*fine_cols, func.count(), func.sum(o.items_total), _flag(_given_effect()))
        .where(_in_period(NOTICE, lo, hi))
        .group_by(*fine_cols)
    )
    for row in conn.execute(received):
        fine = (row[0], row[1], row[2], bool(row[3]))
        slots.register(fine, _notice_slot_keys(*fine))
        slots.add(fine, (row[4], row[5], row[6]))
    i = items.c
    actions = (
        select(
            *fine_cols,
            _flag(or_(i.basis.is_(None), i.basis != "terms")),
            _flag(i.basis == "terms"),
            _flag(i.automated == true()),
        )
        .select_from(items.join(orders, i.order_pk == o.id))
        .where(_in_period(NOTICE, lo, hi), i.effect_given == true())
        .group_by(*fine_cols)
    )
    for row in conn.execute(actions):
        fine = (row[0], row[1], row[2], bool(row[3]))
        slots.add(fine, (0, 0, 0, row[4], row[5], row[6]))
    fine_ids = slots.fine_ids()
    action = stream_medians(
        conn,
        select(*fine_cols, (o.effect_given_at - o.received_at).label("d"))
        .where(_in_period(NOTICE, lo, hi), _given_effect())
        .order_by("d"),
        lambda key: fine_ids[(key[0], key[1], key[2], bool(key[3]))],
        [vector[_N_EFFECT] for vector in slots.sums],
    )

    def figures(key: tuple) -> dict[str, Any]:
        both = []
        for population in (_ALL, _TF):
            s = slots.get((population, *key))
            both.append(_notice_figures(None if s is None else slots.sums[s], s, action))
        return both[0] | {"trusted_flagger_count": both[1]["count"], "trusted_flagger": both[1]}

    return {
        "total": figures(("row", TOTAL, None, None)),
        "by_category": {
            key[2]: figures(key[1:])
            for key in sorted(
                (k for k in slots.index if k[0] == _ALL and k[1] == "cat"),
                key=lambda k: row_sort_key(NOTICE, (k[2], None, None)) + (k[2],),
            )
        },
        "breakdown": [
            {"category": k[2], "subcategory": k[3], "description": k[4]} | figures(k[1:])
            for k in sorted(
                (k for k in slots.index if k[0] == _ALL and k[1] == "row"),
                key=lambda k: row_sort_key(NOTICE, k[2:]),
            )
        ],
    }


def _notice_slot_keys(category: str, sub: str | None, other: str | None, tf: bool) -> list[tuple]:
    row = template_row_key(NOTICE, category, sub, other)
    keys: list[tuple] = []
    for population in (_ALL, _TF) if tf else (_ALL,):
        keys += [
            (population, "cat", category),
            (population, "row", TOTAL, None, None),
            (population, "row", row[0], None, None),
        ]
        if row[1] is not None:
            keys.append((population, "row", *row))
    return keys


def _notice_figures(
    sums: list[int] | None, slot: int | None, medians: list[float | None]
) -> dict[str, Any]:
    sums = sums or [0] * 6
    return {
        "count": sums[_N_COUNT],
        "items": sums[_N_ITEMS],
        "median_hours_to_action": None if slot is None else medians[slot],
        "actions_law": sums[_N_LAW],
        "actions_terms": sums[_N_TERMS],
        "automated": sums[_N_AUTO],
    }
