"""What the outbox asks of the code that sends its messages: a ``Sender`` per kind of message
(``claims.CALLBACK``, ``MAIL``, ``ALERT``) makes one attempt at a claimed row and says what
happened; the outbox claims, leases, retries and records. Its own sender, for the issuers'
callbacks, is here; the alert channels and the notifier's mail bring theirs (alerts/,
notifier/), and the layer above them composes a worker's ``Wiring`` (hoster_compliance.sending).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from ..config import Config
from ..timeutil import Clock
from . import retry_policy
from .claims import Claim
from .client import AttemptResult, CallbackClient


@dataclass(frozen=True)
class Attempt:
    """One attempt's answer. ``outcome``: the retry policy's outcome when it is not the HTTP
    status's (``retry_policy.FAILED``: no retry; a mail's SMTP answer has its own)."""

    result: AttemptResult
    outcome: str | None = None


def failed(error: str) -> Attempt:
    """An attempt that sent nothing and never will (the destination is gone from the
    configuration, the message can no longer be sent)."""
    return Attempt(AttemptResult(None, error, None, 0.0), retry_policy.FAILED)


class Sender:
    """Sends one kind of message. ``send`` never raises: every failure is an ``Attempt``."""

    def send(self, claim: Claim) -> Attempt:
        raise NotImplementedError

    def reads_recorded(self, claim: Claim) -> bool:
        """Whether ``claim``'s attempt reads what the outbox recorded of the rows claimed
        before it (those answers are recorded first)."""
        return False


#: Called in the transaction that records a message of its kind as failed for good, with the
#: claim, the recorded error and when: the issuer will not hear, so someone else must.
FailureHook = Callable[[Connection, Claim, str, datetime], None]


@dataclass(frozen=True)
class Wiring:
    """A worker's senders per kind of message, what happens when a message fails for good
    (per kind), and what runs before each pass (the alerts' schedule)."""

    senders: Mapping[str, Sender]
    on_failed: Mapping[str, FailureHook] = field(default_factory=dict)
    before_pass: Callable[[], object] | None = None


class CallbackSender(Sender):
    """An issuer's callback (PROTOCOL 3): POSTed to the issuer's configured ``api_base``,
    signed afresh on every attempt with the same ``webhook-id``."""

    def __init__(self, config: Config, client: CallbackClient, clock: Clock) -> None:
        self.config = config
        self.client = client
        self.clock = clock

    def send(self, claim: Claim) -> Attempt:
        issuer = self.config.issuer(claim.issuer_id)
        if issuer is None:
            return failed("issuer no longer configured")
        return Attempt(self.client.send(
            issuer.api_base + claim.path,
            webhook_id=claim.webhook_id,
            body=claim.body.encode("utf-8"),
            signer=self.config.callback_signer(issuer),
            timeout=self.config.callback_timeout_seconds,
            now=lambda: self.clock().timestamp(),
        ))
