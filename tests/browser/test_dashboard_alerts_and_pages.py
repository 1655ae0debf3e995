"""The dashboard's alerts and item pages in a real browser (Chromium via Playwright) against the
real receiver over HTTP on loopback, with its delivery worker, JavaScript on and off: a failed
alert to a chat webhook shows on the deliveries page and its retry button puts it back in the
queue (the webhook gets it again); a POST without the CSRF token is refused; the pages of a
1,000-item order are walked with the keyboard alone."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from hoster_compliance.config_alerts import AlertChannel
from hoster_compliance.store.tables import deliveries
from hoster_compliance.timeutil import format_time, utcnow
from tests.helpers import order_data
from tests.helpers.browser import Live, live_receiver
from tests.helpers.hooks import HookSink


@pytest.fixture
def hook() -> Iterator[HookSink]:
    with HookSink() as sink:
        yield sink


@pytest.fixture
def alerting(db_url: str, hook: HookSink) -> Iterator[Live]:
    """``live`` of conftest.py, with `received` alerts to a chat webhook (``hook``)."""
    with live_receiver(db_url, alerts=(
            AlertChannel(name="chat", channel="webhook", url=hook.url, events=("received",)),
    )) as receiver:
        yield receiver


def send(live: Live, order_id: str = "ord-1", **data: Any) -> None:
    issued = format_time(utcnow() - timedelta(minutes=5))
    response = live.sender.send_order(order_data(order_id, issued_at=issued, **data))
    assert response.status_code == 201, response.text


def alert_state(live: Live) -> tuple[int, str, int]:
    with live.service.engine.connect() as conn:
        row = conn.execute(sa.select(deliveries).where(deliveries.c.channel.is_not(None))).one()
    return row.id, row.state, row.attempts


def wait_for_alert(live: Live, state: str) -> int:
    """Wait (bounded) until the worker has recorded the alert in ``state``; its id."""
    ends = time.monotonic() + 15
    while time.monotonic() < ends:
        with live.service.engine.connect() as conn:
            found = conn.execute(sa.select(deliveries).where(
                deliveries.c.channel.is_not(None), deliveries.c.state == state)).first()
        if found is not None:
            return int(found.id)
        time.sleep(0.05)
    raise AssertionError(f"no {state} alert; it is {alert_state(live)}")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_failed_alert_is_shown_and_its_retry_button_queues_it_again(
    alerting: Live, hook: HookSink, new_page: Callable[..., Page], javascript: bool
) -> None:
    live = alerting
    hook.statuses = [400]  # the chat refuses the first alert: failed at once
    send(live)
    alert_id = wait_for_alert(live, "failed")
    page = new_page(javascript=javascript)
    live.login(page)
    page.get_by_role("link", name="Deliveries").click()
    row = page.locator("#alerts tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("received")
    expect(row).to_contain_text("chat")
    expect(row).to_contain_text("nl-atkm / ord-1")
    expect(row).to_contain_text("HTTP 400")
    expect(page.locator("body")).not_to_contain_text(hook.url)

    # Without the CSRF token (the browser's session cookie, nothing else): refused.
    refused = page.request.post(f"{live.url}/ui/alerts/{alert_id}/retry", form={})
    assert refused.status == 400 and "csrf_failed" in refused.text()
    assert alert_state(live) == (alert_id, "failed", 1)

    row.get_by_role("button", name=f"Retry alert {alert_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Alert {alert_id} (received through "
                                                       "chat) is queued again.")
    posts = hook.wait_for(lambda got: len(got) == 2)
    assert [p.status for p in posts] == [400, 200]
    assert posts[1].body == posts[0].body  # the same alert, sent again
    wait_for_alert(live, "delivered")
    assert alert_state(live) == (alert_id, "delivered", 2)
    page.goto(live.url + "/ui/deliveries")
    expect(page.locator("#alerts")).to_contain_text("No failed or pending alerts.")


def test_a_retry_without_the_csrf_token_is_refused_in_the_page(
    alerting: Live, hook: HookSink, page: Page
) -> None:
    live = alerting
    hook.statuses = [400]
    send(live)
    alert_id = wait_for_alert(live, "failed")
    live.login(page)
    page.goto(live.url + "/ui/deliveries")
    page.evaluate("document.querySelectorAll('#alerts input[name=csrf_token]')"
                  ".forEach(function (e) { e.remove(); })")
    page.get_by_role("button", name=f"Retry alert {alert_id}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("400")
    expect(page.locator("body")).to_contain_text("csrf_failed")
    assert alert_state(live) == (alert_id, "failed", 1)
    assert len(hook.posts) == 1


def tab_to(page: Page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element's text is ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_pages_of_a_thousand_item_order_are_walked_by_keyboard(
    live: Live, new_page: Callable[..., Page], javascript: bool
) -> None:
    send(live, "big", items=[{"item_id": f"n{n}", "url": f"https://files.example-hosting.nl/u/{n}"}
                             for n in range(1, 1001)])
    page = new_page(javascript=javascript)
    live.login(page)
    page.goto(live.url + "/ui/orders/nl-atkm/big")
    first_ids = page.locator("#items code.item-id")
    expect(first_ids).to_have_count(100)
    expect(first_ids.first).to_have_text("n1")
    expect(page.locator("form.act")).to_have_count(101)
    pages = page.get_by_role("navigation", name="Pages of items", exact=True)
    expect(pages.get_by_role("link", name="Items 1 to 100")).to_have_attribute(
        "aria-current", "page")

    tab_to(page, "Next items (101–200)")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"items_page=2#items$"))
    expect(page.locator("#items code.item-id").first).to_have_text("n101")
    expect(page.locator("#items-shown")).to_contain_text("Items 101–200 of 1000 (page 2 of 10).")

    tab_to(page, "901–1000")  # the link labelled "Items 901 to 1000"
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == \
        "Items 901 to 1000"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"items_page=10#items$"))
    expect(page.locator("#items code.item-id").last).to_have_text("n1000")

    # The form for every open item, reached by keyboard past the page's 100 forms, acts on all.
    tab_to(page, "Skip to one action for every open item")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "action-all"
    page.keyboard.press("n")  # not found
    tab_to(page, "Record for all 1000 open items", limit=20)  # the time has 7 fields
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("1000 of 1000 items now have an action")
    page.wait_for_url(re.compile(r"items_page=10#items$"))  # back on the page it was sent from
