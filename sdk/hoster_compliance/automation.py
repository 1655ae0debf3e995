"""Automation hooks: code that runs for each new order after it was committed.

Handlers run in a worker (never in the webhook request), at least once per order, and their
failures are logged and recorded as an event: they can never lose or block the order, which
stays open for a person to act on."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .alerts import queue as alerts
from .logtext import safe
from .orders.reads import order_detail_in
from .service import ComplianceService
from .store import leases
from .store.audit import append_event
from .store.tables import orders, workers
from .timeutil import to_micros
from .vocabulary import PENDING, WITHDRAWN

log = logging.getLogger("hoster_compliance.automation")

LEASE_SECONDS = 300
#: How often a running runner renews its announcement in ``workers`` (alerts wait for it).
HEARTBEAT_EVERY_MICROS = 5 * 1_000_000


@dataclass
class AutomationContext:
    """What a handler gets: the order (as ``GET /v1/orders/{issuer}/{order}`` shows it) and a
    way to record actions, attributed to ``automation:<name>`` in the audit trail."""

    order: dict[str, Any]
    service: ComplianceService
    name: str

    def act(self, item_id: str | None, action: str, **fields: Any) -> dict[str, Any]:
        """Record ``action`` on ``item_id`` (``None``: every item without an action).
        ``fields`` are the other keys of the action body (``reason``, ``acted_at``, ``basis``);
        ``automated`` defaults to true."""
        body = {"action": action, "automated": True, **fields}
        return self.service.act(self.order["issuer_id"], self.order["order_id"], item_id, body,
                                actor=f"automation:{self.name}")


Handler = Callable[[AutomationContext], None]


class AutomationRunner:
    """Claims orders whose handlers have not run yet and runs every handler once on each."""

    def __init__(
        self, service: ComplianceService, handlers: Sequence[Handler], *, owner: str | None = None
    ) -> None:
        self.service = service
        self.handlers = list(handlers)
        self.owner = owner or uuid.uuid4().hex
        self._beaten_at: int | None = None

    def heartbeat(self) -> None:
        """Announce this runner in ``workers`` (renewed every few seconds while it runs), so
        that a new order's ``received`` alert waits for the handlers (PROTOCOL 9.2)."""
        now = to_micros(self.service.clock())
        if self._beaten_at is not None and now - self._beaten_at < HEARTBEAT_EVERY_MICROS:
            return
        until = now + alerts.HEARTBEAT_MICROS
        with self.service.engine.begin() as conn:
            if not conn.execute(workers.update().where(workers.c.owner == self.owner)
                                .values(seen_until=until)).rowcount:
                conn.execute(workers.insert().values(owner=self.owner, role="automation",
                                                     seen_until=until))
        self._beaten_at = now

    def sign_off(self) -> None:
        """Remove this runner's announcement (it stops)."""
        with self.service.engine.begin() as conn:
            conn.execute(workers.delete().where(workers.c.owner == self.owner))
        self._beaten_at = None

    def claim(self, limit: int) -> list[int]:
        now = to_micros(self.service.clock())
        with self.service.engine.begin() as conn:
            rows = leases.claim(
                conn, orders, ready=[orders.c.automation_state == PENDING],
                lease_column=orders.c.automation_lease_until, now=now,
                lease_until=now + LEASE_SECONDS * 1_000_000, order_by=[orders.c.id],
                limit=limit, columns=[orders.c.id],
            )
        pks = [int(row.id) for row in rows]
        return pks

    def run_once(self, limit: int = 20) -> int:
        """Run the handlers on up to ``limit`` new orders; returns how many orders."""
        if not self.handlers:
            return 0
        self.heartbeat()
        pks = self.claim(limit)
        for pk in pks:
            self._run(pk)
        return len(pks)

    def _run(self, order_pk: int) -> None:
        with self.service.engine.connect() as conn:
            row = conn.execute(sa.select(orders).where(orders.c.id == order_pk)).one()
            order = order_detail_in(conn, row, self.service.clock())
        failures: list[dict[str, str]] = []
        for handler in self.handlers:
            name = getattr(handler, "__name__", type(handler).__name__)
            if order["status"] == WITHDRAWN:
                break
            try:
                handler(AutomationContext(order=order, service=self.service, name=name))
            except Exception as exc:  # a handler's bug must never lose or block the order
                log.exception("automation %s failed on order %s/%s", safe(name),
                              safe(order["issuer_id"]), safe(order["order_id"]))
                failures.append({"handler": name, "error": f"{type(exc).__name__}: {exc}"[:500]})
        at = self.service.clock()
        now = to_micros(at)
        config = self.service.config
        with self.service.engine.begin() as conn:
            conn.execute(orders.update().where(orders.c.id == order_pk).values(
                automation_state="done", automation_lease_until=None))
            for failure in failures:
                append_event(conn, order_pk=order_pk, at=now, type="automation_failed",
                             actor=f"automation:{failure['handler']}", detail=failure)
            row = conn.execute(sa.select(orders).where(orders.c.id == order_pk)).one()
            if failures:
                # The exception's type only: its message may quote a file path or URL.
                alerts.raise_order_alert(conn, config, "automation_failed", row, at, detail={
                    "handlers": [{"handler": f["handler"], "error": f["error"].split(":")[0]}
                                 for f in failures]})
            if row.alert_hold_until is not None:
                # The handlers ran: the order's `received` alert, unless they completed it.
                conn.execute(orders.update().where(orders.c.id == order_pk)
                             .values(alert_hold_until=None))
                if row.status == "open":
                    alerts.raise_order_alert(conn, config, "received", row, at)

    def run(self, stop: threading.Event, wake: threading.Event,
            poll_seconds: float = 1.0) -> None:
        """Run until ``stop``; woken at once by ``wake`` or every ``poll_seconds``."""
        while not stop.is_set():
            wake.clear()
            try:
                if self.run_once():
                    continue
            except sa.exc.SQLAlchemyError as exc:
                log.error("automation: database unavailable (%s)", type(exc).__name__)
            wake.wait(poll_seconds)
        try:
            self.sign_off()
        except sa.exc.SQLAlchemyError:
            pass  # its announcement runs out by itself
