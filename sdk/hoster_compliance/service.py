"""The use cases, framework-free: what the Flask receiver, the CLI and any embedding call.

``ComplianceService.receive(issuer_id, headers, body)`` is the whole webhook endpoint: it returns
the HTTP status, JSON body and headers of PROTOCOL 2.3 and never raises for any input, so a hoster
on Django, FastAPI or plain WSGI gets exactly the receiver's behaviour."""

from __future__ import annotations

import functools
import io
import logging
import secrets
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .alerts import reads as alert_reads
from .config import Config
from .config_alerts import AlertChannel
from .delivery import outbox
from .delivery.outbox import DeliveryWorker
from .errors import (
    ComplianceError,
    ConfigError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    StorageUnavailable,
)
from .logtext import safe
from .metrics import Metrics, read_metrics
from .notices import intake as notice_intake
from .notices import retention, statements
from .notices.schema import load_notice
from .orders import actions, intake, own_initiative, reads
from .orders.own_initiative import Finding
from .orders.trail import AuditReport, verify_audit
from .protocol import schemas_in as schemas
from .protocol.strict_json import parse_json
from .report import build_report, orders_by_month, parse_period, write_dsa_csv
from .store.audit import AuditHead, chain_head_of
from .store.engine import init_schema, make_engine, storage_unavailable
from .store.group_commit import GroupCommitStats, GroupCommitter
from .store.keys import shared_key
from .timeutil import Clock, to_micros, utcnow

log = logging.getLogger("hoster_compliance.service")

