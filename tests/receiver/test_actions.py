"""Recording actions (PROTOCOL 4) through the operator API, and the outcome callback (3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries, events
from tests.helpers import AUTH, FakeClock
from tests.helpers.webhooks import receive

ITEM = "/v1/orders/nl-atkm/ord-1/items/{}/action"
ORDER = "/v1/orders/nl-atkm/ord-1/action"


@pytest.fixture
def order(service: ComplianceService, clock: FakeClock, sender_for: Any) -> None:
    receive(service, clock, sender_for, preserve_for_days=180)
    clock.advance(minutes=30)


def outcome_rows(service: ComplianceService) -> list[Any]:
    with service.engine.connect() as conn:
        return list(conn.execute(
            sa.select(deliveries).where(deliveries.c.type == "order.outcome")))


def test_item_action_defaults_and_preservation(client: Any, order: None) -> None:
    response = client.post(ITEM.format("i1"), json={"action": "removed"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json == {
        "item_id": "i1", "url": "https://files.example-hosting.nl/u/1/a.jpg",
        "content_hash": None, "note": None, "action": "removed",
        "acted_at": "2026-11-22T09:30:00Z", "reason": None, "basis": "law",
        "automated": False, "preserve_until": "2027-05-21T09:30:00Z",
    }


def test_no_effect_action_has_no_preserve_until(client: Any, order: None) -> None:
    response = client.post(ITEM.format("i1"), json={"action": "not_found"}, headers=AUTH)
    assert response.json["preserve_until"] is None


def test_outcome_is_queued_when_last_item_acted_and_delivered_verified(
    client: Any, order: None, service: ComplianceService, worker: DeliveryWorker,
    fake_issuer: Any,
) -> None:
    client.post(ITEM.format("i1"), json={"action": "removed", "acted_at": "2026-11-22T09:10:00Z"},
                headers=AUTH)
    assert outcome_rows(service) == []
    client.post(ITEM.format("i2"), json={"action": "refused", "reason": "manifest error"},
                headers=AUTH)
    [row] = outcome_rows(service)
    assert row.path == "/v1/orders/ord-1/outcome"
    assert worker.run_once() == 2  # the acknowledgement and the outcome
    outcome = [c for c in fake_issuer.received if c.path.endswith("/outcome")][0]
    assert outcome.verified
    assert outcome.payload["type"] == "order.outcome"
    with service.engine.connect() as conn:
        completed = conn.execute(sa.select(events).where(events.c.type == "completed")).one()
    assert outcome.payload["data"] == {
        "order_id": "ord-1", "hoster_id": "example-hosting",
        "received_at": "2026-11-22T09:00:00Z", "completed_at": "2026-11-22T09:30:00Z",
        "audit": {"seq": completed.id, "hash": completed.hash},
        "items": [
            {"item_id": "i1", "url": "https://files.example-hosting.nl/u/1/a.jpg",
             "action": "removed", "acted_at": "2026-11-22T09:10:00Z"},
            {"item_id": "i2", "url": "https://files.example-hosting.nl/u/1/b.jpg",
             "action": "refused", "acted_at": "2026-11-22T09:30:00Z",
             "reason": "manifest error"},
        ],
    }
    detail = client.get("/v1/orders/nl-atkm/ord-1", headers=AUTH).json
    assert detail["status"] == "completed"
    assert detail["effect_given_at"] == "2026-11-22T09:10:00Z"
    assert detail["items_resolved"] == 2
    assert [e["type"] for e in detail["events"]] == [
        "received", "action", "action", "completed", "acknowledged", "outcome_delivered"]


def test_order_level_action_applies_to_open_items_only(
    client: Any, order: None, service: ComplianceService
) -> None:
    client.post(ITEM.format("i1"), json={"action": "not_hosted"}, headers=AUTH)
    response = client.post(ORDER, json={"action": "disabled", "automated": True}, headers=AUTH)
    assert response.status_code == 200
    assert response.json["order_id"] == "ord-1"
    assert [(i["item_id"], i["action"], i["automated"]) for i in response.json["items"]] == [
        ("i1", "not_hosted", False), ("i2", "disabled", True)]
    again = client.post(ORDER, json={"action": "removed"}, headers=AUTH)
    assert again.status_code == 200  # nothing left: a no-op
    assert [i["action"] for i in again.json["items"]] == ["not_hosted", "disabled"]
    assert len(outcome_rows(service)) == 1


def test_same_action_again_is_a_no_op_and_different_is_409(client: Any, order: None,
                                                            clock: FakeClock) -> None:
    first = client.post(ITEM.format("i1"), json={"action": "removed"}, headers=AUTH).json
    clock.advance(minutes=5)
    same = client.post(ITEM.format("i1"), json={"action": "removed"}, headers=AUTH)
    assert same.status_code == 200 and same.json == first  # keeps what was recorded
    other = client.post(ITEM.format("i1"), json={"action": "disabled"}, headers=AUTH)
    assert other.status_code == 409 and other.json["error"] == "conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "refused"}, "reason"),
        ({"action": "deleted"}, "action"),
        ({"action": "removed", "acted_at": "2026-11-22T09:30:06Z"}, "acted_at"),
        ({"action": "removed", "acted_at": "2026-11-22T08:59:59Z"}, "acted_at"),
        ({"action": "removed", "acted_at": "yesterday"}, "acted_at"),
        ({"action": "removed", "basis": "terms"}, "basis"),
        ({"action": "removed", "automated": "yes"}, "automated"),
        ({"action": "removed", "colour": "red"}, "colour"),
    ],
)
def test_invalid_actions_are_400_with_the_field(client: Any, order: None, body: dict[str, Any],
                                                field: str) -> None:
    response = client.post(ITEM.format("i1"), json=body, headers=AUTH)
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_payload"
    assert field in response.json["fields"]


def test_acted_at_within_clock_skew_is_accepted(client: Any, order: None) -> None:
    response = client.post(ITEM.format("i1"),
                           json={"action": "removed", "acted_at": "2026-11-22T09:30:05Z"},
                           headers=AUTH)
    assert response.status_code == 200


def test_terms_basis_is_allowed_on_notices(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, order_id="n1", kind="notice", regime="NL_NTD")
    response = client.post("/v1/orders/nl-atkm/n1/items/i1/action",
                           json={"action": "removed", "basis": "terms"}, headers=AUTH)
    assert response.status_code == 200 and response.json["basis"] == "terms"


def test_check_order_body_order_withdrawn_item(
    client: Any, order: None, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    bad_json = client.post(ITEM.format("i1"), data=b"{", headers={
        **AUTH, "Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json["error"] == "invalid_json"
    # body before order: a bad body on an unknown order is still 400
    assert client.post("/v1/orders/nl-atkm/nope/items/i1/action", json={"action": "x"},
                       headers=AUTH).status_code == 400
    assert client.post("/v1/orders/nl-atkm/nope/items/i1/action", json={"action": "removed"},
                       headers=AUTH).json["error"] == "unknown_order"
    assert client.post(ITEM.format("nope"), json={"action": "removed"},
                       headers=AUTH).json["error"] == "unknown_item"
    sender = sender_for("http://unused")
    body = sender.envelope("order.withdrawn", {"order_id": "ord-1"},
                           timestamp=int(clock.timestamp()))
    assert service.receive("nl-atkm", sender.headers_for(body), body).status == 200
    # withdrawn before item: even an unknown item on a withdrawn order is 409 order_withdrawn
    for path in (ITEM.format("i1"), ITEM.format("nope"), ORDER):
        response = client.post(path, json={"action": "removed"}, headers=AUTH)
        assert response.status_code == 409 and response.json["error"] == "order_withdrawn"
    assert outcome_rows(service) == []


def test_withdrawal_does_not_recall_a_queued_outcome(
    client: Any, order: None, service: ComplianceService, worker: DeliveryWorker,
    clock: FakeClock, sender_for: Any, fake_issuer: Any,
) -> None:
    client.post(ORDER, json={"action": "removed"}, headers=AUTH)
    sender = sender_for("http://unused")
    body = sender.envelope("order.withdrawn", {"order_id": "ord-1"},
                           timestamp=int(clock.timestamp()))
    service.receive("nl-atkm", sender.headers_for(body), body)
    worker.run_once()
    assert any(c.path.endswith("/outcome") for c in fake_issuer.received)
    detail = client.get("/v1/orders/nl-atkm/ord-1", headers=AUTH).json
    assert detail["status"] == "withdrawn"
    assert [i["action"] for i in detail["items"]] == ["removed", "removed"]  # nothing deleted


def test_item_ids_with_slashes_and_dots_are_routable(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, order_id="o.2",
            items=[{"item_id": "a:b.c", "url": "https://x.example/1"},
                   {"item_id": "dir/file", "url": "https://x.example/2"}])
    response = client.post("/v1/orders/nl-atkm/o.2/items/a:b.c/action",
                           json={"action": "removed"}, headers=AUTH)
    assert response.status_code == 200
    response = client.post("/v1/orders/nl-atkm/o.2/items/dir%2Ffile/action",
                           json={"action": "removed"}, headers=AUTH)
    assert response.status_code == 200 and response.json["item_id"] == "dir/file"
    with service.engine.connect() as conn:
        body = json.loads(conn.execute(sa.select(deliveries.c.body).where(
            deliveries.c.type == "order.outcome")).scalar_one())
    assert body["data"]["items"][0]["item_id"] == "a:b.c"
