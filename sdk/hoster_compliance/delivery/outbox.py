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
up with a busy issuer: its pace is one HTTP round trip per message, not one commit."""

from __future__ import annotations

import json
import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from ..alerts.queue import raise_order_alert
from ..alerts.schedule import AlertSchedule
from ..config import Config
from ..errors import Conflict, UnknownDelivery
from ..logtext import safe
from ..protocol import callbacks
from ..store import leases
from ..store.audit import append_event, append_events, event_row
from ..store.tables import deliveries, orders
from ..timeutil import Clock, from_micros, to_micros, utcnow
from ..vocabulary import DELIVERED, FAILED, NOTIFIER_MAIL_TYPES, PENDING
from . import claims, retry_policy
from .client import AttemptResult, CallbackClient
from .mail import MailSender, compose

if TYPE_CHECKING:
    from ..alerts.channels import AlertSender

log = logging.getLogger("hoster_compliance.delivery.outbox")

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

@dataclass(frozen=True)
class Claim:
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


@dataclass(frozen=True)
class _Answer:
    """One attempt's result, not yet recorded: ``at`` is when it ended."""

    claim: Claim
    result: AttemptResult
    at: datetime
    force_fail: bool = False
    #: The retry policy's outcome when it is not the HTTP status's (mail has its own).
    outcome: str | None = None


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
        alert_sender: AlertSender | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.client = client or CallbackClient()
        self.clock = clock
        self.uniform = uniform
        self.owner = owner or uuid.uuid4().hex
        self._stale_leases = False
        self._alert_sender = alert_sender
        self._schedule = AlertSchedule(config, engine, clock) if config.alerts else None

    @property
    def alert_sender(self) -> AlertSender:
        """The alert channels' senders (made on first use: most passes send no alert)."""
        if self._alert_sender is None:
            from ..alerts.channels import AlertSender

            self._alert_sender = AlertSender(self.config, http=self.client)
        return self._alert_sender

    # -- one pass ---------------------------------------------------------------------------

    def run_once(self, limit: int = 10) -> int:
        """Claim up to ``limit`` due deliveries of one destination and attempt them in turn;
        returns how many were attempted. The answers are recorded together, in one
        transaction per ``RECORD_EVERY_SECONDS`` of sending (the destination's messages go out
        one at a time, so its pace is one HTTP round trip, not a commit, per message). An
        attempt that ran out of time ends the batch (its destination's other messages are
        deferred with it) and releases the rest. Every few seconds, the time-based alerts that
        have come due are raised first (alerts/schedule.py)."""
        if self._schedule is not None:
            self._schedule.run_if_due()
        claims = self.claim(limit)
        answers: list[_Answer] = []
        started = self.clock()
        for n, claim in enumerate(claims, start=1):
            if claim.type == "alert.resolved" and answers:
                # A resolve looks at its trigger's recorded state: record what went before.
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
            conn.execute(
                deliveries.update()
                .where(deliveries.c.lease_owner == self.owner, deliveries.c.state == "pending")
                .values(lease_until=None, lease_owner=None)
            )
        self._stale_leases = False

    def _release(self, claims: list[Claim]) -> None:
        """Give claimed rows back unattempted (their due time unchanged)."""
        if not claims:
            return
        with self.engine.begin() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_([c.id for c in claims]),
                       deliveries.c.lease_owner == self.owner)
                .values(lease_until=None, lease_owner=None)
            )

    def attempt(self, claim: Claim) -> str:
        """Send one claimed delivery and record the answer; returns the resulting state."""
        answer = self._send(claim)
        if answer is None:
            return "lost_lease"  # another worker took the row over meanwhile
        return self._record([answer])[0]

    def _send(self, claim: Claim) -> _Answer | None:
        """One attempt, not yet recorded (None: the lease was lost, nothing was sent)."""
        if not self._renew_lease(claim):
            return None
        if claim.type in NOTIFIER_MAIL_TYPES:
            return self._send_mail(claim)
        if claim.channel is not None:
            return self._send_alert(claim)
        issuer = self.config.issuer(claim.issuer_id)
        if issuer is None:
            result = AttemptResult(None, "issuer no longer configured", None, 0.0)
            return _Answer(claim, result, self.clock(), force_fail=True)
        result = self.client.send(
            issuer.api_base + claim.path,
            webhook_id=claim.webhook_id,
            body=claim.body.encode("utf-8"),
            signer=self.config.callback_signer(issuer),
            timeout=self.config.callback_timeout_seconds,
            now=lambda: self.clock().timestamp(),
        )
        return _Answer(claim, result, self.clock())

    def _send_mail(self, claim: Claim) -> _Answer:
        """A message to a notifier (PROTOCOL 10.2): sent through ``[mail]``; the recipient's
        address never reaches the row's error, the log or an event."""
        message = json.loads(claim.body)
        if self.config.mail is None or "to" not in message:
            reason = "no [mail] configured" if self.config.mail is None else "erased"
            return _Answer(claim, AttemptResult(None, reason, None, 0.0), self.clock(),
                           force_fail=True)
        # The whole attempt within the timeout: the row's lease is sized by it.
        sender = MailSender(self.config.mail, timeout=self.config.callback_timeout_seconds,
                            deadline=self.config.callback_timeout_seconds)
        sent = sender.send(compose(self.config.mail, [message["to"]], message["subject"],
                                   message["text"], message_id=claim.webhook_id))
        error = sent.error.replace(message["to"], "[notifier]") if sent.error else None
        result = AttemptResult(sent.code, error, None, sent.elapsed_ms,
                               timed_out=bool(error and error.startswith("timeout")))
        return _Answer(claim, result, self.clock(), outcome=sent.outcome)

    def _send_alert(self, claim: Claim) -> _Answer:
        """An alert to the hoster's people (PROTOCOL 9) through its channel."""
        assert claim.channel is not None
        channel = self.config.alert_channel(claim.channel)
        if channel is None:
            result = AttemptResult(None, "alert channel no longer configured", None, 0.0)
            return _Answer(claim, result, self.clock(), force_fail=True)
        if claim.type == "alert.resolved" and self._trigger_pending(claim):
            # A resolve before its trigger would leave the incident open for good.
            result = AttemptResult(None, "waiting for the incident's trigger", None, 0.0)
            return _Answer(claim, result, self.clock())
        sent = self.alert_sender.send(channel, json.loads(claim.body),
                                      message_id=claim.webhook_id)
        return _Answer(claim, sent.result, self.clock(), outcome=sent.outcome)

    def _trigger_pending(self, claim: Claim) -> bool:
        """Whether an earlier alert of this channel about this order is still to be sent."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return conn.execute(
                sa.select(deliveries.c.id).where(
                    deliveries.c.channel == claim.channel,
                    deliveries.c.order_pk == claim.order_pk,
                    deliveries.c.state == PENDING, deliveries.c.id < claim.id,
                ).limit(1)
            ).first() is not None

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

    def _plan(self, answer: _Answer) -> tuple[str, dict[str, Any],
                                              tuple[str, dict[str, Any]] | None]:
        """What an answer does to its row: the outcome, the row's new values, and the audit
        event to append (if any)."""
        claim, result = answer.claim, answer.result
        now = to_micros(answer.at)
        if answer.force_fail:
            outcome = retry_policy.FAILED
        elif answer.outcome is not None:
            outcome = answer.outcome
        else:
            outcome = retry_policy.classify(result.status)
        alert = claim.channel is not None
        attempts = claim.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts, "last_status": result.status, "last_error": result.error,
            "lease_until": None, "lease_owner": None,
        }
        event: tuple[str, dict[str, Any]] | None = None
        if outcome == retry_policy.DELIVERED:
            values.update(state=DELIVERED, delivered_at=now, next_attempt_at=None)
            if not alert:  # an alert's attempts are its row: no audit event
                event = (callbacks.on_delivered(claim.type).event,
                         {"delivery_id": claim.id, "webhook_id": claim.webhook_id,
                          "status": result.status, "attempts": attempts})
        elif outcome == retry_policy.RETRY and now < claim.give_up_at:
            delay = retry_policy.next_delay(attempts, result.retry_after, answer.at,
                                            self.uniform)
            values.update(next_attempt_at=now + int(delay * 1e6))
        else:
            reason = (result.error or f"HTTP {result.status}") if outcome != retry_policy.RETRY \
                else f"gave up after {attempts} attempts over {'24' if alert else '72'} h: " + (
                    result.error or f"HTTP {result.status}")
            values.update(state=FAILED, next_attempt_at=None, last_error=reason)
            if not alert:
                event = ("delivery_failed", {"delivery_id": claim.id, "type": claim.type,
                                             "webhook_id": claim.webhook_id,
                                             "status": result.status, "error": reason})
        return outcome, values, event

    def _record(self, answers: list[_Answer]) -> list[str]:
        """Record answers in one transaction; each one's resulting state (``lost_lease`` when
        another worker took its row over meanwhile: that worker records the row)."""
        plans = [self._plan(answer) for answer in answers]
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
                    self._defer_destination(conn, claim, values["next_attempt_at"], now)
                states.append(str(values.get("state", PENDING)))
                if claim.channel is not None:
                    continue  # an alert: nothing more to record, and no alert about it
                if values.get("state") == FAILED and self.config.alerts \
                        and claim.type not in NOTIFIER_MAIL_TYPES:
                    # The issuer does not know: the people must (PROTOCOL 9.2).
                    order = conn.execute(
                        sa.select(orders).where(orders.c.id == claim.order_pk)).one()
                    raise_order_alert(conn, self.config, "delivery_failed", order, answer.at,
                                      detail={"callback": claim.type, "delivery_id": claim.id,
                                              "error": values["last_error"]},
                                      key=str(claim.id))
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
                self._log(answer, values, state)
        return states

    @staticmethod
    def _log(answer: _Answer, values: dict[str, Any], state: str) -> None:
        claim, result = answer.claim, answer.result
        if claim.channel is not None:  # a failed alert is an error: nobody was told
            level = logging.ERROR if state == FAILED else (
                logging.WARNING if state == PENDING else logging.INFO)
            log.log(level, "alert %s channel=%s issuer=%s order=%s attempt=%d status=%s "
                    "error=%s -> %s", claim.type, claim.channel, claim.issuer_id,
                    claim.order_id, values["attempts"], result.status,
                    values.get("last_error", result.error), state)
            return
        # A mail has no HTTP status: only a callback without one had a network error.
        level = logging.WARNING if state == FAILED or (
            result.status is None and state != DELIVERED) else logging.INFO
        log.log(
            level,
            "callback %s issuer=%s order=%s webhook_id=%s attempt=%d status=%s error=%s -> %s%s",
            claim.type, safe(claim.issuer_id), safe(claim.order_id), claim.webhook_id,
            values["attempts"], result.status, safe(result.error), state,
            "" if state != PENDING else
            f" (next attempt at {from_micros(values['next_attempt_at'])})",
        )

    def _defer_destination(self, conn: Connection, claim: Claim, until: int, now: int) -> None:
        """The destination just timed out: its other due messages (not being sent by anyone
        else) wait until the retry of the one that timed out, rather than each costing a
        delivery thread a whole timeout now."""
        conn.execute(
            deliveries.update()
            .where(deliveries.c.destination == claim.destination,
                   deliveries.c.state == PENDING, deliveries.c.id != claim.id,
                   deliveries.c.next_attempt_at < until,
                   sa.or_(claims.free(now), deliveries.c.lease_owner == self.owner))
            .values(next_attempt_at=until, lease_until=None, lease_owner=None)
        )

    # -- loop -------------------------------------------------------------------------------

    def next_due_in(self) -> float | None:
        """Seconds until a claim may find work (None: nothing pending): the earliest due
        message of a destination nobody is sending to, or the earliest live lease's end (a
        worker that died holding it). A destination being sent to is its sender's to go on
        with, so its due messages do not count."""
        now = to_micros(self.clock())
        with self.engine.connect().execution_options(readonly=True) as conn:
            free = conn.execute(
                sa.select(sa.func.min(deliveries.c.next_attempt_at))
                .where(deliveries.c.state == PENDING,
                       deliveries.c.destination.not_in(claims.busy_destinations(now)))
            ).scalar()
            lease_ends = conn.execute(
                sa.select(sa.func.min(deliveries.c.lease_until)).where(claims.pending_leased(now))
            ).scalar()
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
    PROTOCOL 9 instead) back in the queue, due ``now``, with the same ``webhook-id`` and as
    long to give up as it first had; returns the row as it is now."""
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
        conn.execute(
            deliveries.update().where(deliveries.c.id == delivery_id).values(
                state=PENDING, next_attempt_at=now, lease_until=None, lease_owner=None,
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
