"""Reading and writing orders, items and deliveries inside a caller's transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .tables import deliveries, items, orders

DELIVERY_GIVE_UP_MICROS = 72 * 3600 * 1_000_000


def find_order(conn: Connection, issuer_id: str, order_id: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(orders).where(orders.c.issuer_id == issuer_id, orders.c.order_id == order_id)
    ).first()


def insert_order(conn: Connection, values: dict[str, Any], item_rows: list[dict[str, Any]]) -> int:
    """Insert one order and its items; returns the order's primary key."""
    order_pk = int(conn.execute(orders.insert().values(**values)).inserted_primary_key[0])
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
    return int(
        conn.execute(
            deliveries.insert().values(
                order_pk=order_pk, issuer_id=issuer_id, order_id=order_id, type=type, path=path,
                webhook_id=new_webhook_id(),
                body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                state="pending", attempts=0, created_at=now, next_attempt_at=now,
                give_up_at=now + DELIVERY_GIVE_UP_MICROS,
            )
        ).inserted_primary_key[0]
    )
