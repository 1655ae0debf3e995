"""The transparency report (PROTOCOL 8) in its forms and the audit trail (PROTOCOL 13.4)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ..orders.trail import AuditReport, verify_audit
from ..report import build_report, orders_by_month, parse_period, write_dsa_csv
from ..store.audit import AuditHead, chain_head_of
from .base import ServiceState, translating_storage_errors


class ReportUseCases(ServiceState):
    """Reports and the audit trail."""

    @translating_storage_errors
    def report(self, start: date | str, end: date | str) -> dict[str, Any]:
        """The transparency report (PROTOCOL 8) for ``start``..``end``, both included; dates or
        ``YYYY-MM-DD`` strings, checked (``InvalidQuery``)."""
        first, last = parse_period(start, end)
        return build_report(self.engine, first, last, now=self.clock())

    @translating_storage_errors
    def verify_audit(self, expect: Sequence[AuditHead] = ()) -> AuditReport:
        """Check the audit trail (PROTOCOL 13.4): its hash chain, every order's and item's
        stored state against its events, and that each head in ``expect`` (kept outside the
        database, or received by an issuer) still has its hash."""
        return verify_audit(self.engine, expect)

    @translating_storage_errors
    def report_by_month(self, start: date | str, end: date | str) -> list[dict[str, Any]]:
        """The report's order totals for each month of the period (the dashboard's charts)."""
        first, last = parse_period(start, end)
        return orders_by_month(self.engine, first, last, now=self.clock())

    @translating_storage_errors
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

    @translating_storage_errors
    def audit_head(self) -> dict[str, Any] | None:
        """The newest event of the audit trail, ``{"seq", "hash"}``; None while it is empty."""
        with self.engine.connect().execution_options(readonly=True) as conn:
            return chain_head_of(conn)
