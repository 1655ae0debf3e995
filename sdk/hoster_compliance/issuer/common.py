"""Helpers shared by the issuer's sender, verifier and callback server."""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Sequence

#: A response plan entry: a status, or a status and its ``Retry-After`` value.
PlanEntry = int | tuple[int, str | None]


def _secret_list(secret: str | Sequence[str]) -> list[str]:
    listed = [secret] if isinstance(secret, str) else list(secret)
    if not listed:
        raise ValueError("at least one secret is needed")
    return listed


def new_message_id() -> str:
    """A fresh Standard Webhooks message id (``msg_`` and 24 random URL-safe characters)."""
    return "msg_" + _secrets.token_urlsafe(18)
