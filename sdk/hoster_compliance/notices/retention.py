"""Erasing the notifier's name and e-mail ``notifier_retention_days`` after the notice
completed (PROTOCOL 10.2), with an audit event per notice. The worker runs it now and then."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..store.audit import append_event
from ..store.tables import deliveries, orders
from ..timeutil import to_micros
from ..vocabulary import COMPLETED, NOTIFIER_MAIL_TYPES, PENDING, PUBLIC

log = logging.getLogger("hoster_compliance.notices.retention")

_ERASED_BODY = json.dumps({"erased": True})


def erase_expired(engine: Engine, now: datetime, retention_days: int, *, limit: int = 500) -> int:
    """Erase the notifier of every notice completed ``retention_days`` or more before ``now``
    (up to ``limit`` per call); the messages queued to it lose their body too. Returns how many
    notices were erased."""
    cutoff = to_micros(now - timedelta(days=retention_days))
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(orders.c.id).where(
                orders.c.status == COMPLETED, orders.c.completed_at <= cutoff,
                sa.or_(orders.c.notifier_name.is_not(None), orders.c.notifier_email.is_not(None)),
            ).order_by(orders.c.id).limit(limit).with_for_update()
        ).all()
        for row in rows:
            conn.execute(orders.update().where(orders.c.id == row.id)
                         .values(notifier_name=None, notifier_email=None, submission_key=None))
            conn.execute(deliveries.update().where(
                deliveries.c.order_pk == row.id, deliveries.c.type.in_(NOTIFIER_MAIL_TYPES),
                deliveries.c.state != PENDING,
            ).values(body=_ERASED_BODY))
            append_event(conn, order_pk=row.id, at=to_micros(now), type="notifier_erased",
                         actor="system:retention",
                         detail={"retention_days": retention_days})
        # A message still being tried at its notice's erasure kept its body (it may still go
        # out); once it ended, it loses the address too. Nothing else would erase it.
        conn.execute(deliveries.update().where(
            deliveries.c.type.in_(NOTIFIER_MAIL_TYPES), deliveries.c.state != PENDING,
            deliveries.c.body != _ERASED_BODY,
            deliveries.c.order_pk.in_(sa.select(orders.c.id).where(
                orders.c.issuer_id == PUBLIC, orders.c.status == COMPLETED,
                orders.c.completed_at <= cutoff, orders.c.notifier_name.is_(None),
                orders.c.notifier_email.is_(None))),
        ).values(body=_ERASED_BODY))
    if rows:
        log.info("erased the notifier of %d notices (retention %d days)", len(rows),
                 retention_days)
    return len(rows)
