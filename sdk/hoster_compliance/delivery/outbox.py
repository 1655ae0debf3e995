"""Durable callback delivery: claim due rows with a lease, send, record the answer.

At-least-once: a row is only marked delivered after the issuer answered 2xx; a worker that dies
holding a lease loses it when the lease runs out and another worker takes the row over. The same
``webhook-id`` goes out on every attempt, so the issuer can drop duplicates."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from ..config import Config
from ..errors import Conflict, UnknownDelivery
from ..protocol import callbacks
from ..store import leases
from ..store.audit import append_event
from ..store.tables import deliveries, orders
from ..timeutil import Clock, from_micros, to_micros, utcnow
from ..vocabulary import DELIVERED, FAILED, PENDING
from . import retry_policy
from .client import AttemptResult, CallbackClient

log = logging.getLogger("hoster_compliance.delivery.outbox")

#: How long a claimed row stays reserved beyond the request timeout. The lease is renewed
#: right before each attempt, so a crashed worker's rows are taken over after about
#: ``callback_timeout_seconds`` + this margin.
LEASE_MARGIN_SECONDS = 15
#: A claim older than this is renewed before its attempt; younger ones still have at least
#: ``callback_timeout_seconds`` + 10 s of lease left.
RENEW_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Claim:
    id: int
    order_pk: int
    issuer_id: str
    order_id: str
    type: str
    path: str
    webhook_id: str
    body: str
    attempts: int
    give_up_at: int
    claimed_at: int


class DeliveryWorker:
    """Sends due callbacks. ``run_once`` is one pass (tests call it); ``run`` loops until
    stopped, woken at once by ``wake`` when a new callback was queued."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        *,
        client: CallbackClient | None = None,
        clock: Clock = utcnow,
        uniform: Callable[[float, float], float] = random.uniform,
        owner: str | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.client = client or CallbackClient()
        self.clock = clock
        self.uniform = uniform
        self.owner = owner or uuid.uuid4().hex

    # -- one pass ---------------------------------------------------------------------------

    def run_once(self, limit: int = 10) -> int:
        """Claim up to ``limit`` due deliveries and attempt each once; returns how many."""
        claims = self.claim(limit)
        for claim in claims:
            self.attempt(claim)
        return len(claims)

    def _lease_end(self, now: int) -> int:
        return now + int((self.config.callback_timeout_seconds + LEASE_MARGIN_SECONDS) * 1e6)

    def claim(self, limit: int) -> list[Claim]:
        now = to_micros(self.clock())
        lease = self._lease_end(now)
        with self.engine.begin() as conn:
            rows = leases.claim(
                conn, deliveries,
                ready=[deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= now],
                lease_column=deliveries.c.lease_until, now=now, lease_until=lease,
                lease_values={"lease_owner": self.owner},
                order_by=[deliveries.c.next_attempt_at, deliveries.c.id], limit=limit,
            )
        return [
            Claim(r.id, r.order_pk, r.issuer_id, r.order_id, r.type, r.path, r.webhook_id,
                  r.body, r.attempts, r.give_up_at, now)
            for r in rows
        ]

    def attempt(self, claim: Claim) -> str:
        """Send one claimed delivery and record the answer; returns the resulting state."""
        if not self._renew_lease(claim):
            return "lost_lease"  # another worker took the row over while this one was busy
        issuer = self.config.issuer(claim.issuer_id)
        if issuer is None:
            result = AttemptResult(None, "issuer no longer configured", None, 0.0)
            return self._record(claim, result, force_fail=True)
        result = self.client.send(
            issuer.api_base + claim.path,
            webhook_id=claim.webhook_id,
            body=claim.body.encode("utf-8"),
            signer=self.config.callback_signer(issuer),
            timeout=self.config.callback_timeout_seconds,
            now=lambda: self.clock().timestamp(),
        )
        return self._record(claim, result)

    def _renew_lease(self, claim: Claim) -> bool:
        """Extend our lease for one attempt, right before sending: rows claimed in a batch stay
        ours however slow the rows before them were. False when the lease was lost.

        A claim younger than ``RENEW_AFTER_SECONDS`` still has a whole attempt's time left on
        its lease, so it is sent without another write (the common case: one transaction
        fewer per callback)."""
        now = to_micros(self.clock())
        if now - claim.claimed_at < RENEW_AFTER_SECONDS * 1_000_000:
            return True
        with self.engine.begin() as conn:
            return bool(conn.execute(
                deliveries.update()
                .where(deliveries.c.id == claim.id, deliveries.c.lease_owner == self.owner,
                       deliveries.c.state == PENDING)
                .values(lease_until=self._lease_end(now))
            ).rowcount)

    def _record(self, claim: Claim, result: AttemptResult, force_fail: bool = False) -> str:
        now_dt = self.clock()
        now = to_micros(now_dt)
        outcome = retry_policy.FAILED if force_fail else retry_policy.classify(result.status)
        attempts = claim.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts, "last_status": result.status, "last_error": result.error,
            "lease_until": None, "lease_owner": None,
        }
        event: tuple[str, dict[str, Any]] | None = None
        if outcome == retry_policy.DELIVERED:
            values.update(state=DELIVERED, delivered_at=now, next_attempt_at=None)
            event = (callbacks.on_delivered(claim.type).event,
                     {"delivery_id": claim.id, "webhook_id": claim.webhook_id,
                      "status": result.status, "attempts": attempts})
        elif outcome == retry_policy.RETRY and now < claim.give_up_at:
            delay = retry_policy.next_delay(attempts, result.retry_after, now_dt, self.uniform)
            values.update(next_attempt_at=now + int(delay * 1e6))
        else:
            reason = (result.error or f"HTTP {result.status}") if outcome != retry_policy.RETRY \
                else f"gave up after {attempts} attempts over 72 h: " + (
                    result.error or f"HTTP {result.status}")
            values.update(state=FAILED, next_attempt_at=None, last_error=reason)
            event = ("delivery_failed", {"delivery_id": claim.id, "type": claim.type,
                                         "webhook_id": claim.webhook_id,
                                         "status": result.status, "error": reason})
        with self.engine.begin() as conn:
            updated = conn.execute(
                deliveries.update()
                .where(deliveries.c.id == claim.id, deliveries.c.lease_owner == self.owner,
                       deliveries.c.state == PENDING)
                .values(**values)
            ).rowcount
            if not updated:
                # Our lease ran out and another worker took the row over: it records the answer.
                return "lost_lease"
            stamp = callbacks.on_delivered(claim.type).order_time_column
            if outcome == retry_policy.DELIVERED and stamp is not None:
                column = orders.c[stamp]
                conn.execute(
                    orders.update()
                    .where(orders.c.id == claim.order_pk, column.is_(None))
                    .values({stamp: now})
                )
            if event is not None:
                append_event(conn, order_pk=claim.order_pk, at=now, type=event[0],
                             actor="system:outbox", detail=event[1])
        state = values.get("state", PENDING)
        level = logging.WARNING if state == FAILED or result.status is None else logging.INFO
        log.log(
            level,
            "callback %s issuer=%s order=%s webhook_id=%s attempt=%d status=%s error=%s -> %s%s",
            claim.type, claim.issuer_id, claim.order_id, claim.webhook_id, attempts,
            result.status, result.error, state,
            "" if state != PENDING else
            f" (next attempt at {from_micros(values['next_attempt_at'])})",
        )
        return str(state)

    # -- loop -------------------------------------------------------------------------------

    def next_due_in(self) -> float | None:
        """Seconds until the earliest pending delivery is due (None: nothing pending)."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            due = conn.execute(
                sa.select(sa.func.min(sa.func.coalesce(deliveries.c.lease_until,
                                                       deliveries.c.next_attempt_at)))
                .where(deliveries.c.state == PENDING)
            ).scalar()
        if due is None:
            return None
        return max((int(due) - to_micros(self.clock())) / 1e6, 0.0)

    def run(
        self,
        stop: threading.Event,
        wake: threading.Event,
        *,
        max_idle_seconds: float = 1.0,
    ) -> None:
        """Deliver until ``stop`` is set. Sleeps until the next due row, a ``wake``, or
        ``max_idle_seconds`` (which bounds the delay for rows queued by other processes)."""
        log.info("delivery worker %s started", self.owner[:8])
        while not stop.is_set():
            wake.clear()
            try:
                sent = self.run_once()
                if sent:
                    continue
                due = self.next_due_in()
            except sa.exc.SQLAlchemyError as exc:
                log.error("delivery worker: database unavailable (%s); retrying in 1 s",
                          type(exc).__name__)
                due = 1.0
            timeout = max_idle_seconds if due is None else min(max(due, 0.01), max_idle_seconds)
            wake.wait(timeout)
        log.info("delivery worker %s stopped", self.owner[:8])


def retry_failed(engine: Engine, delivery_id: int, *, now: int, actor: str) -> Row[Any]:
    """Put a failed delivery back in the queue, due ``now``, with the same ``webhook-id`` and
    as long to give up as it first had; returns the row as it is now."""
    if not 0 <= delivery_id < 2**31:  # beyond the INTEGER column: PostgreSQL would fail
        raise UnknownDelivery("No such delivery.")
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
        ).first()
        if row is None:
            raise UnknownDelivery("No such delivery.")
        if row.state != FAILED:
            raise Conflict(f"Only a failed delivery can be retried; this one is {row.state}.")
        conn.execute(
            deliveries.update().where(deliveries.c.id == delivery_id).values(
                state=PENDING, next_attempt_at=now, lease_until=None, lease_owner=None,
                give_up_at=now + (row.give_up_at - row.created_at),
            )
        )
        append_event(conn, order_pk=row.order_pk, at=now, type="retried", actor=actor,
                     detail={"delivery_id": delivery_id, "webhook_id": row.webhook_id})
        return conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).one()
