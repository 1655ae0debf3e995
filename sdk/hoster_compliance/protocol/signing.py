"""Standard Webhooks v1 signatures (HMAC-SHA256) in both directions (PROTOCOL 1).

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
from typing import Any

from itsdangerous.signer import HMACAlgorithm

from .. import errors

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


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    content = f"{msg_id}.{timestamp}.".encode() + bytes(body)
    return _HMAC.get_signature(key, content)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` token of ``{msg_id}.{timestamp}.{body}`` under ``secret``."""
    digest = _digest(decode_secret(secret), msg_id, int(timestamp), body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    secret: str,
    msg_id: str,
    body: bytes,
    *,
    timestamp: int,
    extra_secrets: Sequence[str] = (),
) -> dict[str, str]:
    """The three Standard Webhooks headers; one token per secret (``secret`` first) for rotation."""
    tokens = [sign(s, msg_id, timestamp, body) for s in (secret, *extra_secrets)]
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: " ".join(tokens),
    }


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


def _token_digests(header: str) -> list[bytes]:
    digests = []
    for token in header.split():
        version, comma, encoded = token.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            digests.append(base64.b64decode(encoded.encode("ascii"), validate=True))
        except (UnicodeEncodeError, binascii.Error, ValueError):
            continue  # undecodable tokens are ignored, like other versions
    return digests


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> str:
    """Check a signed request against ``secrets``; return its ``webhook-id``.

    Order: the three headers present (``MissingSignature``), timestamp an integer
    (``MissingSignature``), within ``tolerance`` of ``now`` (``TimestampOutOfTolerance``), some
    ``v1`` token matching some secret (``InvalidSignature``).
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
    given = _token_digests(values[SIGNATURE_HEADER])
    content_body = _as_bytes(body)
    try:
        msg_id.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: nobody can have signed this id
        content_body = None
    if content_body is None:
        raise errors.InvalidSignature("no v1 signature matches")
    expected = [_digest(key, msg_id, timestamp, content_body) for key in _keys(secrets)]
    matched = False
    for digest in given:
        for candidate in expected:
            matched |= hmac.compare_digest(digest, candidate)
    if not matched:
        raise errors.InvalidSignature("no v1 signature matches")
    return msg_id


def is_valid(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """``verify`` as a yes/no answer."""
    try:
        verify(secrets, headers, body, now=now, tolerance=tolerance)
    except errors.SignatureError:
        return False
    return True
