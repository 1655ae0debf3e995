"""Standard Webhooks v1: reference vectors, interop with the ``standardwebhooks`` package in both
directions, rotation, tolerance boundaries and the only errors verification may raise."""

from __future__ import annotations

import base64
import email.message
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.datastructures import EnvironHeaders, Headers

from hoster_compliance import errors
from hoster_compliance.protocol import signing
from tests.helpers.fuzz import MESSAGE_IDS, TIMESTAMPS, given_a_change, one_change

# The Standard Webhooks reference tests (libraries/python/tests of standard-webhooks).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# The reference "invalid signature": the expected one with its last base64 digit changed.
REFERENCE_BAD = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
REFERENCE_DECOY = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
OTHER = "whsec_" + base64.b64encode(b"another secret, 24 bytes").decode()

SIGNATURE_ERRORS = (errors.MissingSignature, errors.InvalidSignature,
                    errors.TimestampOutOfTolerance)

ids, timestamps = MESSAGE_IDS, TIMESTAMPS


def vector_headers(**changes: str) -> dict[str, str]:
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": EXPECTED}
    headers.update(changes)
    return headers


# -- reference vectors -----------------------------------------------------------------------


def test_sign_reproduces_the_protocol_vector() -> None:
    assert signing.sign(SECRET, MSG_ID, TS, BODY) == EXPECTED


def test_the_secret_prefix_is_optional() -> None:
    assert signing.sign(SECRET.removeprefix("whsec_"), MSG_ID, TS, BODY) == EXPECTED
    assert signing.verify([SECRET.removeprefix("whsec_")], vector_headers(), BODY, now=TS) == MSG_ID


def test_verify_accepts_the_protocol_vector_and_returns_the_id() -> None:
    assert signing.verify([SECRET], vector_headers(), BODY, now=TS) == MSG_ID
    assert signing.is_valid([SECRET], vector_headers(), BODY, now=TS)


def test_reference_invalid_signature_is_refused() -> None:
    with pytest.raises(errors.InvalidSignature):
        signing.verify([SECRET], vector_headers(**{"webhook-signature": REFERENCE_BAD}), BODY,
                       now=TS)
    assert not signing.is_valid(
        [SECRET], vector_headers(**{"webhook-signature": REFERENCE_BAD}), BODY, now=TS
    )


def test_reference_multi_signature_header_is_accepted() -> None:
    header = " ".join(
        [f"v1,{REFERENCE_DECOY}", f"v2,{REFERENCE_DECOY}", EXPECTED, f"v1,{REFERENCE_DECOY}"]
    )
    headers = vector_headers(**{"webhook-signature": header})
    assert signing.verify([SECRET], headers, BODY, now=TS) == MSG_ID


def test_signature_headers_for_the_vector() -> None:
    assert signing.signature_headers(SECRET, MSG_ID, BODY, timestamp=TS) == vector_headers()


# -- secrets ---------------------------------------------------------------------------------


def test_decode_secret_strips_the_prefix_and_tolerates_missing_padding() -> None:
    assert signing.decode_secret(SECRET) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert signing.decode_secret("whsec_AQ") == b"\x01"
    assert signing.decode_secret("AQ==") == b"\x01"


@pytest.mark.parametrize(
    "bad", ["", "whsec_", "not base64!", "whsec_ü", "A", "whsec_AQ==AQ==", " AQ==", "==="]
)
def test_decode_secret_refuses_bad_secrets(bad: str) -> None:
    with pytest.raises(ValueError):
        signing.decode_secret(bad)


def test_new_secret_is_24_random_bytes_with_prefix() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and second.startswith("whsec_")
    assert len(signing.decode_secret(first)) == 24
    assert first != second
    assert Webhook(first).sign("m", datetime.fromtimestamp(5, UTC), "{}") == signing.sign(
        first, "m", 5, b"{}"
    )


# -- interop with the standardwebhooks package -----------------------------------------------


