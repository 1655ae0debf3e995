"""GET /openapi.json: a valid OpenAPI 3 document, generated from the marshmallow schemas, that
describes every route the app serves, with the operator routes behind the bearer scheme."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from hoster_compliance.orders import reads as queries
from hoster_compliance.protocol import schemas_in as schemas
from hoster_compliance_receiver import openapi
from tests.helpers import AUTH, order_data

IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTML_PATHS = {"/notices/new", "/notices"}
PUBLIC_PATHS = {"/healthz", "/openapi.json", "/v1/webhooks/{issuer_id}",
                "/.well-known/hoster-compliance/keys", "/v1/notices", "/notices/new",
                "/notices"}


def openapi_path(rule: str) -> str:
    """``/v1/orders/<issuer_id>/<int:x>`` -> ``/v1/orders/{issuer_id}/{x}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@pytest.fixture
def doc(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json  # type: ignore[no-any-return]


def schema_validator(doc: dict[str, Any], schema: dict[str, Any]) -> OAS30Validator:
    """A validator for one schema of ``doc`` whose ``#/components/...`` refs resolve."""
    return OAS30Validator({**schema, "components": doc["components"]})


def test_document_is_valid_openapi_3(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.")
    validate(doc)  # raises on any violation of the OpenAPI 3 schema


def test_openapi_needs_no_token_and_is_the_same_for_a_token(client: Any) -> None:
    assert client.get("/openapi.json").data == client.get("/openapi.json", headers=AUTH).data


def test_every_url_rule_is_documented_with_its_methods(app: Any, doc: dict[str, Any]) -> None:
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("ui."):
            continue  # the dashboard's HTML pages (PROTOCOL 12) are not the API
        methods = {m.lower() for m in rule.methods or ()} - {m.lower() for m in IGNORED_METHODS}
        served.setdefault(openapi_path(rule.rule), set()).update(methods)
    for path, methods in served.items():
        assert path in doc["paths"], f"{path} is served but not documented"
        assert methods <= set(doc["paths"][path]), f"{path}: {methods} not all documented"
    # And nothing is documented that the app does not serve.
    documented = {path: set(ops) for path, ops in doc["paths"].items()}
    assert documented == served


def test_protocol_routes_are_all_there(doc: dict[str, Any]) -> None:
    expected = {
        ("post", "/v1/webhooks/{issuer_id}"), ("get", "/v1/orders"),
        ("get", "/v1/orders/{issuer_id}/{order_id}"),
        ("post", "/v1/orders/{issuer_id}/{order_id}/items/{item_id}/action"),
        ("post", "/v1/orders/{issuer_id}/{order_id}/action"),
        ("get", "/v1/reports/transparency"), ("get", "/v1/deliveries"),
        ("post", "/v1/deliveries/{delivery_id}/retry"), ("get", "/healthz"),
        ("get", "/openapi.json"), ("get", "/.well-known/hoster-compliance/keys"),
        ("post", "/v1/notices"), ("get", "/notices/new"), ("post", "/notices"),
        ("get", "/v1/orders/{issuer_id}/{order_id}/items/{item_id}/statement"),
        ("get", "/v1/alerts"), ("get", "/metrics"),
    }
    assert {(m, p) for p, ops in doc["paths"].items() for m in ops} == expected


def test_operator_routes_declare_bearer_security(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"][openapi.SECURITY_SCHEME] == {
        "type": "http", "scheme": "bearer", "description": "An operator token of the configuration."
    }
    assert "security" not in doc  # no global requirement: the public routes need none
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if path in PUBLIC_PATHS:
                assert "security" not in operation, (method, path)
            else:
                assert operation["security"] == [{openapi.SECURITY_SCHEME: []}], (method, path)
                assert operation["responses"]["401"]["content"]["application/json"][
                    "schema"] == {"$ref": "#/components/schemas/Error"}


def test_error_responses_use_the_error_schema(doc: dict[str, Any]) -> None:
    webhook = doc["paths"]["/v1/webhooks/{issuer_id}"]["post"]
    assert set(webhook["responses"]) == {
        "200", "201", "400", "401", "404", "409", "413", "415", "503"}
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if path in HTML_PATHS:  # the notice form answers pages, errors included
                    assert set(response["content"]) == {"text/html"}
                elif int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"}
    assert "Retry-After" in webhook["responses"]["503"]["headers"]
    error = doc["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error", "message", "fields"}
    assert set(error["required"]) == {"error", "message"}


def test_signature_headers_and_path_parameters(doc: dict[str, Any]) -> None:
    webhook = doc["paths"]["/v1/webhooks/{issuer_id}"]["post"]
    params = {(p["in"], p["name"]): p for p in webhook["parameters"]}
    assert set(params) == {("path", "issuer_id"), ("header", "webhook-id"),
                           ("header", "webhook-timestamp"), ("header", "webhook-signature")}
    assert all(p["required"] for p in params.values())
    item = doc["paths"]["/v1/orders/{issuer_id}/{order_id}/items/{item_id}/action"]["post"]
    assert [(p["in"], p["name"]) for p in item["parameters"]] == [
        ("path", "issuer_id"), ("path", "order_id"), ("path", "item_id")]
    retry = doc["paths"]["/v1/deliveries/{delivery_id}/retry"]["post"]
    assert retry["parameters"][0]["schema"]["type"] == "integer"


def test_query_parameters(doc: dict[str, Any]) -> None:
    listing = {p["name"]: p for p in doc["paths"]["/v1/orders"]["get"]["parameters"]}
    assert set(listing) == {"status", "issuer_id", "kind", "limit", "cursor"}
    assert all(p["in"] == "query" and not p["required"] for p in listing.values())
    assert listing["status"]["schema"]["enum"] == list(queries.STATUSES)
    assert listing["kind"]["schema"]["enum"] == list(queries.KINDS)
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500,
                                          "default": 100}
    outbox = {p["name"]: p for p in doc["paths"]["/v1/deliveries"]["get"]["parameters"]}
    assert set(outbox) == {"state", "limit"}
    assert outbox["state"]["schema"]["enum"] == ["pending", "failed", "delivered"]
    assert outbox["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 5000,
                                         "default": 500}
    report = {p["name"]: p for p in doc["paths"]["/v1/reports/transparency"]["get"]["parameters"]}
    assert {n: (p["required"], p["schema"]["format"]) for n, p in report.items()} == {
        "start": (True, "date"), "end": (True, "date")}


def test_components_come_from_the_marshmallow_schemas(doc: dict[str, Any]) -> None:
    components = doc["components"]["schemas"]
    assert components["Action"]["properties"]["action"]["enum"] == list(schemas.ACTIONS)
    assert set(components["OrderCreated"]["properties"]) == set(
        schemas.OrderCreatedSchema().fields)
    assert set(components["OrderDetail"]["properties"]) == set(
        schemas.OrderDetailSchema().fields)
    assert set(components["Delivery"]["required"]) == {
        "id", "issuer_id", "order_id", "type", "state", "attempts", "webhook_id"}
    # The server rejects unknown input keys; responses may gain keys later.
    assert components["OrderCreated"]["additionalProperties"] is False
    assert "additionalProperties" not in components["OrderDetail"]
    # Python-only regex anchors are made portable.
    assert components["OrderCreated"]["properties"]["order_id"]["pattern"] == (
        r"^(?:[A-Za-z0-9._:\-]{1,128})$")


def test_webhook_body_schema_accepts_both_events_and_rejects_extra_keys(
    doc: dict[str, Any]
) -> None:
    body = doc["paths"]["/v1/webhooks/{issuer_id}"]["post"]["requestBody"]
    validator = schema_validator(doc, body["content"]["application/json"]["schema"])
    created = {"type": "order.created", "timestamp": "2026-11-22T09:00:00Z",
               "data": order_data()}
    withdrawn = {"type": "order.withdrawn", "timestamp": "2026-11-22T09:00:00Z",
                 "data": {"order_id": "ord-1", "reason": "mistake"}}
    assert validator.is_valid(created) and validator.is_valid(withdrawn)
    assert not validator.is_valid({**created, "extra": 1})
    assert not validator.is_valid({**created, "data": {**order_data(), "typo": 1}})
    assert not validator.is_valid({**withdrawn, "data": order_data()})


def test_real_answers_match_the_documented_schemas(
    client: Any, clock: Any, doc: dict[str, Any]
) -> None:
    from tests.helpers.webhooks import envelope, post

    created = post(client, clock, envelope(order_data()))
    acted = client.post("/v1/orders/nl-atkm/ord-1/items/i1/action", json={"action": "removed"},
                        headers=AUTH)
    answers = [
        ("/v1/webhooks/{issuer_id}", "post", created),
        ("/v1/orders/{issuer_id}/{order_id}/items/{item_id}/action", "post", acted),
        ("/v1/orders", "get", client.get("/v1/orders", headers=AUTH)),
        ("/v1/orders/{issuer_id}/{order_id}", "get",
         client.get("/v1/orders/nl-atkm/ord-1", headers=AUTH)),
        ("/v1/deliveries", "get", client.get("/v1/deliveries", headers=AUTH)),
        ("/v1/orders", "get", client.get("/v1/orders?limit=0", headers=AUTH)),
        ("/v1/orders", "get", client.get("/v1/orders")),
        ("/healthz", "get", client.get("/healthz")),
    ]
    for path, method, response in answers:
        documented = doc["paths"][path][method]["responses"][str(response.status_code)]
        schema = documented["content"]["application/json"]["schema"]
        errors = [e.message for e in schema_validator(doc, schema).iter_errors(response.json)]
        assert errors == [], (path, response.status_code, errors)
    assert created.status_code == 201 and acted.status_code == 200


def test_spec_is_built_once_per_app_not_per_request(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = client.get("/openapi.json").data

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the spec was built again")

    monkeypatch.setattr(openapi, "build_spec", fail)
    assert client.get("/openapi.json").data == first
    assert json.loads(first)["info"]["title"] == "hoster-compliance receiver"
