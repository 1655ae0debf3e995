"""Everything sent: the outbox's deliveries (retry, listing, the worker) and the alerts to the
hoster's people with the metrics behind them (PROTOCOL 9.4)."""

from __future__ import annotations

import uuid
from typing import Any

from ..alerts import reads as alert_reads
from ..config_alerts import AlertChannel
from ..delivery import outbox
from ..delivery.outbox import DeliveryWorker
from ..errors import ConfigError
from ..metrics import Metrics, read_metrics
from ..orders import reads
from ..timeutil import to_micros
from .base import ServiceState, translating_storage_errors


class DeliveryUseCases(ServiceState):
    """Deliveries, alerts and metrics."""

    @translating_storage_errors
    def retry_delivery(self, delivery_id: int, *, actor: str) -> dict[str, Any]:
        """Put a failed delivery back in the queue, due now, with the same ``webhook-id``."""
        row = outbox.retry_failed(self.engine, delivery_id, now=to_micros(self.clock()),
                                  actor=actor)
        self.notify()
        return reads.delivery_view(row)

    @translating_storage_errors
    def list_deliveries(
        self, state: str | None = None, limit: str | None = None
    ) -> dict[str, Any]:
        """The outbox, newest first (``GET /v1/deliveries``); ``limit`` as given in a query."""
        return reads.list_deliveries(self.engine, state, limit)

    @translating_storage_errors
    def retry_alert(self, alert_id: int, *, actor: str) -> dict[str, Any]:
        """Put a failed alert back in the queue, due now (the dashboard's retry button);
        ``UnknownDelivery`` for an id that is not an alert, ``Conflict`` unless failed."""
        row = outbox.retry_failed(self.engine, alert_id, now=to_micros(self.clock()),
                                  actor=actor, alert=True)
        self.notify()
        return alert_reads.alert_view(row)

    def delivery_worker(self, **options: Any) -> DeliveryWorker:
        """A delivery worker on this service's configuration, database and clock."""
        options.setdefault("clock", self.clock)
        return DeliveryWorker(self.config, self.engine, **options)

    @translating_storage_errors
    def list_alerts(self, state: str | None = None, limit: str | None = None) -> dict[str, Any]:
        """``GET /v1/alerts``: newest first; a bad ``state`` or ``limit`` is ``InvalidQuery``."""
        return alert_reads.list_alerts(self.engine, state, limit)

    @translating_storage_errors
    def metrics(self) -> Metrics:
        """What ``GET /metrics`` shows, counted in the database now."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return read_metrics(conn, self.clock())

    def send_test_alerts(self, channel: str | None = None) -> list[tuple[str, str | None]]:
        """Send a ``test`` alert through every channel (or the one named) at once, one attempt
        each, nothing stored; returns (channel, None when delivered, else the reason). An
        unknown ``channel`` is a ``ConfigError``."""
        from concurrent.futures import ThreadPoolExecutor

        from ..alerts.channels import AlertSender
        from ..alerts.content import test_facts

        chosen = [c for c in self.config.alerts if channel is None or c.name == channel]
        if channel is not None and not chosen:
            raise ConfigError("alerts", f"no channel is named {channel!r}")
        at = self.clock()

        def send(alert: AlertChannel) -> tuple[str, str | None]:
            alert_id = uuid.uuid4().hex[:12]
            sender = AlertSender(self.config)
            try:
                sent = sender.send(alert, test_facts(alert_id, at, alert.name),
                                   message_id=f"test-{alert_id}")
            finally:
                sender.close()
            if sent.delivered:
                return alert.name, None
            result = sent.result
            reason = result.error or (f"HTTP {result.status}" if result.status else "no answer")
            return alert.name, reason

        if not chosen:
            return []
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            return list(pool.map(send, chosen))
