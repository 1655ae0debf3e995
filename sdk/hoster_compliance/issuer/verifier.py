"""Verifying a hoster's callback on the issuer's side, and fetching the hoster's public keys."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests
import urllib3.exceptions

from .. import errors
from ..delivery.deadline import make_session
from ..protocol import keys as ed25519
from ..protocol import signing
from ..protocol.keys import Ed25519PublicKey
from ..protocol.strict_json import parse_json
from .common import _public_keys, _secret_list

#: Where a hoster publishes its Ed25519 public keys (PROTOCOL 1), under its base URL.
KEYS_PATH = "/.well-known/hoster-compliance/keys"
#: A key list is a few hundred bytes; more than this is not one.
_MAX_KEYS_BYTES = 64 * 1024


def verify_callback(
    secrets: str | Sequence[str] | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = signing.DEFAULT_TOLERANCE,
    public_keys: str | Ed25519PublicKey | Sequence[str | Ed25519PublicKey] = (),
) -> dict[str, Any]:
    """Verify a hoster's callback, then parse it: the signature is checked on the raw bytes first.

    ``secrets`` verify ``v1`` callbacks; ``public_keys`` (the hoster's, see
    :func:`fetch_public_keys`) verify ``v1a`` ones. Raises the ``SignatureError`` subclasses,
    ``InvalidJson``, or ``InvalidPayload`` when the JSON is not an object.
    """
    signing.verify(_secret_list(secrets), headers, body,
                   now=time.time() if now is None else now, tolerance=tolerance,
                   public_keys=_public_keys(public_keys))
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise errors.InvalidPayload("callback body is not a JSON object")
    return payload


def parse_key_list(document: Any) -> list[Ed25519PublicKey]:
    """The keys of a published key list ``{"keys": [{"kid", "alg", "public_key"}]}``; an entry
    of another ``alg`` is skipped, a malformed one or a ``kid`` that is not its key's refuses the
    whole list (``InvalidPayload``)."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise errors.InvalidPayload('the key list is not {"keys": [...]}')
    found: list[Ed25519PublicKey] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise errors.InvalidPayload(f"keys[{position}] is not an object")
        if entry.get("alg") != ed25519.ALG:
            continue
        try:
            key = ed25519.parse_public_key(entry.get("public_key"))  # type: ignore[arg-type]
        except ValueError as exc:
            raise errors.InvalidPayload(f"keys[{position}].public_key {exc}") from None
        if entry.get("kid") != ed25519.kid(key):
            raise errors.InvalidPayload(f"keys[{position}].kid is not the key's id")
        found.append(key)
    return found


def fetch_public_keys(
    hoster_url: str,
    *,
    session: requests.Session | None = None,
    timeout: float = 10.0,
) -> list[Ed25519PublicKey]:
    """GET the hoster's published public keys from ``{hoster_url}/.well-known/...``.

    Raises ``KeysUnavailable`` when they cannot be fetched (network, status, size, JSON) and
    ``InvalidPayload`` when the list is malformed. An issuer should keep the keys it fetched
    and fetch again when a callback does not verify (the hoster may have rotated).
    """
    url = hoster_url.rstrip("/") + KEYS_PATH
    # Without a session: one of our own (nothing from the environment, no TLS key log).
    getter = session if session is not None else make_session()
    try:
        with getter.get(url, timeout=timeout, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise errors.KeysUnavailable(f"{url} answered HTTP {response.status_code}")
            body = response.raw.read(_MAX_KEYS_BYTES + 1, decode_content=True)
    # Reading ``raw`` raises urllib3's own errors (a truncated body, a read timeout), which
    # requests does not wrap.
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise errors.KeysUnavailable(f"{url}: {type(exc).__name__}") from exc
    finally:
        if session is None:
            getter.close()
    if len(body) > _MAX_KEYS_BYTES:
        raise errors.KeysUnavailable(f"{url}: the answer is larger than {_MAX_KEYS_BYTES} bytes")
    try:
        document = parse_json(body)
    except errors.InvalidJson:
        raise errors.KeysUnavailable(f"{url}: the answer is not JSON") from None
    return parse_key_list(document)
