"""The notice form (PROTOCOL 10.2) through the Flask test client: every field labelled, no
script, errors beside their fields with what was typed kept, the anonymous route explained,
the honeypot, the confirmation page with the reference (tests/browser/test_notice_form.py
drives it in Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from hoster_compliance.service import ComplianceService
from tests.helpers import AUTH, FakeClock
from tests.helpers.notices import URLS, notices_app, notices_service

CSAM_CHOICE = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS|KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"


class Page(HTMLParser):
    """The form's controls, labels, scripts and error lists."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.controls: dict[str, dict[str, str | None]] = {}
        self.labels: set[str] = set()
        self.scripts = 0
        self.error_lists: dict[str, list[str]] = {}
        self._in_errors: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "textarea", "select") and a.get("type") != "hidden":
            self.controls[str(a.get("id"))] = a
        if tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        if tag == "script":
            self.scripts += 1
        if tag == "ul" and (a.get("id") or "").endswith("-errors"):
            self._in_errors = str(a["id"]).removesuffix("-errors")
            self.error_lists[self._in_errors] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul":
            self._in_errors = None

    def handle_data(self, data: str) -> None:
        if self._in_errors and data.strip():
            self.error_lists[self._in_errors].append(data.strip())


@pytest.fixture
def svc(db_url: str, clock: FakeClock) -> Iterator[ComplianceService]:
    service = notices_service(db_url, clock)
    yield service
    service.close()


@pytest.fixture
def web(svc: ComplianceService) -> Any:
    return notices_app(svc).test_client()


def test_the_form_labels_every_field_and_needs_no_script(web: Any) -> None:
    response = web.get("/notices/new")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"
    page = Page(response.get_data(as_text=True))
    assert {"urls", "explanation", "kind", "name", "email", "good_faith", "website"} <= set(
        page.controls)
    assert set(page.controls) <= page.labels, set(page.controls) - page.labels
    assert page.scripts == 0
    text = response.get_data(as_text=True)
    assert "Example Hosting" in text
    assert "You may leave both out" in text and "child sexual abuse material" in text
    assert CSAM_CHOICE in text


def test_an_anonymous_report_of_two_urls_gets_a_reference(
    web: Any, svc: ComplianceService
) -> None:
    response = web.post("/notices", data={
        "urls": "\n".join(URLS) + "\n", "explanation": "Images of the abuse of a child.",
        "kind": CSAM_CHOICE, "good_faith": "yes", "website": ""})
    assert response.status_code == 200, response.get_data(as_text=True)
    found = re.search(r'id="notice-id">(N-[0-9A-Z]{12})<', response.get_data(as_text=True))
    assert found is not None
    detail = svc.get_order("public", found.group(1))
    assert [i["url"] for i in detail["items"]] == URLS
    assert detail["notifier"] is None and detail["subcategory"] == \
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
    assert "cannot tell you our decision" in response.get_data(as_text=True)


def test_errors_are_shown_beside_their_fields_and_input_is_kept(
    web: Any, svc: ComplianceService
) -> None:
    response = web.post("/notices", data={
        "urls": "https://ok.example/a\nnot a url", "explanation": "short",
        "kind": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD|KEYWORD_PHISHING", "email": "nope"})
    assert response.status_code == 400
    page = Page(response.get_data(as_text=True))
    assert set(page.error_lists) == {"urls", "explanation", "good_faith", "name", "email"}
    assert page.error_lists["urls"][0].startswith("Line 2:")
    assert page.controls["explanation"].get("aria-describedby") == "explanation-errors"
    assert "not a url" in response.get_data(as_text=True)
    assert svc.list_orders()["orders"] == []


def test_the_honeypot_stores_nothing(web: Any, svc: ComplianceService) -> None:
    response = web.post("/notices", data={
        "urls": URLS[0], "explanation": "Images of the abuse of a child.", "kind": CSAM_CHOICE,
        "good_faith": "yes", "website": "http://spam.example"})
    assert response.status_code == 400
    assert "nothing was sent" in response.get_data(as_text=True)
    assert svc.list_orders()["orders"] == []


def test_a_form_over_64_kib_is_refused(web: Any) -> None:
    response = web.post("/notices", data={"urls": URLS[0], "explanation": "x" * 70000})
    assert response.status_code == 413


def test_the_form_is_rate_limited_like_the_api(db_url: str, clock: FakeClock) -> None:
    service = notices_service(db_url, clock, max_per_hour_per_client=1)
    web = notices_app(service).test_client()
    data = {"explanation": "Images of the abuse of a child.", "kind": CSAM_CHOICE,
            "good_faith": "yes"}
    assert web.post("/notices", data={**data, "urls": URLS[0]}).status_code == 200
    refused = web.post("/notices", data={**data, "urls": URLS[1]})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "try again in" in refused.get_data(as_text=True)
    assert web.get("/v1/orders", headers=AUTH).json["orders"][0]["items_total"] == 1
    service.close()
