"""What the fuzz tests share: PROTOCOL's error codes and the checks of an answer, signing with the
test issuer's secret, and hypothesis strategies for odd text and any JSON value."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import assume, currently_in_test_context, event, given
from hypothesis import strategies as st

from hoster_compliance.issuer import IssuerSender
from tests.helpers import ISSUER_SECRET, FakeClock

#: Every error code of PROTOCOL 2.3, 7.3 and 10 with its status.
PROTOCOL_ERRORS: dict[str, int] = {
    "unknown_issuer": 404, "unsupported_media_type": 415, "payload_too_large": 413,
    "missing_signature": 401, "invalid_signature": 401, "timestamp_out_of_tolerance": 401,
    "invalid_json": 400, "invalid_payload": 400, "unknown_type": 400, "unknown_order": 404,
    "conflict": 409, "unavailable": 503, "unauthorized": 401, "invalid_query": 400,
    "unknown_item": 404, "unknown_delivery": 404, "order_withdrawn": 409,
    "rate_limited": 429, "not_found": 404, "no_statement": 404,
}
WEBHOOK_ANSWER_KEYS = {"order_id", "status", "received_at", "deadline", "duplicate"}


def check_error_body(status: int, body: Any) -> None:
    """An error body of PROTOCOL 2.3 with a PROTOCOL code that belongs to ``status``."""
    assert isinstance(body, dict), body
    assert body.get("error") in PROTOCOL_ERRORS, body
    assert PROTOCOL_ERRORS[body["error"]] == status, (status, body)
    assert isinstance(body.get("message"), str) and body["message"], body
    assert set(body) <= {"error", "message", "fields"}, body
    if "fields" in body:
        assert isinstance(body["fields"], dict) and body["fields"], body
    assert "Traceback" not in json.dumps(body)


def check_webhook_answer(response: Any) -> None:
    """Never a 5xx (a 503 is storage, not input); JSON of the shape PROTOCOL 2.3 fixes."""
    body_or_none = response.get_json(silent=True)
    code = body_or_none.get("error") if isinstance(body_or_none, dict) else None
    if currently_in_test_context():  # --hypothesis-show-statistics shows the answers' spread
        event(f"{response.status_code} {code or ''}".strip())
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert ISSUER_SECRET not in response.get_data(as_text=True)
    if response.status_code >= 400:
        check_error_body(response.status_code, body)
    elif response.status_code == 201:
        assert set(body) == WEBHOOK_ANSWER_KEYS and body["duplicate"] is False, body
        assert body["status"] == "open"
    else:
        assert response.status_code == 200, response.status_code
        if set(body) == {"order_id", "status"}:
            assert body["status"] == "withdrawn"
        else:
            assert set(body) == WEBHOOK_ANSWER_KEYS and body["duplicate"] is True, body
            assert body["status"] in ("open", "completed", "withdrawn")


def sign(clock: FakeClock, body: bytes, msg_id: str = "msg_fuzz") -> dict[str, str]:
    sender = IssuerSender("http://unused", "nl-atkm", ISSUER_SECRET, clock=clock.timestamp)
    try:
        return sender.headers_for(body, msg_id=msg_id)
    finally:
        sender.close()


# -- strategies ------------------------------------------------------------------------------

class Raw:
    """JSON text put into a document as is (nesting deeper than ``json.dumps`` can write)."""

    def __init__(self, text: str) -> None:
        self.text = text


def dumps(doc: Any) -> bytes:
    """``json.dumps`` with ``Raw`` values spliced in; lone surrogates stay ``\\udXXX``."""
    raws: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {key: swap(child) for key, child in value.items()}
        if isinstance(value, list):
            return [swap(child) for child in value]
        return value

    text = json.dumps(swap(doc))
    for index, raw in enumerate(raws):
        text = text.replace(f'"@@raw{index}@@"', raw, 1)
    return text.encode("utf-8")


def weighted(*choices: tuple[st.SearchStrategy[Any], int]) -> st.SearchStrategy[Any]:
    """Pick a strategy by weight (``one_of`` flattens nested ``one_of``s, so it cannot)."""
    return st.sampled_from([s for s, weight in choices for _ in range(weight)]).flatmap(
        lambda s: s)


nasty_chars = st.sampled_from(["\x00", "\ud800", "\udfff", "\u2028", "\ufeff", "\u202e", "é",
                               "\U0001f600", "\\", '"', "\n", "\x7f", "\uffff"])
odd_text = st.one_of(
    st.text(),
    st.text(nasty_chars | st.characters(), min_size=1, max_size=20),
    # Any code point: NUL, controls, astral planes and lone surrogates (JSON's "\\ud800").
    st.text(st.characters(exclude_categories=()), min_size=1),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\ufeff", "\u202e",
                     "ord-1\n", "é" * 3, "0" * 5000, "https://", "http://[::1",
                     "2026-02-30T00:00:00Z", "2026-11-22T09:00:00", "9999-12-31T23:59:59-01:00",
                     "0001-01-01T00:00:00+01:00", "NaN", "true", "null", "KEYWORD_OTHER"]),
    st.integers(1, 300_000).map(lambda n: "x" * n),
)
deep = st.integers(2, 5000).flatmap(
    lambda n: st.sampled_from([Raw("[" * n + "]" * n), Raw('{"a":' * n + "1" + "}" * n)])
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), odd_text,
    st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw("1" * 5000), Raw("-0"), Raw("1.0")]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(odd_text, children,
                                                                      max_size=5),
    max_leaves=20,
) | deep


#: Message ids and Unix timestamps of signed webhooks (PROTOCOL 2.2).
MESSAGE_IDS = st.text(min_size=1, max_size=60).filter(lambda s: s.strip() != "")
TIMESTAMPS = st.integers(min_value=0, max_value=2**33)
#: What :func:`one_change` may change in a signed message.
SIGNED_PARTS = st.sampled_from(["id", "timestamp", "body", "signature"])
#: The arguments of a tampering property: a message, the part to change, and ``data`` to draw
#: the change from (:func:`one_change`).
given_a_change = given(msg_id=MESSAGE_IDS, timestamp=TIMESTAMPS, body=st.binary(max_size=200),
                       field=SIGNED_PARTS, data=st.data())


def one_change(
    field: str, data: st.DataObject, headers: dict[str, str], body: bytes, timestamp: int
) -> tuple[bytes, int]:
    """Change one ``field`` of a signed message (``headers`` in place): its id, its timestamp,
    its body, or one bit of its signature; returns the body and the time to verify at."""
    now = timestamp
    if field == "id":
        other = data.draw(MESSAGE_IDS)
        assume(other != headers["webhook-id"])
        headers["webhook-id"] = other
    elif field == "timestamp":
        now = data.draw(TIMESTAMPS.filter(lambda t: t != timestamp))
        headers["webhook-timestamp"] = str(now)
    elif field == "body":
        other_body = data.draw(st.binary(max_size=200))
        assume(other_body != body)
        body = other_body
    else:
        scheme, _, text = headers["webhook-signature"].partition(",")
        signature = bytearray(base64.b64decode(text))
        position = data.draw(st.integers(0, len(signature) - 1))
        signature[position] ^= 1 << data.draw(st.integers(0, 7))
        headers["webhook-signature"] = f"{scheme}," + base64.b64encode(bytes(signature)).decode()
    return body, now
