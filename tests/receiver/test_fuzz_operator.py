"""Fuzzing the operator API (PROTOCOL 7.3) from its own /openapi.json with schemathesis, in
process against the WSGI app, with the bearer token: no 5xx, every answer what the document
says, every error a JSON body with a PROTOCOL code and its status. The database holds an open
order, a completed one, a withdrawn one and a failed delivery, under the example ids the
document gives, so the examples phase reaches real rows, not only 404s.

A second part fuzzes the same routes with hypothesis (odd path segments, query strings and
bodies, any item id), keeping every input that once broke the API as an explicit example.

CI runs a bounded share (``HC_FUZZ_EXAMPLES``, default 200 per hypothesis test and database;
schemathesis gets a quarter of that per operation, being slower per case). A longer run by
hand::

    HC_FUZZ_EXAMPLES=20000 python -m pytest tests/receiver/test_fuzz_operator.py -q
"""

from __future__ import annotations

import base64
import itertools
import os
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hoster_compliance.store.tables import deliveries
from tests.helpers import AUTH, FakeClock, order_data
from tests.helpers.fuzz import check_error_body, dumps, json_values, odd_text
from tests.helpers.webhooks import envelope, post

EXAMPLES = int(os.environ.get("HC_FUZZ_EXAMPLES", "200"))
_ORDERS = itertools.count()
#: The example ids of the OpenAPI document (see openapi.py).
ISSUER, ORDER, ITEM = "nl-atkm", "2026-000123", "i1"


