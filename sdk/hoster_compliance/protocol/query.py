"""The values of a listing's query string that every listing reads alike (PROTOCOL 7.3, 9.4):
one parser each, so ``GET /v1/orders``, ``/v1/deliveries`` and ``/v1/alerts`` refuse the same
values with the same words."""

from __future__ import annotations

import re

from ..errors import InvalidQuery


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """A ``limit`` query value: a whole number from 1 to ``maximum``; ``default`` when absent."""
    if raw is None:
        return default
    # not str.isdigit(): "²" is a digit to it, and int() of 5000 digits raises
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= maximum:
        raise InvalidQuery(f"limit: must be a whole number from 1 to {maximum}.")
    return int(raw)
