"""The operator's side of orders: actions on items, own-initiative entries (PROTOCOL 4, 11.2)
and the read models of ``GET /v1/orders`` and the dashboard's counts."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import ConfigError
from ..orders import actions, own_initiative, reads
from ..orders.own_initiative import Finding
from .base import ServiceState, translating_storage_errors

log = logging.getLogger("hoster_compliance.service")


class OrderUseCases(ServiceState):
    """Acting on orders and reading them."""

    @translating_storage_errors
    def act(
        self,
        issuer_id: str,
        order_id: str,
        item_id: str | None,
        body: object,
        *,
        actor: str,
    ) -> dict[str, Any]:
        """Record an action on one item (``item_id``) or on every open item (``None``).

        ``body`` is the action of PROTOCOL 4 as parsed JSON; raises ``ComplianceError``s."""
        now = self.clock()
        action = actions.validate_action(body, now, whole_order=item_id is None)
        if item_id is None:
            result, queued = actions.act_on_order(
                self.engine, self.config, issuer_id, order_id, action, now, actor)
        else:
            result, queued = actions.act_on_item(
                self.engine, self.config, issuer_id, order_id, item_id, action, now, actor)
        if queued:
            self.notify()
        return result

    @translating_storage_errors
    def record_own_initiative(self, findings: Sequence[Finding]) -> dict[str, Any]:
        """Store what the hoster's own detection found as one own-initiative entry (PROTOCOL
        11.2), leaving out files already entered with the same hash: ``{"order_id", "items",
        "already_entered", "deadline"}``, ``order_id`` None when nothing is new. Needs
        ``[hashcheck]`` in the configuration."""
        settings = self.config.hashcheck
        if settings is None:
            raise ConfigError("hashcheck", "no [hashcheck] table in the configuration")
        result = own_initiative.record_entry(self.engine, settings, findings, self.clock(),
                                             self.config)
        if result["order_id"] is not None:
            log.info("own-initiative entry stored order=%s items=%d", result["order_id"],
                     result["items"])
            self.notify()
        return result

    @translating_storage_errors
    def list_orders(self, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A page of ``GET /v1/orders``: ``query`` holds its parameters as strings (``status``,
        ``issuer_id``, ``kind``, ``limit``, ``cursor``); bad ones raise ``InvalidQuery``."""
        parsed = reads.parse_list_query(query or {})
        return reads.list_orders(self.engine, self.clock(), **parsed)

    def iter_orders(self, status: str = "all") -> Iterator[dict[str, Any]]:
        """Every order with ``status`` (or ``overdue``, ``all``), page after page."""
        query = {"status": status, "limit": str(reads.MAX_LIMIT)}
        while True:
            page = self.list_orders(query)
            yield from page["orders"]
            if page["next_cursor"] is None:
                return
            query["cursor"] = page["next_cursor"]

    @translating_storage_errors
    def get_order(self, issuer_id: str, order_id: str) -> dict[str, Any]:
        """Everything about one order (``GET /v1/orders/{issuer_id}/{order_id}``)."""
        return reads.get_order(self.engine, issuer_id, order_id, self.clock())

    @translating_storage_errors
    def open_counts(self) -> dict[str, dict[str, int]]:
        """Open and overdue orders by kind: ``{kind: {"open": n, "overdue": m}}``."""
        return reads.open_counts(self.engine, self.clock())
