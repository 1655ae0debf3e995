"""The dashboard's pure helpers: deadline display, form to action, safe redirects, charts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hoster_compliance.errors import InvalidQuery
from hoster_compliance_receiver.ui.charts import effect_chart, nice_ceiling, orders_chart
from hoster_compliance_receiver.ui.present import (
    action_body,
    deadline_view,
    decode_item,
    encode_item,
    item_page,
    notifier_view,
    safe_next,
)

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def order(status: str = "open", deadline: str | None = "2026-11-22T21:00:00Z") -> dict[str, str]:
    return {"status": status, "received_at": "2026-11-22T09:00:00Z", "deadline": deadline}


def test_deadline_view_says_in_words_what_the_colour_says() -> None:
    assert deadline_view(order(), NOW) == {
        "state": "due-soon", "flag": "due soon", "left": "in 3 h",
        "deadline": "2026-11-22T21:00:00Z", "due_soon_from": "2026-11-22T18:00:00Z"}
    late = deadline_view(order(deadline="2026-11-22T17:00:00Z"), NOW)
    assert (late["state"], late["flag"], late["left"]) == ("overdue", "", "overdue by 1 h")
    calm = deadline_view(order(deadline="2026-11-23T09:00:00Z"), NOW)
    assert (calm["state"], calm["flag"], calm["left"]) == ("open", "", "in 15 h")
    none = deadline_view(order(deadline=None), NOW)
    assert (none["state"], none["left"], none["deadline"]) == ("open", "no deadline", None)
    done = deadline_view(order(status="completed", deadline="2026-11-22T17:00:00Z"), NOW)
    assert (done["state"], done["flag"], done["left"]) == ("closed", "completed", "")


@given(st.text(min_size=1, max_size=128))
def test_any_item_id_survives_the_form(item_id: str) -> None:
    encoded = encode_item(item_id)
    assert encoded.isascii() and "\n" not in encoded
    assert decode_item(encoded) == item_id


@pytest.mark.parametrize("value", ["%%%", "é", "gA==", ""])
def test_a_value_that_is_no_item_key_is_none_or_not_an_id(value: str) -> None:
    assert decode_item(value) in (None, "")


@pytest.mark.parametrize(("form", "body"), [
    ({"action": "removed"}, {"action": "removed"}),
    ({"action": " refused ", "reason": " manifest error ", "basis": "law", "acted_at": ""},
     {"action": "refused", "reason": "manifest error", "basis": "law"}),
    ({"action": "", "reason": "  "}, {}),
    ({"action": "removed", "acted_at": "2026-11-22T09:30"},
     {"action": "removed", "acted_at": "2026-11-22T09:30:00Z"}),
    ({"action": "removed", "acted_at": "2026-11-22T09:30:15"},
     {"action": "removed", "acted_at": "2026-11-22T09:30:15Z"}),
    ({"action": "removed", "acted_at": "2026-11-22T09:30:15+01:00"},
     {"action": "removed", "acted_at": "2026-11-22T09:30:15+01:00"}),
    ({"action": "removed", "acted_at": "soon"}, {"action": "removed", "acted_at": "soon"}),
])
def test_a_form_becomes_the_action_of_protocol_4(form: dict[str, str],
                                                 body: dict[str, str]) -> None:
    assert action_body(form) == body


@pytest.mark.parametrize(("target", "safe"), [
    ("/ui/orders?status=all", True), ("/ui/orders/nl-atkm/x", True), (None, False),
    ("", False), ("/v1/orders", False), ("//evil.example/ui/", False),
    ("https://evil.example/ui/", False), ("/ui/\\evil", False),
    ("/ui/x\r\nSet-Cookie: a", False),
])
def test_only_dashboard_paths_are_redirect_targets(target: str | None, safe: bool) -> None:
    assert safe_next(target) == (target if safe else None)


@pytest.mark.parametrize(("value", "top"), [
    (0, 1), (0.4, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (140, 200), (501, 1000)])
def test_the_axis_ends_at_a_round_number(value: float, top: float) -> None:
    assert nice_ceiling(value) == top


def test_the_charts_draw_one_bar_per_value_with_its_figure() -> None:
    months = [
        {"month": "2026-01", "count": 4, "within_deadline": 2, "overdue": 1,
         "median_hours_to_effect": 1.5},
        {"month": "2026-02", "count": 0, "within_deadline": 0, "overdue": 0,
         "median_hours_to_effect": None},
    ]
    svg = str(orders_chart(months))
    assert svg.count("<rect") == 3
    assert "<title>2026-01: 2 within the deadline</title>" in svg
    assert "<title>2026-01: 1 overdue</title>" in svg and "<title>2026-01: 1 other</title>" in svg
    effect = str(effect_chart(months))
    assert effect.count("<rect") == 1 and "2026-01: median 1.50 h" in effect
    assert "style=" not in svg + effect and "<script" not in svg + effect


def test_item_page_cuts_the_items_and_names_every_page() -> None:
    items = [{"n": n} for n in range(1, 251)]
    first = item_page(items, None)
    assert (first["number"], first["pages"], first["first"], first["last"]) == (1, 3, 1, 100)
    assert first["items"] == items[:100] and first["total"] == 250
    assert first["ranges"] == [(1, 1, 100), (2, 101, 200), (3, 201, 250)]
    last = item_page(items, "3")
    assert (last["first"], last["last"], last["items"]) == (201, 250, items[200:])
    assert item_page(items, "") == first
    empty = item_page([], None)
    assert (empty["pages"], empty["first"], empty["last"], empty["items"]) == (1, 0, 0, [])
    assert item_page(items[:10], "2", per_page=5)["items"] == items[5:10]
    # "9" * 5000: more digits than int() converts (a ValueError, then a 500)
    for bad in ("0", "4", "-1", "x", " 1", "\u0661", "1e2", "9" * 5000, "0" * 5000 + "1"):
        with pytest.raises(InvalidQuery, match="from 1 to 3"):
            item_page(items, bad)


def test_notifier_view_says_given_erased_or_none() -> None:
    given = {"issuer_id": "public", "notifier": {"name": "A", "email": None}, "events": []}
    assert notifier_view(given) == {"state": "given", "name": "A", "email": None}
    erased = {"issuer_id": "public", "notifier": None, "events": [
        {"type": "received", "at": "2026-01-01T00:00:00Z", "detail": {}},
        {"type": "notifier_erased", "at": "2027-01-01T00:00:00Z",
         "detail": {"retention_days": 365}}]}
    assert notifier_view(erased) == {"state": "erased", "at": "2027-01-01T00:00:00Z",
                                     "days": 365}
    assert notifier_view({"issuer_id": "public", "notifier": None, "events": []}) == {
        "state": "none"}
    assert notifier_view({"issuer_id": "nl-atkm", "notifier": None, "events": []}) is None
