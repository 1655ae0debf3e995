"""Standard Webhooks signatures in both directions (PROTOCOL 1): ``v1`` (HMAC-SHA256 with a
shared secret) and ``v1a`` (Ed25519, keys in :mod:`.keys`), over the same signed content.

Verification never raises anything but the three ``SignatureError`` subclasses, whatever the
headers hold, so an adapter can map every failure to a 401 without a catch-all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from itsdangerous.signer import HMACAlgorithm

from .. import errors
from . import keys as ed25519

PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE = 300

_HMAC = HMACAlgorithm(hashlib.sha256)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
# More digits than this cannot be within any tolerance of a real clock; int() is skipped for them
# (Python refuses to parse > 4300 digits).
_MAX_DIGITS = 18


def decode_secret(secret: str) -> bytes:
    """The HMAC key of ``secret``: base64 after an optional ``whsec_``; ``ValueError`` if bad.

    Missing ``=`` padding is tolerated, as the reference libraries do; an empty key is refused
    because anyone could sign with it.
    """
    if not isinstance(secret, str):
        raise ValueError("a webhook secret must be a string")
    text = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    text += "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise ValueError("a webhook secret must be base64, optionally after 'whsec_'") from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def new_secret() -> str:
    """A fresh random secret: ``whsec_`` and the base64 of 24 random bytes."""
    return PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode("ascii")


def _content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """What both versions sign: ``{msg_id}.{timestamp}.{body}``."""
    return f"{msg_id}.{timestamp}.".encode() + bytes(body)


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return _HMAC.get_signature(key, _content(msg_id, timestamp, body))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` token of ``{msg_id}.{timestamp}.{body}`` under ``secret``."""
    digest = _digest(decode_secret(secret), msg_id, int(timestamp), body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_v1a(key: ed25519.Ed25519PrivateKey | str, msg_id: str, timestamp: int,
             body: bytes) -> str:
    """The ``v1a,<base64>`` token of ``{msg_id}.{timestamp}.{body}`` under an Ed25519 key
    (an ``Ed25519PrivateKey`` or its ``whsk_`` text)."""
    private = ed25519.parse_signing_key(key) if isinstance(key, str) else key
    return ed25519.sign_token(private, _content(msg_id, int(timestamp), body))


def signature_headers(
    secret: str | None,
    msg_id: str,
    body: bytes,
    *,
    timestamp: int,
    extra_secrets: Sequence[str] = (),
    signing_keys: Sequence[ed25519.Ed25519PrivateKey | str] = (),
) -> dict[str, str]:
    """The three Standard Webhooks headers: one ``v1`` token per secret (``secret`` first), then
    one ``v1a`` token per Ed25519 key, so that a sender can sign with an old and a new key while
    it rotates. ``ValueError`` when there is nothing to sign with."""
    secrets = ([secret] if secret is not None else []) + list(extra_secrets)
    tokens = [sign(s, msg_id, timestamp, body) for s in secrets]
    tokens += [sign_v1a(k, msg_id, timestamp, body) for k in signing_keys]
    if not tokens:
        raise ValueError("no secret and no signing key to sign with")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: " ".join(tokens),
    }


@dataclass(frozen=True)
class Signer:
    """How one sender signs every message: ``v1`` with ``secrets`` and ``v1a`` with the Ed25519
    ``keys``; each adds one token, the newest (the last of its list) first."""

    secrets: tuple[str, ...] = field(default=(), repr=False)
    keys: tuple[ed25519.Ed25519PrivateKey, ...] = field(default=(), repr=False)

    def headers(self, msg_id: str, body: bytes, *, timestamp: int) -> dict[str, str]:
        """The signature headers of one attempt (``ValueError`` when there is nothing to sign
        with, or a secret does not decode)."""
        newest = self.secrets[-1] if self.secrets else None
        return signature_headers(newest, msg_id, body, timestamp=timestamp,
                                 extra_secrets=self.secrets[-2::-1],
                                 signing_keys=self.keys[::-1])

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced (private keys never reach an HTTP library)."""
        for secret in self.secrets:
            for needle in (secret, secret.removeprefix(PREFIX)):  # the whole secret first
                if needle:
                    text = text.replace(needle, "[secret]")
        return text


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return None


def _lookup(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Every value of the three headers, by lower-case name, from any mapping-like object."""
    found: dict[str, list[str]] = {ID_HEADER: [], TIMESTAMP_HEADER: [], SIGNATURE_HEADER: []}
    try:
        pairs: Iterable[Any] = list(headers.items())
    except Exception:  # not a mapping at all: treated as carrying no header
        return found
    for pair in pairs:
        try:
            raw_name, raw_value = pair
        except (TypeError, ValueError):
            continue
        name, value = _text(raw_name), _text(raw_value)
        if name is None or value is None:
            continue
        values = found.get(name.strip().lower())
        if values is not None:
            values.append(value)
    return found


