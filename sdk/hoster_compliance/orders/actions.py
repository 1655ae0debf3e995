"""Recording what the hoster did with each item (PROTOCOL 4), and queueing the outcome callback
in the same transaction as the action that completes the order."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from ..config import Config
from ..errors import Conflict, InvalidPayload, OrderWithdrawn, UnknownItem, UnknownOrder
from ..protocol import schemas_in as schemas
from ..store import orders as store
from ..store.audit import append_event
from ..store.tables import items, orders
from ..timeutil import format_micros, format_time, to_micros
from ..vocabulary import EFFECT_ACTIONS, LAW, NOTICE, TERMS, WITHDRAWN
from .intake import callback_path
from .reads import item_view

log = logging.getLogger("hoster_compliance.orders.actions")

CLOCK_SKEW = timedelta(seconds=5)


def gives_effect(action: str) -> bool:
    return action in EFFECT_ACTIONS


def validate_action(body: object, now: datetime) -> dict[str, Any]:
    """Schema plus the clock rule: ``acted_at`` at most 5 s ahead of now."""
    loaded = schemas.load_action(body)
    acted_at = loaded.get("acted_at")
    if acted_at is not None and acted_at > now + CLOCK_SKEW:
        raise InvalidPayload("acted_at is in the future.",
                             fields={"acted_at": ["Must not be in the future."]})
    return loaded


def _lock_order(conn: Connection, issuer_id: str, order_id: str) -> Row[Any]:
    if "\x00" in issuer_id or "\x00" in order_id:  # never stored; PostgreSQL refuses it
        raise UnknownOrder("No such order.")
    row = conn.execute(
        sa.select(orders)
        .where(orders.c.issuer_id == issuer_id, orders.c.order_id == order_id)
        .with_for_update()
    ).first()
    if row is None:
        raise UnknownOrder("No such order.")
    if row.status == WITHDRAWN:
        raise OrderWithdrawn("The issuer withdrew this order; no action can be recorded.")
    return row


def _apply(
    conn: Connection, order: Row[Any], item: Row[Any], action: dict[str, Any], now: datetime,
    actor: str,
) -> bool:
    """Record one item's action; returns True when something was written."""
    if item.action is not None:
        if item.action == action["action"]:
            return False  # final once recorded: the same action again keeps what was recorded
        raise Conflict(f"Item {item.item_id} already has the action {item.action}.")
    acted_at: datetime = action.get("acted_at") or now
    if to_micros(acted_at) < order.received_at:
        raise InvalidPayload("acted_at is before the order was received.",
                             fields={"acted_at": ["Must not be before received_at."]})
    basis = action.get("basis") or LAW
    if basis == TERMS and order.kind != NOTICE:
        raise InvalidPayload("basis terms applies to notices only.",
                             fields={"basis": ["terms is only allowed on notices."]})
    effect = gives_effect(action["action"])
    preserve_until = None
    if effect and order.preserve_for_days:
        preserve_until = to_micros(acted_at + timedelta(days=order.preserve_for_days))
    conn.execute(
        items.update().where(items.c.id == item.id).values(
            action=action["action"], acted_at=to_micros(acted_at), reason=action.get("reason"),
            basis=basis, automated=bool(action.get("automated", False)), effect_given=effect,
            preserve_until=preserve_until, actor=actor,
        )
    )
    append_event(
        conn, order_pk=order.id, at=to_micros(now), type="action", actor=actor,
        detail={"item_id": item.item_id, "action": action["action"],
                "acted_at": format_time(acted_at), "reason": action.get("reason"),
                "basis": basis, "automated": bool(action.get("automated", False))},
    )
    return True


def _complete_if_done(
    conn: Connection, config: Config, order: Row[Any], now: datetime
) -> bool:
    """When every item has an action: completed, effect time, outcome queued. True if so."""
    rows = store.order_items(conn, order.id)
    resolved = sum(1 for r in rows if r.action is not None)
    values: dict[str, Any] = {"items_resolved": resolved}
    done = resolved == len(rows)
    if done:
        completed_at = max(r.acted_at for r in rows)
        effect_times = [r.acted_at for r in rows if r.effect_given]
        values.update(status="completed", completed_at=completed_at,
                      effect_given_at=max(effect_times) if effect_times else None)
        received = format_micros(order.received_at)
        outcome = {
            "type": "order.outcome",
            "timestamp": format_time(now),
            "data": {
                "order_id": order.order_id,
                "hoster_id": config.hoster_id,
                "received_at": received,
                "completed_at": format_micros(completed_at),
                "items": [_outcome_item(r) for r in rows],
            },
        }
        store.enqueue_delivery(
            conn, order_pk=order.id, issuer_id=order.issuer_id, order_id=order.order_id,
            type="order.outcome", path=callback_path(order.order_id, "outcome"), body=outcome,
            now=to_micros(now),
        )
        append_event(conn, order_pk=order.id, at=to_micros(now), type="completed",
                     actor="system", detail={"effect_given": bool(effect_times)})
        log.info("order completed issuer=%s order=%s effect_given=%s; outcome queued",
                 order.issuer_id, order.order_id, bool(effect_times))
    conn.execute(orders.update().where(orders.c.id == order.id).values(**values))
    return done


def _outcome_item(row: Row[Any]) -> dict[str, Any]:
    entry = {"item_id": row.item_id, "url": row.url, "action": row.action,
             "acted_at": format_micros(row.acted_at)}
    if row.reason:
        entry["reason"] = row.reason
    return entry


def act_on_item(
    engine: Engine, config: Config, issuer_id: str, order_id: str, item_id: str,
    action: dict[str, Any], now: datetime, actor: str,
) -> tuple[dict[str, Any], bool]:
    """Record an action on one item. Returns (the item, whether an outcome was queued)."""
    with engine.begin() as conn:
        order = _lock_order(conn, issuer_id, order_id)
        if "\x00" in item_id:
            raise UnknownItem("No such item in this order.")
        item = conn.execute(
            sa.select(items).where(items.c.order_pk == order.id, items.c.item_id == item_id)
        ).first()
        if item is None:
            raise UnknownItem("No such item in this order.")
        changed = _apply(conn, order, item, action, now, actor)
        queued = _complete_if_done(conn, config, order, now) if changed else False
        fresh = conn.execute(sa.select(items).where(items.c.id == item.id)).one()
        return item_view(fresh), queued


def act_on_order(
    engine: Engine, config: Config, issuer_id: str, order_id: str,
    action: dict[str, Any], now: datetime, actor: str,
) -> tuple[dict[str, Any], bool]:
    """Record the action on every item that has none yet (a no-op when none is left)."""
    with engine.begin() as conn:
        order = _lock_order(conn, issuer_id, order_id)
        changed = False
        for item in store.order_items(conn, order.id):
            if item.action is None:
                changed = _apply(conn, order, item, action, now, actor) or changed
        queued = _complete_if_done(conn, config, order, now) if changed else False
        return {"order_id": order.order_id,
                "items": [item_view(r) for r in store.order_items(conn, order.id)]}, queued
