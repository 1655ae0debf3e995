"""The public notice form (PROTOCOL 10.2) in a real browser (Chromium via Playwright) against
the real receiver over HTTP on loopback, with JavaScript on and off: someone who is not a
customer reports two URLs anonymously as child sexual abuse material and gets a reference; a
form with mistakes comes back with each error beside its field and nothing stored."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import Live
from tests.helpers.notices import CSAM, URLS


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_anonymous_report_of_two_urls_gets_a_reference(
    live: Live, new_page: Callable[..., Page], javascript: bool
) -> None:
    page = new_page(javascript=javascript)
    page.goto(live.url + "/notices/new")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Report illegal content to Example Hosting")
    page.get_by_label("Exact address (URL) of the content").fill("\n".join(URLS))
    page.get_by_label("Why is this content illegal?").fill("Images of the abuse of a child.")
    page.get_by_label("What kind of illegal content is it?").select_option(
        f"{CSAM['category']}|{CSAM['subcategory']}")
    page.get_by_label("I confirm in good faith").check()
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: we received your report")
    reference = page.locator("#notice-id").inner_text()
    assert re.fullmatch(r"N-[0-9A-Z]{12}", reference)
    detail = live.service.get_order("public", reference)
    assert [i["url"] for i in detail["items"]] == URLS and detail["notifier"] is None


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_mistakes_are_shown_beside_their_fields(
    live: Live, new_page: Callable[..., Page], javascript: bool
) -> None:
    page = new_page(javascript=javascript)
    page.goto(live.url + "/notices/new")
    page.get_by_label("Exact address (URL) of the content").fill("not a url")
    page.get_by_label("What kind of illegal content is it?").select_option(
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD|KEYWORD_PHISHING")
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#urls-errors")).to_contain_text("Line 1")
    expect(page.locator("#explanation-errors")).to_be_visible()
    expect(page.locator("#name-errors")).to_be_visible()
    expect(page.get_by_label("Exact address (URL) of the content")).to_have_value("not a url")
    assert live.service.list_orders({"issuer_id": "public"})["orders"] == []
