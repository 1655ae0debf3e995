"""The callback messages (protocol/callbacks.py): PROTOCOL 3's bodies, paths and ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hoster_compliance.protocol import callbacks

T = datetime(2026, 11, 22, 9, 0, 0, 250000, tzinfo=UTC)


def test_acknowledgement() -> None:
    ack = callbacks.acknowledgement("2026/0001 x", "example-hosting", T)
    assert ack.type == "order.acknowledged"
    assert ack.path == "/v1/orders/2026%2F0001%20x/acknowledgement"
    assert ack.body == {
        "type": "order.acknowledged", "timestamp": "2026-11-22T09:00:00.25Z",
        "data": {"order_id": "2026/0001 x", "hoster_id": "example-hosting",
                 "received_at": "2026-11-22T09:00:00.25Z"},
    }
    again = callbacks.acknowledgement("2026/0001 x", "example-hosting", T)
    assert ack.webhook_id.startswith("msg_") and again.webhook_id != ack.webhook_id


def test_outcome_lists_reason_only_where_given() -> None:
    items = [callbacks.OutcomeItem("i1", "https://e.example/1", "removed", T),
             callbacks.OutcomeItem("i2", "https://e.example/2", "refused",
                                   T + timedelta(hours=1), "manifest error")]
    out = callbacks.outcome("o-1", "h", received_at=T - timedelta(hours=2),
                            completed_at=T + timedelta(hours=1), items=items,
                            now=T + timedelta(hours=3))
    assert out.path == "/v1/orders/o-1/outcome"
    assert out.body == {
        "type": "order.outcome", "timestamp": "2026-11-22T12:00:00.25Z",
        "data": {"order_id": "o-1", "hoster_id": "h", "received_at": "2026-11-22T07:00:00.25Z",
                 "completed_at": "2026-11-22T10:00:00.25Z", "items": [
                     {"item_id": "i1", "url": "https://e.example/1", "action": "removed",
                      "acted_at": "2026-11-22T09:00:00.25Z"},
                     {"item_id": "i2", "url": "https://e.example/2", "action": "refused",
                      "acted_at": "2026-11-22T10:00:00.25Z", "reason": "manifest error"}]},
    }


def test_what_a_delivery_records() -> None:
    assert callbacks.on_delivered("order.acknowledged") == callbacks.OnDelivered(
        "acknowledged", "acknowledged_at")
    assert callbacks.on_delivered("order.outcome") == callbacks.OnDelivered("outcome_delivered")
    assert callbacks.on_delivered("something.else").order_time_column is None
    assert callbacks.GIVE_UP_AFTER == timedelta(hours=72)
