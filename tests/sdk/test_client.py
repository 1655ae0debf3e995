"""CallbackClient: one signed attempt, reported and never raised (transport mocked by responses)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import responses
from standardwebhooks.webhooks import Webhook

from hoster_compliance.delivery.client import AttemptResult, CallbackClient
from hoster_compliance.protocol import signing

URL = "https://issuer.example/api/v1/orders/o-1/acknowledgement"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"type": "order.acknowledged", "data": {"order_id": "o-1"}}).encode()


@pytest.fixture
def client() -> Iterator[CallbackClient]:
    with CallbackClient() as callback_client:
        yield callback_client


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


def send(client: CallbackClient, **overrides: object) -> AttemptResult:
    arguments: dict[str, object] = {
        "webhook_id": "msg_1", "body": BODY, "signer": signing.Signer(secrets=(SECRET,)),
        "timeout": 15.0,
    }
    arguments.update(overrides)
    return client.send(URL, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [200, 202, 204, 400, 404, 408, 429, 500, 503])
def test_the_status_is_passed_through(
    client: CallbackClient, mock: responses.RequestsMock, status: int
) -> None:
    mock.post(URL, status=status)
    result = send(client)
    assert result.status == status
    assert result.error is None
    assert result.elapsed_ms >= 0


def test_the_request_is_signed_json_with_the_raw_body(
    client: CallbackClient, mock: responses.RequestsMock
) -> None:
    mock.post(URL, status=200)
    send(client, now=lambda: 1_700_000_000.9)
    request = mock.calls[0].request
    assert request.body == BODY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["webhook-timestamp"] == "1700000000"
    assert signing.verify([SECRET], request.headers, BODY, now=1_700_000_000) == "msg_1"


def test_the_signature_verifies_with_standardwebhooks(
    client: CallbackClient, mock: responses.RequestsMock
) -> None:
    mock.post(URL, status=200)
    send(client)  # the real clock: standardwebhooks checks against its own
    request = mock.calls[0].request
    assert Webhook(SECRET).verify(request.body, dict(request.headers)) == json.loads(BODY)


def test_each_attempt_is_signed_afresh_with_the_same_id(
    client: CallbackClient, mock: responses.RequestsMock
) -> None:
    mock.post(URL, status=503)
    mock.post(URL, status=200)
    clock = iter([1_700_000_000.0, 1_700_000_060.0])
    first = send(client, now=lambda: next(clock))
    second = send(client, now=lambda: next(clock))
    assert (first.status, second.status) == (503, 200)
    one, two = (call.request.headers for call in mock.calls)
    assert one["webhook-id"] == two["webhook-id"] == "msg_1"
    assert (one["webhook-timestamp"], two["webhook-timestamp"]) == ("1700000000", "1700000060")
    assert one["webhook-signature"] != two["webhook-signature"]
    assert signing.verify([SECRET], two, BODY, now=1_700_000_060) == "msg_1"


def test_the_timeout_is_passed_to_requests(
    client: CallbackClient, mock: responses.RequestsMock
) -> None:
    mock.post(URL, status=200)
    send(client, timeout=2.5)
    assert mock.calls[0].request.req_kwargs["timeout"] == 2.5


def test_a_timeout_is_reported_not_raised(
    client: CallbackClient, mock: responses.RequestsMock
) -> None:
    mock.post(URL, body=requests.ReadTimeout("read timed out"))
    result = send(client)
    assert result.status is None
    assert result.error is not None and "timeout" in result.error


def test_a_connection_error_is_reported_without_the_secret(
    client: CallbackClient, mock: responses.RequestsMock
) -> None:
    mock.post(URL, body=requests.ConnectionError(f"refused while sending {SECRET}"))
    result = send(client)
    assert result.status is None
    assert result.error is not None and "ConnectionError" in result.error
    assert SECRET not in result.error and SECRET[6:] not in result.error


def test_redirects_are_reported_not_followed(client: CallbackClient) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(URL, status=302, headers={"Location": "https://elsewhere.example/"})
        mock.post("https://elsewhere.example/", status=200)
        mock.get("https://elsewhere.example/", status=200)
        result = send(client)
        assert result.status == 302
        assert len(mock.calls) == 1


@pytest.mark.parametrize("value", ["120", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_retry_after_is_captured(
    client: CallbackClient, mock: responses.RequestsMock, value: str
) -> None:
    mock.post(URL, status=503, headers={"Retry-After": value})
    result = send(client)
    assert (result.status, result.retry_after) == (503, value)


def test_no_retry_after_is_none(client: CallbackClient, mock: responses.RequestsMock) -> None:
    mock.post(URL, status=500)
    assert send(client).retry_after is None


def test_a_bad_secret_is_reported_without_sending(client: CallbackClient) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(URL, status=200)
        result = send(client, signer=signing.Signer(secrets=("whsec_not base64!",)))
        assert result.status is None
        assert result.error is not None and "not base64" not in result.error
        assert len(mock.calls) == 0


def test_an_unusable_url_is_reported_not_raised(client: CallbackClient) -> None:
    result = client.send("not a url", webhook_id="m", body=b"{}",
                         signer=signing.Signer(secrets=(SECRET,)), timeout=1)
    assert result.status is None and result.error


def test_a_session_given_is_used_and_left_open() -> None:
    session = requests.Session()
    with responses.RequestsMock() as mock:
        mock.post(URL, status=201)
        client = CallbackClient(session)
        assert send(client).status == 201
        client.close()
        assert session.adapters  # still usable: the caller closes what it owns
    session.close()
