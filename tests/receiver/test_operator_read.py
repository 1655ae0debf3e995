"""Operator API, read side (PROTOCOL 7.3): listings, filters, paging, order detail."""

from __future__ import annotations

from typing import Any

import pytest

from hoster_compliance.service import ComplianceService
from tests.helpers import AUTH, FakeClock, order_data
from tests.helpers.webhooks import receive


@pytest.fixture
def three_orders(service: ComplianceService, clock: FakeClock, sender_for: Any) -> None:
    """ord-late (NL_ATKM, 12 h), ord-none (OTHER: no deadline), ord-soon (EU_TCO, 1 h) and a
    notice from Offlimits (24 h)."""
    receive(service, clock, sender_for, order_id="ord-late")
    clock.advance(minutes=1)
    receive(service, clock, sender_for, order_id="ord-none", regime="OTHER")
    clock.advance(minutes=1)
    receive(service, clock, sender_for, order_id="ord-soon", regime="EU_TCO")
    clock.advance(minutes=1)
    notice = order_data("note-1", kind="notice", trusted_flagger=True)
    for key in ("regime", "legal_basis", "statement_of_reasons", "category"):
        notice.pop(key)
    receive(service, clock, sender_for, issuer="offlimits", **notice)


def ids(response: Any) -> list[str]:
    return [o["order_id"] for o in response.json["orders"]]


def test_listing_is_deadline_first_then_no_deadline_last(client: Any, three_orders: None) -> None:
    response = client.get("/v1/orders", headers=AUTH)
    assert response.status_code == 200
    assert ids(response) == ["ord-soon", "ord-late", "note-1", "ord-none"]
    first = response.json["orders"][0]
    assert set(first) == {
        "issuer_id", "order_id", "kind", "regime", "category", "subcategory", "status",
        "received_at", "deadline", "overdue", "acknowledged_at", "effect_given_at",
        "items_total", "items_resolved"}
    assert first["deadline"] == "2026-11-22T10:02:00Z" and first["overdue"] is False
    assert response.json["next_cursor"] is None


def test_filters(client: Any, three_orders: None, clock: FakeClock) -> None:
    assert ids(client.get("/v1/orders?kind=notice", headers=AUTH)) == ["note-1"]
    assert ids(client.get("/v1/orders?issuer_id=offlimits", headers=AUTH)) == ["note-1"]
    assert ids(client.get("/v1/orders?issuer_id=not-configured", headers=AUTH)) == []
    assert ids(client.get("/v1/orders?status=completed", headers=AUTH)) == []
    assert ids(client.get("/v1/orders?status=overdue", headers=AUTH)) == []
    clock.advance(hours=2)
    overdue = client.get("/v1/orders?status=overdue", headers=AUTH)
    assert ids(overdue) == ["ord-soon"] and overdue.json["orders"][0]["overdue"] is True


def test_paging_with_cursor_visits_every_order_once(client: Any, three_orders: None) -> None:
    seen: list[str] = []
    url = "/v1/orders?limit=1"
    while True:
        page = client.get(url, headers=AUTH).json
        seen += [o["order_id"] for o in page["orders"]]
        if page["next_cursor"] is None:
            break
        url = f"/v1/orders?limit=1&cursor={page['next_cursor']}"
    assert seen == ["ord-soon", "ord-late", "note-1", "ord-none"]


@pytest.mark.parametrize(
    "query", ["status=bogus", "kind=both", "limit=0", "limit=501", "limit=abc", "limit=-1",
              "cursor=%%%", "cursor=WzEsMl0", "cursor=bm90IGpzb24", "colour=red"],
)
def test_bad_query_is_400_invalid_query(client: Any, query: str) -> None:
    response = client.get(f"/v1/orders?{query}", headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_query"


def test_order_detail_has_data_items_deliveries_events(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, issued_at="2026-11-22T09:55:00+01:00",
            preserve_for_days=180)
    detail = client.get("/v1/orders/nl-atkm/ord-1", headers=AUTH).json
    assert detail["legal_basis"].startswith("Wet bestuursrechtelijke")
    assert detail["issued_at"] == "2026-11-22T08:55:00Z"  # normalised to UTC with Z
    assert detail["status"] == "open" and detail["regime"] == "NL_ATKM"
    assert detail["preserve_for_days"] == 180
    assert [i["item_id"] for i in detail["items"]] == ["i1", "i2"]
    assert set(detail["items"][0]) == {"item_id", "url", "content_hash", "note", "action",
                                       "acted_at", "reason", "basis", "automated",
                                       "preserve_until"}
    assert [d["type"] for d in detail["deliveries"]] == ["order.acknowledged"]
    assert set(detail["deliveries"][0]) == {
        "id", "issuer_id", "order_id", "type", "state", "attempts", "webhook_id",
        "next_attempt_at", "last_status", "last_error", "delivered_at"}
    assert [e["type"] for e in detail["events"]] == ["received"]
    assert detail["events"][0]["actor"] == "issuer:nl-atkm"


def test_unknown_order_is_404(client: Any) -> None:
    response = client.get("/v1/orders/nl-atkm/nope", headers=AUTH)
    assert response.status_code == 404 and response.json["error"] == "unknown_order"


def test_deliveries_filter_and_bad_state(client: Any, three_orders: None) -> None:
    everything = client.get("/v1/deliveries", headers=AUTH).json["deliveries"]
    assert len(everything) == 4 and {d["state"] for d in everything} == {"pending"}
    assert client.get("/v1/deliveries?state=delivered", headers=AUTH).json["deliveries"] == []
    bad = client.get("/v1/deliveries?state=lost", headers=AUTH)
    assert bad.status_code == 400 and bad.json["error"] == "invalid_query"
    newest = client.get("/v1/deliveries?limit=2", headers=AUTH).json["deliveries"]
    assert [d["id"] for d in newest] == [d["id"] for d in everything[:2]]
    assert everything[0]["id"] > everything[1]["id"]  # newest first
    for limit in ("0", "5001", "x"):
        response = client.get(f"/v1/deliveries?limit={limit}", headers=AUTH)
        assert response.status_code == 400 and response.json["error"] == "invalid_query"


def test_healthz_needs_no_token(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
