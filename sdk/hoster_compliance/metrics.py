"""The numbers behind ``GET /metrics`` (PROTOCOL 9.4), read from the database when asked, so
every receiver and worker process, on any machine, reports the same values. The Prometheus text
format is the receiver's business (prometheus-client); this module only counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .store.tables import deliveries, orders
from .timeutil import to_micros
from .vocabulary import DELIVERY_STATES, KINDS, REGIMES

STATES = DELIVERY_STATES


@dataclass(frozen=True)
class Metrics:
    """``open`` and ``overdue`` by (kind, regime), every combination present (0 when none);
    ``received`` by (issuer_id, kind) since the database began; the oldest deadline of an open
    order in Unix seconds (None when none has one); deliveries (callbacks) and alerts by
    state."""

    open: dict[tuple[str, str], int] = field(default_factory=dict)
    overdue: dict[tuple[str, str], int] = field(default_factory=dict)
    received: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_open_deadline: float | None = None
    deliveries: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)


def read_metrics(conn: Connection, now: datetime) -> Metrics:
    """Count what ``Metrics`` holds, in four queries."""
    micros = to_micros(now)
    open_: dict[tuple[str, str], int] = {(k, r): 0 for k in KINDS for r in REGIMES}
    overdue = dict(open_)
    oldest: int | None = None
    overdue_expr = sa.case((sa.and_(orders.c.deadline.is_not(None),
                                    orders.c.deadline < micros), 1), else_=0)
    for kind, regime, count, late, first in conn.execute(
        sa.select(orders.c.kind, orders.c.regime, sa.func.count(), sa.func.sum(overdue_expr),
                  sa.func.min(orders.c.deadline))
        .where(orders.c.status == "open").group_by(orders.c.kind, orders.c.regime)
    ):
        open_[(kind, regime)] = int(count)
        overdue[(kind, regime)] = int(late or 0)
        if first is not None and (oldest is None or first < oldest):
            oldest = int(first)
    received = {(issuer, kind): int(count) for issuer, kind, count in conn.execute(
        sa.select(orders.c.issuer_id, orders.c.kind, sa.func.count())
        .group_by(orders.c.issuer_id, orders.c.kind))}
    by_state: dict[bool, dict[str, int]] = {False: dict.fromkeys(STATES, 0),
                                            True: dict.fromkeys(STATES, 0)}
    is_alert = deliveries.c.channel.is_not(None)
    for alert, state, count in conn.execute(
        sa.select(is_alert, deliveries.c.state, sa.func.count())
        .group_by(is_alert, deliveries.c.state)
    ):
        by_state[bool(alert)][state] = int(count)
    return Metrics(open=open_, overdue=overdue, received=received,
                   oldest_open_deadline=None if oldest is None else oldest / 1e6,
                   deliveries=by_state[False], alerts=by_state[True])
