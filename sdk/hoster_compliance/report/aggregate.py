"""The Art. 15(1)(a) and (b) figures (PROTOCOL 8). The database groups the period's rows finely
(``queries``); here the fine groups roll up into the total, Member States, categories and the
Commission's template rows. Slices of the period are read in parallel, one snapshot each."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from ..errors import InvalidQuery
from ..timeutil import format_micros, format_time, to_micros
from .automated import collect_v11, v11_blocks
from .layout import NOTICE, ORDER, TOTAL, row_sort_key, template_row_key
from .medians import Slots
from .queries import Groups, collect, collect_orders_by_slice

_ALL, _TF = "all", "trusted_flagger"
_MAX_WORKERS = 4
#: The longest period ``orders_by_month`` splits (ten years).
MAX_MONTHS = 120


def build_report(
    engine: Engine, start: date, end: date, *, now: datetime, workers: int | None = None
) -> dict[str, Any]:
    """The transparency report of PROTOCOL 8 for orders and notices received from ``start`` to
    ``end`` (UTC dates, both included), as of ``now`` (the earlier of ``now`` and the day after
    ``end`` decides what is open past its deadline). ``workers``: slices of the period read in
    parallel (default: the CPU count, at most 4; 1 for an in-memory SQLite database)."""
    if start > end:
        raise InvalidQuery("start is after end", fields={"start": ["Must not be after end."]})
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lo, hi, as_of = _bounds(start, end, now)
    count = _workers(engine, workers)
    if count == 1:
        v11 = collect_v11(engine, lo, hi)
        order_groups, notice_groups = _collect_all(engine, lo, hi, as_of, count)
    else:  # Parts 5 and 8 read the items while the slices are read and rolled up
        with ThreadPoolExecutor(1, thread_name_prefix="report-v11") as pool:
            pending = pool.submit(collect_v11, engine, lo, hi)
            order_groups, notice_groups = _collect_all(engine, lo, hi, as_of, count)
            v11 = pending.result()
    done = sum(fine.sums[5] for fine in notice_groups.values())
    solely_automated = sum(fine.sums[6] for fine in notice_groups.values())
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "as_of": format_micros(as_of),
        "generated_at": format_time(now),
        "orders": _orders(order_groups),
        "notices": _notices(notice_groups),
        **v11_blocks(v11, done, solely_automated),
    }


def parse_period(start: date | str | None, end: date | str | None) -> tuple[date, date]:
    """A report period, both days included, from dates or ``YYYY-MM-DD`` strings (query
    values); ``InvalidQuery`` naming the problem otherwise."""
    try:
        first = start if isinstance(start, date) else date.fromisoformat(start or "")
        last = end if isinstance(end, date) else date.fromisoformat(end or "")
    except ValueError as exc:
        raise InvalidQuery("start and end are required dates (YYYY-MM-DD).") from exc
    if last < first:
        raise InvalidQuery("end must not be before start.")
    if last >= date.max:  # the report runs to the day after end
        raise InvalidQuery("end must be before 9999-12-31.")
    return first, last


def _bounds(start: date, end: date, now: datetime) -> tuple[int, int, int]:
    """[lo, hi) of the period in microseconds, and the instant it is judged at (PROTOCOL 8:
    the earlier of now and the day after ``end``)."""
    lo = to_micros(datetime.combine(start, time(), UTC))
    hi = to_micros(datetime.combine(end + timedelta(days=1), time(), UTC))
    return lo, hi, min(to_micros(now), hi)


def orders_by_month(
    engine: Engine, start: date, end: date, *, now: datetime
) -> list[dict[str, Any]]:
    """The orders' total figures of :func:`build_report` for each calendar month of the period
    (``"month": "YYYY-MM"``; the first and last months clipped to the period), judged as the
    whole period is, so the months add up to the report's ``within_deadline`` and
    ``overdue``. For the dashboard's charts."""
    if start > end:
        raise InvalidQuery("start is after end", fields={"start": ["Must not be after end."]})
    months: list[date] = []
    first = date(start.year, start.month, 1)
    while first <= end:
        months.append(first)
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        if len(months) > MAX_MONTHS:
            raise InvalidQuery(f"The period spans more than {MAX_MONTHS} months.")
    lo, hi, as_of = _bounds(start, end, now)
    edges = [lo] + [to_micros(datetime.combine(m, time(), UTC)) for m in months[1:]] + [hi]
    slices = collect_orders_by_slice(engine, list(zip(edges, edges[1:], strict=False)), as_of)
    return [
        {"month": f"{m.year:04d}-{m.month:02d}"} | _orders(groups)["total"]
        for m, groups in zip(months, slices, strict=True)
    ]


