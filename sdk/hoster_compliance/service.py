"""The use cases, framework-free: what the Flask receiver, the CLI and any embedding call.

``ComplianceService.receive(issuer_id, headers, body)`` is the whole webhook endpoint: it returns
the HTTP status, JSON body and headers of PROTOCOL 2.3 and never raises for any input, so a hoster
on Django, FastAPI or plain WSGI gets exactly the receiver's behaviour."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .config import Config
from .errors import ComplianceError, Conflict, StorageUnavailable, UnknownDelivery
from .orders import actions, intake
from .orders.reads import delivery_view
from .protocol import schemas_in as schemas
from .protocol.strict_json import parse_json
from .store.audit import append_event
from .store.engine import init_schema, make_engine, storage_unavailable
from .store.group_commit import GroupCommitStats, GroupCommitter
from .store.tables import deliveries
from .timeutil import Clock, to_micros, utcnow

log = logging.getLogger("hoster_compliance.service")

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class HttpResult:
    """What to answer: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def error_result(exc: ComplianceError) -> HttpResult:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status == 503 else {}
    return HttpResult(exc.status, exc.to_body(), headers)


class ComplianceService:
    """The SDK's entry point. ``notify`` is called after every commit that queued a callback
    (the in-process worker uses it to wake at once)."""

    def __init__(
        self,
        config: Config,
        engine: Engine | None = None,
        *,
        clock: Clock = utcnow,
        notify: Callable[[], None] | None = None,
        create_schema: bool = True,
    ) -> None:
        self.config = config
        self.engine = engine if engine is not None else make_engine(config.database_url)
        self.clock = clock
        self.notify = notify or (lambda: None)
        if create_schema:
            init_schema(self.engine)
        # New orders from concurrent requests are committed together (see group_commit).
        # One committer thread: on PostgreSQL too, a second one (for backlogs, while the first
        # waits for the server) made smaller batches and cost more CPU than it saved
        # (BENCHMARKS.md, "Group commit").
        self._order_writer: GroupCommitter[intake.NewOrder, intake.Response] = GroupCommitter(
            lambda batch: intake.commit_orders(self.engine, batch),
            name="hoster-compliance-commit",
        )

    @property
    def group_commit_stats(self) -> GroupCommitStats:
        """How many orders were committed in how many transactions (for logs, benchmarks)."""
        return self._order_writer.stats

    def receive(self, issuer_id: str, headers: Mapping[str, str], body: bytes) -> HttpResult:
        """Verify, validate and store one webhook; the answer of PROTOCOL 2.3."""
        try:
            with self._order_writer.announce():
                status, payload = self._receive(issuer_id, headers, body)
        except ComplianceError as exc:
            if exc.status >= 500:
                log.error("webhook issuer=%s: %s", issuer_id, exc.message)
            else:
                log.info("webhook issuer=%s rejected: %s %s", issuer_id, exc.code, exc.message)
            return error_result(exc)
        return HttpResult(status, payload)

    def _receive(
        self, issuer_id: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        issuer, _webhook_id = intake.verify_request(self.config, issuer_id, headers, body, now)
        doc = parse_json(body)
        envelope = schemas.load_envelope(doc)
        data = doc["data"]
        try:
            if envelope["type"] == "order.created":
                loaded = schemas.load_order_created(data, now=now, strings_checked=True)
                new = intake.prepare_order(self.config, issuer, data, loaded, now)
                status, payload = self._order_writer.submit(new)
                if status == 201:
                    intake.log_received(new)
                    self.notify()
                return status, payload
            loaded = schemas.load_order_withdrawn(data)
            return intake.withdraw_order(self.engine, issuer, loaded, now)
        except sa.exc.SQLAlchemyError as exc:
            if storage_unavailable(exc):
                raise StorageUnavailable("Storage is unavailable; retry later.") from exc
            raise

    # -- operator side --------------------------------------------------------------------

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
        action = actions.validate_action(body, now)
        if item_id is None:
            result, queued = actions.act_on_order(
                self.engine, self.config, issuer_id, order_id, action, now, actor)
        else:
            result, queued = actions.act_on_item(
                self.engine, self.config, issuer_id, order_id, item_id, action, now, actor)
        if queued:
            self.notify()
        return result

    def retry_delivery(self, delivery_id: int, *, actor: str) -> dict[str, Any]:
        """Put a failed delivery back in the queue, due now, with the same ``webhook-id``."""
        if not 0 <= delivery_id < 2**31:  # beyond the INTEGER column: PostgreSQL would fail
            raise UnknownDelivery("No such delivery.")
        now = to_micros(self.clock())
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
            ).first()
            if row is None:
                raise UnknownDelivery("No such delivery.")
            if row.state != "failed":
                raise Conflict(f"Only a failed delivery can be retried; this one is {row.state}.")
            conn.execute(
                deliveries.update().where(deliveries.c.id == delivery_id).values(
                    state="pending", next_attempt_at=now, lease_until=None, lease_owner=None,
                    give_up_at=now + (row.give_up_at - row.created_at),
                )
            )
            append_event(conn, order_pk=row.order_pk, at=now, type="retried", actor=actor,
                         detail={"delivery_id": delivery_id, "webhook_id": row.webhook_id})
            fresh = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).one()
        self.notify()
        return delivery_view(fresh)

    def healthy(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect().execution_options(readonly=True) as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False
