"""The v1.1 parts of the report (PROTOCOL 11.3): own-initiative measures by category (Annex I
Part 5) and the use of automated means with its accuracy (Part 8). Two ``GROUP BY`` queries in
one read snapshot (the completed notices are counted with the other notice figures, in
``queries``); accuracy is the share of measures taken by automated means that were not later
``reinstated``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.engine import Engine

from ..store.tables import items, orders
from ..vocabulary import (
    DISABLED,
    GEO_BLOCKED,
    NOTICE,
    OWN_INITIATIVE,
    REMOVED,
    WITHDRAWN,
)
from .queries import report_snapshot

o = orders.c
i = items.c
OWN_KEYS = ("count", "items", "automated_detection", "removed", "disabled", "geo_blocked",
            "reinstated", "measures")


def _flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def collect_v11(engine: Engine, lo: int, hi: int) -> tuple[list[Any], list[Any]]:
    """The own-initiative figures by category and the measures by kind of entries received in
    [lo, hi), for :func:`v11_blocks`."""
    period = and_(o.received_at >= lo, o.received_at < hi, o.status != WITHDRAWN)
    effect = i.effect_given == true()
    automated = i.automated == true()
    with report_snapshot(engine) as conn:
        own_rows = conn.execute(
            select(
                o.category, o.subcategory, func.count(func.distinct(o.id)), func.count(i.id),
                _flag(i.action == REMOVED), _flag(i.action == DISABLED),
                _flag(i.action == GEO_BLOCKED), _flag(i.reinstated_at.is_not(None)),
                _flag(effect),
            )
            .select_from(orders.join(items, i.order_pk == o.id))
            .where(period, o.kind == OWN_INITIATIVE)
            .group_by(o.category, o.subcategory)
        ).all()
        by_kind = conn.execute(
            select(o.kind, _flag(and_(effect, automated)), _flag(and_(effect, ~automated)),
                   _flag(and_(effect, automated, i.reinstated_at.is_not(None))))
            .select_from(orders.join(items, i.order_pk == o.id))
            .where(period)
            .group_by(o.kind)
        ).all()
    return list(own_rows), list(by_kind)


def v11_blocks(rows: tuple[list[Any], list[Any]], notices_done: int, notices_auto: int
               ) -> dict[str, Any]:
    """The ``own_initiative`` and ``automated_means`` blocks from :func:`collect_v11`'s rows
    and the period's completed notices (all, and those processed solely by automated means,
    counted with the notices' other figures in ``queries``)."""
    own_rows, by_kind = rows
    return {"own_initiative": _own(own_rows),
            "automated_means": _automated(by_kind, notices_done, notices_auto)}


def _own(rows: Sequence[Any]) -> dict[str, Any]:
    total = dict.fromkeys(OWN_KEYS, 0)
    by_category: dict[str, dict[str, int]] = {}
    breakdown: dict[tuple[str, str | None], dict[str, int]] = {}
    for row in rows:
        count, n_items, removed, disabled, geo, reinstated, measures = (int(v or 0)
                                                                        for v in row[2:])
        figures = {"count": count, "items": n_items,
                   # every own-initiative item was found by hash matching: automated detection
                   "automated_detection": n_items, "removed": removed, "disabled": disabled,
                   "geo_blocked": geo, "reinstated": reinstated, "measures": measures}
        for target in (total, by_category.setdefault(row[0], dict.fromkeys(OWN_KEYS, 0)),
                       breakdown.setdefault((row[0], row[1]), dict.fromkeys(OWN_KEYS, 0))):
            for key, value in figures.items():
                target[key] += value
    return {"total": total, "by_category": dict(sorted(by_category.items())),
            "breakdown": [{"category": c, "subcategory": s} | f
                          for (c, s), f in sorted(breakdown.items(), key=lambda kv: (
                              kv[0][0], kv[0][1] or ""))]}


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to take a share of."""
    return part / whole if whole else None


def _automated(by_kind: Sequence[Any], notices_done: int, notices_auto: int) -> dict[str, Any]:
    figures = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in by_kind}

    def block(kinds: tuple[str, ...]) -> dict[str, Any]:
        auto = sum(figures.get(k, (0, 0, 0))[0] for k in kinds)
        manual = sum(figures.get(k, (0, 0, 0))[1] for k in kinds)
        undone = sum(figures.get(k, (0, 0, 0))[2] for k in kinds)
        return {"automated": auto, "not_automated": manual, "automated_reinstated": undone,
                "accuracy": share(auto - undone, auto)}

    notice_block = block((NOTICE,))
    return {
        "total": block(tuple(figures)),
        "own_initiative": block((OWN_INITIATIVE,)),
        "notices": {"solely_automated": notices_auto,
                    "not_automated": notices_done - notices_auto,
                    "accuracy": notice_block["accuracy"],
                    "automated_reinstated": notice_block["automated_reinstated"]},
    }
