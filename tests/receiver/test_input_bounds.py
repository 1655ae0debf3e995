"""PROTOCOL 13.2 at the receiver: operator bodies bounded, a cursor that does not decode,
redeliveries that cannot grow an order's trail without bound, the newest 1000 events with their
total, and log lines that outside text cannot forge."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder, run_wsgi_app

from hoster_compliance.protocol.limits import MAX_EVENTS_SHOWN, OPERATOR_MAX_BODY_BYTES
from hoster_compliance.store.audit import append_events, event_row
from hoster_compliance.store.tables import events, orders
from tests.helpers import AUTH, FakeClock, order_data
from tests.helpers.webhooks import envelope, post

ACTION_URL = "/v1/orders/nl-atkm/ord-1/items/i1/action"


def _duplicate_events(service: Any) -> int:
    with service.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(events)
                            .where(events.c.type == "duplicate_delivery")).scalar_one()


def test_operator_body_over_64_kib_is_413(client: Any, clock: FakeClock) -> None:
    assert post(client, clock, envelope(order_data())).status_code == 201
    body = json.dumps({"action": "refused", "reason": "r" * 1000,
                       "pad": "x" * OPERATOR_MAX_BODY_BYTES}).encode()
    response = client.post(ACTION_URL, data=body, headers=AUTH,
                           content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"] == "payload_too_large"


class _Endless(io.RawIOBase):
    """A request body of 8 MiB, handed over in pieces, counting what the server read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.read_bytes >= 8 * 1024 * 1024:
            return 0
        if self.read_bytes == 0:
            data = b'{"action": "removed", "pad": "'
            buffer[:len(data)] = data
        else:
            data = b"x" * len(buffer)
            buffer[:] = data
        self.read_bytes += len(data)
        return len(data)


def test_operator_body_without_length_is_read_no_further_than_64_kib(
    app: Any, client: Any, clock: FakeClock
) -> None:
    """A chunked body (no Content-Length; the server says where it ends) is read up to the
    limit and refused: the old code read it all (400 MiB -> 880 MB of memory)."""
    assert post(client, clock, envelope(order_data())).status_code == 201
    environ = EnvironBuilder(path=ACTION_URL, method="POST", headers=AUTH,
                             content_type="application/json").get_environ()
    endless = _Endless()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": endless, "wsgi.input_terminated": True,
                    "HTTP_TRANSFER_ENCODING": "chunked"})
    body, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413")
    assert json.loads(b"".join(body))["error"] == "payload_too_large"
    assert endless.read_bytes <= OPERATOR_MAX_BODY_BYTES + 64 * 1024


def test_operator_body_at_the_limit_is_read(client: Any, clock: FakeClock) -> None:
    assert post(client, clock, envelope(order_data())).status_code == 201
    head = b'{"action": "refused", "reason": "'
    tail = b'"}'
    body = head + b" " * 0 + b"r" * 2000 + tail
    body = body[:-2] + b'"' + b" " * (OPERATOR_MAX_BODY_BYTES - len(body)) + b"}"
    assert len(body) == OPERATOR_MAX_BODY_BYTES
    response = client.post(ACTION_URL, data=body, headers=AUTH, content_type="application/json")
    assert response.status_code == 200, response.json
    assert response.json["reason"] == "r" * 2000


def test_action_reason_over_2000_is_invalid_payload(client: Any, clock: FakeClock) -> None:
    assert post(client, clock, envelope(order_data())).status_code == 201
    response = client.post(ACTION_URL, json={"action": "refused", "reason": "r" * 2001},
                           headers=AUTH)
    assert response.status_code == 400
    assert response.json["fields"] == {"reason": ["Longer than maximum length 2000."]}


@pytest.mark.parametrize("cursor", ["[" * 1000, base64.urlsafe_b64encode(b"[" * 1000).decode()],
                         ids=["brackets", "base64-of-brackets"])
def test_a_cursor_of_brackets_is_invalid_query_not_500(client: Any, cursor: str) -> None:
    response = client.get("/v1/orders", query_string={"cursor": cursor}, headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_query"


def test_replays_record_one_duplicate_event_a_minute(
    client: Any, clock: FakeClock, service: Any
) -> None:
    assert post(client, clock, envelope(order_data())).status_code == 201
    for _ in range(50):  # replays of one request inside the tolerance window
        clock.advance(seconds=1)
        response = post(client, clock, envelope(order_data()))
        assert response.status_code == 200 and response.json["duplicate"] is True
    assert _duplicate_events(service) == 1  # seconds 1..50: one minute
    clock.advance(seconds=11)  # 61 s after the first duplicate event
    assert post(client, clock, envelope(order_data())).status_code == 200
    assert _duplicate_events(service) == 2
    detail = client.get("/v1/orders/nl-atkm/ord-1", headers=AUTH).json
    assert [e["type"] for e in detail["events"]] == [
        "received", "duplicate_delivery", "duplicate_delivery"]
    assert detail["events_total"] == 3


def test_order_detail_shows_the_newest_1000_events_and_the_total(
    client: Any, clock: FakeClock, service: Any
) -> None:
    assert post(client, clock, envelope(order_data())).status_code == 201
    with service.engine.begin() as conn:
        pk = conn.execute(sa.select(orders.c.id)).scalar_one()
        append_events(conn, [event_row(order_pk=pk, at=n, type="note", actor="test",
                                       detail={"n": n}) for n in range(1, 1201)])
    detail = client.get("/v1/orders/nl-atkm/ord-1", headers=AUTH).json
    assert detail["events_total"] == 1201
    assert len(detail["events"]) == MAX_EVENTS_SHOWN
    assert [e["detail"]["n"] for e in detail["events"]] == list(range(201, 1201))


def test_a_forged_log_line_in_the_issuer_id_is_escaped(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hoster_compliance"):
        response = client.post("/v1/webhooks/x%0A2026-11-22 09:00:00,000 INFO forged%00",
                               data=b"{}", content_type="application/json")
    assert response.status_code == 404
    messages = [record.getMessage() for record in caplog.records]
    assert any("x\\x0a2026-11-22 09:00:00,000 INFO forged\\x00" in m for m in messages)
    assert not any("\n" in m or "\x00" in m for m in messages)
