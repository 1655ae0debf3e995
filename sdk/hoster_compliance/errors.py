"""One exception tree. Each error carries a stable ``code`` (PROTOCOL.md 2.3 / 7.3) and the HTTP
status the receiver answers with, so every adapter (Flask, Django, plain WSGI) maps errors the same
way."""

from __future__ import annotations

import json
from typing import Any

#: An error body's largest size in bytes (PROTOCOL 13.2); field errors beyond it are summarised.
#: Its home is here, on the ground floor, beside the bodies it bounds; ``protocol/limits.py``
#: lists it with the other bounds.
MAX_ERROR_BODY_BYTES = 64 * 1024
#: Room kept in an error body for everything but ``fields``.
_FIELDS_BUDGET = MAX_ERROR_BODY_BYTES - 2048
#: An unknown field's name is echoed as a key of ``fields``; longer ones are cut.
_MAX_KEY_CHARS = 200


class ComplianceError(Exception):
    """Root of every error the SDK raises on purpose."""

    code: str = "error"
    status: int = 500

    def __init__(self, message: str = "", *, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.fields = fields

    def to_body(self) -> dict[str, Any]:
        """The JSON error body of PROTOCOL 2.3: ``{"error", "message", "fields"?}``, at most
        64 KiB (13.2): field errors beyond that are left out and counted in the message."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            kept, left_out = bounded_fields(self.fields, _FIELDS_BUDGET)
            body["fields"] = kept
            if left_out:
                body["message"] = (f"{self.message} ({left_out} more field errors are not "
                                   "shown.)")
        return body


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def _count_messages(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count_messages(child) for child in value.values())
    if isinstance(value, list):
        return max(1, sum(_count_messages(child) for child in value))
    return 1


def bounded_fields(fields: dict[str, Any], budget: int) -> tuple[dict[str, Any], int]:
    """``fields`` (marshmallow's nested error shape) cut to about ``budget`` bytes of JSON,
    the smaller entries kept first, descending into objects that do not fit whole; and how
    many messages were left out. A small enough ``fields`` comes back as it is."""
    if _size(fields) <= budget:
        return fields, 0
    fields = _short_keys(fields)
    kept: dict[str, Any] = {}
    left_out = 0
    used = 2
    sizes = {key: _size(value) for key, value in fields.items()}
    # the small entries first, so that one huge entry cannot crowd out the others
    for key in sorted(fields, key=sizes.__getitem__):
        value, size = fields[key], sizes[key]
        room = budget - used - _size(key) - 2
        if size <= room:
            kept[key] = value
            used += size + _size(key) + 2
        elif isinstance(value, dict) and room > 64:
            part, dropped = bounded_fields(value, room)
            left_out += dropped
            if part:
                kept[key] = part
                used += _size(part) + _size(key) + 2
        else:
            left_out += _count_messages(value)
    if not kept:
        return {"_schema": [f"{left_out} field errors; too many to show."]}, left_out
    return {key: kept[key] for key in fields if key in kept}, left_out


def _short_keys(fields: dict[str, Any]) -> dict[str, Any]:
    """Keys are field names, positions, or unknown names that were sent: those are cut."""
    return {(key if len(key) <= _MAX_KEY_CHARS else key[:_MAX_KEY_CHARS] + "..."): value
            for key, value in fields.items()}


class UnknownIssuer(ComplianceError):
    code, status = "unknown_issuer", 404


class UnsupportedMediaType(ComplianceError):
    code, status = "unsupported_media_type", 415


class PayloadTooLarge(ComplianceError):
    code, status = "payload_too_large", 413


class SignatureError(ComplianceError):
    """Base of the 401 answers of webhook verification."""

    status = 401


class MissingSignature(SignatureError):
    code = "missing_signature"


class InvalidSignature(SignatureError):
    code = "invalid_signature"


class TimestampOutOfTolerance(SignatureError):
    code = "timestamp_out_of_tolerance"


class InvalidJson(ComplianceError):
    code, status = "invalid_json", 400


class InvalidPayload(ComplianceError):
    code, status = "invalid_payload", 400


class UnknownType(ComplianceError):
    code, status = "unknown_type", 400


class InvalidQuery(ComplianceError):
    code, status = "invalid_query", 400


class Unauthorized(ComplianceError):
    code, status = "unauthorized", 401


class UnknownOrder(ComplianceError):
    code, status = "unknown_order", 404


class UnknownItem(ComplianceError):
    code, status = "unknown_item", 404


class UnknownDelivery(ComplianceError):
    code, status = "unknown_delivery", 404


class Conflict(ComplianceError):
    code, status = "conflict", 409


class OrderWithdrawn(ComplianceError):
    code, status = "order_withdrawn", 409


class StorageUnavailable(ComplianceError):
    """The database did not answer; the caller should retry later (503 with Retry-After)."""

    code, status = "unavailable", 503


class KeysUnavailable(ComplianceError):
    """A hoster's published public keys could not be fetched (issuer side)."""

    code, status = "keys_unavailable", 502


class ConfigError(ComplianceError):
    """A bad configuration: ``key`` names the setting, the message says what is wrong."""

    code, status = "bad_configuration", 500

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem



class NotFound(ComplianceError):
    """A route that is switched off (``[notices] enabled = false``)."""

    code, status = "not_found", 404


class RateLimited(ComplianceError):
    """Too many requests from one client; ``retry_after`` seconds until it may send again."""

    code, status = "rate_limited", 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoStatement(ComplianceError):
    """No statement of reasons is owed for this item; the message says why (PROTOCOL 10.3)."""

    code, status = "no_statement", 404
