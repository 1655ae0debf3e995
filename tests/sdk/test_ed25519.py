"""Standard Webhooks v1a (Ed25519): RFC 8032 section 7.1 vectors, interop with PyNaCl (libsodium)
in both directions, key formats and ids, tampering, rotation, the token cap, and v1 beside v1a."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import nacl.encoding
import nacl.exceptions
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from hoster_compliance import errors
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing
from tests.helpers.fuzz import MESSAGE_IDS, TIMESTAMPS, given_a_change, one_change
from tests.helpers.keys import (
    OTHER_PUBLIC_KEY,
    OTHER_SIGNING_KEY,
    PUBLIC_KEY,
    SEED,
    SIGNING_KEY,
    whpk,
    whsk,
)

# RFC 8032 section 7.1, TEST 1024: its 1023-byte message, hex. A slip in copying it would change
# the signature, which the tests below compare with the RFC's, with ours and with PyNaCl's.
TEST_1024_MESSAGE = (
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
    "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
    "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
    "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
    "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
    "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
    "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
    "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
    "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
    "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
    "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
    "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
    "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
    "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
    "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
    "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0"
)

# RFC 8032 section 7.1: (secret key = seed, public key, message, signature), hex. TEST 1, 2, 3,
# 1024 and SHA(abc) (whose message is SHA-512("abc")).
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),  # noqa: E501
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),  # noqa: E501
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),  # noqa: E501
    ("f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     TEST_1024_MESSAGE,
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"),  # noqa: E501
    ("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     hashlib.sha512(b"abc").hexdigest(),
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),  # noqa: E501
]
RFC8032_IDS = ["test-1", "test-2", "test-3", "test-1024", "test-sha-abc"]

MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = b'{"test": 2432232314}'
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


ids, timestamps = MESSAGE_IDS, TIMESTAMPS
seeds = st.binary(min_size=32, max_size=32)


def v1a_headers(key: str = SIGNING_KEY, msg_id: str = MSG_ID, ts: int = TS,
                body: bytes = BODY) -> dict[str, str]:
    return signing.signature_headers(None, msg_id, body, timestamp=ts, signing_keys=[key])


# -- RFC 8032 section 7.1 --------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032, ids=RFC8032_IDS)
def test_rfc8032_vectors(seed: str, public: str, message: str, signature: str) -> None:
    key = ed25519.parse_signing_key(whsk(bytes.fromhex(seed)))
    assert ed25519.public_key_text(key) == whpk(bytes.fromhex(public))
    token = ed25519.sign_token(key, bytes.fromhex(message))
    assert token == "v1a," + base64.b64encode(bytes.fromhex(signature)).decode()
    verify_key = ed25519.parse_public_key(whpk(bytes.fromhex(public)))
    assert ed25519.verify_tokens([verify_key], [bytes.fromhex(signature)], bytes.fromhex(message))
    assert not ed25519.verify_tokens([verify_key], [bytes.fromhex(signature)],
                                     bytes.fromhex(message) + b"\x00")


def test_the_test_1024_message_is_1023_bytes() -> None:
    assert len(bytes.fromhex(TEST_1024_MESSAGE)) == 1023
    assert [seed for seed, _, message, _ in RFC8032 if message == TEST_1024_MESSAGE] == [
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5"]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032, ids=RFC8032_IDS)
def test_pynacl_agrees_with_the_rfc8032_vectors(
    seed: str, public: str, message: str, signature: str
) -> None:
    """The independent implementation gives the same bytes: the vectors above are right."""
    nacl_key = nacl.signing.SigningKey(bytes.fromhex(seed))
    assert bytes(nacl_key.verify_key).hex() == public
    assert nacl_key.sign(bytes.fromhex(message)).signature.hex() == signature


# -- interop with PyNaCl, both directions ----------------------------------------------------


@given(seed=seeds, msg_id=ids, timestamp=timestamps, body=st.binary(max_size=300))
def test_pynacl_signs_and_we_verify(seed: bytes, msg_id: str, timestamp: int,
                                    body: bytes) -> None:
    nacl_key = nacl.signing.SigningKey(seed)
    content = f"{msg_id}.{timestamp}.".encode() + body
    token = "v1a," + base64.b64encode(nacl_key.sign(content).signature).decode()
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": token}
    public = whpk(bytes(nacl_key.verify_key))
    assert signing.verify([], headers, body, now=timestamp, public_keys=[public]) == msg_id


@given(seed=seeds, msg_id=ids, timestamp=timestamps, body=st.binary(max_size=300))
def test_we_sign_and_pynacl_verifies(seed: bytes, msg_id: str, timestamp: int,
                                     body: bytes) -> None:
    headers = signing.signature_headers(None, msg_id, body, timestamp=timestamp,
                                        signing_keys=[whsk(seed)])
    version, _, encoded = headers["webhook-signature"].partition(",")
    assert version == "v1a"
    content = f"{msg_id}.{timestamp}.".encode() + body
    verify_key = nacl.signing.VerifyKey(bytes(nacl.signing.SigningKey(seed).verify_key))
    assert verify_key.verify(content, base64.b64decode(encoded)) == content
    with pytest.raises(nacl.exceptions.BadSignatureError):
        verify_key.verify(content + b".", base64.b64decode(encoded))


def test_libsodium_64_byte_secret_keys_are_read_too() -> None:
    nacl_key = nacl.signing.SigningKey(SEED)
    sixty_four = bytes(nacl_key) + bytes(nacl_key.verify_key)  # libsodium's crypto_sign secret
    key = ed25519.parse_signing_key(whsk(sixty_four))
    assert ed25519.public_key_text(key) == PUBLIC_KEY
    with pytest.raises(ValueError, match="own public key"):
        ed25519.parse_signing_key(whsk(SEED + bytes.fromhex(RFC8032[1][1])))


# -- key formats and ids ---------------------------------------------------------------------


def test_kid_is_the_first_16_hex_of_sha256_of_the_public_key() -> None:
    raw = bytes.fromhex(RFC8032[0][1])
    expected = hashlib.sha256(raw).hexdigest()[:16]
    assert ed25519.kid(ed25519.parse_public_key(PUBLIC_KEY)) == expected
    assert ed25519.kid(ed25519.parse_signing_key(SIGNING_KEY)) == expected
    assert ed25519.key_entry(ed25519.parse_signing_key(SIGNING_KEY)) == {
        "kid": expected, "alg": "ed25519", "public_key": PUBLIC_KEY}


def test_generated_pairs_are_fresh_and_belong_together() -> None:
    first, second = ed25519.generate_key_pair(), ed25519.generate_key_pair()
    assert first != second
    for signing_key, public_key in (first, second):
        assert signing_key.startswith("whsk_") and public_key.startswith("whpk_")
        seed = base64.b64decode(signing_key[5:])
        assert len(seed) == 32
        assert bytes(nacl.signing.SigningKey(seed).verify_key) == base64.b64decode(public_key[5:])


def test_text_forms_round_trip_and_padding_is_optional() -> None:
    key = ed25519.parse_signing_key(SIGNING_KEY)
    assert ed25519.signing_key_text(key) == SIGNING_KEY
    assert ed25519.public_key_text(ed25519.parse_public_key(PUBLIC_KEY.rstrip("="))) == PUBLIC_KEY


@pytest.mark.parametrize(("text", "problem"), [
    ("d75a980182b10ab7d54bfed3c964073a", "must start with whpk_"),
    ("whsec_" + PUBLIC_KEY[5:], "must start with whpk_"),
    (SIGNING_KEY, "is a private signing key"),
    ("whpk_not base64!", "is not base64 after whpk_"),
    ("whpk_" + base64.b64encode(bytes(31)).decode(), "must hold 32 bytes after whpk_, not 31"),
    ("whpk_" + base64.b64encode(bytes(64)).decode(), "not 64"),
    ("whpk_", "not 0"),
])
def test_bad_public_keys_are_named_without_the_key(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        ed25519.parse_public_key(text)
    assert problem in str(caught.value)
    assert text[5:] not in str(caught.value) or not text[5:]


@pytest.mark.parametrize(("text", "problem"), [
    (PUBLIC_KEY, "is a public key"),
    ("whsk_!!", "is not base64"),
    ("whsk_" + base64.b64encode(bytes(33)).decode(), "must hold 32 or 64 bytes"),
    (SEED.hex(), "must start with whsk_"),
])
def test_bad_signing_keys_are_named_without_the_key(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        ed25519.parse_signing_key(text)
    assert problem in str(caught.value)
    assert SEED.hex() not in str(caught.value) and SIGNING_KEY[5:] not in str(caught.value)


# -- verification through the Standard Webhooks headers --------------------------------------


def test_a_v1a_request_verifies_against_the_public_key_only() -> None:
    headers = v1a_headers()
    assert headers["webhook-signature"].startswith("v1a,")
    assert signing.verify([], headers, BODY, now=TS, public_keys=[PUBLIC_KEY]) == MSG_ID
    assert signing.is_valid([], headers, BODY, now=TS,
                            public_keys=[ed25519.parse_public_key(PUBLIC_KEY)])
    with pytest.raises(errors.InvalidSignature, match="no v1a signature matches"):
        signing.verify([], headers, BODY, now=TS, public_keys=[OTHER_PUBLIC_KEY])


def test_v1a_tokens_are_ignored_for_an_issuer_without_public_keys() -> None:
    with pytest.raises(errors.InvalidSignature, match="no v1 signature matches"):
        signing.verify([SECRET], v1a_headers(), BODY, now=TS)


def test_an_issuer_with_both_accepts_either_and_needs_one() -> None:
    v1 = signing.signature_headers(SECRET, MSG_ID, BODY, timestamp=TS)
    for headers in (v1, v1a_headers()):
        assert signing.verify([SECRET], headers, BODY, now=TS, public_keys=[PUBLIC_KEY]) == MSG_ID
    forged = signing.signature_headers(signing.new_secret(), MSG_ID, BODY, timestamp=TS,
                                       signing_keys=[OTHER_SIGNING_KEY])
    with pytest.raises(errors.InvalidSignature, match="no v1 or v1a signature matches"):
        signing.verify([SECRET], forged, BODY, now=TS, public_keys=[PUBLIC_KEY])


def test_a_bad_v1_token_does_not_hide_a_good_v1a_token() -> None:
    headers = signing.signature_headers(signing.new_secret(), MSG_ID, BODY, timestamp=TS,
                                        signing_keys=[SIGNING_KEY])
    assert signing.verify([SECRET], headers, BODY, now=TS, public_keys=[PUBLIC_KEY]) == MSG_ID


def test_the_timestamp_is_checked_before_a_v1a_signature() -> None:
    with pytest.raises(errors.TimestampOutOfTolerance):
        signing.verify([], v1a_headers(), BODY, now=TS + 301, public_keys=[PUBLIC_KEY])


@given_a_change
def test_any_change_fails_v1a_verification(
    msg_id: str, timestamp: int, body: bytes, field: str, data: st.DataObject
) -> None:
    headers = v1a_headers(msg_id=msg_id, ts=timestamp, body=body)
    assert signing.verify([], headers, body, now=timestamp, public_keys=[PUBLIC_KEY]) == msg_id
    body, now = one_change(field, data, headers, body, timestamp)
    with pytest.raises(errors.InvalidSignature):
        signing.verify([], headers, body, now=now, public_keys=[PUBLIC_KEY])


@pytest.mark.parametrize("noise", [
    "v1a", "v1a,", "v1a,!!!", "v1a,Zm9v", "V1A," + v1a_headers()["webhook-signature"][4:],
    "v1a," + base64.b64encode(bytes(64)).decode(), "v1a,ü",
])
def test_undecodable_or_wrong_length_v1a_tokens_are_ignored(noise: str) -> None:
    good = v1a_headers()["webhook-signature"]
    mixed = {**v1a_headers(), "webhook-signature": f"{noise} {good} {noise}"}
    assert signing.verify([], mixed, BODY, now=TS, public_keys=[PUBLIC_KEY]) == MSG_ID
    alone = {**v1a_headers(), "webhook-signature": noise}
    with pytest.raises(errors.InvalidSignature):
        signing.verify([], alone, BODY, now=TS, public_keys=[PUBLIC_KEY])


def test_only_the_first_tokens_are_checked_so_a_stuffed_header_stays_cheap() -> None:
    good = v1a_headers()["webhook-signature"]
    junk = [f"v1a,{base64.b64encode(bytes([n]) * 64).decode()}" for n in range(20)]
    within = " ".join([*junk[:ed25519.MAX_TOKENS - 1], good])
    beyond = " ".join([*junk[:ed25519.MAX_TOKENS], good])
    repeated = " ".join([junk[0]] * 50 + [good])  # a repeated token is checked once
    for header, ok in ((within, True), (beyond, False), (repeated, True)):
        headers = {**v1a_headers(), "webhook-signature": header}
        assert signing.is_valid([], headers, BODY, now=TS, public_keys=[PUBLIC_KEY]) is ok


def test_a_public_key_that_does_not_parse_does_not_block_the_others() -> None:
    assert signing.verify([], v1a_headers(), BODY, now=TS,
                          public_keys=["whpk_bad", SIGNING_KEY, PUBLIC_KEY]) == MSG_ID
    assert signing.verify([], v1a_headers(), BODY, now=TS, public_keys=PUBLIC_KEY) == MSG_ID


# -- rotation and v1 beside v1a --------------------------------------------------------------


def test_every_key_adds_a_token_the_newest_first_and_each_verifies_alone() -> None:
    signer = signing.Signer(keys=(ed25519.parse_signing_key(SIGNING_KEY),
                                  ed25519.parse_signing_key(OTHER_SIGNING_KEY)))
    headers = signer.headers(MSG_ID, BODY, timestamp=TS)
    tokens = headers["webhook-signature"].split(" ")
    assert tokens == [signing.sign_v1a(OTHER_SIGNING_KEY, MSG_ID, TS, BODY),
                      signing.sign_v1a(SIGNING_KEY, MSG_ID, TS, BODY)]
    for public in (PUBLIC_KEY, OTHER_PUBLIC_KEY):
        assert signing.verify([], headers, BODY, now=TS, public_keys=[public]) == MSG_ID


def test_a_signer_with_secrets_and_keys_sends_both_and_standardwebhooks_still_verifies_v1() -> None:
    signer = signing.Signer(secrets=(SECRET,), keys=(ed25519.parse_signing_key(SIGNING_KEY),))
    headers = signer.headers(MSG_ID, BODY, timestamp=int(datetime.now(UTC).timestamp()))
    assert [t.partition(",")[0] for t in headers["webhook-signature"].split()] == ["v1", "v1a"]
    # The reference library knows only v1: it skips the v1a token and verifies the v1 one.
    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)


def test_nothing_to_sign_with_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        signing.signature_headers(None, MSG_ID, BODY, timestamp=TS)
    with pytest.raises(ValueError):
        signing.Signer().headers(MSG_ID, BODY, timestamp=TS)


def test_signer_repr_and_redaction_never_show_a_secret() -> None:
    signer = signing.Signer(secrets=(SECRET,), keys=(ed25519.parse_signing_key(SIGNING_KEY),))
    assert SECRET[6:] not in repr(signer) and SIGNING_KEY[5:] not in repr(signer)
    assert signer.redact(f"error near {SECRET} and {SECRET[6:]}") == (
        "error near [secret] and [secret]")


# -- arbitrary input -------------------------------------------------------------------------

_v1a_tokens = st.one_of(
    st.text(max_size=60),
    st.builds(lambda t: "v1a," + t, st.text(max_size=90)),
    st.builds(lambda b: "v1a," + base64.b64encode(b).decode(), st.binary(min_size=60,
                                                                         max_size=68)),
    st.just(v1a_headers()["webhook-signature"]),
)


@settings(max_examples=200, deadline=None)
@given(
    headers=st.fixed_dictionaries(
        {}, optional={"webhook-id": st.one_of(st.just(MSG_ID), st.text(max_size=30)),
                      "webhook-timestamp": st.one_of(st.just(str(TS)), st.text(max_size=12)),
                      "webhook-signature": st.lists(_v1a_tokens, max_size=4).map(" ".join)}),
    body=st.one_of(st.just(BODY), st.binary(max_size=100)),
    public_keys=st.lists(st.one_of(st.text(max_size=50), st.just(PUBLIC_KEY),
                                   st.just(SIGNING_KEY)), max_size=3),
)
def test_arbitrary_v1a_input_raises_only_signature_errors(
    headers: dict[str, str], body: bytes, public_keys: list[str]
) -> None:
    try:
        result = signing.verify([], headers, body, now=TS, public_keys=public_keys)
    except (errors.MissingSignature, errors.InvalidSignature, errors.TimestampOutOfTolerance):
        assert not signing.is_valid([], headers, body, now=TS, public_keys=public_keys)
    else:
        # Only the real signature of the real content under the real key can pass.
        assert (result, body, PUBLIC_KEY in public_keys) == (MSG_ID, BODY, True)
        assert int(headers["webhook-timestamp"]) == TS  # leading zeros read as the integer