@given(msg_id=ids, timestamp=timestamps, text=st.text(max_size=200))
def test_standardwebhooks_signs_and_we_verify(msg_id: str, timestamp: int, text: str) -> None:
    token = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), text)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": token}
    assert signing.verify([SECRET], headers, text.encode(), now=timestamp) == msg_id
    assert signing.sign(SECRET, msg_id, timestamp, text.encode()) == token


@given(msg_id=ids, text=st.text(max_size=200), extra=st.booleans())
def test_we_sign_and_standardwebhooks_verifies(msg_id: str, text: str, extra: bool) -> None:
    raw = json.dumps({"t": text}, ensure_ascii=False).encode()
    headers = signing.signature_headers(
        SECRET, msg_id, raw, timestamp=int(time.time()), extra_secrets=[OTHER] if extra else ()
    )
    assert Webhook(SECRET).verify(raw, headers, json_parse=False) is None
    if extra:
        assert Webhook(OTHER).verify(raw, headers, json_parse=False) is None
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(raw, headers, json_parse=False)


# -- tampering -------------------------------------------------------------------------------


@given_a_change
def test_any_change_fails_verification(
    msg_id: str, timestamp: int, body: bytes, field: str, data: st.DataObject
) -> None:
    headers = signing.signature_headers(SECRET, msg_id, body, timestamp=timestamp)
    assert signing.verify([SECRET], headers, body, now=timestamp) == msg_id
    body, now = one_change(field, data, headers, body, timestamp)
    with pytest.raises(errors.InvalidSignature):
        signing.verify([SECRET], headers, body, now=now)


# -- rotation --------------------------------------------------------------------------------


@pytest.mark.parametrize("signer", [SECRET, OTHER])
def test_any_configured_secret_is_accepted(signer: str) -> None:
    headers = signing.signature_headers(signer, MSG_ID, BODY, timestamp=TS)
    assert signing.verify([SECRET, OTHER], headers, BODY, now=TS) == MSG_ID


def test_a_secret_not_configured_is_refused() -> None:
    headers = signing.signature_headers(signing.new_secret(), MSG_ID, BODY, timestamp=TS)
    with pytest.raises(errors.InvalidSignature):
        signing.verify([SECRET, OTHER], headers, BODY, now=TS)


def test_extra_secrets_add_one_token_each_and_each_verifies_alone() -> None:
    headers = signing.signature_headers(OTHER, MSG_ID, BODY, timestamp=TS, extra_secrets=[SECRET])
    tokens = headers["webhook-signature"].split(" ")
    assert tokens == [signing.sign(OTHER, MSG_ID, TS, BODY), EXPECTED]
    assert signing.verify([SECRET], headers, BODY, now=TS) == MSG_ID
    assert signing.verify([OTHER], headers, BODY, now=TS) == MSG_ID


@pytest.mark.parametrize(
    "noise",
    ["v2," + EXPECTED[3:], "garbage", "v1", "v1,", ",", "v1,!!!", "v1,Zm9v", "v1,ü", "v1,a,b",
     "V1," + EXPECTED[3:]],
)
def test_other_versions_and_undecodable_tokens_are_ignored(noise: str) -> None:
    mixed = vector_headers(**{"webhook-signature": f"{noise} {EXPECTED} {noise}"})
    assert signing.verify([SECRET], mixed, BODY, now=TS) == MSG_ID
    alone = vector_headers(**{"webhook-signature": noise})
    with pytest.raises(errors.InvalidSignature):
        signing.verify([SECRET], alone, BODY, now=TS)


def test_a_secret_that_fails_to_decode_does_not_block_the_others() -> None:
    assert signing.verify(["not base64!", "", SECRET], vector_headers(), BODY, now=TS) == MSG_ID
    with pytest.raises(errors.InvalidSignature):
        signing.verify(["not base64!", "whsec_"], vector_headers(), BODY, now=TS)
    with pytest.raises(errors.InvalidSignature):
        signing.verify([], vector_headers(), BODY, now=TS)


