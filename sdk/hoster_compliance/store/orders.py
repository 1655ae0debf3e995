"""Reading and writing orders, items and deliveries inside a caller's transaction."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Row

from ..protocol.callbacks import GIVE_UP_AFTER, Callback
from ..vocabulary import PENDING
from . import pg_insert
from .tables import deliveries, events, items, orders

_GIVE_UP_MICROS = GIVE_UP_AFTER // timedelta(microseconds=1)


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
_INSERT = {table: table.insert() for table in (orders, items, deliveries, events)}


_RECENT_EVENT = sa.select(events.c.id).where(
    events.c.order_pk == sa.bindparam("p_order_pk"),
    events.c.type == sa.bindparam("p_type"),
    events.c.at > sa.bindparam("p_since"),
).limit(1)


def has_recent_event(conn: Connection, order_pk: int, type: str, *, since: int) -> bool:
    """Whether the order has an event of ``type`` after ``since`` (micros)."""
    return conn.execute(
        _RECENT_EVENT, {"p_order_pk": order_pk, "p_type": type, "p_since": since}
    ).first() is not None


_FAILURES = sa.select(events.c.at, events.c.detail).where(
    events.c.order_pk == sa.bindparam("p_order_pk"), events.c.type == "delivery_failed",
).order_by(events.c.id.desc())


def last_failure_at(conn: Connection, order_pk: int, delivery_id: int) -> int | None:
    """When the delivery last failed for good (its newest ``delivery_failed`` event: the end of
    its last attempt), in microseconds; None if the trail has no such event."""
    for at, detail in conn.execute(_FAILURES, {"p_order_pk": order_pk}):
        if json.loads(detail).get("delivery_id") == delivery_id:
            return int(at)
    return None


def find_order(conn: Connection, issuer_id: str, order_id: str) -> Row[Any] | None:
    return conn.execute(
        _FIND_ORDER, {"p_issuer_id": issuer_id, "p_order_id": order_id}
    ).first()


def find_item(conn: Connection, order_pk: int, item_id: str) -> Row[Any] | None:
    """One item of an order by its ``item_id``; None when absent (an id holding NUL is never
    stored, and PostgreSQL would refuse to compare it)."""
    if "\x00" in item_id:
        return None
    return conn.execute(
        sa.select(items).where(items.c.order_pk == order_pk, items.c.item_id == item_id)
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
    """Insert several orders and all their items; returns each order's primary key by
    ``(issuer_id, order_id)``. ``item_rows[i]`` are the items of ``rows[i]``, each with its
    ``position``.

    Several orders on SQLite: an executemany, then their keys read back with
    :func:`find_orders` (no round trip to pay). On PostgreSQL, the orders and their items in
    one statement (:mod:`.pg_insert`). Not SQLAlchemy's multi-row ``INSERT ... RETURNING``:
    that is one statement per batch size, whose text is too long for psycopg's query cache,
    and parsing it again for every batch cost more than the whole rest of the transaction
    (BENCHMARKS.md)."""
    if not rows:
        return {}
    keys = [(row["issuer_id"], row["order_id"]) for row in rows]
    children = [dict(item, order_pk=n) for n, order_items in enumerate(item_rows, 1)
                for item in order_items]  # order_pk: the position of the order, for now
    if conn.dialect.driver == "psycopg" and children:
        columns = tuple(rows[0])
        _check_defaults(orders, columns)
        child_columns = tuple(key for key in children[0] if key != "order_pk")
        _check_defaults(items, ("order_pk", *child_columns))
        sql = pg_insert.insert_with_children_sql(
            conn.dialect, orders, columns, items, child_columns, "order_pk")
        found = pg_insert.execute(
            conn, sql, [pg_insert.rows_param(rows), pg_insert.rows_param(children)])
        ids = pg_insert.in_order(orders, [int(row[0]) for row in found], len(rows))
        return dict(zip(keys, ids, strict=True))
    if len(rows) == 1:
        pks = {keys[0]: inserted_id(conn.execute(_INSERT[orders], rows[0]))}
    elif conn.dialect.driver == "psycopg":  # orders without items
        columns = tuple(rows[0])
        _check_defaults(orders, columns)
        found = pg_insert.execute(conn, pg_insert.insert_sql(conn.dialect, orders, columns, True),
                                  [pg_insert.rows_param(rows)])
        ids = pg_insert.in_order(orders, [int(row[0]) for row in found], len(rows))
        pks = dict(zip(keys, ids, strict=True))
    else:
        insert_rows(conn, orders, rows)
        pks = {(found.issuer_id, found.order_id): int(found.id)
               for found in find_orders(conn, keys)}
    insert_rows(conn, items, [
        dict(item, order_pk=pks[key])
        for key, order_items in zip(keys, item_rows, strict=True) for item in order_items
    ])
    return pks


def insert_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (all with the same keys) in the caller's transaction."""
    if not rows:
        return
    _check_defaults(table, tuple(rows[0]))
    if len(rows) > 1 and conn.dialect.driver == "psycopg":
        columns = tuple(rows[0])
        pg_insert.execute(conn, pg_insert.insert_sql(conn.dialect, table, columns, False),
                          [pg_insert.rows_param(rows)])
    elif len(rows) > 1 and conn.dialect.name == "sqlite":
        _sqlite_executemany(conn, table, rows)
    else:
        # One row runs as a plain statement, cheaper than an executemany of one.
        conn.execute(_INSERT[table], rows[0] if len(rows) == 1 else rows)


