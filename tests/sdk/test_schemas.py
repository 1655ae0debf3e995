"""The wire-format schemas: every rule of PROTOCOL 2.1, 2.2 and 4 on both sides, the error shape,
strict JSON types, and a property test that no input raises anything but the protocol's errors."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoster_compliance import categories, regimes, schemas
from hoster_compliance.errors import InvalidPayload, UnknownType

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
MISSING = ["Missing data for required field."]
UNKNOWN = ["Unknown field."]
SHA256 = "ab" * 32


def order(**changes: Any) -> dict[str, Any]:
    """A minimal valid order; ``changes`` set fields, a value of ``...`` removes one."""
    data: dict[str, Any] = {
        "order_id": "ATKM-2026:0001",
        "kind": "order",
        "legal_basis": "Wet bestuursrechtelijke aanpak OKM, art. 6",
        "statement_of_reasons": "The material depicts the sexual abuse of a child.",
        "issued_at": "2026-11-22T09:29:00Z",
        "items": [{"item_id": "1", "url": "https://files.example.nl/a.jpg"}],
    }
    for key, value in changes.items():
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def notice(**changes: Any) -> dict[str, Any]:
    return order(kind="notice", legal_basis=..., statement_of_reasons=..., **changes)


def items(n: int) -> list[dict[str, Any]]:
    return [{"item_id": f"i{i}", "url": f"https://example.com/{i}"} for i in range(n)]


def errors_of(data: Any) -> dict[str, Any]:
    with pytest.raises(InvalidPayload) as info:
        schemas.load_order_created(data, now=NOW)
    assert info.value.code == "invalid_payload"
    assert info.value.fields
    return info.value.fields


# --- envelope -------------------------------------------------------------------------------

ENVELOPE = {"type": "order.created", "timestamp": "2026-11-22T10:30:00+01:00", "data": {}}


@pytest.mark.parametrize("type_", ["order.created", "order.withdrawn"])
def test_envelope_valid(type_: str) -> None:
    loaded = schemas.load_envelope({**ENVELOPE, "type": type_})
    assert loaded == {"type": type_, "timestamp": datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
                      "data": {}}
    assert loaded["timestamp"].tzinfo is not None


@pytest.mark.parametrize("doc", [[], "x", None, 1, True, [ENVELOPE]])
def test_envelope_not_an_object(doc: object) -> None:
    with pytest.raises(InvalidPayload) as info:
        schemas.load_envelope(doc)
    assert info.value.fields == {"_schema": ["Invalid input type."]}


@pytest.mark.parametrize("key", ["type", "timestamp", "data"])
def test_envelope_missing_key(key: str) -> None:
    doc = {k: v for k, v in ENVELOPE.items() if k != key}
    with pytest.raises(InvalidPayload) as info:
        schemas.load_envelope(doc)
    assert info.value.fields == {key: MISSING}


def test_envelope_unknown_key() -> None:
    with pytest.raises(InvalidPayload) as info:
        schemas.load_envelope({**ENVELOPE, "id": "x"})
    assert info.value.fields == {"id": UNKNOWN}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("type", 1, "Not a valid string."),
        ("type", None, "Field may not be null."),
        ("data", [], "Not a valid mapping type."),
        ("data", "{}", "Not a valid mapping type."),
        ("timestamp", "2026-11-22T09:30:00", "Not a valid RFC 3339 time with an offset."),
        ("timestamp", 1614265330, "Not a valid RFC 3339 time with an offset."),
    ],
)
def test_envelope_field_types(key: str, value: object, message: str) -> None:
    with pytest.raises(InvalidPayload) as info:
        schemas.load_envelope({**ENVELOPE, key: value})
    assert info.value.fields == {key: [message]}


def test_unknown_type_only_after_the_envelope_is_valid() -> None:
    with pytest.raises(UnknownType):
        schemas.load_envelope({**ENVELOPE, "type": "order.updated"})
    with pytest.raises(InvalidPayload):
        schemas.load_envelope({"type": "order.updated", "data": {}})


# --- order.created: shape -------------------------------------------------------------------


def test_minimal_order_loads_only_what_was_sent() -> None:
    loaded = schemas.load_order_created(order(), now=NOW)
    assert set(loaded) == set(order())
    assert loaded["issued_at"] == datetime(2026, 11, 22, 9, 29, tzinfo=UTC)
    assert loaded["items"] == order()["items"]


def test_minimal_notice_needs_no_legal_basis() -> None:
    loaded = schemas.load_order_created(notice(), now=NOW)
    assert loaded["kind"] == "notice"
    assert "legal_basis" not in loaded and "category" not in loaded


def test_full_order_loads_every_field() -> None:
    data = order(
        regime="NL_ATKM", category="STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        subcategory="KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        deadline="2026-11-22T22:30:00+01:00", territorial_scope=["NL", "EL"],
        redress="Bezwaar bij de ATKM binnen zes weken.", confidential=True, preserve_for_days=180,
        issuer_member_state="NL",
        items=[{"item_id": "1", "url": "http://a.example/x?y=1",
                "content_hash": {"algorithm": "sha256", "value": SHA256}, "note": "thumbnail"}],
    )
    loaded = schemas.load_order_created(data, now=NOW)
    assert loaded["deadline"] == datetime(2026, 11, 22, 21, 30, tzinfo=UTC)
    assert loaded["items"][0]["content_hash"] == {"algorithm": "sha256", "value": SHA256}
    assert {k: v for k, v in loaded.items() if k not in ("issued_at", "deadline")} == {
        k: v for k, v in data.items() if k not in ("issued_at", "deadline")
    }


def test_protocol_example_error_shape_exactly() -> None:
    data = order(items=[*items(3), {"item_id": "x", "url": "not a url"}])
    with pytest.raises(InvalidPayload) as info:
        schemas.load_order_created(data, now=NOW)
    assert info.value.fields == {"items": {"3": {"url": ["Not a valid URL."]}}}
    assert info.value.to_body()["fields"] == {"items": {"3": {"url": ["Not a valid URL."]}}}


def test_every_problem_is_reported_at_once() -> None:
    fields = errors_of(order(kind="notice", order_id="a b", extra=1, preserve_for_days=-1,
                             items=[{"item_id": "", "url": "https://e.x/"}]))
    assert set(fields) == {"order_id", "extra", "preserve_for_days", "items"}
    assert fields["items"] == {"0": {"item_id": ["Length must be between 1 and 128."]}}


@pytest.mark.parametrize("data", [[], "x", None, 5])
def test_data_not_an_object(data: object) -> None:
    assert errors_of(data) == {"_schema": ["Invalid input type."]}


@pytest.mark.parametrize("field", ["order_id", "kind", "issued_at", "items"])
def test_required_fields(field: str) -> None:
    assert errors_of(order(**{field: ...}))[field] == MISSING


def test_unknown_field_in_data_and_in_item_and_in_hash() -> None:
    assert errors_of(order(Order_id="x")) == {"Order_id": UNKNOWN}
    bad_item = {"item_id": "1", "url": "https://e.x/", "hash": SHA256}
    assert errors_of(order(items=[bad_item])) == {"items": {"0": {"hash": UNKNOWN}}}
    bad_hash = {"algorithm": "md5", "value": "a" * 32, "salt": ""}
    assert errors_of(order(items=[{"item_id": "1", "url": "https://e.x/",
                                   "content_hash": bad_hash}])) == {
        "items": {"0": {"content_hash": {"salt": UNKNOWN}}}
    }


@pytest.mark.parametrize("value", ["a", "A" * 128, "Az09._:-", "ATKM:2026/1".replace("/", ".")])
def test_order_id_valid(value: str) -> None:
    assert schemas.load_order_created(order(order_id=value), now=NOW)["order_id"] == value


@pytest.mark.parametrize("value", ["", "A" * 129, "a/b", "a b", "é", "a\n", "a#", 7])
def test_order_id_invalid(value: object) -> None:
    assert "order_id" in errors_of(order(order_id=value))


@pytest.mark.parametrize("value", ["Order", "", "hotline", None, True])
def test_kind_invalid(value: object) -> None:
    assert "kind" in errors_of(order(kind=value))


def test_regime_codes_are_the_regimes_modules() -> None:
    assert regimes.REGIME_CODES == ("EU_TCO", "NL_ATKM", "NL_NTD", "EU_DSA_ART9", "OTHER")
    for code in regimes.REGIME_CODES:
        assert schemas.load_order_created(order(regime=code), now=NOW)["regime"] == code
    assert "regime" in errors_of(order(regime="eu_tco"))


@pytest.mark.parametrize("field", ["legal_basis", "statement_of_reasons"])
def test_order_requires_legal_basis_and_reasons(field: str) -> None:
    assert errors_of(order(**{field: ...})) == {field: MISSING}
    assert errors_of(order(**{field: "  "})) == {field: ["Must not be blank."]}
    assert field not in schemas.load_order_created(notice(), now=NOW)


@pytest.mark.parametrize(("field", "limit"), [("legal_basis", 1000),
                                              ("statement_of_reasons", 10000)])
def test_text_limits(field: str, limit: int) -> None:
    assert schemas.load_order_created(order(**{field: "x" * limit}), now=NOW)[field]
    assert field in errors_of(order(**{field: "x" * (limit + 1)}))


# --- categories -----------------------------------------------------------------------------


def test_every_category_of_the_list_is_accepted() -> None:
    for code in categories.CATEGORIES:
        assert schemas.load_order_created(order(category=code), now=NOW)["category"] == code


@pytest.mark.parametrize("value", ["KEYWORD_PHISHING", "TOTAL", "STATEMENT_CATEGORY_X", 1])
def test_category_invalid(value: object) -> None:
    assert "category" in errors_of(order(category=value))


def test_subcategory_must_belong_to_the_category() -> None:
    ok = order(category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD", subcategory="KEYWORD_PHISHING")
    assert schemas.load_order_created(ok, now=NOW)["subcategory"] == "KEYWORD_PHISHING"
    wrong = order(category="STATEMENT_CATEGORY_VIOLENCE", subcategory="KEYWORD_PHISHING")
    assert errors_of(wrong) == {
        "subcategory": ["Not a subcategory of STATEMENT_CATEGORY_VIOLENCE."]
    }
    assert "subcategory" in errors_of(order(category="STATEMENT_CATEGORY_VIOLENCE",
                                            subcategory="STATEMENT_CATEGORY_VIOLENCE"))


@pytest.mark.parametrize("build", [order, notice])
def test_subcategory_without_category_falls_on_not_specified_which_has_none(build: Any) -> None:
    fields = errors_of(build(subcategory="KEYWORD_PHISHING"))
    default = "ORDER" if build is order else "NOTICE"
    assert fields == {
        "subcategory": [f"Not a subcategory of STATEMENT_CATEGORY_NOT_SPECIFIED_{default}."]
    }


def test_keyword_other_needs_subcategory_other_in_every_category_listing_it() -> None:
    listing = [c for c in categories.categories() if "KEYWORD_OTHER" in c.subcategory_codes]
    assert listing
    for cat in listing:
        ok = order(category=cat.code, subcategory="KEYWORD_OTHER", subcategory_other="Spam")
        assert schemas.load_order_created(ok, now=NOW)["subcategory_other"] == "Spam"
        assert errors_of(order(category=cat.code, subcategory="KEYWORD_OTHER")) == {
            "subcategory_other": MISSING
        }


def test_subcategory_other_only_with_keyword_other() -> None:
    only = ["Only allowed when subcategory is KEYWORD_OTHER."]
    assert errors_of(order(subcategory_other="Spam")) == {"subcategory_other": only}
    with_phishing = order(category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                          subcategory="KEYWORD_PHISHING", subcategory_other="Spam")
    assert errors_of(with_phishing) == {"subcategory_other": only}
    blank = order(category="STATEMENT_CATEGORY_VIOLENCE", subcategory="KEYWORD_OTHER",
                  subcategory_other=" ")
    assert errors_of(blank) == {"subcategory_other": ["Must not be blank."]}


# --- times ----------------------------------------------------------------------------------


def test_issued_at_at_most_300_seconds_ahead() -> None:
    at_limit = (NOW + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert schemas.load_order_created(order(issued_at=at_limit), now=NOW)
    past = "2020-01-01T00:00:00+05:30"
    loaded = schemas.load_order_created(order(issued_at=past), now=NOW)
    assert loaded["issued_at"] == datetime(2019, 12, 31, 18, 30, tzinfo=UTC)
    too_far = "2026-11-22T09:35:00.000001Z"
    assert errors_of(order(issued_at=too_far)) == {
        "issued_at": ["Must not be more than 300 s in the future."]
    }
    later = NOW + timedelta(hours=1)
    assert schemas.load_order_created(order(issued_at=too_far), now=later)


@pytest.mark.parametrize(
    "value",
    ["2026-11-22T09:30:00", "2026-11-22", "22/11/2026 09:30", "2026-11-22T25:00:00Z",
     "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", 1764000000, None],
)
def test_times_must_be_rfc3339_with_offset(value: object) -> None:
    message = ["Field may not be null."] if value is None else [
        "Not a valid RFC 3339 time with an offset."
    ]
    assert errors_of(order(issued_at=value)) == {"issued_at": message}
    assert errors_of(order(deadline=value)) == {"deadline": message}


def test_deadline_may_be_past() -> None:
    loaded = schemas.load_order_created(order(deadline="2020-01-01T00:00:00Z"), now=NOW)
    assert loaded["deadline"] == datetime(2020, 1, 1, tzinfo=UTC)