def test_a_single_secret_string_is_not_read_as_characters() -> None:
    assert signing.verify(SECRET, vector_headers(), BODY, now=TS) == MSG_ID  # type: ignore[arg-type]


# -- tolerance -------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_tolerance_are_accepted(offset: int) -> None:
    assert signing.verify([SECRET], vector_headers(), BODY, now=TS + offset) == MSG_ID


@pytest.mark.parametrize("offset", [-301, 301, -10**6, 10**9])
def test_timestamps_beyond_tolerance_are_refused(offset: int) -> None:
    with pytest.raises(errors.TimestampOutOfTolerance):
        signing.verify([SECRET], vector_headers(), BODY, now=TS + offset)


def test_fractional_clock_at_the_boundary() -> None:
    assert signing.is_valid([SECRET], vector_headers(), BODY, now=TS + 300.0)
    with pytest.raises(errors.TimestampOutOfTolerance):
        signing.verify([SECRET], vector_headers(), BODY, now=TS + 300.5)


def test_tolerance_is_configurable() -> None:
    assert signing.is_valid([SECRET], vector_headers(), BODY, now=TS + 10, tolerance=10)
    with pytest.raises(errors.TimestampOutOfTolerance):
        signing.verify([SECRET], vector_headers(), BODY, now=TS + 11, tolerance=10)


def test_tolerance_is_checked_before_the_signature() -> None:
    headers = vector_headers(**{"webhook-signature": REFERENCE_BAD})
    with pytest.raises(errors.TimestampOutOfTolerance):
        signing.verify([SECRET], headers, BODY, now=TS + 301)


# -- malformed headers -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_absent_or_empty_header_is_missing_signature(name: str, value: str | None) -> None:
    headers = vector_headers()
    if value is None:
        del headers[name]
    else:
        headers[name] = value
    with pytest.raises(errors.MissingSignature) as caught:
        signing.verify([SECRET], headers, BODY, now=TS)
    assert name in caught.value.message


@pytest.mark.parametrize(
    "value",
    ["hello", "1614265330.0", "1.6e9", "0x10", "1_614_265_330", "١٦١٤٢٦٥٣٣٠", "16142 65330",
     "--1614265330", "+-1"],
)
def test_non_integer_timestamp_is_missing_signature(value: str) -> None:
    headers = vector_headers(**{"webhook-timestamp": value, "webhook-signature": REFERENCE_BAD})
    with pytest.raises(errors.MissingSignature) as caught:
        signing.verify([SECRET], headers, BODY, now=TS)
    assert "webhook-timestamp" in caught.value.message


@pytest.mark.parametrize("value", ["9" * 5000, "-" + "9" * 5000, "1" + "0" * 19, "-1"])
def test_huge_or_negative_integer_timestamp_is_out_of_tolerance(value: str) -> None:
    with pytest.raises(errors.TimestampOutOfTolerance):
        signing.verify([SECRET], vector_headers(**{"webhook-timestamp": value}), BODY, now=TS)


def test_leading_zeros_and_surrounding_blanks_in_the_timestamp_are_read_as_the_integer() -> None:
    for value in ("01614265330", " 1614265330\t"):
        headers = vector_headers(**{"webhook-timestamp": value})
        assert signing.verify([SECRET], headers, BODY, now=TS) == MSG_ID


def test_missing_headers_are_reported_before_a_bad_timestamp() -> None:
    headers = vector_headers(**{"webhook-timestamp": "soon"})
    del headers["webhook-signature"]
    with pytest.raises(errors.MissingSignature) as caught:
        signing.verify([SECRET], headers, BODY, now=TS)
    assert "webhook-signature" in caught.value.message


