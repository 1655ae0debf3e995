"""The dashboard in a real browser (Chromium via Playwright) against the real receiver over
HTTP on loopback: an issuer's signed order appears, a person acts on it through the forms, and
the issuer receives the verified outcome; forged and token-less POSTs are refused; everything
works with JavaScript off, at 390 px, and from the keyboard."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from hoster_compliance.store.tables import items
from hoster_compliance.timeutil import format_time, utcnow
from tests.helpers import order_data
from tests.helpers.browser import Live


def send(live: Live, order_id: str = "ord-1", **data: Any) -> None:
    issued = format_time(utcnow() - timedelta(minutes=5))
    response = live.sender.send_order(order_data(order_id, issued_at=issued, **data))
    assert response.status_code == 201, response.text


def outcome(live: Live) -> Any:
    got = live.issuer.wait_for(
        lambda received: any(c.path.endswith("/outcome") for c in received), timeout=10)
    return next(c for c in got if c.path.endswith("/outcome"))


def recorded(live: Live) -> dict[str, str | None]:
    with live.service.engine.connect() as conn:
        return {r.item_id: r.action for r in conn.execute(sa.select(items))}


def test_log_in_act_on_a_signed_order_and_the_issuer_gets_the_verified_outcome(
    live: Live, page: Page
) -> None:
    send(live)
    live.login(page)
    row = page.locator("tbody tr", has_text="ord-1")
    expect(row).to_contain_text("in 11 h 59 min")  # NL_ATKM: 12 h; the script counts down
    row.get_by_role("link", name="nl-atkm / ord-1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("nl-atkm / ord-1")
    expect(page.locator("code.url").first).to_have_text(
        "https://files.example-hosting.nl/u/1/a.jpg")
    expect(page.get_by_role("link", name=re.compile("files.example-hosting"))).to_have_count(0)

    first = page.locator("form.act").nth(0)
    first.get_by_label("Action").select_option("removed")
    first.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_have_text("Recorded removed on item i1.")

    second = page.locator("form.act").nth(0)  # i1's form is gone
    second.get_by_label("Action").select_option("refused")
    second.get_by_role("button", name="Record").click()
    expect(page.get_by_role("alert").first).to_contain_text("invalid_payload")
    page.locator("form.act").nth(0).get_by_label("Reason").fill("legal challenge pending")
    page.locator("form.act").nth(0).get_by_role("button", name="Record").click()
    expect(page.locator(".state")).to_contain_text("status completed")

    callback = outcome(live)
    assert callback.verified
    data = callback.payload["data"]
    assert [(i["item_id"], i["action"], i.get("reason")) for i in data["items"]] == [
        ("i1", "removed", None), ("i2", "refused", "legal challenge pending")]


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(
    live: Live, page: Page
) -> None:
    send(live)
    live.login(page)
    page.goto(live.url + "/ui/orders/nl-atkm/ord-1")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]')"
                  ".forEach(function (e) { e.remove(); })")
    form = page.locator("form.act").nth(0)
    form.get_by_label("Action").select_option("removed")
    form.get_by_role("button", name="Record").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("400")
    expect(page.locator("body")).to_contain_text("csrf_failed")
    # A page of another site posting the same form into the logged-in browser
    page.set_content(
        f'<form method="post" action="{live.url}/ui/orders/nl-atkm/ord-1/action">'
        '<input name="action" value="removed"><button>go</button></form>')
    page.get_by_role("button", name="go").click()
    page.wait_for_load_state()
    assert recorded(live) == {"i1": None, "i2": None}


def test_everything_works_with_javascript_off(
    live: Live, new_page: Callable[..., Page]
) -> None:
    send(live, regime="EU_TCO")
    page = new_page(javascript=False)
    live.login(page)
    expect(page.locator("tbody tr", has_text="ord-1")).to_contain_text("in 59 min")
    page.get_by_role("link", name="nl-atkm / ord-1").click()
    everything = page.locator("section.all-items form")
    everything.get_by_label("Action").select_option("not_found")
    everything.get_by_role("button", name=re.compile("Record for all 2 open items")).click()
    expect(page.get_by_role("status")).to_contain_text("every open item")
    assert recorded(live) == {"i1": "not_found", "i2": "not_found"}
    assert outcome(live).verified
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    page.goto(live.url + "/ui/orders")
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))


def test_keyboard_alone_logs_in_and_records_an_action(
    live: Live, page: Page
) -> None:
    send(live)
    page.goto(live.url + "/ui/orders/nl-atkm/ord-1")
    expect(page.locator("#token")).to_be_focused()  # autofocus, before any key is typed
    page.keyboard.type("test-operator-token")  # the token field has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(live.url + "/ui/orders/nl-atkm/ord-1")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(60):  # Tab to the first item's action list
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "action-1":
            break
    else:
        raise AssertionError("the first item's action list is not reachable with Tab")
    page.keyboard.press("r")  # the first option starting with r: removed
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Record":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Recorded removed on item i1.")
    assert recorded(live)["i1"] == "removed"


def test_pages_fit_a_390_pixel_screen(live: Live, new_page: Callable[..., Page]) -> None:
    send(live, items=[{"item_id": "long", "url": "https://files.example-hosting.nl/" + "x" * 300,
                       "note": "y" * 500}])
    page = new_page(width=390, height=844)
    live.login(page)
    for path in ("/ui/orders", "/ui/orders/nl-atkm/ord-1", "/ui/deliveries", "/ui/report",
                 "/ui/audit?verify=1"):
        page.goto(live.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    page.goto(live.url + "/ui/orders")
    label = page.evaluate("getComputedStyle(document.querySelector('tbody td'), '::before')"
                          ".content")
    assert label == '"Time left"'  # each cell of a card says what it is


def test_nothing_is_fetched_from_another_origin(live: Live, page: Page) -> None:
    send(live, items=[{"item_id": "x", "url": "http://127.0.0.1:9/evil.png"}],
         statement_of_reasons='<img src="http://127.0.0.1:9/track.png">')
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    live.login(page)
    page.goto(live.url + "/ui/orders/nl-atkm/ord-1")
    page.goto(live.url + "/ui/report")
    assert requested and all(url.startswith(live.url) for url in requested), requested
    assert json.dumps(requested).count("/ui/static/") >= 2


def test_the_countdown_turns_an_order_overdue_while_the_page_is_open(
    live: Live, page: Page
) -> None:
    send(live, regime="EU_TCO")  # 1 h
    live.login(page)
    page.clock.install()
    page.goto(live.url + "/ui/orders")
    cell = page.locator("tbody tr", has_text="ord-1").locator(".left")
    expect(cell).to_contain_text("in 59 min")
    expect(cell).to_have_class("left open")
    page.clock.fast_forward("00:46:00")  # past 75 % of the hour
    expect(cell).to_have_class("left due-soon")
    expect(cell).to_contain_text("due soon in 13 min")
    page.clock.fast_forward("00:16:00")
    expect(cell).to_have_class("left overdue")
    expect(cell).to_have_text(re.compile(r"^\s*overdue by 2 min$"))
    expect(page.locator("tbody tr", has_text="ord-1")).to_have_class("row-overdue")
