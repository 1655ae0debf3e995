"""Helpers shared by the issuer's sender, verifier and callback server."""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Sequence

from ..protocol import keys as ed25519
from ..protocol.keys import Ed25519PrivateKey, Ed25519PublicKey

#: A response plan entry: a status, or a status and its ``Retry-After`` value.
PlanEntry = int | tuple[int, str | None]


def _secret_list(secret: str | Sequence[str] | None) -> list[str]:
    if secret is None:
        return []
    return [secret] if isinstance(secret, str) else list(secret)


def _signing_keys(
    keys: str | Ed25519PrivateKey | Sequence[str | Ed25519PrivateKey],
) -> list[Ed25519PrivateKey]:
    """Ed25519 private keys from keys or their ``whsk_`` texts (``ValueError`` when bad)."""
    listed = [keys] if isinstance(keys, str | Ed25519PrivateKey) else list(keys)
    return [ed25519.parse_signing_key(k) if isinstance(k, str) else k for k in listed]


def _public_keys(
    keys: str | Ed25519PublicKey | Sequence[str | Ed25519PublicKey],
) -> list[Ed25519PublicKey]:
    """Ed25519 public keys from keys or their ``whpk_`` texts (``ValueError`` when bad)."""
    listed = [keys] if isinstance(keys, str | Ed25519PublicKey) else list(keys)
    return [ed25519.parse_public_key(k) if isinstance(k, str) else k for k in listed]


def new_message_id() -> str:
    """A fresh Standard Webhooks message id (``msg_`` and 24 random URL-safe characters)."""
    return "msg_" + _secrets.token_urlsafe(18)
