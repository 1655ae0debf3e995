"""The outbox's claim, as queries: which destinations someone is sending to, which have due
messages nobody is sending to, and what makes a message of a destination claimable (PROTOCOL
13.1: one sender per destination at a time). ``DeliveryWorker.claim`` runs them and hands out
each row as a ``Claim``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..store.tables import deliveries
from ..vocabulary import NOTIFIER_MAIL_TYPES, PENDING

#: The kinds of message in the outbox; each has its sender (delivery/senders.py).
CALLBACK, MAIL, ALERT = "callback", "mail", "alert"

#: Destinations considered per claim, oldest due message first.
CLAIM_CANDIDATES = 8
#: PostgreSQL: claims of one destination are serialised by a transaction-scoped advisory lock
#: in this namespace ("hcdl"; the two-key form never meets the migrations' one-key lock).
CLAIM_LOCK_NAMESPACE = 0x6863646C

_busy = deliveries.alias("busy")


@dataclass(frozen=True)
class Claim:
    """One outbox row as a worker claimed it, leased to that worker since ``claimed_at``."""

    id: int
    order_pk: int
    issuer_id: str
    order_id: str
    destination: str
    type: str
    path: str
    webhook_id: str
    body: str
    attempts: int
    give_up_at: int
    claimed_at: int
    channel: str | None = None  # an alert's channel; None for a callback or a notifier's mail

    @property
    def kind(self) -> str:
        """``MAIL`` (to a notifier), ``ALERT`` (to the hoster's people) or ``CALLBACK``."""
        if self.type in NOTIFIER_MAIL_TYPES:
            return MAIL
        return ALERT if self.channel is not None else CALLBACK


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


def release(owner: str, ids: list[int] | None = None) -> sa.Update:
    """Give back ``owner``'s leases: on the rows ``ids``, or (None) on every pending row it
    holds; their due times unchanged."""
    which = deliveries.c.id.in_(ids) if ids is not None else deliveries.c.state == PENDING
    return (deliveries.update().where(deliveries.c.lease_owner == owner, which)
            .values(lease_until=None, lease_owner=None))


def defer(claim: Claim, until: int, now: int, owner: str) -> sa.Update:
    """The other due messages of ``claim``'s destination that nobody else is sending, due no
    earlier than ``until`` (and unleased)."""
    return (
        deliveries.update()
        .where(deliveries.c.destination == claim.destination,
               deliveries.c.state == PENDING, deliveries.c.id != claim.id,
               deliveries.c.next_attempt_at < until,
               sa.or_(free(now), deliveries.c.lease_owner == owner))
        .values(next_attempt_at=until, lease_until=None, lease_owner=None)
    )


def earliest_due(now: int) -> sa.Select[Any]:
    """The earliest due time of a pending message of a destination nobody is sending to."""
    return (sa.select(sa.func.min(deliveries.c.next_attempt_at))
            .where(deliveries.c.state == PENDING,
                   deliveries.c.destination.not_in(busy_destinations(now))))


def earliest_lease_end(now: int) -> sa.Select[Any]:
    """The earliest end of a live lease on a pending message."""
    return sa.select(sa.func.min(deliveries.c.lease_until)).where(pending_leased(now))