def protocol_error_body(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx/5xx is ``{"error", "message", "fields"?}`` with a PROTOCOL code and status.

    One answer is outside PROTOCOL and allowed here: a method a route does not have (the
    coverage phase sends TRACE, or GET to a POST route) is Flask's 405 ``method_not_allowed``,
    a JSON body too."""
    if response.status_code == 405 and case.method.upper() != case.operation.method.upper():
        assert response.json()["error"] == "method_not_allowed"
        return
    if response.status_code >= 400:
        check_error_body(response.status_code, response.json())


def seed(client: Any, clock: FakeClock, service: Any) -> None:
    """Open order ORDER (items i1, i2), a completed and a withdrawn one; delivery 1 failed."""
    for order_id in (ORDER, "done-1", "gone-1"):
        assert post(client, clock, envelope(order_data(order_id))).status_code == 201
    done = client.post(f"/v1/orders/{ISSUER}/done-1/action", json={"action": "removed"},
                       headers=AUTH)
    assert done.status_code == 200
    gone = post(client, clock, envelope({"order_id": "gone-1"}, "order.withdrawn"))
    assert gone.status_code == 200
    with service.engine.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == 1).values(
            state="failed", last_status=400, last_error="rejected by the issuer"))


@pytest.fixture
def operator_schema(app: Any, client: Any, clock: FakeClock, service: Any) -> Any:
    seed(client, clock, service)
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(deliveries.c.state).where(deliveries.c.id == 1)
                            ).scalar_one() == "failed"
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("operator_schema").include(tag="operator")


@schema.parametrize()
@settings(max_examples=max(EXAMPLES // 4, 10), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_operator_api(case: Any) -> None:
    case.call_and_validate(
        headers=AUTH,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_schema_conformance],
        additional_checks=[protocol_error_body],
    )


# -- the same API fuzzed with hypothesis: odd path segments, query strings and bodies --------

ROUTES = [
    ("GET", "/v1/orders"),
    ("GET", "/v1/orders/{0}/{1}"),
    ("POST", "/v1/orders/{0}/{1}/items/{2}/action"),
    ("POST", "/v1/orders/{0}/{1}/action"),
    ("GET", "/v1/reports/transparency"),
    ("GET", "/v1/deliveries"),
    ("POST", "/v1/deliveries/{0}/retry"),
    ("GET", "/v1/orders/{0}/{1}/items/{2}/statement"),
]
QUERY_KEYS = ["status", "issuer_id", "kind", "limit", "cursor", "state", "start", "end"]
PLAUSIBLE = [ISSUER, ORDER, ITEM, "i2", "done-1", "gone-1", "offlimits", "1", "2", "0", "open",
             "overdue", "all", "order", "notice", "failed", "pending", "500", "501", "2026-11-22",
             "2026-01-01", "9999-12-31", "0001-01-01", "20261122", "2026-W47-1"]
segments = (st.sampled_from(PLAUSIBLE) | odd_text).filter(lambda s: s and "/" not in s)
query_values = st.sampled_from(PLAUSIBLE) | odd_text
times = st.sampled_from(["2026-11-22T09:00:00Z", "2026-11-22T09:00:05Z", "2026-11-22T09:00:06Z",
                         "2026-11-22T08:59:59Z", "2026-11-22T10:00:00+01:00"]) | odd_text
action_bodies = st.fixed_dictionaries(
    {"action": st.sampled_from(["removed", "disabled", "geo_blocked", "not_found", "not_hosted",
                                "refused"]) | odd_text},
    optional={"acted_at": times, "reason": odd_text,
              "basis": st.sampled_from(["law", "terms"]) | odd_text,
              "automated": st.booleans() | json_values, "extra": json_values},
)
bodies = st.one_of(st.none(), action_bodies.map(dumps), json_values.map(dumps),
                   st.binary(max_size=200))


def q(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
def documented(client: Any) -> Any:
    """``check(template, method, response)``: the 200 body validates against the document."""
    doc = client.get("/openapi.json").json

    def check(template: str, method: str, response: Any) -> None:
        path = template.format("{issuer_id}", "{order_id}", "{item_id}")
        if "deliveries/{0}" in template:
            path = "/v1/deliveries/{delivery_id}/retry"
        answer = doc["paths"][path][method.lower()]["responses"]["200"]
        schema = answer["content"]["application/json"]["schema"]
        validator = OAS30Validator({**schema, "components": doc["components"]})
        errors = [e.message for e in validator.iter_errors(response.json)]
        assert errors == [], (path, errors)

    return check


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(route=st.sampled_from(ROUTES), segs=st.lists(segments, min_size=3, max_size=3),
       query=st.dictionaries(st.sampled_from(QUERY_KEYS) | odd_text, query_values, max_size=4),
       body=bodies)
# Found by fuzzing, kept as fixed cases (each was a 500, or a non-PROTOCOL 404):
@example(route=ROUTES[0], segs=["", "", ""], query={"limit": "\u00b2"}, body=None)
@example(route=ROUTES[0], segs=["", "", ""], query={"limit": "0" * 5000 + "1"}, body=None)
@example(route=ROUTES[0], segs=["", "", ""], query={"issuer_id": "\x00"}, body=None)
@example(route=ROUTES[0], segs=["", "", ""], body=None,
         query={"cursor": base64.urlsafe_b64encode(b"[99999999999999999999999,0,0]").decode()})
@example(route=ROUTES[1], segs=[ISSUER, "a\x00b", ""], query={}, body=None)
@example(route=ROUTES[2], segs=[ISSUER, ORDER, "i\x001"], query={},
         body=b'{"action": "removed"}')
@example(route=ROUTES[3], segs=[ISSUER, "a\x00b", ""], query={},
         body=b'{"action": "removed"}')
@example(route=ROUTES[2], segs=[ISSUER, ORDER, ITEM], query={},
         body=b'{"action": "refused", "reason": "\\ud800"}')
@example(route=ROUTES[6], segs=["99999999999999999999999", "", ""], query={}, body=None)
@example(route=ROUTES[6], segs=["abc", "", ""], query={}, body=None)
@example(route=ROUTES[6], segs=["-1", "", ""], query={}, body=None)
@example(route=ROUTES[6], segs=["41618448373920", "", ""], query={}, body=None)  # > INTEGER
@example(route=ROUTES[0], segs=["", "", ""], body=None,
         query={"cursor": base64.urlsafe_b64encode(b"[0,0,1099511627776]").decode()})
@example(route=ROUTES[2], segs=[ISSUER, ORDER, "\x00\n"], query={},
         body=b'{"action": "removed"}')
@example(route=ROUTES[7], segs=[ISSUER, ORDER, "i\x001"], query={}, body=None)
@example(route=ROUTES[7], segs=[ISSUER, "done-1", ITEM], query={}, body=None)
@example(route=ROUTES[4], segs=["", "", ""], query={"start": "9999-12-31", "end": "9999-12-31"},
         body=None)
@example(route=ROUTES[4], segs=["", "", ""], query={"start": "0001-01-01", "end": "0001-01-01"},
         body=None)
def test_odd_requests_never_fail(
    client: Any, clock: FakeClock, service: Any, documented: Any, route: tuple[str, str],
    segs: list[str], query: dict[str, str], body: bytes | None,
) -> None:
    if not client.get(f"/v1/orders/{ISSUER}/{ORDER}", headers=AUTH).status_code == 200:
        seed(client, clock, service)  # once per database: the examples share it
    method, template = route
    url = template.format(*(q(s) for s in segs))
    if query:
        url += "?" + "&".join(f"{q(k)}={q(v)}" for k, v in query.items())
    response = client.open(url, method=method, headers=AUTH, data=body,
                           content_type="application/json")
    assert response.status_code < 500, (url, response.status_code, response.json)
    assert response.mimetype == "application/json"
    try:
        if response.status_code >= 400:
            check_error_body(response.status_code, response.json)
        else:
            assert response.status_code == 200
            documented(template, method, response)
    except AssertionError as exc:
        raise AssertionError(f"{method} {url!r} -> {response.status_code}: {exc}") from None


item_ids = st.lists(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
    | st.sampled_from(["/", ".", "\n", "%", "?", "#", "/action", "//", ".."]),
    min_size=1, max_size=40,
).map("".join).map(lambda s: s[:128])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(item_id=item_ids)
@example(item_id="a\nb")  # found by fuzzing: the path converter stops at a newline
@example(item_id="/lead")  # merge_slashes: 308 to item "lead", another item
@example(item_id="x/action")
@example(item_id="a//b")
@example(item_id="x/")
def test_every_item_id_is_addressable(client: Any, clock: FakeClock, item_id: str) -> None:
    """PROTOCOL 2.1 allows any 1-128 characters in an item_id; the item route must reach that
    item and no other, whatever the characters (percent-encoded as any HTTP client does)."""
    order_id = f"ids-{next(_ORDERS)}"
    data = order_data(order_id, items=[{"item_id": item_id, "url": "https://f.example/1"},
                                       {"item_id": item_id + "-other", "url": "https://f.example/2"}])
    created = post(client, clock, envelope(data))
    assert created.status_code == 201, created.json
    url = f"/v1/orders/{ISSUER}/{order_id}/items/{q(item_id)}/action"
    response = client.post(url, json={"action": "not_found"}, headers=AUTH)
    assert response.status_code == 200, (url, response.status_code, response.json)
    assert response.json["item_id"] == item_id
    detail = client.get(f"/v1/orders/{ISSUER}/{order_id}", headers=AUTH).json
    assert [i["action"] for i in detail["items"]] == ["not_found", None]
