"""Operator tokens: constant-time comparison, and a name for the audit trail that never
reveals the token."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def token_name(token: str) -> str:
    """How an operator token appears in events and logs: a short digest, never the token."""
    return "operator:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]


def operator_actor(tokens: Sequence[str], presented: str) -> str | None:
    """The actor name for a presented bearer token, or ``None`` when it matches no token.

    Every configured token is compared (in constant time) so timing reveals nothing."""
    if not presented:
        return None
    match: str | None = None
    given = presented.encode("utf-8", "surrogateescape")
    for token in tokens:
        if hmac.compare_digest(given, token.encode("utf-8")):
            match = token
    return None if match is None else token_name(match)
