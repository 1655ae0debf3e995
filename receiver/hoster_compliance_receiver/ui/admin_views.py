"""Deliveries and alerts (with their retry buttons), the transparency report, and the audit
trail."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, flash, g, redirect, request, url_for

from hoster_compliance.errors import Conflict, UnknownDelivery
from hoster_compliance.report import MAX_MONTHS, parse_period
from hoster_compliance.vocabulary import DELIVERY_STATES

from .blueprint import bp, page, service
from .charts import effect_chart, orders_chart

#: The report page draws its charts for periods up to this many months.
CHART_MONTHS = 36


@bp.get("/deliveries")
def deliveries() -> Any:
    """Callbacks to issuers, and alerts to the hoster's people, each failed one with a retry
    button. By default the failed callbacks, and the failed and still pending alerts."""
    svc = service()
    state = request.args.get("state", "failed") or None
    if state == "all":
        state = None
    limit = request.args.get("limit")
    listing = svc.list_deliveries(state, limit)
    alert_states: tuple[str | None, ...] = ("failed", "pending") if state == "failed" else (state,)
    alerts = [a for s in alert_states for a in svc.list_alerts(s, limit)["alerts"]]
    return page("ui/deliveries.html", deliveries=listing["deliveries"], state=state or "all",
                states=DELIVERY_STATES, alerts=alerts)


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry_delivery(delivery_id: int) -> Any:
    try:
        service().retry_delivery(delivery_id, actor=g.actor)
        flash(f"Delivery {delivery_id} is queued again (same webhook-id).", "ok")
    except (Conflict, UnknownDelivery) as exc:
        flash(f"Delivery {delivery_id} was not retried: {exc.message}", "error")
    issuer_id, order_id = request.form.get("issuer_id"), request.form.get("order_id")
    if issuer_id and order_id:  # the button on an order's page leads back there
        return redirect(url_for("ui.order", issuer_id=issuer_id, order_id=order_id)
                        + "#deliveries", 303)
    return redirect(url_for("ui.deliveries"), 303)


@bp.post("/alerts/<int:alert_id>/retry")
def retry_alert(alert_id: int) -> Any:
    try:
        alert = service().retry_alert(alert_id, actor=g.actor)
        flash(f"Alert {alert_id} ({alert['event']} through {alert['channel']}) is queued "
              "again.", "ok")
    except (Conflict, UnknownDelivery) as exc:
        flash(f"Alert {alert_id} was not retried: {exc.message}", "error")
    return redirect(url_for("ui.deliveries") + "#alerts", 303)


def _period() -> tuple[date, date]:
    today = service().clock().date()
    return parse_period(request.args.get("start") or date(today.year, 1, 1).isoformat(),
                        request.args.get("end") or today.isoformat())


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


@bp.get("/report")
def report() -> Any:
    """The report's headline figures, charts per month, and the Commission's files."""
    svc = service()
    start, end = _period()
    figures = svc.report(start, end)
    months = None
    if _months_between(start, end) <= min(CHART_MONTHS, MAX_MONTHS):
        months = svc.report_by_month(start, end)
    return page(
        "ui/report.html", start=start.isoformat(), end=end.isoformat(), report=figures,
        months=months, chart_months=CHART_MONTHS,
        orders_chart=orders_chart(months) if months else None,
        effect_chart=effect_chart(months) if months else None,
    )


@bp.get("/report/dsa-csv.zip")
def report_zip() -> Response:
    """The Commission's template files (``report --format dsa-csv``) as one download."""
    start, end = _period()
    data = service().dsa_csv_zip(start, end)
    name = f"dsa-transparency-{start.isoformat()}-{end.isoformat()}.zip"
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/audit")
def audit() -> Any:
    """The audit trail's verification: run on request (it reads every event)."""
    result = None
    if request.args.get("verify"):
        report = service().verify_audit()
        result = {"events": report.events, "chain": report.chain, "state": report.state,
                  "state_total": report.state_total, "partial": report.partial_orders,
                  "intact": report.intact, "head": report.head}
    return page("ui/audit.html", result=result)
