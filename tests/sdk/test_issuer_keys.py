"""The issuer side of v1a: fetching and checking a hoster's published key list (outbound HTTP
mocked by responses), and verifying callbacks with the keys."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import responses

from hoster_compliance import errors
from hoster_compliance.issuer import (
    KEYS_PATH,
    CallbackServer,
    IssuerSender,
    fetch_public_keys,
    parse_key_list,
    verify_callback,
)
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing

HOSTER = "https://hoster.example"
URL = HOSTER + KEYS_PATH
KEY, PUBLIC = ed25519.generate_key_pair()
ENTRY = ed25519.key_entry(ed25519.parse_public_key(PUBLIC))


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


def test_the_published_keys_are_fetched(mock: responses.RequestsMock) -> None:
    other = ed25519.key_entry(ed25519.parse_public_key(ed25519.generate_key_pair()[1]))
    future = {"kid": "0123456789abcdef", "alg": "ml-dsa-65", "public_key": "whpk_..."}
    mock.get(URL, json={"keys": [ENTRY, future, other]})
    found = fetch_public_keys(HOSTER + "/")
    # An algorithm this issuer does not know is skipped, not an error.
    assert [ed25519.public_key_text(k) for k in found] == [PUBLIC, other["public_key"]]


@pytest.mark.parametrize(("answer", "problem"), [
    ({"status": 404, "json": {"error": "not_found"}}, "answered HTTP 404"),
    ({"status": 302, "headers": {"Location": "https://evil.example/keys"}}, "answered HTTP 302"),
    ({"body": "<html>"}, "not JSON"),
    ({"body": b"[" * (64 * 1024 + 1)}, "larger than 65536 bytes"),
    ({"body": requests.ConnectionError("refused")}, "ConnectionError"),
])
def test_keys_that_cannot_be_fetched_are_keys_unavailable(
    mock: responses.RequestsMock, answer: dict[str, object], problem: str
) -> None:
    mock.get(URL, **answer)  # type: ignore[arg-type]
    with pytest.raises(errors.KeysUnavailable) as caught:
        fetch_public_keys(HOSTER)
    assert problem in caught.value.message and caught.value.code == "keys_unavailable"


@pytest.mark.parametrize(("document", "problem"), [
    ([ENTRY], 'not {"keys": [...]}'),
    ({"keys": {"a": ENTRY}}, 'not {"keys": [...]}'),
    ({"keys": ["whpk_x"]}, "keys[0] is not an object"),
    ({"keys": [{**ENTRY, "kid": "0000000000000000"}]}, "keys[0].kid is not the key's id"),
    ({"keys": [ENTRY, {**ENTRY, "public_key": KEY}]}, "keys[1].public_key is a private"),
    ({"keys": [{**ENTRY, "public_key": None}]}, "keys[0].public_key must be a string"),
])
def test_a_malformed_key_list_is_refused_whole(document: object, problem: str) -> None:
    with pytest.raises(errors.InvalidPayload) as caught:
        parse_key_list(document)
    assert problem in caught.value.message
    assert KEY[5:] not in caught.value.message


def test_verify_callback_with_the_hosters_public_keys() -> None:
    body = json.dumps({"type": "order.acknowledged", "data": {"order_id": "o-1"}}).encode()
    headers = signing.signature_headers(None, "msg_cb", body, timestamp=1_700_000_000,
                                        signing_keys=[KEY])
    assert verify_callback(None, headers, body, now=1_700_000_000,
                           public_keys=PUBLIC)["data"] == {"order_id": "o-1"}
    with pytest.raises(errors.InvalidSignature):
        verify_callback(None, headers, body, now=1_700_000_000,
                        public_keys=[ed25519.generate_key_pair()[1]])
    with pytest.raises(errors.InvalidSignature):  # a v1a token means nothing to a v1-only issuer
        verify_callback(signing.new_secret(), headers, body, now=1_700_000_000)


def test_the_issuer_tools_need_something_to_sign_or_verify_with() -> None:
    with pytest.raises(ValueError):
        CallbackServer()
    with pytest.raises(ValueError):
        IssuerSender("http://127.0.0.1:1", "i")
    with pytest.raises(ValueError):
        IssuerSender("http://127.0.0.1:1", "i", signing_keys=PUBLIC)  # a public key cannot sign
