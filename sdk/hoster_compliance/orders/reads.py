"""The read side: listings and order detail in the shapes of PROTOCOL 7.3."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from ..errors import InvalidQuery, UnknownOrder
from ..protocol.limits import MAX_EVENTS_SHOWN
from ..protocol.query import parse_limit
from ..protocol.regimes import is_overdue
from ..protocol.schemas_out import (
    DeliverySchema,
    EventSchema,
    ItemOutSchema,
    OrderDetailSchema,
    OrderSummarySchema,
)
from ..store import orders as store
from ..store.tables import NO_DEADLINE_SORT, deliveries, events, listing_sort_key, orders
from ..timeutil import from_micros, parse_time, to_micros
from ..vocabulary import COMPLETED, DELIVERY_STATES, OPEN, REINSTATED, WITHDRAWN
from ..vocabulary import KINDS as ALL_KINDS

#: The ``status`` filter: a status, ``overdue`` (open past its deadline) or ``all``.
STATUSES: tuple[str, ...] = (OPEN, "overdue", COMPLETED, WITHDRAWN, "all")
#: The ``kind`` filter: every kind the store holds (v1.1: own-initiative entries too).
KINDS = ALL_KINDS
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
DEFAULT_DELIVERY_LIMIT, MAX_DELIVERY_LIMIT = 500, 5000


# One instance of each output schema: building one copies its fields (see schemas_in).
_SUMMARY = OrderSummarySchema()
_DETAIL = OrderDetailSchema()
_ITEM = ItemOutSchema()
_DELIVERY = DeliverySchema()
_EVENT = EventSchema()


def _summary_fields(row: Row[Any], now: datetime) -> dict[str, Any]:
    deadline = from_micros(row.deadline)
    return {
        "issuer_id": row.issuer_id,
        "order_id": row.order_id,
        "kind": row.kind,
        "regime": row.regime,
        "category": row.category,
        "subcategory": row.subcategory,
        "status": row.status,
        "received_at": from_micros(row.received_at),
        "deadline": deadline,
        "overdue": is_overdue(row.status, deadline, now),
        "acknowledged_at": from_micros(row.acknowledged_at),
        "effect_given_at": from_micros(row.effect_given_at),
        "items_total": row.items_total,
        "items_resolved": row.items_resolved,
    }


def _item_fields(row: Row[Any]) -> dict[str, Any]:
    content_hash = (
        {"algorithm": row.content_hash_algorithm, "value": row.content_hash_value}
        if row.content_hash_algorithm else None
    )
    fields = {
        "item_id": row.item_id,
        "url": row.url,
        "content_hash": content_hash,
        "note": row.note,
        "action": row.action,
        "acted_at": from_micros(row.acted_at),
        "reason": row.reason,
        "basis": row.basis,
        "automated": row.automated,
        "preserve_until": from_micros(row.preserve_until),
    }
    if row.reinstated_at is not None:
        # The item shows its latest action; the one undone stays in the row (the report counts
        # it) and in the audit trail.
        fields.update(action=REINSTATED, acted_at=from_micros(row.reinstated_at),
                      reason=row.reinstated_reason, automated=False)
    return fields


def _delivery_fields(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "issuer_id": row.issuer_id,
        "order_id": row.order_id,
        "type": row.type,
        "state": row.state,
        "attempts": row.attempts,
        "webhook_id": row.webhook_id,
        "next_attempt_at": from_micros(row.next_attempt_at),
        "last_status": row.last_status,
        "last_error": row.last_error,
        "delivered_at": from_micros(row.delivered_at),
    }


def _event_fields(row: Row[Any]) -> dict[str, Any]:
    return {"at": from_micros(row.at), "type": row.type, "actor": row.actor,
            "detail": json.loads(row.detail)}


def order_summary(row: Row[Any], now: datetime) -> dict[str, Any]:
    """An order as listed (``OrderSummarySchema``)."""
    dumped: dict[str, Any] = _SUMMARY.dump(_summary_fields(row, now))
    return dumped


def item_view(row: Row[Any]) -> dict[str, Any]:
    """An item with its action (``ItemOutSchema``)."""
    dumped: dict[str, Any] = _ITEM.dump(_item_fields(row))
    return dumped


def delivery_view(row: Row[Any]) -> dict[str, Any]:
    """An outbox row (``DeliverySchema``)."""
    dumped: dict[str, Any] = _DELIVERY.dump(_delivery_fields(row))
    return dumped


#: Three 64-bit integers as JSON are at most 62 characters: 84 of base64; a little room.
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _encode_cursor(row: Row[Any]) -> str:
    key = [row.deadline if row.deadline is not None else NO_DEADLINE_SORT, row.received_at,
           row.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int, int]:
    # A cursor this server gave out is short URL-safe base64 of three integers; anything else
    # is refused before it is decoded (1,000 "[" would reach the JSON parser's recursion limit).
    if not _CURSOR.fullmatch(cursor):
        raise InvalidQuery("cursor: not a cursor this server gave out.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidQuery("cursor: not a cursor this server gave out.") from exc
    if (not isinstance(key, list) or len(key) != 3
            or not all(type(k) is int for k in key)
            # the columns compared with: BIGINT times, INTEGER id; beyond them drivers fail
            or not all(-(2**63) <= k < 2**63 for k in key[:2]) or not 0 <= key[2] < 2**31):
        raise InvalidQuery("cursor: not a cursor this server gave out.")
    return key[0], key[1], key[2]


def parse_list_query(args: Mapping[str, str]) -> dict[str, Any]:
    """Validate the query of ``GET /v1/orders``; bad values raise ``InvalidQuery``."""
    unknown = set(args) - {"status", "issuer_id", "kind", "limit", "cursor"}
    if unknown:
        raise InvalidQuery(f"Unknown query parameter: {sorted(unknown)[0]}.")
    for name, value in args.items():
        if "\x00" in value:  # PostgreSQL refuses NUL in a text parameter
            raise InvalidQuery(f"{name}: must not contain U+0000.")
    status = args.get("status", "all")
    if status not in STATUSES:
        raise InvalidQuery(f"status: must be one of {', '.join(STATUSES)}.")
    kind = args.get("kind")
    if kind is not None and kind not in KINDS:
        raise InvalidQuery(f"kind: must be {' or '.join(KINDS)}.")
    limit = parse_limit(args.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
    cursor = args.get("cursor")
    return {
        "status": status,
        "issuer_id": args.get("issuer_id"),
        "kind": kind,
        "limit": limit,
        "cursor": _decode_cursor(cursor) if cursor else None,
    }


def list_orders(
    engine: Engine,
    now: datetime,
    *,
    status: str = "all",
    issuer_id: str | None = None,
    kind: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: tuple[int, int, int] | None = None,
) -> dict[str, Any]:
    """Orders, deadline first (none last), then ``received_at``; keyset-paged."""
    query = listing_query(now, status=status, issuer_id=issuer_id, kind=kind, limit=limit,
                          cursor=cursor)
    with engine.connect().execution_options(readonly=True) as conn:
        rows = conn.execute(query).all()
    page = rows[:limit]
    return {
        "orders": [order_summary(r, now) for r in page],
        "next_cursor": _encode_cursor(page[-1]) if len(rows) > limit else None,
    }


def listing_query(
    now: datetime,
    *,
    status: str = "all",
    issuer_id: str | None = None,
    kind: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: tuple[int, int, int] | None = None,
) -> sa.Select[Any]:
    """The query of one page of :func:`list_orders` (one more row than ``limit``)."""
    sort_deadline = listing_sort_key()
    query = sa.select(orders)
    now_us = to_micros(now)
    if status == "overdue":
        query = query.where(orders.c.status == OPEN, orders.c.deadline < now_us)
    elif status != "all":
        query = query.where(orders.c.status == status)
    if issuer_id is not None:
        query = query.where(orders.c.issuer_id == issuer_id)
    if kind is not None:
        query = query.where(orders.c.kind == kind)
    if cursor is not None:
        # a row-value comparison: both databases seek the listing index to it
        query = query.where(sa.tuple_(sort_deadline, orders.c.received_at, orders.c.id)
                            > sa.tuple_(*(sa.literal(k, sa.BigInteger) for k in cursor)))
    return query.order_by(sort_deadline, orders.c.received_at, orders.c.id).limit(limit + 1)


def order_detail_in(conn: Connection, row: Row[Any], now: datetime) -> dict[str, Any]:
    """Everything about the order ``row`` (``OrderDetailSchema``), read in ``conn``."""
    data = json.loads(row.data)
    for key in ("issued_at", "deadline"):
        if isinstance(data.get(key), str):
            data[key] = parse_time(data[key])
    detail = {**data, **_summary_fields(row, now)}
    detail.update(
        legal_basis=data.get("legal_basis"),
        statement_of_reasons=data.get("statement_of_reasons"),
        subcategory_other=row.subcategory_other,
        issuer_member_state=row.issuer_member_state,
        confidential=bool(row.confidential),
        preserve_for_days=row.preserve_for_days,
        trusted_flagger=bool(row.trusted_flagger),
        withdrawn_at=from_micros(row.withdrawn_at),
        completed_at=from_micros(row.completed_at),
        notifier=None if row.notifier_name is None and row.notifier_email is None
        else {"name": row.notifier_name, "email": row.notifier_email},
        items=[_item_fields(i) for i in store.order_items(conn, row.id)],
        deliveries=[_delivery_fields(d) for d in store.order_deliveries(conn, row.id)],
        **order_events(conn, row.id),
    )
    dumped: dict[str, Any] = _DETAIL.dump(detail)
    return dumped


def order_events(conn: Connection, order_pk: int) -> dict[str, Any]:
    """``events``: the newest :data:`MAX_EVENTS_SHOWN` of an order's events, oldest first;
    ``events_total``: how many it has (PROTOCOL 13.2: redeliveries cannot make it huge)."""
    newest = list(conn.execute(
        sa.select(events).where(events.c.order_pk == order_pk)
        .order_by(events.c.id.desc()).limit(MAX_EVENTS_SHOWN)))
    total = len(newest)
    if total == MAX_EVENTS_SHOWN:
        total = conn.execute(sa.select(sa.func.count()).select_from(events)
                             .where(events.c.order_pk == order_pk)).scalar_one()
    return {"events": [_event_fields(e) for e in reversed(newest)], "events_total": total}


def get_order(engine: Engine, issuer_id: str, order_id: str, now: datetime) -> dict[str, Any]:
    """Everything about one order: summary, its data, items, deliveries and events."""
    if "\x00" in issuer_id or "\x00" in order_id:  # never stored; PostgreSQL refuses it
        raise UnknownOrder("No such order.")
    with engine.connect().execution_options(readonly=True) as conn:
        row = store.find_order(conn, issuer_id, order_id)
        if row is None:
            raise UnknownOrder("No such order.")
        return order_detail_in(conn, row, now)


def list_deliveries(
    engine: Engine, state: str | None = None, limit: str | None = None
) -> dict[str, Any]:
    """The outbox, newest first; ``state`` filters; at most ``limit`` (default 500, at most
    5000) rows, so a years-old outbox never makes one huge answer."""
    if state is not None and state not in DELIVERY_STATES:
        raise InvalidQuery(
            f"state: must be {', '.join(DELIVERY_STATES[:-1])} or {DELIVERY_STATES[-1]}.")
    count = parse_limit(limit, DEFAULT_DELIVERY_LIMIT, MAX_DELIVERY_LIMIT)
    query = (sa.select(deliveries).where(deliveries.c.channel.is_(None))  # callbacks, not alerts
             .order_by(deliveries.c.id.desc()).limit(count))
    if state is not None:
        query = query.where(deliveries.c.state == state)
    with engine.connect().execution_options(readonly=True) as conn:
        return {"deliveries": [delivery_view(r) for r in conn.execute(query)]}


def open_counts(engine: Engine, now: datetime) -> dict[str, dict[str, int]]:
    """Open and overdue orders by kind, from the (status, deadline) index."""
    overdue = sa.func.sum(sa.case((orders.c.deadline < to_micros(now), 1), else_=0))
    query = (sa.select(orders.c.kind, sa.func.count(), overdue)
             .where(orders.c.status == "open").group_by(orders.c.kind))
    with engine.connect().execution_options(readonly=True) as conn:
        return {kind: {"open": int(n), "overdue": int(late or 0)}
                for kind, n, late in conn.execute(query)}
