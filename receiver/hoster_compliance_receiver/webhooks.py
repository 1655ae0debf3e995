"""What issuers talk to: ``POST /v1/webhooks/<issuer_id>`` (raw body -> service.receive -> JSON)
and ``GET /.well-known/hoster-compliance/keys`` (the hoster's public keys). No logic here."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from .bodies import read_body
from .responses import json_response

bp = Blueprint("webhooks", __name__)


@bp.post("/v1/webhooks/<issuer_id>")
def receive(issuer_id: str) -> Response:
    service = current_app.extensions["hoster_compliance"]
    # Never read more than one byte past the limit: the service answers 413 for that.
    body = read_body(service.config.max_body_bytes)
    result = service.receive(issuer_id, request.headers, body)
    return json_response(result.status, result.body, result.headers)


#: Issuers may keep the key list this long; a rotation signs with the old and the new key.
KEYS_MAX_AGE_SECONDS = 300


@bp.get("/.well-known/hoster-compliance/keys")
def public_keys() -> Response:
    service = current_app.extensions["hoster_compliance"]
    response = json_response(200, service.public_keys())
    response.headers["Cache-Control"] = f"public, max-age={KEYS_MAX_AGE_SECONDS}"
    return response
