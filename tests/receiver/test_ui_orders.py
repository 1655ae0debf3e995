"""The dashboard's orders list and order page (PROTOCOL 12): deadline first with the time left
in words, filters and paging, acting on items through the forms, and everything an issuer sent
shown as text, never run, fetched or linked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import deliveries, items
from tests.helpers import FakeClock
from tests.helpers.ui import login, parse
from tests.helpers.webhooks import receive

ORDER_PAGE = "/ui/orders/nl-atkm/ord-1"
ACT = "/ui/orders/nl-atkm/ord-1/action"


@pytest.fixture
def token(client: Any) -> str:
    return login(client)


@pytest.fixture
def one_order(service: ComplianceService, clock: FakeClock, sender_for: Any) -> None:
    receive(service, clock, sender_for)
    clock.advance(minutes=30)


def rows(html: str) -> list[tuple[str, str]]:
    """(row class, text) of each row of the orders table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = re.findall(r'<tr class="([^"]+)">(.*?)</tr>', body, re.S)
    return [(cls, " ".join(parse(cells).text.split())) for cls, cells in found]


def actions(service: ComplianceService) -> dict[str, Any]:
    with service.engine.connect() as conn:
        return {r.item_id: (r.action, r.reason, r.basis, r.acted_at)
                for r in conn.execute(sa.select(items))}


# -- the list ------------------------------------------------------------------------------


@pytest.fixture
def four(service: ComplianceService, clock: FakeClock, sender_for: Any) -> None:
    """At 09:00 ord-late (NL_ATKM, 12 h), 09:01 ord-none (no deadline), 09:02 ord-soon (EU_TCO,
    1 h), 09:03 a notice (24 h); the page is read at 18:32: ord-soon is overdue, ord-late due
    soon (past 75 % of its 12 h), the notice neither."""
    receive(service, clock, sender_for, order_id="ord-late")
    clock.advance(minutes=1)
    receive(service, clock, sender_for, order_id="ord-none", regime="OTHER")
    clock.advance(minutes=1)
    receive(service, clock, sender_for, order_id="ord-soon", regime="EU_TCO")
    clock.advance(minutes=1)
    receive(service, clock, sender_for, issuer="offlimits", order_id="note-1", kind="notice",
            regime="NL_NTD")
    clock.advance(hours=9, minutes=29)


def test_open_orders_deadline_first_with_the_time_left_in_words(
    client: Any, token: str, four: None
) -> None:
    page = client.get("/ui/orders")
    assert page.status_code == 200
    listed = rows(page.text)
    assert listed[0][0] == "row-overdue"
    assert listed[0][1].startswith("overdue by 8 h 30 min") and "ord-soon" in listed[0][1]
    assert listed[1][0] == "row-due-soon"
    assert "due soon in 2 h 28 min" in listed[1][1] and "ord-late" in listed[1][1]
    assert listed[2][0] == "row-open" and "in 14 h 31 min" in listed[2][1], listed
    assert "offlimits / note-1" in listed[2][1]
    assert listed[3][0] == "row-open" and "no deadline" in listed[3][1]
    assert "ord-none" in listed[3][1]
    text = " ".join(parse(page.text).text.split())
    assert "3 open orders, 1 overdue" in text and "1 open notice" in text
    # the script counts from the same instants the server judged by
    assert 'data-deadline="2026-11-22T10:02:00Z"' in page.text
    assert 'data-due-soon="2026-11-22T18:00:00Z"' in page.text
    assert 'data-now="2026-11-22T18:32:00Z"' in page.text


def test_filters_by_status_kind_and_issuer(
    client: Any, token: str, four: None, service: ComplianceService
) -> None:
    service.act("nl-atkm", "ord-late", None, {"action": "removed"}, actor="t")
    def listed(query: str) -> list[str]:
        found = re.findall(r'href="/ui/orders/([^"]+)"', client.get("/ui/orders" + query).text)
        return found
    assert listed("") == ["nl-atkm/ord-soon", "offlimits/note-1", "nl-atkm/ord-none"]
    assert listed("?status=completed") == ["nl-atkm/ord-late"]
    assert listed("?status=overdue") == ["nl-atkm/ord-soon"]
    assert listed("?status=all&kind=notice") == ["offlimits/note-1"]
    assert listed("?status=all&issuer_id=nl-atkm&kind=") == [
        "nl-atkm/ord-soon", "nl-atkm/ord-late", "nl-atkm/ord-none"]
    bad = client.get("/ui/orders?status=lost")
    assert bad.status_code == 400 and "invalid_query" in bad.text


def test_paging_keeps_the_filters(client: Any, token: str, four: None) -> None:
    first = client.get("/ui/orders?status=all&limit=2")
    assert re.findall(r'href="/ui/orders/([^"]+)"', first.text) == [
        "nl-atkm/ord-soon", "nl-atkm/ord-late"]
    [next_url] = re.findall(r'href="([^"]+)" rel="next"', first.text)
    next_url = next_url.replace("&amp;", "&")
    assert "status=all" in next_url and "cursor=" in next_url
    second = client.get(next_url + "&limit=2")
    assert re.findall(r'href="/ui/orders/([^"]+)"', second.text) == [
        "offlimits/note-1", "nl-atkm/ord-none"]
    assert "First page" in second.text and 'rel="next"' not in second.text


