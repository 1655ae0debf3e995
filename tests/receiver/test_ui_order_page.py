"""The order page's later parts (PROTOCOL 12): items paged 100 at a time on big orders (the
form for every open item still acts on all of them), the statement of reasons of each decided
item (10.3), and the notifier of a notice from anyone (10.2), before and after erasure; all of
it shown as text, never run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import items, orders
from tests.helpers import FakeClock
from tests.helpers.notices import NOTIFIER, notice, notices_app, notices_service
from tests.helpers.ui import login, parse
from tests.helpers.webhooks import receive

HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "{{ 7*7 }}"]
BIG = "/ui/orders/nl-atkm/big"


@pytest.fixture
def token(client: Any) -> str:
    return login(client)


def text_of(html: str, section_id: str) -> str:
    part = html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]
    return " ".join(parse(part).text.split())


def shown_items(html: str) -> list[str]:
    return re.findall(r'<code class="item-id">([^<]*)</code>', text_part(html, "items"))


def text_part(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"', 1)[1].split('id="statements"', 1)[0]


def assert_nothing_runs(html: str) -> None:
    doc = parse(html)
    assert [s.get("src") for s in doc.all("script")] == ["/ui/static/countdown.js"]
    assert doc.all("img") == []
    assert not any(k.startswith("on") for _, attrs in doc.elements for k in attrs)


# -- items paged ----------------------------------------------------------------------------


@pytest.fixture
def big(service: ComplianceService, clock: FakeClock, sender_for: Any) -> None:
    receive(service, clock, sender_for, order_id="big", items=[
        {"item_id": f"n{n}", "url": f"https://files.example-hosting.nl/u/{n}.jpg"}
        for n in range(1, 1001)])


def test_a_thousand_items_are_shown_a_hundred_at_a_time_with_labelled_links(
    client: Any, token: str, big: None
) -> None:
    first = client.get(BIG).text
    assert shown_items(first) == [f"n{n}" for n in range(1, 101)]
    assert first.count('class="act"') == 101  # 100 items and the form for every open item
    assert "Items 1–100 of 1000 (page 1 of 10)." in parse(first).text
    assert "One action for every open item (1000, on every page)" in parse(first).text
    nav = parse(first).all("a")
    labels = [a["aria-label"] for a in nav if (a.get("aria-label") or "").startswith("Items ")]
    assert labels[:10] == [f"Items {n * 100 + 1} to {n * 100 + 100}" for n in range(10)]
    assert len(labels) == 20  # the links above and below the items
    current = [a for a in nav if a.get("aria-current") == "page"
               and (a.get("aria-label") or "").startswith("Items")]
    assert {a["href"] for a in current} == {BIG + "?items_page=1#items"}
    assert [a["href"] for a in nav if a.get("rel") == "next"] == [BIG + "?items_page=2#items"] * 2
    assert not [a for a in nav if a.get("rel") == "prev"]
    assert len(parse(first).all("nav")) == 3  # the main one and the items' two

    last = client.get(BIG + "?items_page=10").text
    assert shown_items(last) == [f"n{n}" for n in range(901, 1001)]
    doc = parse(last)
    assert [a["href"] for a in doc.all("a") if a.get("rel") == "prev"] == \
        [BIG + "?items_page=9#items"] * 2
    assert not [a for a in doc.all("a") if a.get("rel") == "next"]
    assert "Previous items (801–900)" in doc.text


@pytest.mark.parametrize("page", ["0", "11", "x", "-1", "1.5", "\uff11", "99999999999999999999"])
def test_a_page_of_items_that_is_not_there_is_a_400_page(
    client: Any, token: str, big: None, page: str
) -> None:
    answer = client.get(BIG, query_string={"items_page": page})
    assert answer.status_code == 400
    assert "invalid_query" in answer.text and "from 1 to 10" in answer.text


def test_a_small_order_has_no_page_links(client: Any, token: str, service: ComplianceService,
                                         clock: FakeClock, sender_for: Any) -> None:
    receive(service, clock, sender_for)
    html = client.get("/ui/orders/nl-atkm/ord-1").text
    assert 'class="item-pages"' not in html and "items_page" not in html
    assert client.get("/ui/orders/nl-atkm/ord-1?items_page=1").status_code == 200
    assert client.get("/ui/orders/nl-atkm/ord-1?items_page=2").status_code == 400


def test_a_form_on_a_later_page_leads_back_to_it_and_the_all_form_acts_on_every_item(
    client: Any, token: str, big: None, service: ComplianceService
) -> None:
    page3 = client.get(BIG + "?items_page=3").text
    actions = re.findall(r'<form method="post" action="([^"]+)" class="act">', page3)
    assert set(actions) == {BIG + "/action?items_page=3"}
    item = re.search(r'name="item" value="([^"]+)"', page3)
    assert item is not None
    answer = client.post(actions[0], data={"csrf_token": token, "item": item.group(1),
                                           "action": "removed"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == BIG + "?items_page=3#items"
    after = client.get(BIG + "?items_page=3").text
    assert "Recorded removed on item n201." in after
    assert after.count('class="act"') == 100  # n201 has its action now
    refused = client.post(actions[0], data={"csrf_token": token, "item": item.group(1),
                                            "action": "not_found"})
    assert refused.status_code == 409  # the error page is the same page of items
    assert shown_items(refused.text)[0] == "n201" and "conflict" in refused.text

    answer = client.post(BIG + "/action?items_page=3",
                         data={"csrf_token": token, "action": "not_found"})
    assert answer.status_code == 303
    with service.engine.connect() as conn:
        recorded = dict(conn.execute(sa.select(items.c.item_id, items.c.action)).all())
    assert len(recorded) == 1000 and recorded.pop("n201") == "removed"
    assert set(recorded.values()) == {"not_found"}  # every page's items, not just page 3
    assert "status completed" in " ".join(parse(client.get(BIG).text).text.split())


def test_the_trail_says_how_many_events_it_shows_and_events_total_is_no_raw_field(
    client: Any, token: str, big: None, service: ComplianceService, clock: FakeClock,
    sender_for: Any
) -> None:
    receive(service, clock, sender_for)
    small = client.get("/ui/orders/nl-atkm/ord-1").text
    rows = text_part(small, "events").count("<tr>") - 1  # the header row
    assert rows >= 1
    assert f"{rows} event{'' if rows == 1 else 's'}, oldest first." in text_of(small, "events")
    assert "<dt>events_total</dt>" not in small

    # one action event per item: the received event, 1,000 actions and the completion
    answer = client.post(BIG + "/action", data={"csrf_token": token, "action": "not_found"})
    assert answer.status_code == 303
    html = client.get(BIG).text
    assert ("Showing the newest 1,000 of 1,002 events, oldest first."
            in text_of(html, "events"))
    assert text_part(html, "events").count("<tr>") - 1 == 1000
    assert "events_total" not in html and "1002" not in parse(html).text


# -- statements of reasons ---------------------------------------------------------------------


def test_each_decided_item_shows_its_statement_of_reasons(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, regime="EU_TCO", redress="Appeal at the court.",
            items=[{"item_id": "i1", "url": "https://files.example-hosting.nl/u/1/a.jpg"},
                   {"item_id": "i2", "url": "https://files.example-hosting.nl/u/1/b.jpg"},
                   {"item_id": "i3", "url": "https://files.example-hosting.nl/u/1/c.jpg"}])
    page = "/ui/orders/nl-atkm/ord-1"
    assert "No item has a decision yet." in text_of(client.get(page).text, "statements")
    service.act("nl-atkm", "ord-1", "i1", {"action": "removed"}, actor="t")
    service.act("nl-atkm", "ord-1", "i2", {"action": "refused", "reason": "lawful"}, actor="t")
    shown = text_of(client.get(page).text, "statements")
    statement = service.statement("nl-atkm", "ord-1", "i1")
    assert "Item i1 puid nl-atkm-ord-1-i1 decision_visibility " \
        "DECISION_VISIBILITY_CONTENT_REMOVED decision_ground DECISION_GROUND_ILLEGAL_CONTENT" \
        in shown
    for key, value in statement.items():
        assert f"{key} {value if isinstance(value, str) else ', '.join(value)}" in shown, key
    assert "Item i2 No statement of reasons: no effect was given to this item (refused)." \
        in shown
    assert "i3" not in shown  # no decision: nothing owed yet
    html = client.get(page).text.split('id="statements"', 1)[1].split("</section>")[0]
    assert "<a " not in html  # the item's URL is text, never a link


def test_an_authoritys_order_says_once_why_no_statement_is_owed(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for, regime="OTHER")
    service.act("nl-atkm", "ord-1", None, {"action": "removed"}, actor="t")
    shown = text_of(client.get("/ui/orders/nl-atkm/ord-1").text, "statements")
    assert shown.count("No statement of reasons") == 1
    assert "an order of an authority (Art. 9 DSA)" in shown


def test_statements_show_what_the_issuer_sent_as_text(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    text = " ".join(HOSTILE)
    receive(service, clock, sender_for, regime="EU_TCO", legal_basis=text,
            statement_of_reasons=text, redress=text, subcategory="KEYWORD_OTHER",
            subcategory_other=text,
            items=[{"item_id": HOSTILE[1], "url": "https://h.example/<script>alert(3)</script>"}])
    service.act("nl-atkm", "ord-1", None, {"action": "removed"}, actor="t")
    html = client.get("/ui/orders/nl-atkm/ord-1").text
    assert_nothing_runs(html)
    shown = text_of(html, "statements")
    for field in ("illegal_content_legal_ground", "illegal_content_explanation", "redress"):
        assert f"{field} {text}" in shown, field
    assert f"Item {HOSTILE[1]}" in shown
    assert "url https://h.example/<script>alert(3)</script>" in shown
    assert "49" not in shown


# -- the notifier ---------------------------------------------------------------------------------


@pytest.fixture
def public(db_url: str, clock: FakeClock) -> Iterator[tuple[Any, ComplianceService]]:
    svc = notices_service(db_url, clock)
    client = notices_app(svc).test_client()
    login(client)
    yield client, svc
    svc.close()


def submit(svc: ComplianceService, **overrides: Any) -> str:
    status, body = svc.submit_notice(notice(**overrides), "client")
    assert status == 201
    return f"/ui/orders/public/{body['notice_id']}"


def notifier_text(html: str) -> str:
    found = re.search(r'<dt>Notifier</dt><dd class="notifier">(.*?)</dd>', html, re.S)
    assert found, "no notifier on the page"
    return " ".join(parse(found.group(1)).text.split())


def test_the_notifier_of_a_public_notice_is_shown_and_its_erasure_said(
    public: tuple[Any, ComplianceService], clock: FakeClock
) -> None:
    client, svc = public
    page = submit(svc, notifier=NOTIFIER)
    assert notifier_text(client.get(page).text) == "Anna de Vries · anna.devries@example.org"
    anonymous = submit(svc, urls=["https://files.example-hosting.nl/u/9/x.jpg"])
    assert notifier_text(client.get(anonymous).text) == "none given (an anonymous report)"
    notice_id = page.rsplit("/", 1)[1]
    svc.act("public", notice_id, None, {"action": "removed"}, actor="operator:t")
    worker = DeliveryWorker(svc.config, svc.engine, clock=clock)
    while worker.run_once():
        pass
    clock.advance(days=365)
    assert svc.erase_expired_notifiers() == 1
    login(client)  # a session lasts 12 hours
    html = client.get(page).text
    said = notifier_text(html)
    assert said.startswith("erased on 2027-11-22")
    assert "365 days after the notice was completed" in said and "no longer kept" in said
    assert "Anna" not in html and "anna.devries" not in html
    with svc.engine.connect() as conn:  # an order of an issuer has no notifier line
        assert conn.execute(sa.select(sa.func.count()).select_from(orders)
                            .where(orders.c.issuer_id != "public")).scalar_one() == 0


def test_the_notifier_is_shown_as_text(public: tuple[Any, ComplianceService]) -> None:
    client, svc = public
    text = " ".join(HOSTILE)
    page = submit(svc, notifier={"name": text, "email": "anna.devries@example.org"})
    with svc.engine.begin() as conn:  # an address as a mail server might pass it on
        conn.execute(orders.update().values(notifier_email=f"{HOSTILE[1]}@example.org"))
    html = client.get(page).text
    assert_nothing_runs(html)
    assert notifier_text(html) == f"{text} · {HOSTILE[1]}@example.org"
    assert "49" not in notifier_text(html)
