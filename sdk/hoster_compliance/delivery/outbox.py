"""Durable callback delivery: claim due rows with a lease, send, record the answer.

At-least-once: a row is only marked delivered after the issuer answered 2xx; a worker that dies
holding a lease loses it when the lease runs out and another worker takes the row over. The same
``webhook-id`` goes out on every attempt, so the issuer can drop duplicates.

Fairness (PROTOCOL 13.1): a claim takes rows of one destination only, and never of a destination
that holds a live lease (another thread, here or in another process, is sending to it). So one
slow or dead endpoint holds at most one delivery thread in the whole deployment, and the other
threads keep serving every other destination. An attempt that runs out of time also ends its
batch, and the destination's other due messages wait as long as the one that timed out: a slow
endpoint then costs one attempt's time per retry period, not one per queued message. A batch's
answers are recorded together (one transaction per half second of sending), so one sender keeps
up with a busy issuer: its pace is one HTTP round trip per message, not one commit.

The outbox knows no channel: each kind of message is sent by a ``Sender`` of a worker's
``Wiring`` (delivery/senders.py), and what a message failing for good sets off (an alert) is a
hook of it. The layer that knows the channels composes the wiring and makes it the default of
every worker built without one (``wire_by_default``, called by hoster_compliance.sending)."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from ..config import Config
from ..errors import Conflict, UnknownDelivery
from ..protocol import callbacks
from ..store import leases
from ..store import orders as store_orders
from ..store.audit import append_event, append_events, event_row
from ..store.tables import deliveries, orders
from ..timeutil import Clock, to_micros, utcnow
from ..vocabulary import FAILED, PENDING
from . import claims, retry_policy
from .claims import Claim
from .client import AttemptResult, CallbackClient
from .recording import Answer, log, log_answer, plan
from .senders import Wiring

#: How long a claimed row stays reserved beyond the request timeout. The lease is renewed
#: right before each attempt, so a crashed worker's rows are taken over after about
#: ``callback_timeout_seconds`` + this margin.
LEASE_MARGIN_SECONDS = 15
#: A claim older than this is renewed before its attempt; younger ones still have at least
#: ``callback_timeout_seconds`` + 10 s of lease left.
RENEW_AFTER_SECONDS = 5
#: Answers of one batch are recorded together, at least this often (a row's lease has far
#: more time left than this when its attempt starts).
RECORD_EVERY_SECONDS = 0.5

#: Gives a worker built without a ``wiring`` its senders and hooks (``wire_by_default``).
_default_wiring: list[Callable[[DeliveryWorker], Wiring]] = []


def wire_by_default(make: Callable[[DeliveryWorker], Wiring]) -> None:
    """Make ``make(worker)`` the wiring of every worker built without one from now on. Called
    once, by the layer above the channels that composes them (hoster_compliance.sending, which
    the package imports), so the outbox never imports what it sends."""
    _default_wiring[:] = [make]


class DeliveryWorker:
    """Sends due outbox messages (callbacks, alerts, mail to notifiers), each by its kind's
    sender of ``wiring(worker)`` (default: ``wire_by_default``'s). ``run_once`` is one pass
    (tests call it); ``run`` loops until stopped, woken at once by ``wake`` when a new message
    was queued."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        *,
        client: CallbackClient | None = None,
        clock: Clock = utcnow,
        uniform: Callable[[float, float], float] = random.uniform,
        owner: str | None = None,
        wiring: Callable[[DeliveryWorker], Wiring] | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.client = client or CallbackClient()
        self.clock = clock
        self.uniform = uniform
        self.owner = owner or uuid.uuid4().hex
        self._stale_leases = False
        if wiring is None:
            if not _default_wiring:
                raise RuntimeError("no senders: pass wiring= or import hoster_compliance")
            wiring = _default_wiring[0]
        self.wiring = wiring(self)

    # -- one pass ---------------------------------------------------------------------------

    def run_once(self, limit: int = 10) -> int:
        """Claim up to ``limit`` due deliveries of one destination and attempt them in turn;
        returns how many were attempted. The answers are recorded together, in one
        transaction per ``RECORD_EVERY_SECONDS`` of sending (the destination's messages go out
        one at a time, so its pace is one HTTP round trip, not a commit, per message). An
        attempt that ran out of time ends the batch (its destination's other messages are
        deferred with it) and releases the rest. Every few seconds, the time-based alerts that
        have come due are raised first (the wiring's ``before_pass``: alerts/schedule.py)."""
        if self.wiring.before_pass is not None:
            self.wiring.before_pass()
        claims = self.claim(limit)
        answers: list[Answer] = []
        started = self.clock()
        for n, claim in enumerate(claims, start=1):
            sender = self.wiring.senders.get(claim.kind)
            if answers and sender is not None and sender.reads_recorded(claim):
                # It looks at what went before (a resolve, at its trigger): record that first.
                self._record(answers)
                answers, started = [], self.clock()
            answer = self._send(claim)
            if answer is None:
                continue  # another worker took the row over meanwhile
            answers.append(answer)
            if answer.result.timed_out:
                self._record(answers)
                self._release(claims[n:])
                return n
            if (answer.at - started).total_seconds() >= RECORD_EVERY_SECONDS:
                self._record(answers)
                answers, started = [], answer.at
        if answers:
            self._record(answers)
        return len(claims)

    def _lease_end(self, now: int) -> int:
        return now + int((self.config.callback_timeout_seconds + LEASE_MARGIN_SECONDS) * 1e6)

    def claim(self, limit: int) -> list[Claim]:
        """Lease up to ``limit`` due deliveries of one destination nobody is sending to."""
        now = to_micros(self.clock())
        lease = self._lease_end(now)
        with self.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, claims one at a time
            postgres = conn.dialect.name == "postgresql"
            for destination in conn.execute(claims.candidate_destinations(now)).scalars().all():
                if postgres and not conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(
                        claims.CLAIM_LOCK_NAMESPACE, sa.func.hashtext(destination)))).scalar():
                    continue  # another worker is claiming this destination right now
                rows = leases.claim(
                    conn, deliveries, ready=claims.claimable(destination, now),
                    lease_column=deliveries.c.lease_until, now=now, lease_until=lease,
                    lease_values={"lease_owner": self.owner},
                    order_by=[deliveries.c.next_attempt_at, deliveries.c.id], limit=limit,
                )
                if rows:
                    return [
                        Claim(r.id, r.order_pk, r.issuer_id, r.order_id, r.destination, r.type,
                              r.path, r.webhook_id, r.body, r.attempts, r.give_up_at, now,
                              r.channel)
                        for r in rows
                    ]
        return []

    def release_own_leases(self) -> None:
        """Drop every lease this worker holds: after a database error the answer of an attempt
        may not have been recorded, and the lease left behind would keep its destination busy
        (every other message to it waiting) until it ran out. Between passes this worker sends
        nothing, so none of its leases is in use; the message is simply attempted again."""
        with self.engine.begin() as conn:
            conn.execute(claims.release(self.owner))
        self._stale_leases = False

    def _release(self, claimed: list[Claim]) -> None:
        """Give claimed rows back unattempted (their due time unchanged)."""
        if not claimed:
            return
        with self.engine.begin() as conn:
            conn.execute(claims.release(self.owner, [c.id for c in claimed]))

    def attempt(self, claim: Claim) -> str:
        """Send one claimed delivery and record the answer; returns the resulting state."""
        answer = self._send(claim)
        if answer is None:
            return "lost_lease"  # another worker took the row over meanwhile
        return self._record([answer])[0]

    def _send(self, claim: Claim) -> Answer | None:
        """One attempt, not yet recorded (None: the lease was lost, nothing was sent), by the
        sender of the claim's kind."""
        if not self._renew_lease(claim):
            return None
        sender = self.wiring.senders.get(claim.kind)
        if sender is None:  # kept, not lost: a worker wired for this kind will send it
            result = AttemptResult(None, f"no {claim.kind} sender in this worker", None, 0.0)
            return Answer(claim, result, self.clock())
        attempt = sender.send(claim)
        return Answer(claim, attempt.result, self.clock(), attempt.outcome)

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

    def _record(self, answers: list[Answer]) -> list[str]:
        """Record answers in one transaction; each one's resulting state (``lost_lease`` when
        another worker took its row over meanwhile: that worker records the row)."""
        plans = [plan(answer, self.uniform) for answer in answers]
        states: list[str] = []
        appended: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for answer, (outcome, values, event) in zip(answers, plans, strict=True):
                claim, now = answer.claim, to_micros(answer.at)
                updated = conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id == claim.id, deliveries.c.lease_owner == self.owner,
                           deliveries.c.state == PENDING)
                    .values(**values)
                ).rowcount
                if not updated:
                    states.append("lost_lease")
                    continue
                if answer.result.timed_out and values.get("next_attempt_at") is not None:
                    # The destination timed out: its other due messages wait for this one's
                    # retry, rather than each costing a delivery thread a whole timeout now.
                    conn.execute(claims.defer(claim, values["next_attempt_at"], now, self.owner))
                states.append(str(values.get("state", PENDING)))
                on_failed = self.wiring.on_failed.get(claim.kind)
                if values.get("state") == FAILED and on_failed is not None:
                    on_failed(conn, claim, values["last_error"], answer.at)
                if claim.channel is not None:
                    continue  # an alert: its attempts are its row, outside the order's trail
                stamp = callbacks.on_delivered(claim.type).order_time_column
                if outcome == retry_policy.DELIVERED and stamp is not None:
                    column = orders.c[stamp]
                    conn.execute(
                        orders.update()
                        .where(orders.c.id == claim.order_pk, column.is_(None))
                        .values({stamp: now})
                    )
                if event is not None:
                    appended.append(event_row(order_pk=claim.order_pk, at=now, type=event[0],
                                              actor="system:outbox", detail=event[1]))
            # The chain head last, as every writer takes it after its order rows: taking it
            # between two orders' rows could deadlock with an action on the second order.
            append_events(conn, appended)
        for answer, (_, values, _), state in zip(answers, plans, states, strict=True):
            if state != "lost_lease":
                log_answer(answer, values, state)
        return states

    # -- loop -------------------------------------------------------------------------------

    def next_due_in(self) -> float | None:
        """Seconds until a claim may find work (None: nothing pending): the earliest due
        message of a destination nobody is sending to, or the earliest live lease's end (a
        worker that died holding it). A destination being sent to is its sender's to go on
        with, so its due messages do not count."""
        now = to_micros(self.clock())
        with self.engine.connect().execution_options(readonly=True) as conn:
            free = conn.execute(claims.earliest_due(now)).scalar()
            lease_ends = conn.execute(claims.earliest_lease_end(now)).scalar()
        due = min((t for t in (free, lease_ends) if t is not None), default=None)
        if due is None:
            return None
        return max((int(due) - now) / 1e6, 0.0)

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
                self._stale_leases = True
                due = 1.0
            timeout = max_idle_seconds if due is None else min(max(due, 0.01), max_idle_seconds)
            wake.wait(timeout)
        log.info("delivery worker %s stopped", self.owner[:8])


