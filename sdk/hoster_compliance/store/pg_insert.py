"""PostgreSQL: many rows in one statement, each column sent as one array (``unnest``).

A batch of orders writes a few rows into each of several tables. psycopg's ``executemany``
costs a query per row, and SQLAlchemy's multi-row ``INSERT ... VALUES`` a new statement text
per batch size, parsed anew every time (BENCHMARKS.md). Here every statement takes one array
per column, whatever the number of rows, so its text is the same for every batch and psycopg
prepares it once; and where one insert needs the ids of another (items need their order's id,
the audit chain's head the newest event's id), both run in one statement, one round trip.

- Rows are inserted in list order (``WITH ORDINALITY ... ORDER BY``), so their ids increase in
  list order; ids returned are checked to.
- Parameters are sent binary (``%b``): psycopg escapes every element of a text array with a
  regular expression. Strings go as ``TEXT[]``: a cast to ``VARCHAR(n)`` would cut a long value
  where the INSERT must fail on it.
- Errors are raised as SQLAlchemy's, like those of any other statement. The column types used
  here (strings, integers, booleans) need no conversion by SQLAlchemy.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _array_type(dialect: sa.Dialect, column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.String):
        return "TEXT"
    return str(column.type.compile(dialect=dialect))


@functools.lru_cache(maxsize=64)
def _rows_select(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...],
                 extra: tuple[str, ...] = ()) -> str:
    """``SELECT c0, c1, ... FROM unnest(%b::T0[], ...) WITH ORDINALITY AS u(..., ord)``: the
    rows of ``table``'s columns ``keys`` (then ``extra`` integer columns), and ``ord``."""
    arrays = [f"%b::{_array_type(dialect, table.c[key])}[]" for key in keys]
    arrays += ["%b::BIGINT[]"] * len(extra)
    names = [f"c{n}" for n in range(len(keys))] + list(extra)
    return (f"SELECT {', '.join(names)}, ord FROM unnest({', '.join(arrays)}) "
            f"WITH ORDINALITY AS u({', '.join(names)}, ord)")


def _into(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...]) -> str:
    """``INSERT INTO table (c, ...)``."""
    into = dialect.identifier_preparer.format_table(table)
    return f"INSERT INTO {into} ({_columns(dialect, keys)})"


def _columns(dialect: sa.Dialect, keys: tuple[str, ...]) -> str:
    return ", ".join(dialect.identifier_preparer.quote(key) for key in keys)


@functools.lru_cache(maxsize=64)
def insert_sql(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...],
               returning: bool) -> str:
    """Insert rows of ``keys`` into ``table`` in list order (ids returned with ``returning``)."""
    names = ", ".join(f"c{n}" for n in range(len(keys)))
    sql = (f"{_into(dialect, table, keys)} SELECT {names} FROM "
           f"({_rows_select(dialect, table, keys)}) AS r ORDER BY ord")
    return sql + " RETURNING id" if returning else sql


@functools.lru_cache(maxsize=16)
def insert_with_children_sql(
    dialect: sa.Dialect, parent: sa.Table, keys: tuple[str, ...], child: sa.Table,
    child_keys: tuple[str, ...], foreign_key: str,
) -> str:
    """Insert parent rows in list order and their children (each naming its parent by its
    1-based position in ``parent_of``); returns the parents' ids in list order."""
    names = ", ".join(f"c{n}" for n in range(len(keys)))
    child_names = ", ".join(f"c{n}" for n in range(len(child_keys)))
    return (
        f"WITH p AS ({_into(dialect, parent, keys)} SELECT {names} FROM "
        f"({_rows_select(dialect, parent, keys)}) AS r ORDER BY ord RETURNING id), "
        "n AS (SELECT id, row_number() OVER (ORDER BY id) AS place FROM p), "
        f"c AS ({_into(dialect, child, (foreign_key, *child_keys))} "
        f"SELECT n.id, {child_names} FROM "
        f"({_rows_select(dialect, child, child_keys, ('parent_of',))}) AS r "
        "JOIN n ON n.place = r.parent_of ORDER BY r.ord) "
        "SELECT id FROM n ORDER BY place"
    )


@functools.lru_cache(maxsize=8)
def insert_then_sql(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...],
                    then: str) -> str:
    """Insert rows in list order, then run ``then`` (an UPDATE ... RETURNING that may read
    ``max_id``, the largest id inserted) in the same statement; returns what ``then``
    returns."""
    return (f"WITH ins AS ({insert_sql(dialect, table, keys, True)}), "
            "max_id AS (SELECT max(id) AS id FROM ins) " + then)


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


def columns_of(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[list[Any]]:
    """The parameters of a statement above: one list per column."""
    return [[row[key] for row in rows] for key in keys]


def in_order(table: sa.Table, ids: list[int], count: int) -> list[int]:
    """``ids`` (returned for ``count`` rows), checked to be one per row and increasing."""
    if len(ids) != count or ids != sorted(set(ids)):
        raise RuntimeError(f"{table.name}: ids not returned in row order")
    return ids
