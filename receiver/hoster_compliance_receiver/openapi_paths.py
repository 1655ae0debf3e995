"""What every route of ``/openapi.json`` says (PROTOCOL 2, 7.3, 9.4, 10): its parameters,
bodies and answers, as ``{path: {method: operation}}`` for apispec (``openapi.build_spec``).
Bodies name the marshmallow schemas registered there."""

from __future__ import annotations

from typing import Any

from hoster_compliance.alerts import reads as alert_reads
from hoster_compliance.orders import reads as queries
from hoster_compliance.protocol.limits import OPERATOR_MAX_BODY_BYTES
from hoster_compliance.vocabulary import DELIVERY_STATES

SECURITY_SCHEME = "operatorToken"
_ERROR = {"$ref": "#/components/schemas/Error"}

_ERROR_TEXT = {
    400: "Invalid request (`invalid_json`, `invalid_payload` with `fields`, `invalid_query`, "
         "`unknown_type`).",
    401: "Authentication failed.",
    404: "Not found.",
    409: "Conflict with what is recorded (`conflict`, `order_withdrawn`).",
    413: "Body larger than `max_body_bytes` (`payload_too_large`).",
    415: "Not `application/json` in UTF-8 (`unsupported_media_type`).",
    503: "Storage unavailable (`unavailable`); retry after `Retry-After` seconds.",
}


_OPERATOR_413 = f"Body larger than {OPERATOR_MAX_BODY_BYTES} bytes (`payload_too_large`)."


def _json(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int, **descriptions: str) -> dict[str, Any]:
    """Error responses with the Error body; ``descriptions`` override by ``s<status>``."""
    result: dict[str, Any] = {}
    for status in statuses:
        response = _json(_ERROR, descriptions.get(f"s{status}", _ERROR_TEXT[status]))
        if status == 503:
            response["headers"] = {"Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0}}}
        result[str(status)] = response
    return result


def _path(name: str, description: str, example: str, **schema: Any) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "description": description,
            "schema": {"type": "string", **schema}, "example": example}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": {"type": "string", **schema}}


def _limit(description: str, maximum: int, default: int) -> dict[str, Any]:
    """The ``limit`` query parameter of a listing."""
    return {"in": "query", "name": "limit", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}}


_ISSUER_ID = _path("issuer_id", "The issuer's id in the hoster's configuration.", "nl-atkm",
                   pattern=r"^[A-Za-z0-9._-]{1,128}$")
_ORDER_ID = _path("order_id", "The issuer's order id.", "2026-000123",
                  pattern=r"^[A-Za-z0-9._:-]{1,128}$")
_ITEM_ID = _path("item_id", "The item's id within the order, percent-encoded (it may hold any "
                            "character, `/` included).", "i1", minLength=1, maxLength=128)
_DELIVERY_ID = {"in": "path", "name": "delivery_id", "required": True,
                "description": "The delivery's id, as listed by `GET /v1/deliveries`.",
                "schema": {"type": "integer", "minimum": 0}, "example": 1}
_SIGNATURE_HEADERS = [
    {"in": "header", "name": "webhook-id", "required": True, "schema": {"type": "string"},
     "description": "Message id, the same on every retry of one message (idempotency key)."},
    {"in": "header", "name": "webhook-timestamp", "required": True,
     "schema": {"type": "string", "pattern": r"^[0-9]+$"},
     "description": "Unix seconds of this attempt; accepted within the configured tolerance "
                    "(default ±300 s)."},
    {"in": "header", "name": "webhook-signature", "required": True, "schema": {"type": "string"},
     "description": "Space-separated `v1,<base64 HMAC-SHA256>` tokens (the issuer's secrets) "
                    "and `v1a,<base64 Ed25519 signature>` tokens (its public keys) over "
                    "`{webhook-id}.{webhook-timestamp}.{raw body}` (Standard Webhooks); one "
                    "matching token suffices."},
]
_KEY_LIST = {
    "type": "object", "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {
        "type": "object", "required": ["kid", "alg", "public_key"],
        "properties": {
            "kid": {"type": "string", "pattern": "^[0-9a-f]{16}$",
                    "description": "First 16 hex digits of SHA-256 of the 32 key bytes."},
            "alg": {"type": "string", "enum": ["ed25519"]},
            "public_key": {"type": "string", "pattern": "^whpk_[A-Za-z0-9+/]{43}=$",
                           "description": "`whpk_` and the base64 of the 32-byte key."},
        }}}},
}
_UNAUTHORIZED = {"s401": "Missing or wrong operator token (`unauthorized`)."}
_ACTION_BODY = {"required": True, "content": {"application/json": {"schema": "ActionSchema"}}}


