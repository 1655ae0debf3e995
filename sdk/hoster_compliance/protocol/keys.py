"""Ed25519 keys for Standard Webhooks ``v1a`` signatures (PROTOCOL 1, from v1.1).

Formats: a public key is ``whpk_`` and the base64 of its 32 bytes; a signing (private) key is
``whsk_`` and the base64 of its 32-byte seed (libsodium's 64-byte form, seed then public key,
is read too). A key's ``kid`` is the first 16 hex digits of the SHA-256 of its public bytes.
The cryptography is pyca ``cryptography``'s (OpenSSL); nothing here is hand-made.

Parsing errors are ``ValueError`` messages that never contain the key itself, so configuration
errors can quote them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature

# Re-exported: the key types of the SDK's signatures.
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey as Ed25519PrivateKey,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey as Ed25519PublicKey,
)

PUBLIC_PREFIX = "whpk_"
SIGNING_PREFIX = "whsk_"
VERSION = "v1a"
ALG = "ed25519"
KEY_BYTES = 32
SIGNATURE_BYTES = 64
#: At most this many ``v1a`` tokens of one request are checked (each costs a full Ed25519
#: verification per public key). A sender signs with one key, two while it rotates; the cap
#: keeps a header stuffed with tokens from costing the receiver seconds of CPU.
MAX_TOKENS = 8


def _decode(text: Any, prefix: str, sizes: tuple[int, ...]) -> bytes:
    """The bytes after ``prefix``; the ``ValueError`` messages are predicates ("must ...")."""
    if not isinstance(text, str):
        raise ValueError("must be a string")
    if not text.startswith(prefix):
        if prefix == PUBLIC_PREFIX and text.startswith(SIGNING_PREFIX):
            raise ValueError("is a private signing key (whsk_...), not a public key (whpk_...); "
                             "give only the public key here")
        if prefix == SIGNING_PREFIX and text.startswith(PUBLIC_PREFIX):
            raise ValueError("is a public key (whpk_...), not a signing key (whsk_...)")
        raise ValueError(f"must start with {prefix}")
    encoded = text[len(prefix):]
    encoded += "=" * (-len(encoded) % 4)
    try:
        raw = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise ValueError(f"is not base64 after {prefix}") from None
    if len(raw) not in sizes:
        raise ValueError(f"must hold {' or '.join(map(str, sizes))} bytes after {prefix}, "
                         f"not {len(raw)}")
    return raw


def parse_public_key(text: str) -> Ed25519PublicKey:
    """The Ed25519 public key of ``whpk_<base64 of 32 bytes>``; ``ValueError`` if bad."""
    raw = _decode(text, PUBLIC_PREFIX, (KEY_BYTES,))
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ValueError("is not a valid Ed25519 public key") from None


def parse_signing_key(text: str) -> Ed25519PrivateKey:
    """The Ed25519 private key of ``whsk_<base64 of the 32-byte seed>`` (or of libsodium's
    64 bytes, seed then public key, whose second half must match); ``ValueError`` if bad."""
    raw = _decode(text, SIGNING_PREFIX, (KEY_BYTES, 2 * KEY_BYTES))
    key = Ed25519PrivateKey.from_private_bytes(raw[:KEY_BYTES])
    if len(raw) == 2 * KEY_BYTES and raw[KEY_BYTES:] != key.public_key().public_bytes_raw():
        raise ValueError("must be 32 bytes, or 64: the seed then its own public key")
    return key


def public_key_text(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """``whpk_...`` of a public key, or of a private key's public half."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return PUBLIC_PREFIX + base64.b64encode(public.public_bytes_raw()).decode("ascii")


def signing_key_text(key: Ed25519PrivateKey) -> str:
    """``whsk_...`` of a private key (its 32-byte seed)."""
    return SIGNING_PREFIX + base64.b64encode(key.private_bytes_raw()).decode("ascii")


def kid(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The key id: the first 16 hex digits of SHA-256 of the 32 public-key bytes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return hashlib.sha256(public.public_bytes_raw()).hexdigest()[:16]


def key_entry(key: Ed25519PublicKey | Ed25519PrivateKey) -> dict[str, str]:
    """One entry of the published key list: ``{"kid", "alg", "public_key"}``."""
    return {"kid": kid(key), "alg": ALG, "public_key": public_key_text(key)}


def generate_key_pair() -> tuple[str, str]:
    """A fresh key pair from the operating system's randomness: ``(whsk_..., whpk_...)``."""
    key = Ed25519PrivateKey.generate()
    return signing_key_text(key), public_key_text(key)


def sign_token(key: Ed25519PrivateKey, content: bytes) -> str:
    """The ``v1a,<base64 of the 64-byte signature>`` token of ``content``."""
    return f"{VERSION}," + base64.b64encode(key.sign(content)).decode("ascii")


def verify_tokens(
    public_keys: Sequence[Ed25519PublicKey], signatures: Iterable[bytes], content: bytes
) -> bool:
    """True when one of ``signatures`` (decoded ``v1a`` tokens) is valid for ``content`` under
    one of ``public_keys``. Only the first ``MAX_TOKENS`` distinct 64-byte signatures count."""
    checked: list[bytes] = []
    for signature in signatures:
        if len(signature) != SIGNATURE_BYTES or signature in checked:
            continue
        checked.append(signature)
        for key in public_keys:
            try:
                key.verify(signature, content)
            except InvalidSignature:
                continue
            return True
        if len(checked) >= MAX_TOKENS:
            break
    return False
