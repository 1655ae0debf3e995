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

from .logtext import safe
from .orders.reads import order_detail_in
from .service import ComplianceService
from .store import leases
from .store.audit import append_event
from .store.tables import orders
from .timeutil import to_micros
from .vocabulary import PENDING, WITHDRAWN

log = logging.getLogger("hoster_compliance.automation")

LEASE_SECONDS = 300


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
        now = to_micros(self.service.clock())
        with self.service.engine.begin() as conn:
            conn.execute(orders.update().where(orders.c.id == order_pk).values(
                automation_state="done", automation_lease_until=None))
            for failure in failures:
                append_event(conn, order_pk=order_pk, at=now, type="automation_failed",
                             actor=f"automation:{failure['handler']}", detail=failure)

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
