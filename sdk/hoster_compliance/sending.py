"""What the outbox sends with, composed above the packages that bring the senders: the issuers'
callbacks (delivery/), the alert channels (alerts/), the notifier's mail (notifier/); an alert
when a callback fails for good; the alerts' schedule before each pass. The package makes
``wiring`` the default of every ``DeliveryWorker`` (``hoster_compliance/__init__.py``), so the
outbox never imports what sits above it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from .alerts import queue as alerts
from .alerts.schedule import AlertSchedule
from .alerts.sender import AlertRowSender
from .config import Config
from .delivery.claims import ALERT, CALLBACK, MAIL, Claim
from .delivery.outbox import DeliveryWorker
from .delivery.senders import CallbackSender, FailureHook, Wiring
from .notifier.sender import NotifierMailSender


def wiring(worker: DeliveryWorker) -> Wiring:
    """A worker's senders (sharing its HTTP client), hooks and schedule."""
    config = worker.config
    schedule = AlertSchedule(config, worker.engine, worker.clock) if config.alerts else None
    return Wiring(
        senders={
            CALLBACK: CallbackSender(config, worker.client, worker.clock),
            MAIL: NotifierMailSender(config),
            ALERT: AlertRowSender(config, worker.engine, worker.client),
        },
        on_failed={CALLBACK: _alert_on_failure(config)} if config.alerts else {},
        before_pass=schedule.run_if_due if schedule is not None else None,
    )


def _alert_on_failure(config: Config) -> FailureHook:
    def failed(conn: Connection, claim: Claim, error: str, at: datetime) -> None:
        alerts.delivery_failed(conn, config, claim.order_pk, at, callback=claim.type,
                               delivery_id=claim.id, error=error)

    return failed