def test_an_empty_list_says_so(client: Any, token: str) -> None:
    page = client.get("/ui/orders")
    assert "Nothing is open." in page.text and "No open orders match." in page.text


# -- one order ------------------------------------------------------------------------------


def test_the_order_page_shows_its_fields_items_deliveries_and_events(
    client: Any, token: str, one_order: None
) -> None:
    page = client.get(ORDER_PAGE)
    assert page.status_code == 200
    doc = parse(page.text)
    text = " ".join(doc.text.split())
    for expected in ("ATKM (nl-atkm), NL", "NL_ATKM", "Wet bestuursrechtelijke aanpak OKM",
                     "Known child sexual abuse material (hash match).",
                     "in 11 h 30 min", "0 of 2 items done", "order.acknowledged",
                     "received issuer:nl-atkm", "https://files.example-hosting.nl/u/1/a.jpg"):
        assert expected in text, expected
    assert 'datetime="2026-11-22T09:00:00Z"' in page.text
    # addresses are text to copy: no link, no image, no frame anywhere
    assert all("files.example-hosting.nl" not in (a.get("href") or "") for a in doc.all("a"))
    assert doc.all("img") == [] and doc.all("iframe") == [] and doc.all("object") == []
    # two item forms and one for all open items, every field labelled
    assert len([f for f in doc.all("form") if f.get("action") == ACT]) == 3
    labels = {a.get("for") for a in doc.all("label")}
    for tag in ("input", "select", "textarea"):
        for field in doc.all(tag):
            if field.get("type") != "hidden":
                assert field.get("id") in labels, field


def test_an_unknown_order_is_a_404_page(client: Any, token: str) -> None:
    page = client.get("/ui/orders/nl-atkm/nothing")
    assert page.status_code == 404 and "unknown_order" in page.text
    assert page.mimetype == "text/html"


def test_acting_item_by_item_completes_the_order_and_the_issuer_gets_the_outcome(
    client: Any, token: str, one_order: None, service: ComplianceService,
    worker: DeliveryWorker, fake_issuer: CallbackServer,
) -> None:
    page = client.get(ORDER_PAGE).text
    keys = re.findall(r'name="item" value="([^"]+)"', page)
    assert len(keys) == 2
    done = client.post(ACT, data={"csrf_token": token, "item": keys[0], "action": "removed"})
    assert done.status_code == 303 and done.headers["Location"] == ORDER_PAGE + "#items"
    after = client.get(ORDER_PAGE).text
    assert "Recorded removed on item i1." in after
    assert len(re.findall(r'name="item" value=', after)) == 1  # i1 has no form any more
    refused = client.post(ACT, data={"csrf_token": token, "item": keys[1], "action": "refused"})
    assert refused.status_code == 400
    assert "reason" in refused.text and 'aria-invalid="true"' in refused.text
    assert 'value="refused" selected' in refused.text  # what was chosen is kept
    client.post(ACT, data={"csrf_token": token, "item": keys[1], "action": "refused",
                           "reason": "legal challenge pending", "basis": "law"})
    assert actions(service) == {
        "i1": ("removed", None, "law", actions(service)["i1"][3]),
        "i2": ("refused", "legal challenge pending", "law", actions(service)["i2"][3]),
    }
    assert worker.run_once() == 2
    outcome = [c for c in fake_issuer.received if c.path.endswith("/outcome")]
    assert outcome and outcome[0].verified
    assert [(i["item_id"], i["action"]) for i in outcome[0].payload["data"]["items"]] == [
        ("i1", "removed"), ("i2", "refused")]
    final = parse(client.get(ORDER_PAGE).text)
    assert "completed" in final.text and all(f.get("action") != ACT for f in final.all("form"))


def test_one_form_acts_on_every_open_item_at_a_given_utc_time(
    client: Any, token: str, one_order: None, service: ComplianceService
) -> None:
    service.act("nl-atkm", "ord-1", "i1", {"action": "not_found"}, actor="t")
    answer = client.post(ACT, data={"csrf_token": token, "action": "disabled",
                                    "acted_at": "2026-11-22T09:20"})
    assert answer.status_code == 303
    found = actions(service)
    assert found["i1"][0] == "not_found"
    assert found["i2"][:3] == ("disabled", None, "law")
    assert found["i2"][3] == 1795339200000000  # 2026-11-22T09:20:00Z in microseconds
    assert "Recorded the action on every open item" in client.get(ORDER_PAGE).text


