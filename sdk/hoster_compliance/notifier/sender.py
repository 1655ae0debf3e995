"""The outbox's sender of the messages to notifiers (delivery/senders.py): sent through
``[mail]``; the recipient's address never reaches the row's error, the log or an event."""

from __future__ import annotations

import json

from ..config import Config
from ..delivery.claims import Claim
from ..delivery.client import AttemptResult
from ..delivery.mail import MailSender, compose
from ..delivery.senders import Attempt, Sender, failed


class NotifierMailSender(Sender):
    """One attempt at one message to a notifier (PROTOCOL 10.2)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def send(self, claim: Claim) -> Attempt:
        message = json.loads(claim.body)
        if self.config.mail is None:
            return failed("no [mail] configured")
        if "to" not in message:
            return failed("erased")  # the notifier's retention ran out (notices/retention.py)
        # The whole attempt within the timeout: the row's lease is sized by it.
        timeout = self.config.callback_timeout_seconds
        sender = MailSender(self.config.mail, timeout=timeout, deadline=timeout)
        sent = sender.send(compose(self.config.mail, [message["to"]], message["subject"],
                                   message["text"], message_id=claim.webhook_id))
        error = sent.error.replace(message["to"], "[notifier]") if sent.error else None
        result = AttemptResult(sent.code, error, None, sent.elapsed_ms,
                               timed_out=bool(error and error.startswith("timeout")))
        return Attempt(result, sent.outcome)
