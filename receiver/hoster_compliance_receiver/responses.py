"""JSON responses, shared by the application and its blueprints."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """``body`` as JSON (keys in the order given) with ``status`` and extra ``headers``."""
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
