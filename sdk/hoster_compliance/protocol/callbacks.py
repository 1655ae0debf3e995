"""The hoster's callbacks to an issuer (PROTOCOL 3), built in one place: each message's type,
path, ``webhook-id``, body and how long its delivery is tried, and what its delivery records.
The outbox stores and sends what is built here; it knows nothing of acknowledgements or
outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..timeutil import format_time
from ..vocabulary import (
    NOTICE_CONFIRMATION,
    NOTICE_DECISION,
    ORDER_ACKNOWLEDGED,
    ORDER_OUTCOME,
)

#: A callback is retried for this long after it was queued, then marked failed (PROTOCOL 3).
GIVE_UP_AFTER = timedelta(hours=72)


@dataclass(frozen=True)
class Callback:
    """One message to an issuer: ``path`` is appended to the issuer's ``api_base``; the same
    ``webhook_id`` goes out on every attempt."""

    type: str
    path: str
    webhook_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class OnDelivered:
    """What the issuer's 2xx to a callback records: an audit event, and the order's time
    column to stamp (once) with the delivery time, if any."""

    event: str
    order_time_column: str | None = None


#: The record of each callback type's delivery.
ON_DELIVERED: dict[str, OnDelivered] = {
    ORDER_ACKNOWLEDGED: OnDelivered("acknowledged", "acknowledged_at"),
    ORDER_OUTCOME: OnDelivered("outcome_delivered"),
    # The notifier's messages (PROTOCOL 10.2), sent from the same outbox.
    NOTICE_CONFIRMATION: OnDelivered("notifier_confirmed"),
    NOTICE_DECISION: OnDelivered("notifier_informed"),
}


def on_delivered(callback_type: str) -> OnDelivered:
    """What delivering a callback of this type records (an event named ``delivered`` for a
    type this module does not know)."""
    return ON_DELIVERED.get(callback_type, _DELIVERED)


_DELIVERED = OnDelivered("delivered")


def new_webhook_id() -> str:
    """A message id in the Standard Webhooks style, unique across all deliveries."""
    return "msg_" + uuid.uuid4().hex


def callback_path(order_id: str, what: str) -> str:
    """``/v1/orders/{order_id}/{what}``, the order id percent-encoded whole."""
    return f"/v1/orders/{quote(order_id, safe='')}/{what}"


def _envelope(type_: str, timestamp: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "timestamp": format_time(timestamp), "data": data}


def acknowledgement(order_id: str, hoster_id: str, received_at: datetime) -> Callback:
    """``order.acknowledged``, sent on receipt: its timestamp is the receipt time."""
    received = format_time(received_at)
    body = _envelope(ORDER_ACKNOWLEDGED, received_at,
                     {"order_id": order_id, "hoster_id": hoster_id, "received_at": received})
    return Callback(ORDER_ACKNOWLEDGED, callback_path(order_id, "acknowledgement"),
                    new_webhook_id(), body)


@dataclass(frozen=True)
class OutcomeItem:
    """One item as the outcome reports it."""

    item_id: str
    url: str
    action: str
    acted_at: datetime
    reason: str | None = None


def outcome(
    order_id: str,
    hoster_id: str,
    *,
    received_at: datetime,
    completed_at: datetime,
    items: Iterable[OutcomeItem],
    now: datetime,
) -> Callback:
    """``order.outcome``, sent when every item has an action; ``reason`` only where given."""
    listed = []
    for item in items:
        entry: dict[str, Any] = {"item_id": item.item_id, "url": item.url,
                                 "action": item.action, "acted_at": format_time(item.acted_at)}
        if item.reason:
            entry["reason"] = item.reason
        listed.append(entry)
    body = _envelope(ORDER_OUTCOME, now, {
        "order_id": order_id, "hoster_id": hoster_id, "received_at": format_time(received_at),
        "completed_at": format_time(completed_at), "items": listed,
    })
    return Callback(ORDER_OUTCOME, callback_path(order_id, "outcome"), new_webhook_id(), body)


def with_audit(callback: Callback, seq: int, hash: str) -> Callback:
    """``callback`` with the audit witness in its ``data`` (PROTOCOL 3): ``seq`` and ``hash`` of
    the newest event of the trail, read in the transaction that queues the callback."""
    data = {**callback.body["data"], "audit": {"seq": seq, "hash": hash}}
    return replace(callback, body={**callback.body, "data": data})