def _operator(summary: str, **operation: Any) -> dict[str, Any]:
    """An operator-API operation: bearer token required, 401 and 503 answered."""
    responses = {**operation.pop("responses"), **_errors(401, 503, **_UNAUTHORIZED)}
    responses = dict(sorted(responses.items()))
    return {"tags": ["operator"], "summary": summary, "security": [{SECURITY_SCHEME: []}],
            "responses": responses, **operation}


def _webhook_body() -> dict[str, Any]:
    """The envelope; ``data`` is an ``OrderCreated`` or ``OrderWithdrawn`` after its ``type``."""
    variants = [
        {"allOf": [{"$ref": "#/components/schemas/Envelope"}, {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": [event]},
                           "data": {"$ref": f"#/components/schemas/{data}"}}}]}
        for event, data in (("order.created", "OrderCreated"),
                            ("order.withdrawn", "OrderWithdrawn"))
    ]
    return {"required": True, "content": {"application/json": {"schema": {"oneOf": variants}}}}


def paths() -> dict[str, dict[str, Any]]:
    """Every route, as ``{path: {method: operation}}``."""
    accepted = {"oneOf": [{"$ref": "#/components/schemas/WebhookAccepted"},
                          {"$ref": "#/components/schemas/WithdrawalAccepted"}]}
    return {
        "/v1/webhooks/{issuer_id}": {"post": {
            "tags": ["webhooks"],
            "summary": "Receive a signed order.created or order.withdrawn (PROTOCOL 2).",
            "description": "Checks run in this order: issuer known (404), media type (415), "
                           "size (413), signature headers, timestamp, signature (401), JSON "
                           "and schema (400), then the store (409, 201, 200).",
            "parameters": [_ISSUER_ID, *_SIGNATURE_HEADERS],
            "requestBody": _webhook_body(),
            "responses": {
                "200": _json(accepted, "A redelivery of a stored order (`duplicate: true`), "
                                       "or an accepted withdrawal."),
                "201": _json("WebhookAcceptedSchema", "A new order was stored durably."),
                **_errors(400, 401, 404, 409, 413, 415, 503,
                          s401="Signature header missing or empty (`missing_signature`), no "
                               "`v1` or `v1a` token matches (`invalid_signature`), timestamp "
                               "outside tolerance (`timestamp_out_of_tolerance`).",
                          s404="`issuer_id` not configured (`unknown_issuer`), or withdrawing "
                               "an unknown order (`unknown_order`).",
                          s409="Same `order_id` already stored with different data "
                               "(`conflict`)."),
            },
        }},
        "/v1/orders": {"get": _operator(
            "List orders, deadline first (none last), then received_at.",
            parameters=[
                _query("status", "Default `all`; `overdue` is open past its deadline.",
                       enum=list(queries.STATUSES), default="all"),
                _query("issuer_id", "Only this issuer's orders; an unconfigured one lists "
                                    "nothing."),
                _query("kind", "Only orders, notices or own-initiative entries.",
                       enum=list(queries.KINDS)),
                _limit("Page size.", queries.MAX_LIMIT, queries.DEFAULT_LIMIT),
                _query("cursor", "`next_cursor` of the previous page."),
            ],
            responses={"200": _json("OrderListSchema", "A page of orders."),
                       **_errors(400, s400="A bad cursor, filter or limit (`invalid_query`).")},
        )},
        "/v1/orders/{issuer_id}/{order_id}": {"get": _operator(
            "One order: summary, its data, items, deliveries and its newest 1000 audit events "
            "(`events_total` counts them all).",
            parameters=[_ISSUER_ID, _ORDER_ID],
            responses={"200": _json("OrderDetailSchema", "The order."),
                       **_errors(404, s404="No such order (`unknown_order`).")},
        )},
        "/v1/orders/{issuer_id}/{order_id}/items/{item_id}/action": {"post": _operator(
            "Record the action taken on one item (PROTOCOL 4).",
            description="Final once recorded: the same action again is a 200 no-op, another "
                        "is 409. Checks: token (401), body (400), order (404), withdrawn "
                        "(409), item (404), then 409 / 200.",
            parameters=[_ISSUER_ID, _ORDER_ID, _ITEM_ID],
            requestBody=_ACTION_BODY,
            responses={"200": _json("ItemOutSchema", "The item with its action."),
                       **_errors(400, 404, 409, 413,
                                 s404="No such order (`unknown_order`) or item "
                                      "(`unknown_item`).",
                                 s413=_OPERATOR_413)},
        )},
        "/v1/orders/{issuer_id}/{order_id}/action": {"post": _operator(
            "Record the same action on every item of the order that has none yet.",
            parameters=[_ISSUER_ID, _ORDER_ID],
            requestBody=_ACTION_BODY,
            responses={"200": _json("OrderActionResultSchema", "Every item of the order."),
                       **_errors(400, 404, 409, 413, s404="No such order (`unknown_order`).",
                                 s413=_OPERATOR_413)},
        )},
        "/v1/reports/transparency": {"get": _operator(
            "The transparency report of DSA Art. 15(1)(a) and (b) as JSON (PROTOCOL 8).",
            parameters=[
                {**_query("start", "First day of the period (UTC).", format="date"),
                 "required": True},
                {**_query("end", "Last day of the period (UTC), inclusive.", format="date"),
                 "required": True},
            ],
            responses={"200": _json({"type": "object", "additionalProperties": True},
                                    "The report: `period`, `orders`, `notices`."),
                       **_errors(400, s400="Bad or missing dates (`invalid_query`).")},
        )},
        "/v1/deliveries": {"get": _operator(
            "The outbox of callbacks to issuers, newest first.",
            parameters=[_query("state", "Only deliveries in this state; none: all.",
                               enum=list(DELIVERY_STATES)),
                        _limit("At most this many, newest first.",
                               queries.MAX_DELIVERY_LIMIT, queries.DEFAULT_DELIVERY_LIMIT)],
            responses={"200": _json("DeliveryListSchema", "The deliveries."),
                       **_errors(400, s400="A bad state or limit (`invalid_query`).")},
        )},
        "/v1/deliveries/{delivery_id}/retry": {"post": _operator(
            "Queue a failed delivery again, due now, with the same webhook-id.",
            parameters=[_DELIVERY_ID],
            responses={"200": _json("DeliverySchema", "The delivery, pending again."),
                       **_errors(404, 409, s404="No such delivery (`unknown_delivery`).",
                                 s409="The delivery has not failed (`conflict`).")},
        )},
        "/.well-known/hoster-compliance/keys": {"get": {
            "tags": ["public"],
            "summary": "The hoster's Ed25519 public keys, for issuers that verify `v1a` "
                       "callbacks (PROTOCOL 1); no token.",
            "description": "Every key of `signing_key_env`; each signs `v1a` callbacks. Empty "
                           "when the hoster has none. Cacheable for 5 minutes.",
            "responses": {"200": _json(_KEY_LIST, "The published keys.")},
        }},
        **_notice_paths(),
        "/v1/alerts": {"get": _operator(
            "Alerts to the hoster's people (PROTOCOL 9.4), newest first.",
            parameters=[_query("state", "Only alerts in this state; none: all.",
                               enum=list(alert_reads.STATES)),
                        _limit("At most this many, newest first.",
                               alert_reads.MAX_LIMIT, alert_reads.DEFAULT_LIMIT)],
            responses={"200": _json("AlertListSchema", "The alerts."),
                       **_errors(400, s400="A bad state or limit (`invalid_query`).")},
        )},
        "/metrics": {"get": _operator(
            "Prometheus metrics counted in the database at scrape time (PROTOCOL 9.4); no "
            "token when the configuration has `metrics_public = true`.",
            responses={"200": {"description": "The Prometheus text format 0.0.4.",
                               "content": {"text/plain": {"schema": {"type": "string"}}}}},
        )},
        "/healthz": {"get": {
            "tags": ["public"], "summary": "Liveness and storage check; no token.",
            "responses": {
                "200": _json({"type": "object", "required": ["status"],
                              "properties": {"status": {"type": "string", "enum": ["ok"]}}},
                             "Storage answers."),
                **_errors(503, s503="Storage does not answer (`unavailable`)."),
            },
        }},
        "/openapi.json": {"get": {
            "tags": ["public"], "summary": "This document; no token.",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI 3 document.")},
        }},
    }


