"""Recording what the hoster did with each item (PROTOCOL 4), and queueing the outcome callback
in the same transaction as the action that completes the order."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from ..alerts import queue as alerts
from ..config import Config
from ..errors import InvalidPayload, OrderWithdrawn, UnknownItem, UnknownOrder
from ..logtext import safe
from ..notifier import mail as notifier_mail
from ..protocol import callbacks
from ..protocol import schemas_in as schemas
from ..store import orders as store
from ..store.audit import append_event
from ..store.tables import items, orders
from ..timeutil import format_time, from_micros, to_micros
from ..vocabulary import COMPLETED, PUBLIC, REINSTATED, WITHDRAWN
from . import rules
from .history import action_detail
from .reads import item_view

log = logging.getLogger("hoster_compliance.orders.actions")


def validate_action(body: object, now: datetime, *, whole_order: bool = False) -> dict[str, Any]:
    """Schema plus the clock rule: ``acted_at`` at most 5 s ahead of now; on a whole order, no
    ``reinstated``."""
    loaded = schemas.load_action(body)
    if whole_order:
        rules.check_whole_order_action(loaded["action"])
    rules.check_acted_at_not_future(loaded.get("acted_at"), now)
    return loaded


# What _apply did: nothing, an action (completion may follow), a reinstatement (it may not).
UNCHANGED, ACTED, REINSTATED_ITEM = 0, 1, 2


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
) -> int:
    """Record one item's action: ``UNCHANGED``, ``ACTED`` or ``REINSTATED_ITEM``."""
    name = action["action"]
    if rules.is_repeat(item.item_id, item.action, name, item.reinstated_at is not None):
        return UNCHANGED
    if name == REINSTATED:
        return _reinstate(conn, order, item, action, now, actor)
    acted_at: datetime = action.get("acted_at") or now
    received_at = from_micros(order.received_at)
    assert received_at is not None
    basis = rules.action_basis(order.kind, received_at, acted_at, action.get("basis"))
    preserve = rules.preserve_until(name, acted_at, order.preserve_for_days)
    automated = bool(action.get("automated", False))
    conn.execute(
        items.update().where(items.c.id == item.id).values(
            action=name, acted_at=to_micros(acted_at), reason=action.get("reason"),
            basis=basis, automated=automated, effect_given=rules.gives_effect(name),
            preserve_until=None if preserve is None else to_micros(preserve), actor=actor,
        )
    )
    append_event(
        conn, order_pk=order.id, at=to_micros(now), type="action", actor=actor,
        detail=action_detail(item_id=item.item_id, action=name, acted_at=to_micros(acted_at),
                             reason=action.get("reason"), basis=basis, automated=automated),
    )
    return ACTED


def _reinstate(
    conn: Connection, order: Row[Any], item: Row[Any], action: dict[str, Any], now: datetime,
    actor: str,
) -> int:
    """Undo an earlier action that gave effect (PROTOCOL 4, 11.2). The action stays recorded
    (the report counts it and its reversal); the reinstatement is added beside it, once."""
    rules.check_reinstatement(order.kind, item.item_id, item.action, item.effect_given)
    acted_at: datetime = action.get("acted_at") or now
    earlier = from_micros(item.acted_at)
    assert earlier is not None
    if acted_at < earlier:
        raise InvalidPayload("acted_at is before the action it undoes.",
                             fields={"acted_at": ["Must not be before the item's acted_at."]})
    conn.execute(items.update().where(items.c.id == item.id).values(
        reinstated_at=to_micros(acted_at), reinstated_reason=action["reason"]))
    append_event(
        conn, order_pk=order.id, at=to_micros(now), type="reinstated", actor=actor,
        detail={"item_id": item.item_id, "undoes": item.action,
                "acted_at": format_time(acted_at), "reason": action["reason"]},
    )
    log.info("item reinstated issuer=%s order=%s item=%s", order.issuer_id, order.order_id,
             item.item_id)
    return REINSTATED_ITEM


def _complete_if_done(
    conn: Connection, config: Config, order: Row[Any], now: datetime
) -> bool:
    """When every item has an action: completed, effect time, outcome queued (for a notice
    from anyone: the decision to the notifier). True if so."""
    rows = store.order_items(conn, order.id)
    state = rules.completion([(r.action, r.acted_at, r.effect_given) for r in rows])
    values: dict[str, Any] = {"items_resolved": state.resolved}
    if state.done:
        values.update(status=COMPLETED, completed_at=state.completed_at,
                      effect_given_at=state.effect_given_at)
        effect_given = state.effect_given_at is not None
        # The event first: the outcome carries the trail's head, this completion included.
        head = append_event(conn, order_pk=order.id, at=to_micros(now), type="completed",
                            actor="system", detail={"effect_given": effect_given})
        received_at, completed_at = from_micros(order.received_at), from_micros(state.completed_at)
        assert received_at is not None and completed_at is not None
        outcome = callbacks.outcome(
            order.order_id, config.hoster_id, received_at=received_at, completed_at=completed_at,
            items=[_outcome_item(r) for r in rows], now=now,
        )
        if rules.sends_callbacks(order.kind, order.issuer_id):
            store.enqueue_delivery(
                conn, order_pk=order.id, issuer_id=order.issuer_id, order_id=order.order_id,
                callback=callbacks.with_audit(outcome, head.seq, head.hash), now=to_micros(now),
            )
        elif order.issuer_id == PUBLIC:  # the notifier's decision (PROTOCOL 10.2)
            notifier_mail.queue_decision(conn, config, order, rows, now)
        log.info("order completed issuer=%s order=%s effect_given=%s", safe(order.issuer_id),
                 safe(order.order_id), effect_given)
    conn.execute(orders.update().where(orders.c.id == order.id).values(**values))
    if state.done:
        alerts.order_closed(conn, config, order.id, now)
    return state.done


def _outcome_item(row: Row[Any]) -> callbacks.OutcomeItem:
    acted_at = from_micros(row.acted_at)
    assert acted_at is not None
    return callbacks.OutcomeItem(row.item_id, row.url, row.action, acted_at, row.reason)


def act_on_item(
    engine: Engine, config: Config, issuer_id: str, order_id: str, item_id: str,
    action: dict[str, Any], now: datetime, actor: str,
) -> tuple[dict[str, Any], bool]:
    """Record an action on one item. Returns (the item, whether an outcome was queued)."""
    with engine.begin() as conn:
        order = _lock_order(conn, issuer_id, order_id)
        item = store.find_item(conn, order.id, item_id)
        if item is None:
            raise UnknownItem("No such item in this order.")
        changed = _apply(conn, order, item, action, now, actor)
        queued = _complete_if_done(conn, config, order, now) if changed == ACTED else False
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
                changed = _apply(conn, order, item, action, now, actor) == ACTED or changed
        queued = _complete_if_done(conn, config, order, now) if changed else False
        return {"order_id": order.order_id,
                "items": [item_view(r) for r in store.order_items(conn, order.id)]}, queued
