"""Reading and writing orders, items and deliveries inside a caller's transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Row

from .tables import deliveries, items, orders

DELIVERY_GIVE_UP_MICROS = 72 * 3600 * 1_000_000


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def find_order(conn: Connection, issuer_id: str, order_id: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(orders).where(orders.c.issuer_id == issuer_id, orders.c.order_id == order_id)
    ).first()


def insert_order(conn: Connection, values: dict[str, Any], item_rows: list[dict[str, Any]]) -> int:
    """Insert one order and its items; returns the order's primary key."""
    order_pk = inserted_id(conn.execute(orders.insert().values(**values)))
    conn.execute(
        items.insert(),
        [dict(row, order_pk=order_pk, position=i) for i, row in enumerate(item_rows)],
    )
    return order_pk


def order_items(conn: Connection, order_pk: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            sa.select(items).where(items.c.order_pk == order_pk).order_by(items.c.position)
        )
    )


def order_deliveries(conn: Connection, order_pk: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            sa.select(deliveries).where(deliveries.c.order_pk == order_pk)
            .order_by(deliveries.c.id)
        )
    )


def new_webhook_id() -> str:
    """A message id in the Standard Webhooks style, unique across all deliveries."""
    return "msg_" + uuid.uuid4().hex


def enqueue_delivery(
    conn: Connection,
    *,
    order_pk: int,
    issuer_id: str,
    order_id: str,
    type: str,
    path: str,
    body: dict[str, Any],
    now: int,
) -> int:
    """Queue a callback in the caller's transaction (the outbox): due at once."""
    return inserted_id(
        conn.execute(
            deliveries.insert().values(
                order_pk=order_pk, issuer_id=issuer_id, order_id=order_id, type=type, path=path,
                webhook_id=new_webhook_id(),
                body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                state="pending", attempts=0, created_at=now, next_attempt_at=now,
                give_up_at=now + DELIVERY_GIVE_UP_MICROS,
            )
        )
    )
