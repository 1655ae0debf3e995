"""Own-initiative entries through the service on both databases: stored like orders with no
callbacks, listed, run through automation, and ``reinstated`` with its rules."""

from __future__ import annotations

from typing import Any

import pytest

from hoster_compliance.automation import AutomationContext, AutomationRunner
from hoster_compliance.errors import Conflict, InvalidPayload
from hoster_compliance.orders.own_initiative import Finding
from hoster_compliance.service import ComplianceService
from tests.helpers import FakeClock
from tests.helpers.webhooks import envelope, post, receive

URL = "https://files.example-hosting.nl/"
FINDINGS = [Finding(URL + "a.jpg", "sha1", "a" * 40, "hash list known.txt"),
            Finding(URL + "b.jpg", "md5", "b" * 32, "the hash service")]


def test_an_entry_is_stored_listed_and_sends_nothing(own: ComplianceService,
                                                     clock: FakeClock) -> None:
    stored = own.record_own_initiative(FINDINGS)
    assert stored["items"] == 2 and stored["already_entered"] == 0
    listed = own.list_orders({"kind": "own_initiative"})["orders"]
    assert [o["order_id"] for o in listed] == [stored["order_id"]]
    detail = own.get_order("self", stored["order_id"])
    assert detail["deliveries"] == [] and detail["regime"] == "OTHER"
    assert detail["deadline"] == "2026-11-22T10:00:00Z"  # one hour after receipt
    assert [i["note"] for i in detail["items"]] == ["hash list known.txt", "the hash service"]
    assert [e["type"] for e in detail["events"]] == ["received"]
    assert detail["events"][0]["actor"] == "detection:scan"
    assert own.list_orders({"kind": "order"})["orders"] == []
    again = own.record_own_initiative(FINDINGS[:1])
    assert again == {"order_id": None, "items": 0, "already_entered": 1}


def test_automation_acts_and_completion_queues_no_outcome(own: ComplianceService) -> None:
    stored = own.record_own_initiative(FINDINGS)

    def quarantine(ctx: AutomationContext) -> None:
        if ctx.order["kind"] == "own_initiative":
            ctx.act(None, "disabled")

    assert AutomationRunner(own, [quarantine]).run_once() == 1
    detail = own.get_order("self", stored["order_id"])
    assert detail["status"] == "completed" and detail["effect_given_at"] is not None
    assert {i["action"] for i in detail["items"]} == {"disabled"}
    assert all(i["automated"] for i in detail["items"])
    assert detail["deliveries"] == [] and own.list_deliveries()["deliveries"] == []


def test_reinstated_follows_an_action_once(own: ComplianceService, clock: FakeClock) -> None:
    entry = own.record_own_initiative(FINDINGS)["order_id"]
    with pytest.raises(Conflict, match="no action that gave effect"):
        own.act("self", entry, "1", {"action": "reinstated", "reason": "x"}, actor="op")
    own.act("self", entry, "1", {"action": "removed"}, actor="op")
    with pytest.raises(InvalidPayload):
        own.act("self", entry, "1", {"action": "reinstated"}, actor="op")  # reason required
    with pytest.raises(InvalidPayload):
        own.act("self", entry, None, {"action": "reinstated", "reason": "x"}, actor="op")
    clock.advance(minutes=30)
    item = own.act("self", entry, "1", {"action": "reinstated",
                                        "reason": "a stock WordPress image"}, actor="op")
    assert (item["action"], item["reason"], item["acted_at"]) == (
        "reinstated", "a stock WordPress image", "2026-11-22T09:30:00Z")
    assert own.act("self", entry, "1", {"action": "reinstated", "reason": "again"},
                   actor="op")["reason"] == "a stock WordPress image"  # a no-op
    with pytest.raises(Conflict, match="was reinstated"):
        own.act("self", entry, "1", {"action": "removed"}, actor="op")
    detail = own.get_order("self", entry)
    assert detail["status"] == "open" and detail["items_resolved"] == 1
    reinstated = [e for e in detail["events"] if e["type"] == "reinstated"]
    assert [e["detail"]["undoes"] for e in reinstated] == ["removed"]
    own.act("self", entry, "2", {"action": "not_found"}, actor="op")
    assert own.get_order("self", entry)["status"] == "completed"


def test_orders_cannot_be_reinstated(service: ComplianceService, clock: FakeClock,
                                     sender_for: Any) -> None:
    receive(service, clock, sender_for, order_id="ord-r")
    service.act("nl-atkm", "ord-r", "i1", {"action": "removed"}, actor="op")
    with pytest.raises(Conflict, match="notices and own-initiative entries only"):
        service.act("nl-atkm", "ord-r", "i1", {"action": "reinstated", "reason": "x"},
                    actor="op")


def test_the_webhook_never_accepts_own_initiative(client: Any, clock: FakeClock) -> None:
    from tests.helpers import order_data

    response = post(client, clock, envelope(order_data(kind="own_initiative")))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_payload"
    assert "kind" in response.get_json()["fields"]