def retry_failed(
    engine: Engine, delivery_id: int, *, now: int, actor: str, alert: bool = False
) -> Row[Any]:
    """Put a failed delivery (a callback or a notifier's mail; with ``alert``, an alert of
    PROTOCOL 9 instead) back in the queue, due ``now`` but not within 1 s of its last failed
    attempt (``retry_policy.operator_retry_due``; an alert's failures are not in the trail, so
    an alert is due ``now``), with the same ``webhook-id`` and as long to give up as it first
    had; returns the row as it is now."""
    what = "alert" if alert else "delivery"
    if not 0 <= delivery_id < 2**31:  # beyond the INTEGER column: PostgreSQL would fail
        raise UnknownDelivery(f"No such {what}.")
    kind = deliveries.c.channel.is_not(None) if alert else deliveries.c.channel.is_(None)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(deliveries)  # callbacks and alerts share the table
            .where(deliveries.c.id == delivery_id, kind)
            .with_for_update()
        ).first()
        if row is None:
            raise UnknownDelivery(f"No such {what}.")
        if row.state != FAILED:
            raise Conflict(f"Only a failed {what} can be retried; this one is {row.state}.")
        due = retry_policy.operator_retry_due(
            now, store_orders.last_failure_at(conn, row.order_pk, delivery_id))
        conn.execute(
            deliveries.update().where(deliveries.c.id == delivery_id).values(
                state=PENDING, next_attempt_at=due, lease_until=None, lease_owner=None,
                give_up_at=now + (row.give_up_at - row.created_at),
            )
        )
        detail: dict[str, Any] = {"delivery_id": delivery_id, "webhook_id": row.webhook_id}
        if alert:
            detail = {"alert_id": delivery_id, "channel": row.channel,
                      "event": row.type.removeprefix("alert.")}
        append_event(conn, order_pk=row.order_pk, at=now, type="retried", actor=actor,
                     detail=detail)
        return conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).one()