def _as_bytes(body: Any) -> bytes | None:
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            return None
    return None


def _keys(secrets: Sequence[str] | str) -> list[bytes]:
    if isinstance(secrets, str):
        secrets = [secrets]
    keys = []
    for secret in secrets:
        try:
            keys.append(decode_secret(secret))
        except ValueError:
            continue  # one bad secret in the list must not block the good ones
    return keys


def _parse_timestamp(text: str, now: float, tolerance: float) -> int:
    text = text.strip(" \t")
    if not _INTEGER.fullmatch(text):
        raise errors.MissingSignature(f"{TIMESTAMP_HEADER} header is not an integer")
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > _MAX_DIGITS:
        raise errors.TimestampOutOfTolerance(
            f"{TIMESTAMP_HEADER} is more than {tolerance:g} s away from the receiver's clock"
        )
    timestamp = int(text)
    # int/float comparisons are exact in Python and cannot overflow.
    if timestamp < now - tolerance or timestamp > now + tolerance:
        raise errors.TimestampOutOfTolerance(
            f"{TIMESTAMP_HEADER} is more than {tolerance:g} s away from the receiver's clock"
        )
    return timestamp


def _tokens(header: str) -> tuple[list[bytes], list[bytes]]:
    """The decoded ``v1`` and ``v1a`` tokens of a signature header; other versions and tokens
    that do not decode are ignored."""
    v1: list[bytes] = []
    v1a: list[bytes] = []
    for token in header.split():
        version, comma, encoded = token.partition(",")
        if not comma or version not in ("v1", ed25519.VERSION):
            continue
        try:
            decoded = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            continue
        (v1 if version == "v1" else v1a).append(decoded)
    return v1, v1a


PublicKeys = Sequence[ed25519.Ed25519PublicKey | str]


def _public_keys(public_keys: PublicKeys) -> list[ed25519.Ed25519PublicKey]:
    if isinstance(public_keys, str):
        public_keys = [public_keys]
    parsed = []
    for key in public_keys:
        if isinstance(key, ed25519.Ed25519PublicKey):
            parsed.append(key)
            continue
        try:
            parsed.append(ed25519.parse_public_key(key))
        except ValueError:
            continue  # one bad key in the list must not block the good ones
    return parsed


def _no_match(secrets: Sequence[str] | str, public_keys: PublicKeys) -> errors.InvalidSignature:
    versions = [v for v, given in (("v1", secrets), ("v1a", public_keys)) if given]
    return errors.InvalidSignature(f"no {' or '.join(versions or ['v1'])} signature matches")


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
    public_keys: PublicKeys = (),
) -> str:
    """Check a signed request against ``secrets`` (``v1``) and ``public_keys`` (``v1a``: Ed25519
    keys or their ``whpk_`` texts); return its ``webhook-id``.

    Order: the three headers present (``MissingSignature``), timestamp an integer
    (``MissingSignature``), within ``tolerance`` of ``now`` (``TimestampOutOfTolerance``), some
    ``v1`` token matching some secret or some ``v1a`` token valid under some public key
    (``InvalidSignature``; ``v1`` is tried first, it costs far less).
    """
    found = _lookup(headers)
    values: dict[str, str] = {}
    for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
        present = [v for v in found[name] if v.strip()]
        if not present:
            raise errors.MissingSignature(f"{name} header is missing or empty")
        # Several signature headers are read as one list of tokens; of the others the first wins.
        values[name] = " ".join(present) if name == SIGNATURE_HEADER else present[0]
    msg_id = values[ID_HEADER]
    timestamp = _parse_timestamp(values[TIMESTAMP_HEADER], now, tolerance)
    given_v1, given_v1a = _tokens(values[SIGNATURE_HEADER])
    content_body = _as_bytes(body)
    try:
        msg_id.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: nobody can have signed this id
        content_body = None
    if content_body is None:
        raise _no_match(secrets, public_keys)
    if given_v1:
        expected = [_digest(key, msg_id, timestamp, content_body) for key in _keys(secrets)]
        matched = False
        for digest in given_v1:
            for candidate in expected:
                matched |= hmac.compare_digest(digest, candidate)
        if matched:
            return msg_id
    if given_v1a and public_keys:
        content = _content(msg_id, timestamp, content_body)
        if ed25519.verify_tokens(_public_keys(public_keys), given_v1a, content):
            return msg_id
    raise _no_match(secrets, public_keys)


def is_valid(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
    public_keys: PublicKeys = (),
) -> bool:
    """``verify`` as a yes/no answer."""
    try:
        verify(secrets, headers, body, now=now, tolerance=tolerance, public_keys=public_keys)
    except errors.SignatureError:
        return False
    return True
