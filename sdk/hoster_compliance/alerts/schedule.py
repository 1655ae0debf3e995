"""The time-based alerts (PROTOCOL 9.2), raised by the delivery worker: ``due_soon`` when an open
order reaches ``due_soon_at`` of its time, ``overdue`` when it passes its deadline, and the
``received`` alert that waited for automation handlers beyond their grace period.

Each order carries when its next time-based event is due (``orders.alert_due_at``: the due_soon
instant, then the deadline, then null), so a pass reads only the orders whose time has come, by
an index. A pass locks the rows it takes (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers) and raises their alerts in the same transaction that
moves their schedule on, and every alert is unique per (channel, event, order): several workers
never raise one twice, and a worker that was down catches up on its first pass. An order that
passed its deadline while nothing ran gets ``overdue`` only (its ``due_soon`` is stale)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from ..config import Config
from ..logtext import safe
from ..store.tables import orders
from ..timeutil import Clock, to_micros
from .queue import any_wants, raise_order_alert

log = logging.getLogger("hoster_compliance.alerts.schedule")

BATCH = 100


class AlertSchedule:
    """``run_if_due()`` is called on every pass of a delivery worker; it looks every
    ``config.alert_check_seconds`` (5 s by default, 25 s at most: PROTOCOL 9.2), by the
    injected clock."""

    def __init__(self, config: Config, engine: Engine, clock: Clock) -> None:
        self.config = config
        self.engine = engine
        self.clock = clock
        self.every_micros = round(config.alert_check_seconds * 1_000_000)
        self._last: int | None = None

    def run_if_due(self) -> int:
        now = to_micros(self.clock())
        if self._last is not None and now - self._last < self.every_micros:
            return 0
        self._last = now
        return self.run()

    def run(self) -> int:
        """One full pass; returns how many orders it moved on."""
        moved = 0
        while True:
            count = self._held() + (self._timed() if any_wants(
                self.config, ("due_soon", "overdue")) else 0)
            moved += count
            if count < BATCH:
                return moved

    def _held(self) -> int:
        """``received`` alerts whose automation grace ran out (a dead or slow runner)."""
        at = self.clock()
        with self.engine.begin() as conn:
            rows = _due(conn, orders.c.alert_hold_until, to_micros(at))
            for row in rows:
                if row.status == "open":
                    log.warning("automation has not finished with order %s/%s; alerting anyway",
                                safe(row.issuer_id), safe(row.order_id))
                    raise_order_alert(conn, self.config, "received", row, at)
            if rows:
                conn.execute(orders.update().where(orders.c.id.in_([r.id for r in rows]))
                             .values(alert_hold_until=None))
        return len(rows)

    def _timed(self) -> int:
        at: datetime = self.clock()
        now = to_micros(at)
        with self.engine.begin() as conn:
            rows = _due(conn, orders.c.alert_due_at, now)
            for row in rows:
                next_due = None
                if row.status == "open" and row.deadline is not None:
                    if row.deadline <= now:
                        raise_order_alert(conn, self.config, "overdue", row, at)
                    else:
                        raise_order_alert(conn, self.config, "due_soon", row, at)
                        next_due = row.deadline
                conn.execute(orders.update().where(orders.c.id == row.id)
                             .values(alert_due_at=next_due))
        return len(rows)


def _due(conn: Connection, column: sa.Column[Any], now: int) -> Sequence[Row[Any]]:
    """Up to ``BATCH`` orders whose time in ``column`` has come, earliest first, locked for the
    caller's transaction (``FOR UPDATE SKIP LOCKED``: another worker's pass takes others)."""
    return conn.execute(
        sa.select(orders)
        .where(column.is_not(None), column <= now)
        .order_by(column).limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