def _notice_paths() -> dict[str, dict[str, Any]]:
    """The public notice routes and the statements of reasons (PROTOCOL 10)."""
    html = {"description": "An HTML page.", "content": {"text/html": {
        "schema": {"type": "string"}}}}
    notice_answer = {"type": "object", "required": ["notice_id", "status", "received_at"],
                     "properties": {
                         "notice_id": {"type": "string", "pattern": "^N-[0-9A-Z]{12}$"},
                         "status": {"type": "string"},
                         "received_at": {"type": "string", "format": "date-time"},
                         "deadline": {"type": "string", "format": "date-time",
                                      "nullable": True},
                         "duplicate": {"type": "boolean"}}}
    rate_limited = _json(_ERROR, "Too many notices from this client address (`rate_limited`).")
    rate_limited["headers"] = {"Retry-After": {
        "description": "Seconds until the client may send again.",
        "schema": {"type": "integer", "minimum": 1}}}
    return {
        "/v1/notices": {"post": {
            "tags": ["notices"],
            "summary": "A notice from anyone (DSA Art. 16; PROTOCOL 10.2); no token.",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": "NoticeSchema"}}},
            "responses": {
                "200": _json(notice_answer, "The same JSON from the same client within 24 h: "
                                            "the first notice (`duplicate: true`)."),
                "201": _json(notice_answer, "The notice was stored."),
                "429": rate_limited,
                **_errors(400, 404, 413, 415, 503,
                          s404="Notices are switched off (`not_found`).",
                          s413="Body larger than 64 KiB (`payload_too_large`)."),
            },
        }},
        "/notices/new": {"get": {
            "tags": ["notices"], "summary": "The notice form (HTML, works without JavaScript).",
            "responses": {"200": html, "404": html},
        }},
        "/notices": {"post": {
            "tags": ["notices"],
            "summary": "Submit the notice form (form-encoded); the confirmation page or the form "
                       "with its errors.",
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
            "responses": {"200": html, "400": html, "404": html, "413": html, "429": html,
                          "503": html},
        }},
        "/v1/orders/{issuer_id}/{order_id}/items/{item_id}/statement": {"get": _operator(
            "The statement of reasons of one item (DSA Art. 17; PROTOCOL 10.3), in the DSA "
            "Transparency Database's field names and values, plus `url` and `redress`.",
            parameters=[_ISSUER_ID, _ORDER_ID, _ITEM_ID],
            responses={"200": _json({"type": "object", "additionalProperties": True},
                                    "The statement."),
                       **_errors(404, s404="No such order or item (`unknown_order`, "
                                           "`unknown_item`), or none is owed (`no_statement`, "
                                           "the message says why).")},
        )},
    }
