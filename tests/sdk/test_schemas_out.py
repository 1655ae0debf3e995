"""Output schemas: the exact key sets of PROTOCOL 7.3, ``null`` where none, times with ``Z``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hoster_compliance.protocol import schemas_in as schemas

CET = timezone(timedelta(hours=1))
AT = datetime(2026, 11, 22, 10, 30, 0, 500000, tzinfo=CET)

ITEM_KEYS = {"item_id", "url", "content_hash", "note", "action", "acted_at", "reason", "basis",
             "automated", "preserve_until"}
DELIVERY_KEYS = {"id", "issuer_id", "order_id", "type", "state", "attempts", "webhook_id",
                 "next_attempt_at", "last_status", "last_error", "delivered_at"}
EVENT_KEYS = {"at", "type", "actor", "detail"}
SUMMARY_KEYS = {"issuer_id", "order_id", "kind", "regime", "category", "subcategory", "status",
                "received_at", "deadline", "overdue", "acknowledged_at", "effect_given_at",
                "items_total", "items_resolved"}
DATA_KEYS = {"order_id", "kind", "regime", "legal_basis", "statement_of_reasons", "category",
             "subcategory", "subcategory_other", "issued_at", "deadline", "items",
             "territorial_scope", "redress", "confidential", "preserve_for_days",
             "trusted_flagger", "issuer_member_state"}


def test_key_sets_are_protocols() -> None:
    assert set(schemas.ItemOutSchema().fields) == ITEM_KEYS
    assert set(schemas.DeliverySchema().fields) == DELIVERY_KEYS
    assert set(schemas.EventSchema().fields) == EVENT_KEYS
    assert set(schemas.OrderSummarySchema().fields) == SUMMARY_KEYS
    assert set(schemas.OrderDetailSchema().fields) == (
        SUMMARY_KEYS | DATA_KEYS | {"deliveries", "events", "events_total", "completed_at",
                                     "withdrawn_at", "notifier"}
    )
    # Every field an issuer may send is shown back in the detail.
    assert set(schemas.OrderCreatedSchema().fields) <= set(schemas.OrderDetailSchema().fields)


def test_item_without_action_has_every_key_null_where_none() -> None:
    dumped = schemas.ItemOutSchema().dump({"item_id": "1", "url": "https://e.example/"})
    assert dumped == {"item_id": "1", "url": "https://e.example/", "content_hash": None,
                      "note": None, "action": None, "acted_at": None, "reason": None,
                      "basis": None, "automated": None, "preserve_until": None}


def test_item_with_action_writes_times_in_utc_with_z() -> None:
    @dataclass
    class Item:
        item_id: str
        url: str
        content_hash: dict[str, str] | None
        note: str | None
        action: str
        acted_at: datetime
        reason: str | None
        basis: str
        automated: bool
        preserve_until: datetime | None

    item = Item("1", "https://e.example/", {"algorithm": "md5", "value": "f" * 32}, None,
                "removed", AT, None, "law", False, AT + timedelta(days=180))
    dumped = schemas.ItemOutSchema().dump(item)
    assert dumped["acted_at"] == "2026-11-22T09:30:00.5Z"
    assert dumped["preserve_until"] == "2027-05-21T09:30:00.5Z"
    assert dumped["content_hash"] == {"algorithm": "md5", "value": "f" * 32}
    assert dumped["automated"] is False and dumped["note"] is None


def test_delivery_and_event() -> None:
    delivery = schemas.DeliverySchema().dump({
        "id": 7, "issuer_id": "atkm", "order_id": "o-1", "type": "order.acknowledged",
        "state": "pending", "attempts": 0, "webhook_id": "msg_1",
        "next_attempt_at": datetime(2026, 1, 1, tzinfo=UTC),
    })
    assert set(delivery) == DELIVERY_KEYS
    assert delivery["next_attempt_at"] == "2026-01-01T00:00:00Z"
    assert delivery["delivered_at"] is None and delivery["last_status"] is None
    event = schemas.EventSchema().dump({"at": AT, "type": "received", "actor": "issuer:atkm",
                                        "detail": {"items": 1}})
    assert event == {"at": "2026-11-22T09:30:00.5Z", "type": "received",
                     "actor": "issuer:atkm", "detail": {"items": 1}}


def test_error_body() -> None:
    assert schemas.ErrorSchema().dump({"error": "conflict", "message": "m"}) == {
        "error": "conflict", "message": "m"
    }
    fields = {"items": {"3": {"url": ["Not a valid URL."]}}}
    dumped = schemas.ErrorSchema().dump({"error": "invalid_payload", "message": "m",
                                         "fields": fields})
    assert dumped["fields"] == fields


def test_list_and_answer_shapes() -> None:
    assert schemas.OrderListSchema().dump({"orders": []}) == {"orders": [], "next_cursor": None}
    assert schemas.DeliveryListSchema().dump({"deliveries": []}) == {"deliveries": []}
    accepted = schemas.WebhookAcceptedSchema().dump(
        {"order_id": "o-1", "status": "open", "received_at": AT, "duplicate": False}
    )
    assert accepted == {"order_id": "o-1", "status": "open",
                        "received_at": "2026-11-22T09:30:00.5Z", "deadline": None,
                        "duplicate": False}
    assert schemas.OrderActionResultSchema().dump({"order_id": "o-1", "items": []}) == {
        "order_id": "o-1", "items": []
    }
