"""The audit trail as a forger with the database and this code would rewrite it."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from hoster_compliance.store.audit import event_hash
from hoster_compliance.store.tables import GENESIS_HASH, chain_head, events


def rewrite(engine: sa.Engine, event_id: int, detail: dict[str, Any]) -> None:
    """Change one event's detail and recompute the hash of every event from it on, and the
    chain head: the chain holds again; only a head kept elsewhere can tell."""
    with engine.begin() as conn:
        rows = conn.execute(sa.select(events).order_by(events.c.id)).all()
        prev = GENESIS_HASH
        for row in rows:
            text = json.dumps(detail, sort_keys=True, separators=(",", ":")) \
                if row.id == event_id else row.detail
            digest = event_hash(prev, order_pk=row.order_pk, at=row.at, type=row.type,
                                actor=row.actor, detail=text)
            conn.execute(events.update().where(events.c.id == row.id)
                         .values(detail=text, prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(chain_head.update().values(hash=prev))