def _workers(engine: Engine, requested: int | None) -> int:
    if engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        if database in ("", ":memory:") or "mode=memory" in str(engine.url):
            return 1  # each connection would see its own empty database
    if requested is not None:
        return max(1, requested)
    return max(1, min(_MAX_WORKERS, os.cpu_count() or 1))


def _collect_all(
    engine: Engine, lo: int, hi: int, as_of: int, workers: int
) -> tuple[Groups, Groups]:
    """Read [lo, hi) in ``workers`` equal slices of time, in parallel (the database work and
    the parsing and sorting of one slice overlap with the others), and merge each fine group's
    figures across slices."""
    bounds = [lo + (hi - lo) * n // workers for n in range(workers + 1)]
    slices = list(zip(bounds, bounds[1:], strict=False))
    if workers == 1:
        parts = [collect(engine, a, b, as_of) for a, b in slices]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="report") as pool:
            parts = list(pool.map(lambda s: collect(engine, s[0], s[1], as_of), slices))
    merged: tuple[Groups, Groups] = ({}, {})
    for part in parts:
        for target, source in zip(merged, part, strict=True):
            for key, fine in source.items():
                if key in target:
                    target[key].merge(fine)
                else:
                    target[key] = fine
    return merged


def _orders(groups: Groups) -> dict[str, Any]:
    slots = Slots(4, 2)
    for (ms, category, sub, other), fine in groups.items():
        row = template_row_key(ORDER, category, sub, other)
        keys: list[tuple[Any, ...]] = [("cat", category)]
        for scope in (TOTAL, ms):
            keys += [("row", scope, TOTAL, None, None), ("row", scope, row[0], None, None)]
            if row[1] is not None:
                keys.append(("row", scope, *row))
        slots.add(keys, fine.sums, fine.series)
    ack, effect = slots.medians(0), slots.medians(1)

    def figures(key: tuple[Any, ...]) -> dict[str, Any]:
        s = slots.get(key)
        count, items, within, overdue = slots.sums[s] if s is not None else (0, 0, 0, 0)
        return {
            "count": count,
            "items": items,
            "median_hours_to_acknowledge": None if s is None else ack[s],
            "median_hours_to_effect": None if s is None else effect[s],
            "within_deadline": within,
            "overdue": overdue,
        }

    states = sorted({key[0] for key in groups})
    categories = sorted(
        {key[1] for key in groups}, key=lambda c: (*row_sort_key(ORDER, (c, None, None)), c)
    )
    rows = sorted(
        (k for k in slots.index if k[0] == "row"),
        key=lambda k: (k[1] != TOTAL, k[1], *row_sort_key(ORDER, k[2:])),
    )
    return {
        "total": figures(("row", TOTAL, TOTAL, None, None)),
        "by_member_state": {ms: figures(("row", ms, TOTAL, None, None)) for ms in states},
        "by_category": {c: figures(("cat", c)) for c in categories},
        "breakdown": [
            {"member_state": k[1], "category": k[2], "subcategory": k[3], "description": k[4]}
            | figures(k)
            for k in rows
        ],
    }


def _notices(groups: Groups) -> dict[str, Any]:
    slots = Slots(5, 1)
    for (category, sub, other, tf), fine in groups.items():
        row = template_row_key(NOTICE, category, sub, other)
        keys: list[tuple[Any, ...]] = []
        for who in (_ALL, _TF) if tf else (_ALL,):
            keys += [
                (who, "cat", category),
                (who, "row", TOTAL, None, None),
                (who, "row", row[0], None, None),
            ]
            if row[1] is not None:
                keys.append((who, "row", *row))
        slots.add(keys, fine.sums[:5], fine.series)  # [5:]: Part 8, counted in build_report
    action = slots.medians(0)

    def population(key: tuple[Any, ...]) -> dict[str, Any]:
        s = slots.get(key)
        count, items, law, terms, automated = slots.sums[s] if s is not None else (0,) * 5
        return {
            "count": count,
            "items": items,
            "median_hours_to_action": None if s is None else action[s],
            "actions_law": law,
            "actions_terms": terms,
            "automated": automated,
        }

    def figures(key: tuple[Any, ...]) -> dict[str, Any]:
        tf = population((_TF, *key))
        return population((_ALL, *key)) | {"trusted_flagger_count": tf["count"],
                                           "trusted_flagger": tf}

    categories = sorted(
        {key[0] for key in groups}, key=lambda c: (*row_sort_key(NOTICE, (c, None, None)), c)
    )
    rows = sorted(
        (k for k in slots.index if k[:2] == (_ALL, "row")),
        key=lambda k: row_sort_key(NOTICE, k[2:]),
    )
    return {
        "total": figures(("row", TOTAL, None, None)),
        "by_category": {c: figures(("cat", c)) for c in categories},
        "breakdown": [
            {"category": k[2], "subcategory": k[3], "description": k[4]} | figures(k[1:])
            for k in rows
        ],
    }
