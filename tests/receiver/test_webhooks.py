"""POST /v1/webhooks/<issuer_id>: every answer of PROTOCOL 2.3, in the order 2.3 fixes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.store.tables import deliveries, events, items, orders
from tests.helpers import ISSUER_SECRET, OFFLIMITS_SECRET, OLD_SECRET, FakeClock, order_data
from tests.helpers.webhooks import URL, envelope, post, signed


def test_new_order_is_stored_and_answered_201(client: Any, clock: FakeClock, service: Any) -> None:
    response = post(client, clock, envelope(order_data()))
    assert response.status_code == 201
    assert response.json == {
        "order_id": "ord-1", "status": "open", "received_at": "2026-11-22T09:00:00Z",
        "deadline": "2026-11-22T21:00:00Z", "duplicate": False,
    }
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(items)).scalar() == 2
        ack = conn.execute(sa.select(deliveries)).one()
        received = conn.execute(sa.select(events)).one()
    assert ack.type == "order.acknowledged" and ack.state == "pending"
    assert ack.path == "/v1/orders/ord-1/acknowledgement"
    assert json.loads(ack.body)["data"] == {
        "order_id": "ord-1", "hoster_id": "example-hosting", "received_at": "2026-11-22T09:00:00Z",
        # the audit witness: the trail's newest event, this order's receipt
        "audit": {"seq": received.id, "hash": received.hash},
    }
    assert received.type == "received"


def test_old_secret_still_accepted_during_rotation(client: Any, clock: FakeClock) -> None:
    assert post(client, clock, envelope(order_data()), secret=OLD_SECRET).status_code == 201


def test_redelivery_with_same_data_is_200_duplicate(client: Any, clock: FakeClock) -> None:
    first = post(client, clock, envelope(order_data()))
    clock.advance(minutes=5)
    # Same data with other key order and white space: still the same order.
    data = dict(reversed(list(order_data().items())))
    raw = json.dumps(envelope(data), indent=3).encode()
    again = post(client, clock, None, raw=raw)
    assert again.status_code == 200
    assert again.json == {**first.json, "duplicate": True}


def test_default_value_sent_explicitly_is_different_data(client: Any, clock: FakeClock) -> None:
    assert post(client, clock, envelope(order_data())).status_code == 201
    response = post(client, clock, envelope(order_data(confidential=False)))
    assert response.status_code == 409
    assert response.json["error"] == "conflict"


def test_withdrawal_then_duplicate_shows_withdrawn(client: Any, clock: FakeClock) -> None:
    post(client, clock, envelope(order_data()))
    response = post(client, clock, envelope({"order_id": "ord-1", "reason": "mistake"},
                                            "order.withdrawn"))
    assert response.status_code == 200
    assert response.json == {"order_id": "ord-1", "status": "withdrawn"}
    again = post(client, clock, envelope({"order_id": "ord-1"}, "order.withdrawn"))
    assert again.status_code == 200
    dup = post(client, clock, envelope(order_data()))
    assert dup.status_code == 200 and dup.json["status"] == "withdrawn"


def test_withdrawing_unknown_order_is_404(client: Any, clock: FakeClock) -> None:
    response = post(client, clock, envelope({"order_id": "nope"}, "order.withdrawn"))
    assert response.status_code == 404 and response.json["error"] == "unknown_order"


def test_regime_default_comes_from_issuer_and_explicit_deadline_wins(
    client: Any, clock: FakeClock
) -> None:
    data = order_data(kind="notice", deadline="2026-11-22T10:30:00+01:00")
    for key in ("regime", "legal_basis", "statement_of_reasons", "category"):
        data.pop(key)
    response = post(client, clock, envelope(data), url="/v1/webhooks/offlimits",
                    secret=OFFLIMITS_SECRET)
    assert response.status_code == 201
    assert response.json["deadline"] == "2026-11-22T09:30:00Z"


def test_past_deadline_is_accepted_and_overdue_at_once(
    client: Any, clock: FakeClock, service: Any
) -> None:
    assert post(client, clock, envelope(order_data(deadline="2026-11-22T08:00:00Z"))
                ).status_code == 201
    with service.engine.connect() as conn:
        row = conn.execute(sa.select(orders)).one()
    assert row.deadline < row.received_at


@pytest.mark.parametrize(
    ("url", "content_type", "size", "expected_status", "code"),
    [
        ("/v1/webhooks/unknown", "text/plain", 10, 404, "unknown_issuer"),
        (URL, "text/plain", 10, 415, "unsupported_media_type"),
        (URL, None, 10, 415, "unsupported_media_type"),
        (URL, "application/json; charset=latin-1", 10, 415, "unsupported_media_type"),
        (URL, "application/json", 1_048_577, 413, "payload_too_large"),
    ],
)
def test_checks_before_signature_in_protocol_order(
    client: Any, url: str, content_type: str | None, size: int, expected_status: int, code: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post(url, data=b"x" * size, headers=headers)
    assert response.status_code == expected_status
    assert response.json["error"] == code


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: h.pop("webhook-signature"), "missing_signature"),
        (lambda h: h.pop("webhook-id"), "missing_signature"),
        (lambda h: h.update({"webhook-timestamp": ""}), "missing_signature"),
        (lambda h: h.update({"webhook-timestamp": "12.5"}), "missing_signature"),
        (lambda h: h.update({"webhook-timestamp": "1000"}), "timestamp_out_of_tolerance"),
        (lambda h: h.update({"webhook-signature": "v1,AAAA v2,zzz garbage"}), "invalid_signature"),
        (lambda h: h.update({"webhook-id": "msg_other"}), "invalid_signature"),
    ],
)
def test_signature_failures_are_401(client: Any, clock: FakeClock, mutate: Any, code: str) -> None:
    body, headers = signed(clock, envelope(order_data()))
    mutate(headers)
    response = client.post(URL, data=body, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == code
    assert ISSUER_SECRET not in response.get_data(as_text=True)


def test_timestamp_tolerance_boundary(client: Any, clock: FakeClock) -> None:
    body, headers = signed(clock, envelope(order_data()))
    clock.advance(seconds=300)
    assert client.post(URL, data=body, headers=headers).status_code == 201
    body, headers = signed(clock, envelope(order_data("ord-2")))
    clock.advance(seconds=301)
    assert client.post(URL, data=body, headers=headers).json["error"] == \
        "timestamp_out_of_tolerance"


def test_tampered_body_is_401_before_parsing(client: Any, clock: FakeClock) -> None:
    body, headers = signed(clock, envelope(order_data()))
    response = client.post(URL, data=body.replace(b"ord-1", b"ord-2"), headers=headers)
    assert response.status_code == 401 and response.json["error"] == "invalid_signature"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b'{"type": NaN}', "invalid_json"),
        (b"[]", "invalid_payload"),
        (b'{"type": "order.created", "timestamp": "2026-11-22T09:00:00Z"}', "invalid_payload"),
        (b'{"type": "order.created", "timestamp": "2026-11-22T09:00:00Z", "data": {}, "x": 1}',
         "invalid_payload"),
        (b'{"type": "order.deleted", "timestamp": "2026-11-22T09:00:00Z", "data": {}}',
         "unknown_type"),
    ],
)
def test_bad_bodies_are_400(client: Any, clock: FakeClock, raw: bytes, code: str) -> None:
    body, headers = signed(clock, None, raw=raw)
    response = client.post(URL, data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == code


def test_field_errors_use_nested_shape(client: Any, clock: FakeClock) -> None:
    data = order_data()
    data["items"] = data["items"] + [{"item_id": "i3", "url": "not a url"}]
    response = post(client, clock, envelope(data))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_payload"
    assert list(response.json["fields"]["items"]["2"]) == ["url"]


def test_nul_in_any_string_is_invalid_payload(client: Any, clock: FakeClock) -> None:
    response = post(client, clock, envelope(order_data(statement_of_reasons="a\u0000b")))
    assert response.status_code == 400 and response.json["error"] == "invalid_payload"


def test_nothing_is_stored_for_rejected_requests(
    client: Any, clock: FakeClock, service: Any
) -> None:
    post(client, clock, envelope(order_data(items=[])))
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 0
