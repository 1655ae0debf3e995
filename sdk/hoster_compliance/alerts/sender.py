"""The outbox's sender of alert rows (delivery/senders.py): the row's channel is looked up in
the configuration at send time (its URL or routing key is never stored with the alert), and a
PagerDuty ``resolve`` waits while its incident's trigger is still to be sent."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..config import Config
from ..delivery.claims import Claim
from ..delivery.client import AttemptResult, CallbackClient
from ..delivery.senders import Attempt, Sender, failed
from ..store.tables import deliveries
from ..vocabulary import PENDING
from .channels import AlertSender

RESOLVED = "alert.resolved"


class AlertRowSender(Sender):
    """Sends claimed alert rows through their channels (channels.py)."""

    def __init__(self, config: Config, engine: Engine, http: CallbackClient) -> None:
        self.config = config
        self.engine = engine
        self.http = http
        self._channels: AlertSender | None = None

    @property
    def channels(self) -> AlertSender:
        """The channels' senders (made on first use: most passes send no alert)."""
        if self._channels is None:
            self._channels = AlertSender(self.config, http=self.http)
        return self._channels

    def reads_recorded(self, claim: Claim) -> bool:
        return claim.type == RESOLVED  # it looks at its trigger's recorded state

    def send(self, claim: Claim) -> Attempt:
        assert claim.channel is not None
        channel = self.config.alert_channel(claim.channel)
        if channel is None:
            return failed("alert channel no longer configured")
        if claim.type == RESOLVED and self._trigger_pending(claim):
            # A resolve before its trigger would leave the incident open for good.
            return Attempt(AttemptResult(None, "waiting for the incident's trigger", None, 0.0))
        sent = self.channels.send(channel, json.loads(claim.body), message_id=claim.webhook_id)
        return Attempt(sent.result, sent.outcome)

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
