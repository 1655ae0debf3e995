"""What an attempt's answer does to its outbox row, decided by a pure function (``plan``), and
the log line that tells it (``log_answer``). ``DeliveryWorker`` writes the plan in the
transaction that records the batch."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..logtext import safe
from ..protocol import callbacks
from ..timeutil import from_micros, to_micros
from ..vocabulary import DELIVERED, FAILED, PENDING
from . import retry_policy
from .claims import Claim
from .client import AttemptResult

log = logging.getLogger("hoster_compliance.delivery.outbox")

#: The audit event to append: its type and detail.
Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """One attempt's result, not yet recorded: ``at`` is when it ended. ``outcome``: the retry
    policy's outcome when it is not the HTTP status's."""

    claim: Claim
    result: AttemptResult
    at: datetime
    outcome: str | None = None


def plan(
    answer: Answer, uniform: Callable[[float, float], float] = random.uniform
) -> tuple[str, dict[str, Any], Event | None]:
    """What ``answer`` does to its row: the outcome, the row's new values, and the audit event
    to append (if any: an alert's attempts are its row, outside any order's trail)."""
    claim, result = answer.claim, answer.result
    now = to_micros(answer.at)
    outcome = answer.outcome if answer.outcome is not None \
        else retry_policy.classify(result.status)
    alert = claim.channel is not None
    attempts = claim.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts, "last_status": result.status, "last_error": result.error,
        "lease_until": None, "lease_owner": None,
    }
    event: Event | None = None
    if outcome == retry_policy.DELIVERED:
        values.update(state=DELIVERED, delivered_at=now, next_attempt_at=None)
        if not alert:
            event = (callbacks.on_delivered(claim.type).event,
                     {"delivery_id": claim.id, "webhook_id": claim.webhook_id,
                      "status": result.status, "attempts": attempts})
    elif outcome == retry_policy.RETRY and now < claim.give_up_at:
        delay = retry_policy.next_delay(attempts, result.retry_after, answer.at, uniform)
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


def log_answer(answer: Answer, values: dict[str, Any], state: str) -> None:
    """One line per recorded answer; a failed alert is an error (nobody was told)."""
    claim, result = answer.claim, answer.result
    if claim.channel is not None:
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
