"""One exception tree. Each error carries a stable ``code`` (PROTOCOL.md 2.3 / 7.3) and the HTTP
status the receiver answers with, so every adapter (Flask, Django, plain WSGI) maps errors the same
way."""

from __future__ import annotations

from typing import Any


class ComplianceError(Exception):
    """Root of every error the SDK raises on purpose."""

    code: str = "error"
    status: int = 500

    def __init__(self, message: str = "", *, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.fields = fields

    def to_body(self) -> dict[str, Any]:
        """The JSON error body of PROTOCOL 2.3: ``{"error", "message", "fields"?}``."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


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