@functools.lru_cache(maxsize=32)
def _sqlite_insert_sql(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...]) -> str:
    quote = dialect.identifier_preparer.quote
    return (f"INSERT INTO {quote(table.name)} ({', '.join(quote(key) for key in keys)}) "
            f"VALUES ({', '.join('?' for _ in keys)})")


def _sqlite_executemany(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """SQLite: sqlite3's own ``executemany`` (rows in order), without SQLAlchemy's work per
    statement and per row; the column types here (strings, integers, booleans as 0/1) need
    no conversion. Errors are raised as SQLAlchemy's, like those of any other statement."""
    import sqlite3

    keys = tuple(rows[0])
    sql = _sqlite_insert_sql(conn.dialect, table, keys)
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        driver.executemany(sql, [tuple(row[key] for key in keys) for row in rows])
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(
            sql, None, exc, sqlite3.Error, dialect=conn.dialect) from exc


@functools.lru_cache(maxsize=32)
def _check_defaults(table: sa.Table, keys: tuple[str, ...]) -> None:
    """Rows must carry every column that has a Python-side default: SQLAlchemy would fill it
    in, the PostgreSQL JSON insert would not (so both databases behave the same)."""
    missing = [c.name for c in table.columns if c.default is not None and c.name not in keys]
    if missing:
        raise ValueError(f"rows for {table.name} lack {', '.join(missing)}")


def order_items(conn: Connection, order_pk: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            sa.select(items).where(items.c.order_pk == order_pk).order_by(items.c.position)
        )
    )


def order_deliveries(conn: Connection, order_pk: int) -> list[Row[Any]]:
    """The callbacks of one order (alerts share the outbox table, but are not deliveries)."""
    return list(
        conn.execute(
            sa.select(deliveries)
            .where(deliveries.c.order_pk == order_pk, deliveries.c.channel.is_(None))
            .order_by(deliveries.c.id)
        )
    )


def enqueue_delivery(
    conn: Connection, *, order_pk: int, issuer_id: str, order_id: str, callback: Callback,
    now: int,
) -> int:
    """Queue a callback in the caller's transaction (the outbox): due at once."""
    return inserted_id(conn.execute(_INSERT[deliveries], delivery_row(
        order_pk=order_pk, issuer_id=issuer_id, order_id=order_id, callback=callback, now=now,
    )))


def enqueue_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Queue several callbacks (rows from :func:`delivery_row`) in one statement (on
    PostgreSQL one row too goes as JSON: psycopg's cursor costs less than SQLAlchemy's)."""
    if rows and conn.dialect.driver == "psycopg":
        columns = tuple(rows[0])
        _check_defaults(deliveries, columns)
        pg_insert.execute(conn, pg_insert.insert_sql(conn.dialect, deliveries, columns, False),
                          [pg_insert.rows_param(rows)])
        return
    insert_rows(conn, deliveries, rows)


def issuer_destination(issuer_id: str) -> str:
    """The outbox destination of an issuer's callbacks (other senders, such as alert channels,
    use destinations of their own)."""
    return f"issuer:{issuer_id}"


def alert_destination(channel: str) -> str:
    """The outbox destination of an alert channel's messages (one sender at a time each)."""
    return f"alert:{channel}"


def delivery_row(
    *, order_pk: int, issuer_id: str, order_id: str, callback: Callback, now: int,
) -> dict[str, Any]:
    """The outbox row of ``callback``, due at once (``now``), given up after
    :data:`~hoster_compliance.protocol.callbacks.GIVE_UP_AFTER`."""
    return {
        "order_pk": order_pk, "issuer_id": issuer_id, "order_id": order_id,
        "destination": issuer_destination(issuer_id),
        "type": callback.type, "path": callback.path, "webhook_id": callback.webhook_id,
        "body": json.dumps(callback.body, separators=(",", ":"), ensure_ascii=False),
        "state": PENDING, "attempts": 0, "created_at": now, "next_attempt_at": now,
        "give_up_at": now + _GIVE_UP_MICROS,
    }
