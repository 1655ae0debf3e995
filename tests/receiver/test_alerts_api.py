"""The operator side of alerts (PROTOCOL 9.4): ``GET /v1/alerts`` and ``GET /metrics`` (Prometheus
text format, parsed here with prometheus-client's own parser), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from hoster_compliance.config_alerts import AlertChannel
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries
from hoster_compliance_receiver import create_app
from tests.helpers import AUTH, OFFLIMITS_SECRET, FakeClock, make_config, order_data
from tests.helpers.hooks import HookSink
from tests.helpers.webhooks import envelope, post


@pytest.fixture
def hook() -> Iterator[HookSink]:
    with HookSink() as sink:
        yield sink


def _app(db_url: str, fake_issuer: CallbackServer, clock: FakeClock, hook: HookSink,
         **changes: Any) -> tuple[Any, ComplianceService]:
    config = make_config(db_url, api_base=fake_issuer.url, callback_timeout_seconds=3,
                         alerts=(AlertChannel(name="chat", channel="webhook", url=hook.url),),
                         **changes)
    service = ComplianceService(config, clock=clock)
    app = create_app(config, service=service)
    app.testing = True
    return app, service


@pytest.fixture
def setup(db_url: str, fake_issuer: CallbackServer, clock: FakeClock,
          hook: HookSink) -> Iterator[tuple[Any, ComplianceService]]:
    app, service = _app(db_url, fake_issuer, clock, hook)
    yield app.test_client(), service
    service.engine.dispose()


def test_alerts_list_newest_first_with_the_protocols_fields(
    setup: tuple[Any, ComplianceService], clock: FakeClock, hook: HookSink,
) -> None:
    client, service = setup
    assert client.get("/v1/alerts").status_code == 401
    for order_id in ("ord-1", "ord-2"):
        assert post(client, clock, envelope(order_data(order_id))).status_code == 201
    hook.statuses = [400]                           # ord-1's alert fails at once
    DeliveryWorker(service.config, service.engine, clock=clock).run_once()
    answer = client.get("/v1/alerts", headers=AUTH)
    assert answer.status_code == 200
    first, second = answer.get_json()["alerts"]
    assert first == {"id": first["id"], "channel": "chat", "event": "received",
                     "issuer_id": "nl-atkm", "order_id": "ord-2", "state": "delivered",
                     "attempts": 1, "last_error": None, "created_at": "2026-11-22T09:00:00Z",
                     "delivered_at": "2026-11-22T09:00:00Z"}
    assert (second["order_id"], second["state"], second["last_error"]) == (
        "ord-1", "failed", "HTTP 400")
    assert second["id"] < first["id"]
    failed = client.get("/v1/alerts?state=failed", headers=AUTH).get_json()["alerts"]
    assert [a["order_id"] for a in failed] == ["ord-1"]
    assert len(client.get("/v1/alerts?limit=1", headers=AUTH).get_json()["alerts"]) == 1
    deliveries_listed = client.get("/v1/deliveries", headers=AUTH).get_json()["deliveries"]
    assert {d["type"] for d in deliveries_listed} == {"order.acknowledged"}  # no alerts there
    detail = client.get("/v1/orders/nl-atkm/ord-1", headers=AUTH).get_json()
    assert [d["type"] for d in detail["deliveries"]] == ["order.acknowledged"]


@pytest.mark.parametrize("query", ["state=lost", "state=", "limit=0", "limit=5001", "limit=x"])
def test_bad_alert_queries_are_400(setup: tuple[Any, ComplianceService], query: str) -> None:
    client, _ = setup
    answer = client.get(f"/v1/alerts?{query}", headers=AUTH)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_query"


def test_an_alert_cannot_be_retried_as_a_delivery(
    setup: tuple[Any, ComplianceService], clock: FakeClock,
) -> None:
    client, service = setup
    assert post(client, clock, envelope(order_data())).status_code == 201
    with service.engine.begin() as conn:
        alert_id = conn.execute(sa.select(deliveries.c.id)
                                .where(deliveries.c.channel == "chat")).scalar_one()
        conn.execute(deliveries.update().where(deliveries.c.id == alert_id)
                     .values(state="failed"))
    answer = client.post(f"/v1/deliveries/{alert_id}/retry", headers=AUTH)
    assert answer.status_code == 404
    assert answer.get_json()["error"] == "unknown_delivery"


def _families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_metrics_are_counted_in_the_database_at_scrape_time(
    setup: tuple[Any, ComplianceService], clock: FakeClock,
) -> None:
    client, service = setup
    assert client.get("/metrics").status_code == 401
    empty = client.get("/metrics", headers=AUTH)
    assert empty.status_code == 200
    assert empty.content_type.startswith("text/plain; version=0.0.4")
    values = _families(empty.get_data(as_text=True))
    assert values["hoster_compliance_orders_open"][
        (("kind", "own_initiative"), ("regime", "EU_TCO"))] == 0
    assert "hoster_compliance_oldest_open_deadline_timestamp_seconds" not in values
    for order_id, regime in (("a", "NL_ATKM"), ("b", "NL_ATKM"), ("t", "EU_TCO"),
                             ("o", "OTHER")):
        assert post(client, clock, envelope(order_data(order_id, regime=regime))).status_code \
            == 201
    assert post(client, clock, envelope(order_data("n", kind="notice", regime="NL_NTD")),
                url="/v1/webhooks/offlimits", secret=OFFLIMITS_SECRET).status_code == 201
    client.post("/v1/orders/nl-atkm/b/action", json={"action": "removed"}, headers=AUTH)
    clock.advance(hours=2)                          # the TCO order is overdue
    values = _families(client.get("/metrics", headers=AUTH).get_data(as_text=True))
    open_ = values["hoster_compliance_orders_open"]
    assert open_[(("kind", "order"), ("regime", "NL_ATKM"))] == 1
    assert open_[(("kind", "order"), ("regime", "EU_TCO"))] == 1
    assert open_[(("kind", "notice"), ("regime", "NL_NTD"))] == 1
    overdue = values["hoster_compliance_orders_overdue"]
    assert overdue[(("kind", "order"), ("regime", "EU_TCO"))] == 1
    assert sum(overdue.values()) == 1
    assert values["hoster_compliance_oldest_open_deadline_timestamp_seconds"][()] == (
        clock.now.timestamp() - 3600)             # the TCO order's deadline, 1 h after receipt
    received = values["hoster_compliance_orders_received_total"]
    assert received == {(("issuer_id", "nl-atkm"), ("kind", "order")): 4,
                        (("issuer_id", "offlimits"), ("kind", "notice")): 1}
    assert values["hoster_compliance_deliveries"] == {
        (("state", "pending"),): 6, (("state", "delivered"),): 0, (("state", "failed"),): 0}
    assert values["hoster_compliance_alerts"][(("state", "pending"),)] == 5


def test_metrics_public_needs_no_token(
    db_url: str, fake_issuer: CallbackServer, clock: FakeClock, hook: HookSink,
) -> None:
    app, service = _app(db_url, fake_issuer, clock, hook, metrics_public=True)
    try:
        answer = app.test_client().get("/metrics")
        assert answer.status_code == 200
        assert "hoster_compliance_alerts" in answer.get_data(as_text=True)
        assert app.test_client().get("/v1/alerts").status_code == 401  # only /metrics
    finally:
        service.engine.dispose()
