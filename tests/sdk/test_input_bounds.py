"""PROTOCOL 13.2 in the SDK: string lengths, lists refused before their elements are looked at,
error bodies of at most 64 KiB, cursors that do not decode, and log text escaped."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import pytest

from hoster_compliance.errors import InvalidPayload, InvalidQuery
from hoster_compliance.logtext import safe
from hoster_compliance.orders import reads
from hoster_compliance.protocol import limits
from hoster_compliance.protocol import schemas_in as schemas

from .test_schemas import NOW, errors_of, items, order

STRING_LIMITS = [
    ("legal_basis", limits.LEGAL_BASIS_CHARS, 1000),
    ("statement_of_reasons", limits.STATEMENT_OF_REASONS_CHARS, 10_000),
    ("redress", limits.REDRESS_CHARS, 5000),
]


@pytest.mark.parametrize(("name", "limit", "protocol"), STRING_LIMITS)
def test_order_strings_up_to_their_limit(name: str, limit: int, protocol: int) -> None:
    assert limit == protocol
    assert schemas.load_order_created(order(**{name: "x" * limit}), now=NOW)[name]
    assert errors_of(order(**{name: "x" * (limit + 1)})) == {
        name: [f"Longer than maximum length {limit}."]}


def test_subcategory_other_up_to_500() -> None:
    other = {"category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
             "subcategory": "KEYWORD_OTHER"}
    assert schemas.load_order_created(order(**other, subcategory_other="x" * 500), now=NOW)
    assert errors_of(order(**other, subcategory_other="=" * 501)) == {
        "subcategory_other": ["Longer than maximum length 500."]}


def test_item_note_up_to_2000() -> None:
    good = [{"item_id": "1", "url": "https://e.example/a", "note": "n" * 2000}]
    assert schemas.load_order_created(order(items=good), now=NOW)["items"][0]["note"]
    bad = [{"item_id": "1", "url": "https://e.example/a", "note": "n" * 2001}]
    assert errors_of(order(items=bad)) == {
        "items": {"0": {"note": ["Longer than maximum length 2000."]}}}


def test_action_and_withdrawal_reasons_up_to_2000() -> None:
    assert schemas.load_action({"action": "refused", "reason": "r" * 2000})
    with pytest.raises(InvalidPayload) as refused:
        schemas.load_action({"action": "refused", "reason": "r" * 2001})
    assert refused.value.fields == {"reason": ["Longer than maximum length 2000."]}
    assert schemas.load_order_withdrawn({"order_id": "o", "reason": "r" * 2000})
    with pytest.raises(InvalidPayload) as withdrawn:
        schemas.load_order_withdrawn({"order_id": "o", "reason": "r" * 2001})
    assert withdrawn.value.fields == {"reason": ["Longer than maximum length 2000."]}


def test_a_huge_item_list_is_refused_whole_before_its_elements() -> None:
    """250,000 integers as ``items``: one message, not one per element (on the old code: 6 s
    of CPU and an 11 MB error body)."""
    started = time.process_time()
    with pytest.raises(InvalidPayload) as caught:
        schemas.load_order_created(order(items=list(range(250_000))), now=NOW)
    assert caught.value.fields == {"items": ["Length must be between 1 and 1000."]}
    assert len(json.dumps(caught.value.to_body())) < 1000
    assert time.process_time() - started < 2.0  # the old code took about 6 s here


def test_territorial_scope_over_28_is_refused_before_its_elements() -> None:
    with pytest.raises(InvalidPayload) as caught:
        schemas.load_order_created(order(territorial_scope=["XX"] * 29), now=NOW)
    assert caught.value.fields == {"territorial_scope": ["Length must be between 1 and 28."]}


def _bad_items(n: int) -> list[dict[str, Any]]:
    return [{"item_id": f"{k:0129d}", "url": "not a url", "note": "n" * 2001} for k in range(n)]


def test_error_body_is_at_most_64_kib_and_says_what_it_left_out() -> None:
    with pytest.raises(InvalidPayload) as caught:
        schemas.load_order_created(order(items=_bad_items(1000), legal_basis=""), now=NOW)
    body = caught.value.to_body()
    size = len(json.dumps(body).encode())
    assert size <= limits.MAX_ERROR_BODY_BYTES
    assert body["fields"]["legal_basis"] == ["Must not be blank."]  # a small entry is kept
    shown = body["fields"]["items"]
    assert 100 < len(shown) < 1000
    assert shown["0"]["url"] == ["Not a valid URL."]
    messages_shown = sum(len(errors) for errors in shown.values())  # 3 an item, one cut short
    assert f"{3 * 1000 - messages_shown} more field errors are not shown" in body["message"]


def test_a_small_error_body_is_whole() -> None:
    with pytest.raises(InvalidPayload) as caught:
        schemas.load_order_created(order(items=_bad_items(3)), now=NOW)
    body = caught.value.to_body()
    assert set(body["fields"]["items"]) == {"0", "1", "2"}
    assert body["message"] == "The order.created data is invalid."


def test_one_huge_unknown_field_name_is_cut() -> None:
    with pytest.raises(InvalidPayload) as caught:
        schemas.load_order_created(order(**{"k" * 100_000: 1}), now=NOW)
    body = caught.value.to_body()
    assert len(json.dumps(body)) < 2000
    assert body["fields"] == {"k" * 200 + "...": ["Unknown field."]}


def test_items_at_the_limit_still_load() -> None:
    assert len(schemas.load_order_created(order(items=items(1000)), now=NOW)["items"]) == 1000


@pytest.mark.parametrize("cursor", [
    "[" * 1000,
    base64.urlsafe_b64encode(b"[" * 1000).decode(),  # the old code: RecursionError, a 500
    base64.urlsafe_b64encode(b"[" * 60).decode(),
    "A" * 129,
    "%%%",
    "",
], ids=["brackets", "base64-of-1000-brackets", "base64-of-60-brackets", "too-long", "percent",
        "padding"])
def test_a_cursor_that_does_not_decode_is_invalid_query(cursor: str) -> None:
    with pytest.raises(InvalidQuery):
        reads.parse_list_query({"cursor": cursor or "="})


def test_a_cursor_the_server_gave_out_decodes() -> None:
    good = base64.urlsafe_b64encode(json.dumps([1, 2, 3]).encode()).decode().rstrip("=")
    assert reads.parse_list_query({"cursor": good})["cursor"] == (1, 2, 3)


@pytest.mark.parametrize(("text", "expected"), [
    ("x\n2026-11-22 INFO forged line", "x\\x0a2026-11-22 INFO forged line"),
    ("a\x00b\rc\x1b[31m", "a\\x00b\\x0dc\\x1b[31m"),
    ("back\\slash", "back\\\\slash"),
    ("bidi\u202eevil\u2028sep\x85", "bidi\\u202eevil\\u2028sep\\x85"),
    ("Dépôt 日本", "Dépôt 日本"),
])
def test_log_text_is_escaped(text: str, expected: str) -> None:
    assert safe(text) == expected


def test_log_text_is_cut() -> None:
    assert safe("x" * 10_000) == "x" * 512 + "...(+9488 chars)"


def test_a_rejected_webhook_logs_its_issuer_id_escaped(
    service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hoster_compliance"):
        result = service.receive("x\n2026-11-22 INFO forged\x00", {}, b"{}")
    assert result.status == 404
    lines = [record.getMessage() for record in caplog.records]
    assert lines and all("\n" not in line and "\x00" not in line for line in lines)
    assert any("x\\x0a2026-11-22 INFO forged\\x00" in line for line in lines)
