"""Listing alerts for the operator (PROTOCOL 9.4 ``GET /v1/alerts``), serialised through
``AlertSchema`` like every other answer."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from ..errors import InvalidQuery
from ..protocol.query import parse_limit
from ..protocol.schemas_out import AlertSchema
from ..store.tables import deliveries
from ..timeutil import from_micros
from ..vocabulary import DELIVERY_STATES

STATES = DELIVERY_STATES
DEFAULT_LIMIT, MAX_LIMIT = 500, 5000
_ALERT = AlertSchema()


def alert_view(row: Row[Any]) -> dict[str, Any]:
    """One alert as the API shows it (never its body: that is for the channel)."""
    dumped: dict[str, Any] = _ALERT.dump({
        "id": row.id, "channel": row.channel, "event": row.type.removeprefix("alert."),
        "issuer_id": row.issuer_id, "order_id": row.order_id, "state": row.state,
        "attempts": row.attempts, "last_error": row.last_error,
        "created_at": from_micros(row.created_at), "delivered_at": from_micros(row.delivered_at),
    })
    return dumped


def list_alerts(
    engine: Engine, state: str | None = None, limit: str | None = None
) -> dict[str, Any]:
    """The alerts, newest first; ``state`` filters; at most ``limit`` (default 500, at most
    5000)."""
    if state is not None and state not in STATES:
        raise InvalidQuery(f"state: must be {', '.join(STATES[:-1])} or {STATES[-1]}.")
    count = parse_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
    query = (sa.select(deliveries).where(deliveries.c.channel.is_not(None))
             .order_by(deliveries.c.id.desc()).limit(count))
    if state is not None:
        query = query.where(deliveries.c.state == state)
    with engine.connect().execution_options(readonly=True) as conn:
        return {"alerts": [alert_view(r) for r in conn.execute(query)]}
