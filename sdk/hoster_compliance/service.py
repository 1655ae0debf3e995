"""The use cases, framework-free: what the Flask receiver, the CLI and any embedding call.

``ComplianceService.receive(issuer_id, headers, body)`` is the whole webhook endpoint: it returns
the HTTP status, JSON body and headers of PROTOCOL 2.3 and never raises for any input, so a hoster
on Django, FastAPI or plain WSGI gets exactly the receiver's behaviour.

The service is composed of one part per group of use cases (``usecases/``: orders, notices,
deliveries and alerts, reports); what stays here is the webhook intake, keys and the service's
life (construction, health, closing)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .config import Config
from .errors import ComplianceError
from .logtext import safe
from .orders import intake
from .protocol import schemas_in as schemas
from .protocol.strict_json import parse_json
from .store.engine import init_schema, make_engine
from .store.group_commit import GroupCommitStats, GroupCommitter
from .store.keys import shared_key
from .timeutil import Clock, to_micros, utcnow
from .usecases.base import (
    RETRY_AFTER_SECONDS,
    HttpResult,
    error_result,
    storage_errors_translated,
    translating_storage_errors,
)
from .usecases.deliveries import DeliveryUseCases
from .usecases.notices import NOTICE_MAX_BYTES, NoticeUseCases
from .usecases.orders import OrderUseCases
from .usecases.reports import ReportUseCases

__all__ = [
    "NOTICE_MAX_BYTES",
    "RETRY_AFTER_SECONDS",
    "ComplianceService",
    "HttpResult",
    "error_result",
    "storage_errors_translated",
]

log = logging.getLogger("hoster_compliance.service")


class ComplianceService(OrderUseCases, NoticeUseCases, DeliveryUseCases, ReportUseCases):
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
                log.error("webhook issuer=%s: %s", safe(issuer_id), safe(exc.message))
            else:
                log.info("webhook issuer=%s rejected: %s %s", safe(issuer_id), exc.code,
                         safe(exc.message))
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
            return intake.withdraw_order(self.engine, issuer, loaded, now, self.config)
        except sa.exc.SQLAlchemyError as exc:
            translated = storage_errors_translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    def public_keys(self) -> dict[str, Any]:
        """The hoster's Ed25519 public keys, as published for issuers (PROTOCOL 1):
        ``{"keys": [{"kid", "alg", "public_key"}]}``, empty without ``signing_key_env``."""
        return self.config.published_keys()

    def close(self) -> None:
        """Close the database connections (the service is not used afterwards)."""
        self.engine.dispose()

    @translating_storage_errors
    def dashboard_secret(self) -> str:
        """The key that signs the dashboard's sessions and CSRF tokens: ``dashboard_secret_env``
        when configured, else a random key made once and kept in the database, shared by every
        process (PROTOCOL 12). ``StorageUnavailable`` while the database does not answer."""
        if self.config.dashboard_secret is not None:
            return self.config.dashboard_secret
        return shared_key(self.engine, "dashboard_session", lambda: secrets.token_hex(32),
                          to_micros(self.clock()))

    def healthy(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect().execution_options(readonly=True) as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

