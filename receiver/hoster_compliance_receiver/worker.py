"""The in-process delivery worker that ``serve`` starts beside the receiver."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from hoster_compliance.config import Config
from hoster_compliance.outbox import DeliveryWorker
from hoster_compliance.timeutil import Clock, utcnow


class InProcessWorker:
    """Runs :class:`DeliveryWorker` threads; ``wake()`` makes them look for work at once."""

    def __init__(self, config: Config, *, clock: Clock = utcnow, threads: int = 2) -> None:
        self.config = config
        self.clock = clock
        self.threads = threads
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def wake(self) -> None:
        self._wake.set()

    def start(self, engine: Engine) -> None:
        for n in range(self.threads):
            worker = DeliveryWorker(self.config, engine, clock=self.clock)
            thread = threading.Thread(
                target=worker.run, args=(self._stop, self._wake),
                name=f"delivery-worker-{n}", daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
