"""The outbox's claim, as queries: which destinations someone is sending to, which have due
messages nobody is sending to, and what makes a message of a destination claimable (PROTOCOL
13.1: one sender per destination at a time). ``DeliveryWorker.claim`` runs them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..store.tables import deliveries
from ..vocabulary import PENDING

#: Destinations considered per claim, oldest due message first.
CLAIM_CANDIDATES = 8
#: PostgreSQL: claims of one destination are serialised by a transaction-scoped advisory lock
#: in this namespace ("hcdl"; the two-key form never meets the migrations' one-key lock).
CLAIM_LOCK_NAMESPACE = 0x6863646C

_busy = deliveries.alias("busy")


def pending_leased(now: int) -> sa.ColumnElement[bool]:
    """A pending message with a live lease: someone is sending it (or is about to)."""
    return sa.and_(deliveries.c.state == PENDING, deliveries.c.lease_until >= now)


def free(now: int) -> sa.ColumnElement[bool]:
    """No live lease: never claimed, released, or its worker's lease ran out."""
    return sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now)


def busy_destinations(now: int) -> sa.Select[Any]:
    """Destinations someone is sending to: a pending row with a live lease."""
    return sa.select(deliveries.c.destination).where(pending_leased(now))


def candidate_destinations(now: int, count: int = CLAIM_CANDIDATES) -> sa.Select[Any]:
    """Destinations with a due, unleased message and nobody sending to them, the one whose
    oldest due message is oldest first."""
    return (
        sa.select(deliveries.c.destination)
        .where(deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= now, free(now),
               deliveries.c.destination.not_in(busy_destinations(now)))
        .group_by(deliveries.c.destination)
        .order_by(sa.func.min(deliveries.c.next_attempt_at), deliveries.c.destination)
        .limit(count)
    )


def claimable(destination: str, now: int) -> list[sa.ColumnElement[bool]]:
    """What makes a message of ``destination`` claimable (beside a free lease, which
    ``store.leases.claim`` checks): due, and nobody holding a live lease on the destination
    (checked again here: on PostgreSQL the candidates were read before the destination's lock
    was taken)."""
    someone_sending = sa.exists().where(
        _busy.c.destination == destination, _busy.c.state == PENDING,
        _busy.c.lease_until >= now)
    return [deliveries.c.destination == destination, deliveries.c.state == PENDING,
            deliveries.c.next_attempt_at <= now, ~someone_sending]
