"""PostgreSQL: many rows in one statement, sent as one JSON array (``json_populate_recordset``).

A batch of orders writes a few rows into each of several tables. psycopg's ``executemany``
costs a query per row; SQLAlchemy's multi-row ``INSERT ... VALUES`` a new statement text per
batch size, parsed anew every time; and psycopg's array parameters (``unnest``) are dumped
element by element in Python (BENCHMARKS.md). Here the rows go as one JSON text (encoded by
the C encoder of :mod:`json`), read back into the table's row type by the server, so a
statement's text is the same for every batch (psycopg prepares it once). Where one insert
needs the ids of another (items need their order's id, the audit chain's head the newest
event's id), both run in one statement, one round trip.

- Rows are inserted in list order (``WITH ORDINALITY ... ORDER BY``), so their ids increase in
  list order; ids returned are checked to.
- Each value goes through its column's own input function: a string too long for its
  ``VARCHAR(n)`` fails the INSERT as it would in a plain one.
- Errors are raised as SQLAlchemy's, like those of any other statement. The column types used
  here (strings, integers, booleans) need no conversion by SQLAlchemy.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_ROWS = json.JSONEncoder(separators=(",", ":"))  # ASCII: any text survives the trip


def _rows(dialect: sa.Dialect, table: sa.Table) -> str:
    """``json_populate_recordset`` over the statement's one parameter, with ``ordinality``."""
    name = dialect.identifier_preparer.format_table(table)
    return f"json_populate_recordset(NULL::{name}, %s::json) WITH ORDINALITY AS r"


def _columns(dialect: sa.Dialect, keys: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(prefix + dialect.identifier_preparer.quote(key) for key in keys)


def _into(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...]) -> str:
    """``INSERT INTO table (c, ...)``."""
    into = dialect.identifier_preparer.format_table(table)
    return f"INSERT INTO {into} ({_columns(dialect, keys)})"


@functools.lru_cache(maxsize=64)
def insert_sql(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...],
               returning: bool) -> str:
    """Insert rows of ``keys`` into ``table`` in list order (ids returned with ``returning``)."""
    sql = (f"{_into(dialect, table, keys)} SELECT {_columns(dialect, keys, 'r.')} "
           f"FROM {_rows(dialect, table)} ORDER BY r.ordinality")
    return sql + " RETURNING id" if returning else sql


@functools.lru_cache(maxsize=16)
def insert_with_children_sql(
    dialect: sa.Dialect, parent: sa.Table, keys: tuple[str, ...], child: sa.Table,
    child_keys: tuple[str, ...], foreign_key: str,
) -> str:
    """Insert parent rows in list order (first parameter) and their children (second; each
    child's ``foreign_key`` holds its parent's 1-based position in the first); returns the
    parents' ids in list order."""
    fk = dialect.identifier_preparer.quote(foreign_key)
    return (
        f"WITH p AS ({insert_sql(dialect, parent, keys, True)}), "
        "n AS (SELECT id, row_number() OVER (ORDER BY id) AS place FROM p), "
        f"c AS ({_into(dialect, child, (foreign_key, *child_keys))} "
        f"SELECT n.id, {_columns(dialect, child_keys, 'r.')} FROM {_rows(dialect, child)} "
        f"JOIN n ON n.place = r.{fk} ORDER BY r.ordinality) "
        "SELECT id FROM n ORDER BY place"
    )


@functools.lru_cache(maxsize=8)
def insert_then_sql(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...],
                    then: str) -> str:
    """Insert rows in list order (first parameter), then run ``then`` (an UPDATE ... RETURNING
    that may read ``max_id``, the largest id inserted) in the same statement; returns what
    ``then`` returns."""
    return (f"WITH ins AS ({insert_sql(dialect, table, keys, True)}), "
            "max_id AS (SELECT max(id) AS id FROM ins) " + then)


def rows_param(rows: list[dict[str, Any]]) -> str:
    """The rows (dicts by column name) as the JSON parameter of a statement above."""
    return _ROWS.encode(rows)


def execute(conn: Connection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the connection's psycopg connection, in its transaction; its rows."""
    import psycopg

    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(
            sql, None, exc, psycopg.Error, dialect=conn.dialect) from exc


def in_order(table: sa.Table, ids: list[int], count: int) -> list[int]:
    """``ids`` (returned for ``count`` rows), checked to be one per row and increasing."""
    if len(ids) != count or ids != sorted(set(ids)):
        raise RuntimeError(f"{table.name}: ids not returned in row order")
    return ids
