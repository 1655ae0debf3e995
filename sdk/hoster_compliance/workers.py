"""The in-process workers that ``serve`` starts beside the receiver: callback delivery, the
erasure of notifiers past their retention, and the automation hooks when any are registered."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from .automation import AutomationRunner, Handler
from .errors import StorageUnavailable
from .service import ComplianceService

log = logging.getLogger("hoster_compliance.workers")

#: How often the notifiers past their retention are looked for (PROTOCOL 10.2).
RETENTION_INTERVAL_SECONDS = 600.0


def run_retention(service: ComplianceService, stop: threading.Event,
                  interval: float = RETENTION_INTERVAL_SECONDS) -> None:
    """Erase expired notifiers now, then every ``interval`` seconds until ``stop``."""
    while not stop.is_set():
        try:
            while service.erase_expired_notifiers() and not stop.is_set():
                pass  # a backlog: the next batch at once
        except StorageUnavailable:
            log.error("retention: database unavailable; trying again later")
        stop.wait(interval)


class InProcessWorker:
    """Runs :class:`DeliveryWorker` threads (and an :class:`AutomationRunner`); ``wake()`` makes
    them look for work at once."""

    def __init__(self, *, threads: int = 2, automations: Sequence[Handler] = ()) -> None:
        self.threads = threads
        self.automations = list(automations)
        self._stop = threading.Event()
        self._wakes: list[threading.Event] = []
        self._threads: list[threading.Thread] = []

    def wake(self) -> None:
        for event in self._wakes:
            event.set()

    def _spawn(self, name: str, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def start(self, service: ComplianceService) -> None:
        for n in range(self.threads):
            wake = threading.Event()
            self._wakes.append(wake)
            worker = service.delivery_worker()
            self._spawn(f"delivery-worker-{n}", worker.run, self._stop, wake)
        self._spawn("notifier-retention", run_retention, service, self._stop)
        if self.automations:
            wake = threading.Event()
            self._wakes.append(wake)
            runner = AutomationRunner(service, self.automations)
            self._spawn("automation", runner.run, self._stop, wake)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for event in self._wakes:
            event.set()
        for thread in self._threads:
            thread.join(timeout)
