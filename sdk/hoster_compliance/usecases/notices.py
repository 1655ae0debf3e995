"""Notices from anyone (PROTOCOL 10): the framework-free ``POST /v1/notices``, statements of
reasons (Art. 17) and the notifiers' retention."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ..errors import ComplianceError, NotFound, PayloadTooLarge
from ..notices import intake as notice_intake
from ..notices import retention, statements
from ..notices.schema import load_notice
from ..orders import intake
from ..protocol.strict_json import parse_json
from ..timeutil import to_micros
from .base import (
    HttpResult,
    ServiceState,
    error_result,
    storage_errors_translated,
    translating_storage_errors,
)

log = logging.getLogger("hoster_compliance.service")

#: The largest body ``POST /v1/notices`` reads (PROTOCOL 10.2).
NOTICE_MAX_BYTES = 64 * 1024


class NoticeUseCases(ServiceState):
    """Notices, statements of reasons, retention."""

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

    @translating_storage_errors
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

    @translating_storage_errors
    def statement(self, issuer_id: str, order_id: str, item_id: str) -> dict[str, Any]:
        """The statement of reasons of one item (PROTOCOL 10.3); ``NoStatement`` saying why
        when none is owed."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            order, item = statements.find(conn, issuer_id, order_id, item_id)
            return statements.build(self.config, order, item)

    @translating_storage_errors
    def item_statements(
        self, issuer_id: str, order_id: str, item_ids: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The statements of reasons of several items of one order at once (PROTOCOL 10.3):
        per item ``{"item_id", "statement"}``, or ``{"item_id", "none_reason"}`` when none is
        owed (the message of :meth:`statement`'s ``NoStatement``)."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return statements.for_items(conn, self.config, issuer_id, order_id, item_ids)

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

    @translating_storage_errors
    def erase_expired_notifiers(self) -> int:
        """Erase notifiers past ``notifier_retention_days`` (the worker calls this); how many."""
        return retention.erase_expired(self.engine, self.clock(),
                                       self.config.notices.notifier_retention_days)