RETRY_AFTER_SECONDS = 5
#: The largest body ``POST /v1/notices`` reads (PROTOCOL 10.2).
NOTICE_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpResult:
    """What to answer: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def error_result(exc: ComplianceError) -> HttpResult:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status == 503 else {}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return HttpResult(exc.status, exc.to_body(), headers)


def storage_errors_translated(exc: sa.exc.SQLAlchemyError) -> Exception:
    """``StorageUnavailable`` for a database that does not answer; other errors as they are
    (a bug: logged, answered 500)."""
    if storage_unavailable(exc):
        return StorageUnavailable("Storage is unavailable; retry later.")
    return exc


F = TypeVar("F", bound=Callable[..., Any])


def _translating_storage_errors(method: F) -> F:
    """The method raises ``StorageUnavailable`` instead of SQLAlchemy's errors of an
    unreachable database, so no caller sees a driver's exception."""

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except sa.exc.SQLAlchemyError as exc:
            translated = storage_errors_translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    return wrapped  # type: ignore[return-value]


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

    # -- notices from anyone (PROTOCOL 10) -------------------------------------------------

    def receive_notice(
        self, headers: Mapping[str, str], body: bytes, *, remote_addr: str | None
    ) -> HttpResult:
        """``POST /v1/notices``: the answer of PROTOCOL 10.2 for any input, never raising.
        ``body`` may be up to one byte longer than :data:`NOTICE_MAX_BYTES` (then 413)."""
        try:
            self.check_notices_enabled()
            intake.check_media_type(intake.header(headers, "content-type"))
            if len(body) > NOTICE_MAX_BYTES:
                raise PayloadTooLarge(f"The body is larger than {NOTICE_MAX_BYTES} bytes.")
            doc = parse_json(body)
            client = self.notice_client(remote_addr, intake.header(headers, "x-forwarded-for"))
            status, payload = self.submit_notice(doc, client)
        except ComplianceError as exc:
            if exc.status >= 500:
                log.error("notice: %s", exc.message)
            else:
                log.info("notice rejected: %s", exc.code)  # never the content: personal data
            return error_result(exc)
        return HttpResult(status, payload)

    def check_notices_enabled(self) -> None:
        """``NotFound`` when ``[notices] enabled = false``."""
        if not self.config.notices.enabled:
            raise NotFound("This hoster does not take notices here.")

    def notice_client(self, remote_addr: str | None, forwarded_for: str | None) -> str:
        """The rate-limit key of a request's client (``trusted_proxy_hops`` applied)."""
        return notice_intake.client_key(notice_intake.client_address(
            remote_addr, forwarded_for, self.config.notices.trusted_proxy_hops))

    @_translating_storage_errors
    def submit_notice(self, doc: object, client: str) -> tuple[int, dict[str, Any]]:
        """Validate and store a parsed notice from ``client`` (:meth:`notice_client`): 201 and
        the new notice, or 200 and the first one for a repeat; raises ``InvalidPayload``,
        ``RateLimited``, ``NotFound``."""
        self.check_notices_enabled()
        now = self.clock()
        loaded = load_notice(doc)
        new = notice_intake.prepare_notice(self.config, loaded, doc, client, now)
        status, payload = notice_intake.store_notice(self.engine, self.config, new, now)
        if status == 201:
            self.notify()
        return status, payload

    @_translating_storage_errors
    def statement(self, issuer_id: str, order_id: str, item_id: str) -> dict[str, Any]:
        """The statement of reasons of one item (PROTOCOL 10.3); ``NoStatement`` saying why
        when none is owed."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            order, item = statements.find(conn, issuer_id, order_id, item_id)
            return statements.build(self.config, order, item)

    def iter_statements(self, start: date, end: date) -> Iterator[dict[str, Any]]:
        """Every statement whose action falls in ``start``..``end`` (both included, UTC)."""
        first = to_micros(datetime.combine(start, time(), UTC))
        last = to_micros(datetime.combine(end + timedelta(days=1), time(), UTC))
        try:
            with self.engine.connect().execution_options(readonly=True) as conn:
                yield from statements.in_period(conn, self.config, first, last)
        except sa.exc.SQLAlchemyError as exc:
            translated = storage_errors_translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    @_translating_storage_errors
    def erase_expired_notifiers(self) -> int:
        """Erase notifiers past ``notifier_retention_days`` (the worker calls this); how many."""
        return retention.erase_expired(self.engine, self.clock(),
                                       self.config.notices.notifier_retention_days)

    # -- operator side --------------------------------------------------------------------

    @_translating_storage_errors
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

    @_translating_storage_errors
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

    @_translating_storage_errors
    def retry_delivery(self, delivery_id: int, *, actor: str) -> dict[str, Any]:
        """Put a failed delivery back in the queue, due now, with the same ``webhook-id``."""
        row = outbox.retry_failed(self.engine, delivery_id, now=to_micros(self.clock()),
                                  actor=actor)
        self.notify()
        return reads.delivery_view(row)

    @_translating_storage_errors
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

    @_translating_storage_errors
    def get_order(self, issuer_id: str, order_id: str) -> dict[str, Any]:
        """Everything about one order (``GET /v1/orders/{issuer_id}/{order_id}``)."""
        return reads.get_order(self.engine, issuer_id, order_id, self.clock())

    @_translating_storage_errors
    def list_deliveries(
        self, state: str | None = None, limit: str | None = None
    ) -> dict[str, Any]:
        """The outbox, newest first (``GET /v1/deliveries``); ``limit`` as given in a query."""
        return reads.list_deliveries(self.engine, state, limit)

    @_translating_storage_errors
    def report(self, start: date | str, end: date | str) -> dict[str, Any]:
        """The transparency report (PROTOCOL 8) for ``start``..``end``, both included; dates or
        ``YYYY-MM-DD`` strings, checked (``InvalidQuery``)."""
        first, last = parse_period(start, end)
        return build_report(self.engine, first, last, now=self.clock())

    @_translating_storage_errors
    def verify_audit(self, expect: Sequence[AuditHead] = ()) -> AuditReport:
        """Check the audit trail (PROTOCOL 13.4): its hash chain, every order's and item's
        stored state against its events, and that each head in ``expect`` (kept outside the
        database, or received by an issuer) still has its hash."""
        return verify_audit(self.engine, expect)

    def delivery_worker(self, **options: Any) -> DeliveryWorker:
        """A delivery worker on this service's configuration, database and clock."""
        options.setdefault("clock", self.clock)
        return DeliveryWorker(self.config, self.engine, **options)

    def close(self) -> None:
        """Close the database connections (the service is not used afterwards)."""
        self.engine.dispose()

    # -- the dashboard (PROTOCOL 12) -----------------------------------------------------------

    @_translating_storage_errors
    def open_counts(self) -> dict[str, dict[str, int]]:
        """Open and overdue orders by kind: ``{kind: {"open": n, "overdue": m}}``."""
        return reads.open_counts(self.engine, self.clock())

    @_translating_storage_errors
    def report_by_month(self, start: date | str, end: date | str) -> list[dict[str, Any]]:
        """The report's order totals for each month of the period (the dashboard's charts)."""
        first, last = parse_period(start, end)
        return orders_by_month(self.engine, first, last, now=self.clock())

    @_translating_storage_errors
    def dsa_csv_zip(self, start: date | str, end: date | str) -> bytes:
        """The Commission's template files of the report (``report --format dsa-csv``) as one
        zip archive."""
        first, last = parse_period(start, end)
        now = self.clock()
        report = build_report(self.engine, first, last, now=now)
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="hc-dsa-csv-") as folder:
            paths = write_dsa_csv(
                report, Path(folder), service_name=self.config.service_name or "",
                provider_name=self.config.provider_name or "", published=now.date())
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in paths:
                    archive.write(path, path.name)
        return buffer.getvalue()

    @_translating_storage_errors
    def audit_head(self) -> dict[str, Any] | None:
        """The newest event of the audit trail, ``{"seq", "hash"}``; None while it is empty."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return chain_head_of(conn)

    @_translating_storage_errors
    def dashboard_secret(self) -> str:
        """The key that signs the dashboard's sessions and CSRF tokens: ``dashboard_secret_env``
        when configured, else a random key made once and kept in the database, shared by every
        process (PROTOCOL 12). ``StorageUnavailable`` while the database does not answer."""
        if self.config.dashboard_secret is not None:
            return self.config.dashboard_secret
        return shared_key(self.engine, "dashboard_session", lambda: secrets.token_hex(32),
                          to_micros(self.clock()))

    # -- alerts and metrics (PROTOCOL 9.4) ---------------------------------------------------

    @_translating_storage_errors
    def list_alerts(self, state: str | None = None, limit: str | None = None) -> dict[str, Any]:
        """``GET /v1/alerts``: newest first; a bad ``state`` or ``limit`` is ``InvalidQuery``."""
        return alert_reads.list_alerts(self.engine, state, limit)

    @_translating_storage_errors
    def metrics(self) -> Metrics:
        """What ``GET /metrics`` shows, counted in the database now."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return read_metrics(conn, self.clock())

    def send_test_alerts(self, channel: str | None = None) -> list[tuple[str, str | None]]:
        """Send a ``test`` alert through every channel (or the one named) at once, one attempt
        each, nothing stored; returns (channel, None when delivered, else the reason). An
        unknown ``channel`` is a ``ConfigError``."""
        from concurrent.futures import ThreadPoolExecutor

        from .alerts.channels import AlertSender
        from .alerts.content import test_facts

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

    def healthy(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect().execution_options(readonly=True) as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    # -- the dashboard's alerts, statements (PROTOCOL 12) -------------------------------------

    @_translating_storage_errors
    def retry_alert(self, alert_id: int, *, actor: str) -> dict[str, Any]:
        """Put a failed alert back in the queue, due now (the dashboard's retry button);
        ``UnknownDelivery`` for an id that is not an alert, ``Conflict`` unless failed."""
        row = outbox.retry_failed(self.engine, alert_id, now=to_micros(self.clock()),
                                  actor=actor, alert=True)
        self.notify()
        return alert_reads.alert_view(row)

    @_translating_storage_errors
    def item_statements(
        self, issuer_id: str, order_id: str, item_ids: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The statements of reasons of several items of one order at once (PROTOCOL 10.3):
        per item ``{"item_id", "statement"}``, or ``{"item_id", "none_reason"}`` when none is
        owed (the message of :meth:`statement`'s ``NoStatement``)."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return statements.for_items(conn, self.config, issuer_id, order_id, item_ids)