@pytest.mark.parametrize(("form", "status", "code"), [
    ({"action": "removed", "acted_at": "2026-11-22T10:00"}, 400, "invalid_payload"),
    ({"action": "exploded"}, 400, "invalid_payload"),
    ({"action": "removed", "basis": "terms"}, 400, "invalid_payload"),
    ({"action": "removed", "item": "bm9wZQ=="}, 404, "unknown_item"),
    ({"action": "removed", "item": "%%%"}, 404, "unknown_item"),
])
def test_a_refused_action_is_explained_beside_its_form(
    client: Any, token: str, one_order: None, service: ComplianceService,
    form: dict[str, str], status: int, code: str,
) -> None:
    answer = client.post(ACT, data={"csrf_token": token, **form})
    assert answer.status_code == status
    assert code in answer.text and 'role="alert"' in answer.text
    assert {a for a, *_ in actions(service).values()} == {None}


def test_a_stale_form_cannot_change_a_recorded_action(
    client: Any, token: str, one_order: None, service: ComplianceService
) -> None:
    service.act("nl-atkm", "ord-1", "i1", {"action": "removed"}, actor="t")
    answer = client.post(ACT, data={"csrf_token": token, "item": "aTE=", "action": "not_found"})
    assert answer.status_code == 409 and "conflict" in answer.text
    assert actions(service)["i1"][0] == "removed"


def test_a_withdrawn_order_shows_no_forms_and_refuses_actions(
    client: Any, token: str, one_order: None, service: ComplianceService, clock: FakeClock,
    sender_for: Any,
) -> None:
    sender = sender_for("http://unused")
    body = sender.envelope("order.withdrawn", {"order_id": "ord-1", "reason": "court"},
                           timestamp=int(clock.timestamp()))
    assert service.receive("nl-atkm", sender.headers_for(body), body).status == 200
    page = parse(client.get(ORDER_PAGE).text)
    assert "withdrawn" in page.text and all(f.get("action") != ACT for f in page.all("form"))
    answer = client.post(ACT, data={"csrf_token": token, "action": "removed"})
    assert answer.status_code == 409 and "order_withdrawn" in answer.text


def test_an_item_id_with_any_characters_is_acted_on_through_its_form(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    odd = "a/b\nc d\"é"
    receive(service, clock, sender_for, items=[{"item_id": odd, "url": "https://h.example/x"}])
    page = client.get(ORDER_PAGE).text
    [key] = re.findall(r'name="item" value="([^"]+)"', page)
    assert client.post(ACT, data={"csrf_token": token, "item": key,
                                  "action": "removed"}).status_code == 303
    assert actions(service)[odd][0] == "removed"


HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "{{ 7*7 }}"]


def test_whatever_the_issuer_sent_is_shown_as_text_never_run(
    client: Any, token: str, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    text = " ".join(HOSTILE)
    receive(
        service, clock, sender_for,
        legal_basis=text, statement_of_reasons=text, redress=text,
        subcategory="KEYWORD_OTHER", subcategory_other=text,
        items=[
            {"item_id": HOSTILE[0], "url": "https://h.example/<script>alert(3)</script>",
             "note": text},
            {"item_id": HOSTILE[1], "url": 'https://h.example/"><img/src=x/onerror=alert(4)>',
             "note": text},
            {"item_id": HOSTILE[2], "url": "https://h.example/{{7*7}}", "note": text},
        ],
    )
    service.act("nl-atkm", "ord-1", HOSTILE[0], {"action": "refused", "reason": text}, actor="t")
    for url in (ORDER_PAGE, "/ui/orders"):
        html = client.get(url).text
        doc = parse(html)
        assert [s.get("src") for s in doc.all("script")] == ["/ui/static/countdown.js"]
        assert doc.all("img") == []
        assert not any(k.startswith("on") for _, attrs in doc.elements for k in attrs)
    shown = doc_text = " ".join(parse(client.get(ORDER_PAGE).text).text.split())
    for payload in HOSTILE:
        assert shown.count(payload) >= 6, payload  # fields, notes, item ids, event details
    assert "https://h.example/<script>alert(3)</script>" in doc_text
    assert 'https://h.example/"><img/src=x/onerror=alert(4)>' in doc_text
    assert "https://h.example/{{7*7}}" in doc_text
    assert "49" not in doc_text


def test_the_order_page_lists_its_failed_delivery_with_a_retry_button(
    client: Any, token: str, one_order: None, service: ComplianceService,
    worker: DeliveryWorker, fake_issuer: CallbackServer, clock: FakeClock,
) -> None:
    fake_issuer.respond_with(400)
    worker.run_once()
    page = client.get(ORDER_PAGE).text
    [retry] = re.findall(r'action="(/ui/deliveries/\d+/retry)"', page)
    answer = client.post(retry, data={"csrf_token": token, "issuer_id": "nl-atkm",
                                      "order_id": "ord-1"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == ORDER_PAGE + "#deliveries"
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(deliveries.c.state)).scalars().all() == ["pending"]
    assert "is queued again" in client.get(ORDER_PAGE).text
    assert worker.run_once() == 0  # due 1 s after the attempt that failed (13.1)
    clock.advance(seconds=1)
    assert worker.run_once() == 1
    assert json.loads(fake_issuer.received[-1].body)["type"] == "order.acknowledged"
