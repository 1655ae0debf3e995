"""Verifying a hoster's callback on the issuer's side."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from .. import errors
from ..protocol import signing
from ..protocol.strict_json import parse_json


def verify_callback(
    secrets: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = signing.DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Verify a hoster's callback, then parse it: the signature is checked on the raw bytes first.

    Raises the ``SignatureError`` subclasses, ``InvalidJson``, or ``InvalidPayload`` when the JSON
    is not an object.
    """
    listed = [secrets] if isinstance(secrets, str) else secrets
    signing.verify(listed, headers, body, now=time.time() if now is None else now,
                   tolerance=tolerance)
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise errors.InvalidPayload("callback body is not a JSON object")
    return payload
