"""Raising alerts: outbox rows written inside the caller's transaction, the one of their cause
(an order stored, completed or withdrawn; a callback failed; automation done), so an alert is
never lost nor raised for something that did not happen.

Each alert is unique per (channel, event, order) through ``deliveries.alert_key``: a second
attempt to raise it (another worker, a retried transaction, a restart) inserts nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Config
from ..config_alerts import ORDER_EVENTS, AlertChannel
from ..protocol.callbacks import new_webhook_id
from ..store import orders as store
from ..store.tables import deliveries, orders, workers
from ..timeutil import to_micros
from .content import order_facts

#: Alerts are retried for 24 h (PROTOCOL 9.2), then ``failed``.
ALERT_GIVE_UP_MICROS = 24 * 3600 * 1_000_000
#: While an automation runner is alive, a new order's ``received`` alert waits for its handlers,
#: but never longer than this: a stuck or dead runner must not keep people from learning of it.
AUTOMATION_GRACE_MICROS = 60 * 1_000_000
#: A runner announces itself for this long and renews the announcement well before it ends.
HEARTBEAT_MICROS = 30 * 1_000_000


def alert_type(event: str) -> str:
    """The outbox ``type`` of an alert: ``alert.<event>``."""
    return "alert." + event


def alert_row(
    channel: str, facts: dict[str, Any], *, order_pk: int, issuer_id: str, order_id: str,
    now: int, key: str = "",
) -> dict[str, Any]:
    """The outbox row of an alert, due at once. ``key`` tells apart alerts of one event about
    one order (a second failed callback)."""
    event = facts["event"]
    return {
        "order_pk": order_pk, "issuer_id": issuer_id, "order_id": order_id,
        "type": alert_type(event), "path": "", "webhook_id": new_webhook_id(),
        "body": json.dumps(facts, separators=(",", ":"), ensure_ascii=False),
        "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
        "give_up_at": now + ALERT_GIVE_UP_MICROS, "channel": channel,
        "destination": store.alert_destination(channel),
        "alert_key": f"{channel}|{event}|{order_pk}" + (f"|{key}" if key else ""),
    }


def insert_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert alert rows, skipping those whose (channel, event, order) was raised before."""
    if not rows:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(deliveries).on_conflict_do_nothing(index_elements=["alert_key"])
    conn.execute(stmt, list(rows))


def wanting(config: Config, event: str, kind: str, regime: str) -> list[AlertChannel]:
    """The channels that take ``event`` about an entry of ``kind`` and ``regime``."""
    return [c for c in config.alerts if c.wants(event, kind, regime)]


def any_wants(config: Config, events: Iterable[str]) -> bool:
    """Whether some channel takes one of ``events`` at all (else nothing need be looked at)."""
    wanted = set(events)
    return any(c.events & wanted for c in config.alerts)


def issuer_name(config: Config, issuer_id: str) -> str | None:
    issuer = config.issuer(issuer_id)
    return issuer.name if issuer is not None else None


