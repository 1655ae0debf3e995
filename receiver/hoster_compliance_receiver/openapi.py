"""``GET /openapi.json``: the OpenAPI 3 description of every route (PROTOCOL 2, 7.3), generated
with apispec from the same marshmallow schemas that validate and serialise, so the document
cannot drift from the code. Built once when the blueprint is registered, served as bytes; what
each route says is in ``openapi_paths``."""

from __future__ import annotations

import json
import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, current_app
from flask.blueprints import BlueprintSetupState

from hoster_compliance.notices.schema import NoticeSchema, NotifierSchema
from hoster_compliance.protocol import schemas_in as schemas
from hoster_compliance.protocol import schemas_out

from .openapi_paths import SECURITY_SCHEME, paths

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.0.3"
_EXTENSION_KEY = "hoster_compliance_openapi"

#: Input schemas: the server rejects unknown keys, so ``additionalProperties: false`` is true.
_INPUT_SCHEMAS = (
    schemas.EnvelopeSchema, schemas.OrderCreatedSchema, schemas.OrderWithdrawnSchema,
    schemas.ItemSchema, schemas.ContentHashSchema, schemas.ActionSchema, NoticeSchema,
    NotifierSchema,
)
#: Output schemas: a later version may add keys, so clients must ignore unknown ones.
_OUTPUT_SCHEMAS = (
    schemas.ErrorSchema, schemas.ItemOutSchema, schemas.DeliverySchema, schemas.EventSchema,
    schemas.OrderSummarySchema, schemas.OrderDetailSchema, schemas.OrderListSchema,
    schemas.OrderActionResultSchema, schemas.DeliveryListSchema, schemas.WebhookAcceptedSchema,
    schemas.WithdrawalAcceptedSchema, schemas_out.AlertSchema, schemas_out.AlertListSchema,
)


_PYTHON_END = re.compile(r"\\Z$")


def _portable(node: Any, *, output: bool = False) -> None:
    """In place: Python's ``\\Z`` anchors become ECMA ``^...$``; output schemas lose
    ``additionalProperties: false`` (responses may gain keys)."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and _PYTHON_END.search(pattern):
            node["pattern"] = "^(?:" + _PYTHON_END.sub("", pattern) + ")$"
        if output and node.get("additionalProperties") is False:
            del node["additionalProperties"]
        for value in node.values():
            _portable(value, output=output)
    elif isinstance(node, list):
        for value in node:
            _portable(value, output=output)


def build_spec(title: str = "hoster-compliance receiver") -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    spec = APISpec(
        title=title, version="1", openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": "Signed removal orders and notices in (PROTOCOL 2), the operator "
                             "API (PROTOCOL 7.3, 9.4). Every error body is the Error schema."},
    )
    spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer",
                          "description": "An operator token of the configuration."})
    for schema in (*_INPUT_SCHEMAS, *_OUTPUT_SCHEMAS):
        name = schema.__name__.removesuffix("Schema")
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    for path, operations in paths().items():
        spec.path(path=path, operations=operations)
    doc = spec.to_dict()
    inputs = {schema.__name__.removesuffix("Schema") for schema in _INPUT_SCHEMAS}
    for name, component in doc["components"]["schemas"].items():
        _portable(component, output=name not in inputs)
    _portable(doc)
    return doc


def _store(state: BlueprintSetupState) -> None:
    state.app.extensions[_EXTENSION_KEY] = json.dumps(build_spec()).encode()


bp.record_once(_store)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(current_app.extensions[_EXTENSION_KEY], mimetype="application/json")
