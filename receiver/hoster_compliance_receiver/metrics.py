"""``GET /metrics`` (PROTOCOL 9.4): Prometheus text format, written by prometheus-client from
numbers the service counts in the database at scrape time (a custom collector, so every process
of every machine shows the same values). Needs the operator token unless the configuration says
``metrics_public = true``."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hoster_compliance.metrics import Metrics
from hoster_compliance.service import ComplianceService

from .operator import token_required

bp = Blueprint("metrics", __name__)
PREFIX = "hoster_compliance_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class DatabaseCollector(Collector):
    """Yields the metric families of one ``Metrics`` reading."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        for name, values, text in (
            ("orders_open", m.open, "Open orders, notices and own-initiative entries."),
            ("orders_overdue", m.overdue, "Open ones past their deadline."),
        ):
            family = GaugeMetricFamily(PREFIX + name, text, labels=["kind", "regime"])
            for (kind, regime), count in sorted(values.items()):
                family.add_metric([kind, regime], count)
            yield family
        if m.oldest_open_deadline is not None:
            yield GaugeMetricFamily(
                PREFIX + "oldest_open_deadline_timestamp_seconds",
                "The earliest deadline of an open one, in Unix seconds.",
                value=m.oldest_open_deadline)
        received = CounterMetricFamily(PREFIX + "orders_received", "Received since the start.",
                                       labels=["issuer_id", "kind"])
        for (issuer_id, kind), count in sorted(m.received.items()):
            received.add_metric([issuer_id, kind], count)
        yield received
        for name, states, text in (
            ("deliveries", m.deliveries, "Callbacks to issuers in the outbox, by state."),
            ("alerts", m.alerts, "Alerts to the hoster's people, by state."),
        ):
            by_state = GaugeMetricFamily(PREFIX + name, text, labels=["state"])
            for state, count in states.items():
                by_state.add_metric([state], count)
            yield by_state


def exposition(metrics: Metrics) -> bytes:
    """``metrics`` in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(metrics))
    return generate_latest(registry)


def _service() -> ComplianceService:
    return current_app.extensions["hoster_compliance"]  # type: ignore[no-any-return]


def _answer() -> Response:
    return Response(exposition(_service().metrics()), content_type=CONTENT_TYPE)


_protected = token_required(_answer)


@bp.get("/metrics")
def metrics() -> Response:
    if _service().config.metrics_public:
        return _answer()
    return _protected()
