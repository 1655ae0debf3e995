"""The operator API (PROTOCOL 7.3): bearer-token protected, thin views over the SDK."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, request

from hoster_compliance.auth import operator_actor
from hoster_compliance.errors import InvalidJson, PayloadTooLarge, Unauthorized, UnknownDelivery
from hoster_compliance.protocol.limits import OPERATOR_MAX_BODY_BYTES
from hoster_compliance.protocol.strict_json import parse_json
from hoster_compliance.service import ComplianceService

from .bodies import read_body
from .responses import json_response

bp = Blueprint("operator", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def _service() -> ComplianceService:
    return current_app.extensions["hoster_compliance"]  # type: ignore[no-any-return]


def _json(status: int, body: dict[str, Any]) -> Response:
    return json_response(status, body)


def token_required(view: F) -> F:
    """401 ``unauthorized`` unless ``Authorization: Bearer <token>`` names a configured token."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        actor = operator_actor(_service().config.operator_tokens, token.strip()) \
            if scheme.lower() == "bearer" else None
        if actor is None:
            raise Unauthorized("A valid operator token is required (Authorization: Bearer ...).")
        g.actor = actor
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.get("/healthz")
def healthz() -> Response:
    if _service().healthy():
        return _json(200, {"status": "ok"})
    return _json(503, {"error": "unavailable", "message": "Storage does not answer."})


@bp.get("/v1/orders")
@token_required
def list_orders() -> Response:
    return _json(200, _service().list_orders(request.args.to_dict()))


@bp.get("/v1/orders/<issuer_id>/<order_id>")
@token_required
def get_order(issuer_id: str, order_id: str) -> Response:
    return _json(200, _service().get_order(issuer_id, order_id))


@bp.get("/v1/deliveries")
@token_required
def list_deliveries() -> Response:
    return _json(200, _service().list_deliveries(request.args.get("state"),
                                                 request.args.get("limit")))


@bp.get("/v1/alerts")
@token_required
def list_alerts() -> Response:
    return _json(200, _service().list_alerts(request.args.get("state"),
                                             request.args.get("limit")))


@bp.post("/v1/deliveries/<delivery_id>/retry")
@token_required
def retry_delivery(delivery_id: str) -> Response:
    # Not <int:...>: "abc" or "-1" is 404 unknown_delivery after the token check, not Flask's
    # bare 404 before it.
    if not re.fullmatch(r"[0-9]{1,10}", delivery_id):
        raise UnknownDelivery("No such delivery.")
    return _json(200, _service().retry_delivery(int(delivery_id), actor=g.actor))


def _json_body() -> object:
    """The request's JSON body, read up to :data:`OPERATOR_MAX_BODY_BYTES` (PROTOCOL 13.2)."""
    too_large = PayloadTooLarge(f"The body must be at most {OPERATOR_MAX_BODY_BYTES} bytes.")
    if (request.content_length or 0) > OPERATOR_MAX_BODY_BYTES:
        raise too_large
    body = read_body(OPERATOR_MAX_BODY_BYTES)
    if len(body) > OPERATOR_MAX_BODY_BYTES:
        raise too_large
    if not body:
        raise InvalidJson("The body must be a JSON object.")
    return parse_json(body)


@bp.post("/v1/orders/<issuer_id>/<order_id>/items/<item_id:item_id>/action",
         merge_slashes=False)
@token_required
def act_on_item(issuer_id: str, order_id: str, item_id: str) -> Response:
    return _json(200, _service().act(issuer_id, order_id, item_id, _json_body(), actor=g.actor))


@bp.post("/v1/orders/<issuer_id>/<order_id>/action")
@token_required
def act_on_order(issuer_id: str, order_id: str) -> Response:
    return _json(200, _service().act(issuer_id, order_id, None, _json_body(), actor=g.actor))


@bp.get("/v1/orders/<issuer_id>/<order_id>/items/<item_id:item_id>/statement",
        merge_slashes=False)
@token_required
def statement(issuer_id: str, order_id: str, item_id: str) -> Response:
    """The statement of reasons of one item (PROTOCOL 10.3)."""
    return _json(200, _service().statement(issuer_id, order_id, item_id))


@bp.get("/v1/reports/transparency")
@token_required
def transparency_report() -> Response:
    """The DSA Art. 15 report as JSON (PROTOCOL 8) for ``start``..``end`` (dates, inclusive)."""
    return _json(200, _service().report(request.args.get("start", ""),
                                        request.args.get("end", "")))
