"""The one way a worker claims rows: those that are ready and whose lease is free or ran out,
locked with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's writer lock serialises), then
leased until a time, in the caller's transaction. The outbox and the automation runner use it,
so several workers on several machines never take the same row twice within a lease."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row


def claim(
    conn: Connection,
    table: sa.Table,
    *,
    ready: Sequence[sa.ColumnElement[bool]],
    lease_column: sa.Column[Any],
    now: int,
    lease_until: int,
    order_by: Sequence[sa.ColumnElement[Any]],
    limit: int,
    columns: Sequence[sa.ColumnElement[Any]] | None = None,
    lease_values: dict[str, Any] | None = None,
) -> list[Row[Any]]:
    """Claim up to ``limit`` rows of ``table`` that match ``ready`` and whose ``lease_column``
    is null or before ``now``, in ``order_by`` order: set their ``lease_column`` to
    ``lease_until`` (and ``lease_values``); return them as they were read (``columns``: the
    columns to read, default all; ``id`` must be among them)."""
    rows = conn.execute(
        sa.select(*(columns if columns is not None else table.c))
        .where(*ready, sa.or_(lease_column.is_(None), lease_column < now))
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if rows:
        conn.execute(
            table.update()
            .where(table.c.id.in_([row.id for row in rows]))
            .values({lease_column.name: lease_until, **(lease_values or {})})
        )
    return list(rows)
