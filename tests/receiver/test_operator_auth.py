"""The operator API (PROTOCOL 7.3) answers 401 ``unauthorized`` to anything but
``Authorization: Bearer <configured token>``, before it looks at the body; /healthz and
/openapi.json need no token. The routes come from the app's url_map, so a new one is covered."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.helpers import AUTH, TOKEN, order_data
from tests.helpers.webhooks import envelope, post

PUBLIC = {"/healthz", "/openapi.json"}
ARGS = {"issuer_id": "nl-atkm", "order_id": "ord-1", "item_id": "i1", "delivery_id": 1}
QUERIES = {"/v1/reports/transparency": "?start=2026-01-01&end=2026-12-31"}
BAD_AUTHORIZATION = {
    "none": None,
    "wrong token": f"Bearer {TOKEN}-not",
    "basic scheme": "Basic " + base64.b64encode(f"operator:{TOKEN}".encode()).decode(),
    "token as basic": f"Basic {TOKEN}",
    "empty bearer": "Bearer ",
    "bare scheme": "Bearer",
    "token alone": TOKEN,
    "other case": f"Bearer {TOKEN.upper()}",
    "prefix of token": f"Bearer {TOKEN[:-1]}",
    "token twice": f"Bearer {TOKEN}{TOKEN}",
}


def operator_requests(app: Any) -> list[tuple[str, str]]:
    """(method, url) of every operator route: every rule under /v1/ but the webhook and the
    public notice API (PROTOCOL 10.2)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or rule.rule.startswith(("/v1/webhooks/",
                                                                    "/v1/notices")):
            continue
        url = rule.build(ARGS, append_unknown=False)[1]  # ("", "/v1/...")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, url + QUERIES.get(rule.rule, "")))
    return found


@pytest.fixture
def seeded(client: Any, clock: Any) -> Any:
    """An order ord-1 with items i1, i2 and its acknowledgement (delivery 1)."""
    assert post(client, clock, envelope(order_data())).status_code == 201
    return client


def test_every_protocol_operator_route_is_found(app: Any) -> None:
    paths = {url.split("?")[0] for _, url in operator_requests(app)}
    assert paths >= {
        "/v1/orders", "/v1/orders/nl-atkm/ord-1", "/v1/orders/nl-atkm/ord-1/items/i1/action",
        "/v1/orders/nl-atkm/ord-1/action", "/v1/deliveries", "/v1/deliveries/1/retry",
    }


@pytest.mark.parametrize("authorization", list(BAD_AUTHORIZATION.values()),
                         ids=list(BAD_AUTHORIZATION))
def test_bad_or_missing_token_is_401_everywhere(
    app: Any, seeded: Any, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, url in operator_requests(app):
        # A body the route would reject with 400: the token is checked first (PROTOCOL 4).
        response = seeded.open(url, method=method, headers=headers, data=b"{not json",
                               content_type="application/json")
        assert response.status_code == 401, (method, url)
        assert response.json["error"] == "unauthorized", (method, url)
        assert set(response.json) == {"error", "message"}
        assert TOKEN not in response.get_data(as_text=True)


def test_token_in_the_query_string_is_not_accepted(app: Any, seeded: Any) -> None:
    for method, url in operator_requests(app):
        sep = "&" if "?" in url else "?"
        response = seeded.open(f"{url}{sep}access_token={TOKEN}", method=method,
                               json={"action": "removed"})
        assert response.status_code == 401, (method, url)


def test_rejected_requests_change_nothing(seeded: Any) -> None:
    for authorization in BAD_AUTHORIZATION.values():
        headers = {} if authorization is None else {"Authorization": authorization}
        seeded.post("/v1/orders/nl-atkm/ord-1/action", json={"action": "removed"},
                    headers=headers)
    detail = seeded.get("/v1/orders/nl-atkm/ord-1", headers=AUTH).json
    assert [item["action"] for item in detail["items"]] == [None, None]
    assert [event["type"] for event in detail["events"]] == ["received"]


def test_right_token_passes_on_every_route(app: Any, seeded: Any) -> None:
    for method, url in operator_requests(app):
        response = seeded.open(url, method=method, headers=AUTH, json={"action": "not_found"})
        assert response.status_code != 401, (method, url, response.json)
        assert response.status_code < 500, (method, url, response.json)


def test_scheme_name_is_case_insensitive(seeded: Any) -> None:
    """RFC 9110 11.1: the auth scheme is case-insensitive; the token itself is not."""
    assert seeded.get("/v1/orders", headers={"Authorization": f"bearer {TOKEN}"}
                      ).status_code == 200
    assert seeded.get("/v1/orders", headers={"Authorization": f"BEARER {TOKEN}"}
                      ).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic Zm9vOmJhcg=="])
def test_public_routes_need_no_token(client: Any, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    health = client.get("/healthz", headers=headers)
    assert (health.status_code, health.json) == (200, {"status": "ok"})
    spec = client.get("/openapi.json", headers=headers)
    assert spec.status_code == 200 and spec.json["openapi"].startswith("3.")
