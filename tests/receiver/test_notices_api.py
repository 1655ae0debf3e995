"""POST /v1/notices (PROTOCOL 10.2): a notice from anyone is stored like an order of
``kind = notice`` under the issuer ``public``, one item per URL, listed and acted on, with no
callbacks; repeats within 24 h are answered with the first notice; the rate limit is per client
address and kept in the database; every bad input is a 4xx with a code."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from hoster_compliance.service import ComplianceService
from tests.helpers import AUTH, FakeClock
from tests.helpers.fuzz import check_error_body
from tests.helpers.notices import NOTIFIER, URLS, notice, notices_app, notices_service

NOTICE_ID = re.compile(r"N-[0-9A-Z]{12}")


@pytest.fixture
def svc(db_url: str, clock: FakeClock) -> Iterator[ComplianceService]:
    service = notices_service(db_url, clock, max_per_hour_per_client=3)
    yield service
    service.close()


@pytest.fixture
def api(svc: ComplianceService) -> Any:
    return notices_app(svc).test_client()


def send(api: Any, doc: Any, *, addr: str = "192.0.2.1", **headers: str) -> Any:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return api.post("/v1/notices", data=body, content_type=headers.pop("content_type",
                    "application/json"), headers=headers, environ_base={"REMOTE_ADDR": addr})


def test_an_anonymous_notice_is_stored_as_a_notice_of_the_public(api: Any, clock: Any) -> None:
    response = send(api, notice())
    assert response.status_code == 201, response.json
    body = response.json
    assert NOTICE_ID.fullmatch(body["notice_id"])
    assert body == {"notice_id": body["notice_id"], "status": "open",
                    "received_at": "2026-11-22T09:00:00Z", "deadline": "2026-11-23T09:00:00Z"}
    detail = api.get(f"/v1/orders/public/{body['notice_id']}", headers=AUTH).json
    assert (detail["kind"], detail["issuer_id"], detail["regime"]) == ("notice", "public", "OTHER")
    assert detail["subcategory"] == "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
    assert [(i["item_id"], i["url"]) for i in detail["items"]] == [("1", URLS[0]), ("2", URLS[1])]
    assert detail["notifier"] is None
    assert detail["statement_of_reasons"].startswith("These images")
    assert detail["deliveries"] == []  # no acknowledgement: there is no issuer to call
    listed = api.get("/v1/orders?kind=notice", headers=AUTH).json["orders"]
    assert [o["order_id"] for o in listed] == [body["notice_id"]]


def test_notice_ids_are_random(api: Any) -> None:
    ids = {send(api, notice(urls=[f"https://x.example/{n}"])).json["notice_id"]
           for n in range(3)}
    assert len(ids) == 3


def test_the_notifier_is_in_the_detail_and_never_in_the_log(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    doc = notice(category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD", subcategory="KEYWORD_PHISHING",
                 notifier=NOTIFIER)
    response = send(api, doc)
    assert response.status_code == 201, response.json
    detail = api.get(f"/v1/orders/public/{response.json['notice_id']}", headers=AUTH).json
    assert detail["notifier"] == NOTIFIER
    assert all(NOTIFIER["email"] not in str(e["detail"]) for e in detail["events"])
    assert NOTIFIER["email"] not in caplog.text and NOTIFIER["name"] not in caplog.text
    assert response.json["notice_id"] in caplog.text


@pytest.mark.parametrize("notifier", [None, {"name": "A"}, {"email": "a@example.org"}])
def test_a_name_and_email_are_required_outside_the_anonymous_categories(
    api: Any, notifier: Any
) -> None:
    doc = notice(category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD", subcategory="KEYWORD_PHISHING",
                 notifier=notifier)
    response = send(api, doc)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_payload" and "notifier" in response.json["fields"]


@pytest.mark.parametrize("subcategory", ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
                                         "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
                                         "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"])
@pytest.mark.parametrize("notifier", [None, {"name": "A"}, {"email": "a@example.org"}])
def test_child_sexual_abuse_may_be_reported_anonymously_or_in_part(
    api: Any, subcategory: str, notifier: Any
) -> None:
    assert send(api, notice(subcategory=subcategory, notifier=notifier)).status_code == 201


@pytest.mark.parametrize(("doc", "field"), [
    (notice(urls=[]), "urls"),
    (notice(urls=["ftp://x.example/a"]), "urls"),
    (notice(urls=["https://x.example/a", "https://x.example/a"]), "urls"),
    (notice(urls=[f"https://x.example/{n}" for n in range(101)]), "urls"),
    (notice(urls=["https://x.example/" + "a" * 2048]), "urls"),
    (notice(explanation="too short"), "explanation"),
    (notice(explanation="x" * 10001), "explanation"),
    (notice(good_faith=False), "good_faith"),
    (notice(good_faith="yes"), "good_faith"),
    ({k: v for k, v in notice().items() if k != "good_faith"}, "good_faith"),
    (notice(category="STATEMENT_CATEGORY_NOPE"), "category"),
    (notice(subcategory="KEYWORD_PHISHING"), "subcategory"),
    (notice(notifier={"name": "A", "email": "not an address"}), "notifier"),
    (notice(extra=1), "extra"),
    (notice(explanation="a\x00 long enough text"), "explanation"),
])
def test_bad_notices_are_invalid_payload_naming_the_field(
    api: Any, doc: dict[str, Any], field: str
) -> None:
    response = send(api, doc)
    assert response.status_code == 400, response.json
    check_error_body(400, response.json)
    assert response.json["error"] == "invalid_payload" and field in response.json["fields"]


def test_media_type_size_and_json_are_checked(api: Any) -> None:
    assert send(api, notice(), content_type="text/plain").json["error"] == \
        "unsupported_media_type"
    big = json.dumps(notice(explanation="x" * (64 * 1024))).encode()
    response = send(api, big)
    assert (response.status_code, response.json["error"]) == (413, "payload_too_large")
    response = send(api, b"{not json")
    assert (response.status_code, response.json["error"]) == (400, "invalid_json")


def test_a_repeat_within_24_hours_is_the_first_notice(api: Any, clock: FakeClock) -> None:
    first = send(api, notice()).json
    clock.advance(hours=23)
    again = send(api, notice())
    assert again.status_code == 200
    assert again.json == {**first, "duplicate": True}
    # The same JSON with keys in another order is the same notice; another client's is not.
    reordered = json.dumps(dict(reversed(list(notice().items())))).encode()
    assert send(api, reordered).json["notice_id"] == first["notice_id"]
    assert send(api, notice(), addr="192.0.2.2").status_code == 201
    clock.advance(hours=2)
    later = send(api, notice())
    assert later.status_code == 201 and later.json["notice_id"] != first["notice_id"]


def test_the_rate_limit_is_per_client_per_hour(api: Any, clock: FakeClock) -> None:
    for n in range(3):
        assert send(api, notice(urls=[f"https://x.example/{n}"])).status_code == 201
    refused = send(api, notice(urls=["https://x.example/3"]))
    assert refused.status_code == 429
    check_error_body(429, refused.json)
    assert refused.json["error"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert send(api, notice(urls=["https://x.example/0"])).status_code == 200  # a repeat: free
    assert send(api, notice(urls=["https://x.example/3"]), addr="192.0.2.9").status_code == 201
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    assert send(api, notice(urls=["https://x.example/3"])).status_code == 201


def test_forwarded_for_counts_only_behind_trusted_proxies(
    db_url: str, clock: FakeClock
) -> None:
    for hops, separate in ((0, False), (1, True)):
        service = notices_service(db_url, clock, max_per_hour_per_client=1,
                                  trusted_proxy_hops=hops)
        api = notices_app(service).test_client()
        clock.advance(hours=1)
        codes = [send(api, notice(urls=[f"https://x.example/{hops}/{n}"]), addr="10.0.0.1",
                      **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(2)]
        assert codes == ([201, 201] if separate else [201, 429]), hops
        service.close()


def test_disabled_notices_are_not_found(db_url: str, clock: FakeClock) -> None:
    service = notices_service(db_url, clock, enabled=False)
    api = notices_app(service).test_client()
    response = send(api, notice())
    assert (response.status_code, response.json["error"]) == (404, "not_found")
    assert api.get("/notices/new").status_code == 404
    assert api.post("/notices", data={"urls": URLS[0]}).status_code == 404
    service.close()


def test_a_notice_is_acted_on_reported_and_sends_no_callback(
    api: Any, svc: ComplianceService
) -> None:
    notice_id = send(api, notice()).json["notice_id"]
    acted = api.post(f"/v1/orders/public/{notice_id}/action",
                     json={"action": "removed"}, headers=AUTH)
    assert acted.status_code == 200
    detail = api.get(f"/v1/orders/public/{notice_id}", headers=AUTH).json
    assert detail["status"] == "completed" and detail["deliveries"] == []
    report = svc.report("2026-01-01", "2026-12-31")
    assert report["notices"]["total"]["count"] == 1
    assert report["notices"]["total"]["items"] == 2
    assert report["notices"]["by_category"]["STATEMENT_CATEGORY_PROTECTION_OF_MINORS"][
        "count"] == 1
