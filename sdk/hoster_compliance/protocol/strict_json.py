"""The one JSON reader of the wire: what a webhook, an operator's action and an issuer's view of a
callback are parsed with."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidJson


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8 (no other encoding guessed), no ``NaN``/``Infinity``; anything else,
    deep nesting included, is ``InvalidJson`` and never another exception."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidJson("The body is not valid UTF-8 JSON.") from exc