def received_drafts(
    config: Config, row: dict[str, Any], urls: list[str], at: datetime
) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The ``received`` alerts of a new order (``row``: its ``orders`` row), per channel, as
    (channel, facts) before the order has a key. Pure."""
    return tuple(
        (channel.name, order_facts("received", row, issuer_name=issuer_name(config,
             row["issuer_id"]), at=at, urls=urls if channel.include_urls else None))
        for channel in wanting(config, "received", row["kind"], row["regime"])
    )


def due_soon_instant(config: Config, received_at: int, deadline: int | None) -> int | None:
    """When ``due_soon`` is due: ``due_soon_at`` of the way from receipt to the deadline."""
    if deadline is None:
        return None
    return received_at + int((deadline - received_at) * config.due_soon_at)


def automation_alive(conn: Connection, now: int) -> bool:
    """Whether an automation runner has announced itself recently (``workers``)."""
    return conn.execute(
        sa.select(workers.c.owner)
        .where(workers.c.role == "automation", workers.c.seen_until >= now).limit(1)
    ).first() is not None


#: The ``received`` alerts of a new order before it has a key: (channel, facts) per channel.
Drafts = Sequence[tuple[str, dict[str, Any]]]


def queue_received(
    conn: Connection, received: Sequence[tuple[int, Mapping[str, Any], Drafts]]
) -> bool:
    """The ``received`` alerts of orders just stored in the caller's transaction, ``received``
    being (order key, its ``orders`` row, its drafts) per order: queued at once; or, while an
    automation runner is alive, held for its handlers (``alert_hold_until``: the runner raises
    them after they ran, for an order still open, and the schedule when the grace runs out).
    Returns whether they were held."""
    alerting = [(pk, row, drafts) for pk, row, drafts in received if drafts]
    if not alerting:
        return False
    if automation_alive(conn, max(row["received_at"] for _, row, _ in alerting)):
        conn.execute(
            orders.update().where(orders.c.id == sa.bindparam("pk"))
            .values(alert_hold_until=sa.bindparam("until")),
            [{"pk": pk, "until": row["received_at"] + AUTOMATION_GRACE_MICROS}
             for pk, row, _ in alerting],
        )
        return True
    insert_alerts(conn, [
        alert_row(channel, facts, order_pk=pk, issuer_id=row["issuer_id"],
                  order_id=row["order_id"], now=row["received_at"])
        for pk, row, drafts in alerting for channel, facts in drafts
    ])
    return False


def raise_order_alert(
    conn: Connection, config: Config, event: str, order: Any, at: datetime, *,
    detail: dict[str, Any] | None = None, key: str = "",
) -> int:
    """Queue ``event`` about ``order`` (an ``orders`` row) for every channel that takes it;
    returns how many channels."""
    channels = wanting(config, event, order.kind, order.regime)
    if not channels:
        return 0
    urls: list[str] | None = None
    if any(c.include_urls for c in channels):
        urls = [item.url for item in store.order_items(conn, order.id)]
    name = issuer_name(config, order.issuer_id)
    now = to_micros(at)
    insert_alerts(conn, [
        alert_row(c.name, order_facts(event, order, issuer_name=name, at=at,
                                      urls=urls if c.include_urls else None, detail=detail),
                  order_pk=order.id, issuer_id=order.issuer_id, order_id=order.order_id,
                  now=now, key=key)
        for c in channels
    ])
    return len(channels)


def delivery_failed(
    conn: Connection, config: Config, order_pk: int, at: datetime, *, callback: str,
    delivery_id: int, error: str,
) -> int:
    """A callback failed for good: the issuer does not know, so the people must (PROTOCOL
    9.2). One alert per failed delivery, in the transaction that records the failure."""
    order = conn.execute(sa.select(orders).where(orders.c.id == order_pk)).one()
    return raise_order_alert(
        conn, config, "delivery_failed", order, at,
        detail={"callback": callback, "delivery_id": delivery_id, "error": error},
        key=str(delivery_id))


def order_closed(conn: Connection, config: Config, order_pk: int, at: datetime) -> None:
    """An order completed or was withdrawn: nothing more is scheduled for it, and every
    PagerDuty channel that raised an incident for it resolves it."""
    conn.execute(orders.update().where(orders.c.id == order_pk)
                 .values(alert_due_at=None, alert_hold_until=None))
    pagers = [c for c in config.alerts if c.channel == "pagerduty" and "resolved" in c.events]
    if not pagers:
        return
    raised = set(conn.execute(
        sa.select(deliveries.c.channel).distinct().where(
            deliveries.c.order_pk == order_pk,
            deliveries.c.channel.in_([c.name for c in pagers]),
            deliveries.c.type.in_([alert_type(e) for e in ORDER_EVENTS]),
        )
    ).scalars())
    if not raised:
        return
    order = conn.execute(sa.select(orders).where(orders.c.id == order_pk)).one()
    name = issuer_name(config, order.issuer_id)
    insert_alerts(conn, [
        alert_row(c.name, order_facts("resolved", order, issuer_name=name, at=at),
                  order_pk=order.id, issuer_id=order.issuer_id, order_id=order.order_id,
                  now=to_micros(at))
        for c in pagers if c.name in raised
    ])
