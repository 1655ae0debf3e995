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


# Statements built once and run with parameter dictionaries: SQLAlchemy then reuses their
# compiled form instead of building and hashing a new statement per call (hot path: every
# webhook runs these; see BENCHMARKS.md).
_FIND_ORDER = sa.select(orders).where(
    orders.c.issuer_id == sa.bindparam("p_issuer_id"),
    orders.c.order_id == sa.bindparam("p_order_id"),
)
# One issuer's orders by id: a search of the unique index on both databases (a row-value
# "(issuer_id, order_id) IN (...)" makes SQLite scan the whole index).
_FIND_ISSUER_ORDERS = sa.select(orders).where(
    orders.c.issuer_id == sa.bindparam("p_issuer_id"),
    orders.c.order_id.in_(sa.bindparam("p_order_ids", expanding=True)),
)
_INSERT_ORDERS = orders.insert()
_ISSUER_ORDER_PKS = sa.select(orders.c.id, orders.c.order_id).where(
    orders.c.issuer_id == sa.bindparam("p_issuer_id"),
    orders.c.order_id.in_(sa.bindparam("p_order_ids", expanding=True)),
)
_INSERT_ITEMS = items.insert()
_INSERT_DELIVERY = deliveries.insert()


def find_order(conn: Connection, issuer_id: str, order_id: str) -> Row[Any] | None:
    return conn.execute(
        _FIND_ORDER, {"p_issuer_id": issuer_id, "p_order_id": order_id}
    ).first()


def find_orders(conn: Connection, keys: list[tuple[str, str]]) -> list[Row[Any]]:
    """The stored orders among ``keys`` (``(issuer_id, order_id)`` pairs): one query per
    issuer among them."""
    by_issuer: dict[str, list[str]] = {}
    for issuer_id, order_id in keys:
        by_issuer.setdefault(issuer_id, []).append(order_id)
    found: list[Row[Any]] = []
    for issuer_id, order_ids in by_issuer.items():
        found.extend(conn.execute(
            _FIND_ISSUER_ORDERS, {"p_issuer_id": issuer_id, "p_order_ids": order_ids}))
    return found


def insert_orders(
    conn: Connection, rows: list[dict[str, Any]], item_rows: list[list[dict[str, Any]]]
) -> dict[tuple[str, str], int]:
    """Insert several orders and all their items (an executemany each); returns each order's
    primary key by ``(issuer_id, order_id)``. ``item_rows[i]`` are the items of ``rows[i]``,
    each with its ``position``.

    The keys are read back with one SELECT per issuer rather than with ``INSERT ...
    RETURNING`` over several rows: SQLAlchemy writes that as one statement per batch size,
    whose text is too long for psycopg's query cache, and parsing it again for every batch
    cost more than the whole rest of the transaction (BENCHMARKS.md)."""
    if not rows:
        return {}
    if len(rows) == 1:
        row = rows[0]
        pks = {(row["issuer_id"], row["order_id"]):
               inserted_id(conn.execute(_INSERT_ORDERS, row))}
    else:
        conn.execute(_INSERT_ORDERS, rows)
        by_issuer: dict[str, list[str]] = {}
        for row in rows:
            by_issuer.setdefault(row["issuer_id"], []).append(row["order_id"])
        pks = {}
        for issuer_id, order_ids in by_issuer.items():
            for found in conn.execute(
                _ISSUER_ORDER_PKS, {"p_issuer_id": issuer_id, "p_order_ids": order_ids}
            ):
                pks[(issuer_id, found.order_id)] = int(found.id)
    conn.execute(_INSERT_ITEMS, [
        dict(item, order_pk=pks[(row["issuer_id"], row["order_id"])])
        for row, order_items in zip(rows, item_rows, strict=True) for item in order_items
    ])
    return pks


def one_or_many(rows: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """Parameters for ``execute``: a single row runs as a plain statement, cheaper than an
    executemany of one."""
    return rows[0] if len(rows) == 1 else rows


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
    return inserted_id(conn.execute(_INSERT_DELIVERY, delivery_row(
        order_pk=order_pk, issuer_id=issuer_id, order_id=order_id, type=type, path=path,
        body=body, now=now,
    )))


def enqueue_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Queue several callbacks (rows from :func:`delivery_row`) in one executemany."""
    if rows:
        conn.execute(_INSERT_DELIVERY, one_or_many(rows))


def delivery_row(
    *, order_pk: int, issuer_id: str, order_id: str, type: str, path: str,
    body: dict[str, Any], now: int,
) -> dict[str, Any]:
    """The outbox row of a callback due at once, with a new ``webhook-id``."""
    return {
        "order_pk": order_pk, "issuer_id": issuer_id, "order_id": order_id,
        "type": type, "path": path, "webhook_id": new_webhook_id(),
        "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
        "give_up_at": now + DELIVERY_GIVE_UP_MICROS,
    }
