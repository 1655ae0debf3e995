"""The issuer side over real loopback HTTP: CallbackServer receiving CallbackClient's callbacks,
IssuerSender's signed envelopes, and verify_callback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from hoster_compliance import errors
from hoster_compliance.delivery.client import CallbackClient
from hoster_compliance.issuer import CallbackServer, IssuerSender, verify_callback
from hoster_compliance.protocol import signing
from hoster_compliance.timeutil import parse_time

OLD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW = signing.new_secret()
BODY = json.dumps({"type": "order.acknowledged", "timestamp": "2026-01-01T00:00:00Z",
                   "data": {"order_id": "o-1", "hoster_id": "h"}}).encode()


@pytest.fixture
def client() -> Iterator[CallbackClient]:
    with CallbackClient() as callback_client:
        yield callback_client


def post(client: CallbackClient, server: CallbackServer, secret: str = NEW, path: str = "/v1/x",
         webhook_id: str = "msg_1"):
    return client.send(server.url + path, webhook_id=webhook_id, body=BODY,
                       signer=signing.Signer(secrets=(secret,)), timeout=5)


def test_a_signed_callback_is_verified_recorded_and_accepted(client: CallbackClient) -> None:
    with CallbackServer([OLD, NEW]) as server:
        result = post(client, server, path="/v1/orders/o-1/acknowledgement")
        assert result.status == 200
        (record,) = server.wait_for(1)
    assert record.verified and record.error is None and record.status == 200
    assert record.path == "/v1/orders/o-1/acknowledgement"
    assert record.webhook_id == "msg_1"
    assert record.body == BODY and record.payload == json.loads(BODY)
    assert {k.lower() for k in record.headers} >= {"webhook-id", "webhook-signature"}


def test_a_bad_signature_is_answered_401_and_recorded_unverified(client: CallbackClient) -> None:
    with CallbackServer([OLD], responses=[503]) as server:
        result = post(client, server, secret=NEW)
        assert result.status == 401
        # The plan was not consumed by the refused request.
        assert post(client, server, secret=OLD).status == 503
        records = server.received
    assert [(r.verified, r.error, r.status) for r in records] == [
        (False, "invalid_signature", 401), (True, None, 503)
    ]


def test_a_stale_callback_is_refused(client: CallbackClient) -> None:
    with CallbackServer([NEW], clock=lambda: 10_000.0) as server:
        result = client.send(server.url, webhook_id="m", body=BODY,
                             signer=signing.Signer(secrets=(NEW,)), timeout=5,
                             now=lambda: 10_301.0)
        assert result.status == 401
        assert server.received[0].error == "timestamp_out_of_tolerance"


def test_the_response_plan_is_followed_then_the_default(client: CallbackClient) -> None:
    with CallbackServer([NEW], responses=[503, (429, "7")]) as server:
        results = [post(client, server) for _ in range(3)]
        server.respond_with(500)
        results.append(post(client, server))
    assert [(r.status, r.retry_after) for r in results] == [
        (503, None), (429, "7"), (200, None), (500, None)
    ]


def test_a_redirect_answer_is_not_followed(client: CallbackClient) -> None:
    with CallbackServer([NEW], responses=[302]) as server:
        assert post(client, server).status == 302
        assert len(server.received) == 1


def test_wait_for_blocks_until_a_callback_arrives_from_another_thread(
    client: CallbackClient,
) -> None:
    with CallbackServer([NEW]) as server:
        sender = threading.Thread(
            target=lambda: [post(client, server, webhook_id=f"msg_{n}") for n in range(3)]
        )
        sender.start()
        records = server.wait_for(lambda got: any(r.webhook_id == "msg_2" for r in got))
        sender.join()
    assert [r.webhook_id for r in records] == ["msg_0", "msg_1", "msg_2"]
    assert records[0].received_at <= records[1].received_at <= records[2].received_at


def test_wait_for_times_out_with_a_timeout_error() -> None:
    with CallbackServer([NEW]) as server, pytest.raises(TimeoutError):
        server.wait_for(1, timeout=0.01)


def test_url_needs_a_started_server_and_stop_is_idempotent() -> None:
    server = CallbackServer(NEW)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    assert server.url.startswith("http://127.0.0.1:")
    server.stop()
    server.stop()


# -- IssuerSender ----------------------------------------------------------------------------


def test_issuer_sender_posts_a_signed_envelope(client: CallbackClient) -> None:
    with CallbackServer([OLD]) as server, IssuerSender(
        server.url + "/", "nl-atkm", OLD, clock=lambda: 1_700_000_000.5
    ) as sender:
        server.clock = lambda: 1_700_000_000.0
        response = sender.send_order({"order_id": "o-1"}, msg_id="msg_order")
        assert response.status_code == 200
        (record,) = server.received
    assert record.verified and record.path == "/v1/webhooks/nl-atkm"
    assert record.webhook_id == "msg_order"
    assert record.headers["Content-Type"] == "application/json"
    assert record.payload == {"type": "order.created", "timestamp": "2023-11-14T22:13:20Z",
                              "data": {"order_id": "o-1"}}
    assert parse_time(record.payload["timestamp"]).timestamp() == int(
        record.headers["webhook-timestamp"]
    )


def test_issuer_sender_signs_with_every_secret_during_rotation() -> None:
    with CallbackServer([OLD]) as old_only, IssuerSender(old_only.url, "i", [OLD, NEW]) as sender:
        assert sender.withdraw("o-1", "mistake").status_code == 200
        record = old_only.received[0]
    tokens = record.headers["webhook-signature"].split(" ")
    assert len(tokens) == 2
    assert signing.verify([NEW], record.headers, record.body, now=int(
        record.headers["webhook-timestamp"])) == record.webhook_id
    assert record.payload["type"] == "order.withdrawn"
    assert record.payload["data"] == {"order_id": "o-1", "reason": "mistake"}


def test_issuer_sender_redelivery_keeps_the_message_id_and_withdraw_without_reason() -> None:
    with CallbackServer([NEW]) as server, IssuerSender(server.url, "i", NEW) as sender:
        sender.withdraw("o-1", msg_id="msg_same")
        sender.withdraw("o-1", msg_id="msg_same")
        records = server.received
    assert [r.webhook_id for r in records] == ["msg_same", "msg_same"]
    assert records[0].payload["data"] == {"order_id": "o-1"}


def test_issuer_sender_send_raw_sends_exactly_what_it_is_given() -> None:
    with CallbackServer([NEW]) as server, IssuerSender(server.url, "i", NEW) as sender:
        response = sender.send_raw(b"{}", {"Content-Type": "application/json"})
        assert response.status_code == 401
        assert response.json()["error"] == "missing_signature"
        signed = sender.send_raw(b"[1]", sender.headers_for(b"[1]", msg_id="m"))
        assert signed.status_code == 200
        records = server.received
    assert [r.verified for r in records] == [False, True]
    assert records[1].payload == [1]


def test_issuer_sender_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        IssuerSender("http://127.0.0.1:1", "i", [])


# -- verify_callback -------------------------------------------------------------------------


def _signed(body: bytes, secret: str = NEW, ts: int = 1_700_000_000) -> dict[str, str]:
    return signing.signature_headers(secret, "msg_cb", body, timestamp=ts)


def test_verify_callback_returns_the_parsed_body() -> None:
    assert verify_callback([OLD, NEW], _signed(BODY), BODY, now=1_700_000_000) == json.loads(BODY)
    assert verify_callback(NEW, _signed(BODY), BODY, now=1_700_000_100) == json.loads(BODY)


def test_verify_callback_checks_the_signature_before_parsing() -> None:
    with pytest.raises(errors.InvalidSignature):
        verify_callback([OLD], _signed(b"not json"), b"not json", now=1_700_000_000)
    with pytest.raises(errors.TimestampOutOfTolerance):
        verify_callback([NEW], _signed(BODY), BODY, now=1_700_000_301)


@pytest.mark.parametrize(
    ("body", "error"),
    [(b"not json", errors.InvalidJson), (b"[" * 100_000, errors.InvalidJson),
     (b"\xff", errors.InvalidJson), (b"[1, 2]", errors.InvalidPayload)],
)
def test_verify_callback_refuses_a_body_that_is_not_a_json_object(
    body: bytes, error: type[errors.ComplianceError]
) -> None:
    with pytest.raises(error):
        verify_callback([NEW], _signed(body), body, now=1_700_000_000)