def test_errors_never_show_the_secret_or_the_expected_signature() -> None:
    for headers, body, now in [
        (vector_headers(**{"webhook-signature": REFERENCE_BAD}), BODY, TS),
        (vector_headers(), b"{}", TS),
        (vector_headers(), BODY, TS + 1000),
        (vector_headers(**{"webhook-timestamp": "x"}), BODY, TS),
    ]:
        with pytest.raises(errors.SignatureError) as caught:
            signing.verify([SECRET], headers, body, now=now)
        text = str(caught.value) + repr(caught.value.to_body())
        for secret_part in (SECRET, SECRET[6:], EXPECTED[3:], signing.sign(SECRET, MSG_ID, TS,
                                                                           body)[3:]):
            assert secret_part not in text


# -- header containers -----------------------------------------------------------------------


def _message_headers() -> email.message.Message:
    message = email.message.Message()
    for name, value in vector_headers().items():
        message[name.title()] = value
    return message


@pytest.mark.parametrize(
    "make",
    [
        lambda: {k.upper(): v for k, v in vector_headers().items()},
        lambda: {k.title(): v for k, v in vector_headers().items()},
        lambda: CaseInsensitiveDict(vector_headers()),
        lambda: Headers([(k.title(), v) for k, v in vector_headers().items()]),
        lambda: EnvironHeaders(
            {"HTTP_" + k.upper().replace("-", "_"): v for k, v in vector_headers().items()}
        ),
        _message_headers,
        lambda: {k.encode(): v.encode() for k, v in vector_headers().items()},
    ],
    ids=["upper", "title", "requests", "werkzeug", "environ", "email", "bytes"],
)
def test_header_lookup_ignores_case_whatever_the_container(make) -> None:
    assert signing.verify([SECRET], make(), BODY, now=TS) == MSG_ID


def test_repeated_signature_headers_are_pooled() -> None:
    headers = Headers([("webhook-id", MSG_ID), ("webhook-timestamp", str(TS)),
                       ("webhook-signature", REFERENCE_BAD), ("Webhook-Signature", EXPECTED)])
    assert signing.verify([SECRET], headers, BODY, now=TS) == MSG_ID


@pytest.mark.parametrize("body", ["{}", 5, None, ["x"]])
def test_a_body_that_is_not_bytes_never_crashes(body: object) -> None:
    with pytest.raises(errors.InvalidSignature):
        signing.verify([SECRET], vector_headers(), body, now=TS)  # type: ignore[arg-type]


def test_an_id_with_lone_surrogates_is_invalid_not_a_crash() -> None:
    with pytest.raises(errors.InvalidSignature):
        signing.verify([SECRET], vector_headers(**{"webhook-id": "msg_\ud800"}), BODY, now=TS)


# -- arbitrary input -------------------------------------------------------------------------

_names = st.sampled_from(
    ["webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE", "webhook-timestamp",
     "webhook-signature", "x-other"]
) | st.text(max_size=20)
_tokens = st.one_of(
    st.text(max_size=60),
    st.builds(lambda t: "v1," + t, st.text(max_size=60)),
    st.builds(lambda b: "v1," + base64.b64encode(b).decode(), st.binary(max_size=40)),
    st.just(EXPECTED),
)
_values = st.one_of(
    st.text(max_size=80),
    st.integers(-(10**30), 10**30).map(str),
    st.lists(_tokens, max_size=4).map(" ".join),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),
)


@settings(max_examples=300, deadline=None)
@given(
    headers=st.dictionaries(_names, _values, max_size=6),
    body=st.binary(max_size=200),
    secrets=st.lists(st.one_of(st.text(max_size=40), st.just(SECRET)), max_size=3),
    now=st.floats(min_value=-1e12, max_value=1e12),
)
def test_arbitrary_input_raises_only_signature_errors(
    headers: dict[str, str], body: bytes, secrets: list[str], now: float
) -> None:
    try:
        result = signing.verify(secrets, headers, body, now=now)
    except SIGNATURE_ERRORS:
        assert signing.is_valid(secrets, headers, body, now=now) is False
    else:
        assert isinstance(result, str) and result.strip()
        assert signing.is_valid(secrets, headers, body, now=now) is True
