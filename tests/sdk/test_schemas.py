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

from hoster_compliance.errors import InvalidPayload, UnknownType
from hoster_compliance.protocol import categories, regimes
from hoster_compliance.protocol import schemas_in as schemas

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
                             items=[{"item_id": "", "url": "https://e.example/"}]))
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
    bad_item = {"item_id": "1", "url": "https://e.example/", "hash": SHA256}
    assert errors_of(order(items=[bad_item])) == {"items": {"0": {"hash": UNKNOWN}}}
    bad_hash = {"algorithm": "md5", "value": "a" * 32, "salt": ""}
    assert errors_of(order(items=[{"item_id": "1", "url": "https://e.example/",
                                   "content_hash": bad_hash}])) == {
        "items": {"0": {"content_hash": {"salt": UNKNOWN}}}
    }


@pytest.mark.parametrize("value", ["a", "A" * 128, "Az09._:-", "ATKM:2026.1"])
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


# --- items ----------------------------------------------------------------------------------


def test_item_count_limits() -> None:
    assert len(schemas.load_order_created(order(items=items(1000)), now=NOW)["items"]) == 1000
    assert errors_of(order(items=items(1001))) == {
        "items": ["Length must be between 1 and 1000."]
    }
    assert errors_of(order(items=[])) == {"items": ["Length must be between 1 and 1000."]}
    assert errors_of(order(items={"item_id": "1"})) == {"items": ["Not a valid list."]}
    assert errors_of(order(items=["https://e.example/"])) == {
        "items": {"0": {"_schema": ["Invalid input type."]}}
    }


def test_duplicate_item_id_is_reported_at_the_repeating_position() -> None:
    repeated = [*items(3), {"item_id": "i1", "url": "https://example.com/again"}]
    assert errors_of(order(items=repeated)) == {
        "items": {"3": {"item_id": ["Duplicate item_id in this order."]}}
    }
    # Case matters: "I1" is another id.
    other = [*items(3), {"item_id": "I1", "url": "https://example.com/again"}]
    assert len(schemas.load_order_created(order(items=other), now=NOW)["items"]) == 4


def test_duplicate_and_other_item_errors_merge_at_one_position() -> None:
    repeated = [*items(2), {"item_id": "i0", "url": "ftp://example.com/x"}]
    assert errors_of(order(items=repeated)) == {
        "items": {"2": {"item_id": ["Duplicate item_id in this order."],
                        "url": ["Not a valid URL."]}}
    }


def test_item_id_length() -> None:
    ok = [{"item_id": "x" * 128, "url": "https://e.example/"}]
    assert schemas.load_order_created(order(items=ok), now=NOW)
    for bad in ("", "x" * 129):
        fields = errors_of(order(items=[{"item_id": bad, "url": "https://e.example/"}]))
        assert fields == {"items": {"0": {"item_id": ["Length must be between 1 and 128."]}}}


@pytest.mark.parametrize(
    "url",
    ["http://example.com", "https://example.com/a/b?c=d#e", "http://127.0.0.1:8080/x",
     "http://localhost/x", "https://intranet/x", "HTTPS://EXAMPLE.COM/A",
     "https://example.com/" + "a" * (2048 - 20)],
)
def test_url_valid(url: str) -> None:
    assert len(url) <= 2048
    data = order(items=[{"item_id": "1", "url": url}])
    assert schemas.load_order_created(data, now=NOW)["items"][0]["url"] == url


@pytest.mark.parametrize(
    "url",
    ["/relative/path", "example.com/x", "ftp://example.com/x", "javascript:alert(1)",
     "https://exa mple.com/", "https://example.com/a b", "mailto:a@example.com", ""],
)
def test_url_invalid(url: str) -> None:
    fields = errors_of(order(items=[{"item_id": "1", "url": url}]))
    assert fields == {"items": {"0": {"url": ["Not a valid URL."]}}}


def test_url_too_long() -> None:
    url = "https://example.com/" + "a" * (2049 - 20)
    assert len(url) == 2049
    fields = errors_of(order(items=[{"item_id": "1", "url": url}]))
    assert fields == {"items": {"0": {"url": ["Longer than maximum length 2048."]}}}


@pytest.mark.parametrize(
    ("algorithm", "value"),
    [("sha256", SHA256), ("sha256", SHA256.upper()), ("sha1", "0" * 40), ("md5", "f" * 32)],
)
def test_content_hash_valid(algorithm: str, value: str) -> None:
    item = {"item_id": "1", "url": "https://e.example/", "content_hash": {"algorithm": algorithm,
                                                                   "value": value}}
    loaded = schemas.load_order_created(order(items=[item]), now=NOW)
    assert loaded["items"][0]["content_hash"] == {"algorithm": algorithm, "value": value}


@pytest.mark.parametrize(
    ("content_hash", "where", "message"),
    [
        ({"algorithm": "sha256", "value": "ab" * 20}, "value",
         "Must be 64 hex digits for sha256."),
        ({"algorithm": "md5", "value": SHA256}, "value", "Must be 32 hex digits for md5."),
        ({"algorithm": "sha1", "value": "g" * 40}, "value",
         "String does not match expected pattern."),
        ({"algorithm": "sha512", "value": "a" * 128}, "algorithm",
         "Must be one of: sha256, sha1, md5."),
        ({"algorithm": "sha256"}, "value", "Missing data for required field."),
    ],
)
def test_content_hash_invalid(content_hash: dict[str, Any], where: str, message: str) -> None:
    item = {"item_id": "1", "url": "https://e.example/", "content_hash": content_hash}
    assert errors_of(order(items=[item])) == {
        "items": {"0": {"content_hash": {where: [message]}}}
    }


# --- Member States, flags, numbers ----------------------------------------------------------


@pytest.mark.parametrize("scope", [["NL"], ["EL", "CY"], ["EU"], list(schemas.MEMBER_STATES)])
def test_territorial_scope_valid(scope: list[str]) -> None:
    loaded = schemas.load_order_created(order(territorial_scope=scope), now=NOW)
    assert loaded["territorial_scope"] == scope


def test_member_states_are_the_27_with_greece_as_el() -> None:
    assert len(set(schemas.MEMBER_STATES)) == 27
    assert "EL" in schemas.MEMBER_STATES and "GR" not in schemas.MEMBER_STATES


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        (["GR"], {"0": ["Must be one of: " + ", ".join((*schemas.MEMBER_STATES, "EU")) + "."]}),
        (["NL", "nl"], {"1": ["Must be one of: " + ", ".join((*schemas.MEMBER_STATES, "EU"))
                              + "."]}),
        (["EU", "NL"], ['"EU" must be the only entry.']),
        ([], ["Length must be between 1 and 28."]),
        (["NL", "NL"], ["Duplicate Member State."]),
        ("NL", ["Not a valid list."]),
        (["UK"], {"0": ["Must be one of: " + ", ".join((*schemas.MEMBER_STATES, "EU")) + "."]}),
    ],
)
def test_territorial_scope_invalid(scope: object, error: object) -> None:
    assert errors_of(order(territorial_scope=scope)) == {"territorial_scope": error}


def test_issuer_member_state_greece_is_el() -> None:
    loaded = schemas.load_order_created(order(issuer_member_state="EL"), now=NOW)
    assert loaded["issuer_member_state"] == "EL"
    for bad in ("GR", "nl", "EU", "NLD", 31):
        assert "issuer_member_state" in errors_of(order(issuer_member_state=bad))


@pytest.mark.parametrize("value", [True, False])
def test_trusted_flagger_on_notice_is_fine_and_on_order_never(value: bool) -> None:
    loaded = schemas.load_order_created(notice(trusted_flagger=value), now=NOW)
    assert loaded["trusted_flagger"] is value
    assert errors_of(order(trusted_flagger=value)) == {
        "trusted_flagger": ["Only allowed when kind is notice."]
    }


@pytest.mark.parametrize("field", ["confidential", "trusted_flagger"])
@pytest.mark.parametrize("value", ["true", 1, 0, "false", None, [], {}])
def test_bools_must_be_json_bools(field: str, value: object) -> None:
    fields = errors_of(notice(**{field: value}))
    assert fields == {field: ["Field may not be null." if value is None
                              else "Not a valid boolean."]}


@pytest.mark.parametrize("value", [0, 180, 3650])
def test_preserve_for_days_valid(value: int) -> None:
    loaded = schemas.load_order_created(order(preserve_for_days=value), now=NOW)
    assert loaded["preserve_for_days"] == value and type(loaded["preserve_for_days"]) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [(-1, "Must be greater than or equal to 0 and less than or equal to 3650."),
     (3651, "Must be greater than or equal to 0 and less than or equal to 3650."),
     (180.0, "Not a valid integer."), (1.5, "Not a valid integer."),
     (True, "Not a valid integer."), (False, "Not a valid integer."),
     ("180", "Not a valid integer."), (10**400, "Must be greater than or equal to 0 and less "
                                               "than or equal to 3650.")],
)
def test_preserve_for_days_invalid(value: object, message: str) -> None:
    assert errors_of(order(preserve_for_days=value)) == {"preserve_for_days": [message]}


@pytest.mark.parametrize(
    ("field", "value"),
    [("order_id", 123), ("legal_basis", True), ("redress", 5), ("kind", ["order"]),
     ("subcategory", 1), ("regime", {"code": "OTHER"})],
)
def test_strings_must_be_json_strings(field: str, value: object) -> None:
    assert errors_of(order(**{field: value})) == {field: ["Not a valid string."]}


def test_item_strings_must_be_json_strings() -> None:
    note = [{"item_id": 1, "url": "https://e.example/", "note": 1}]
    assert errors_of(order(items=note)) == {
        "items": {"0": {"item_id": ["Not a valid string."], "note": ["Not a valid string."]}}
    }


@pytest.mark.parametrize("field", ["regime", "deadline", "redress", "confidential",
                                   "territorial_scope", "category"])
def test_null_is_not_absence(field: str) -> None:
    assert errors_of(order(**{field: None})) == {field: ["Field may not be null."]}


# --- NUL ------------------------------------------------------------------------------------

NUL_MESSAGE = ["Must not contain U+0000."]


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (order(order_id="a\x00b"), {"order_id": NUL_MESSAGE}),
        (order(redress="\x00"), {"redress": NUL_MESSAGE}),
        (order(territorial_scope=["NL", "\x00"]), {"territorial_scope": {"1": NUL_MESSAGE}}),
        (order(items=[*items(2), {"item_id": "x", "url": "https://e.example/\x00"}]),
         {"items": {"2": {"url": NUL_MESSAGE}}}),
        (order(items=[{"item_id": "x", "url": "https://e.example/", "note\x00": "n"}]),
         {"items": {"0": {"_schema": ["A key must not contain U+0000."]}}}),
        (order(**{"\x00": 1}), {"_schema": ["A key must not contain U+0000."]}),
    ],
)
def test_nul_anywhere_is_invalid(data: dict[str, Any], fields: dict[str, Any]) -> None:
    assert errors_of(data) == fields
    with pytest.raises(InvalidPayload) as info:
        schemas.load_envelope({**ENVELOPE, "data": data})
    assert info.value.fields == {"data": fields}


def test_nul_in_envelope_and_action_and_withdrawal() -> None:
    with pytest.raises(InvalidPayload) as info:
        schemas.load_envelope({**ENVELOPE, "type": "order.created\x00"})
    assert info.value.fields == {"type": NUL_MESSAGE}
    with pytest.raises(InvalidPayload) as info:
        schemas.load_action({"action": "refused", "reason": "x\x00"})
    assert info.value.fields == {"reason": NUL_MESSAGE}
    with pytest.raises(InvalidPayload) as info:
        schemas.load_order_withdrawn({"order_id": "a", "reason": "\x00"})
    assert info.value.fields == {"reason": NUL_MESSAGE}
    with pytest.raises(InvalidPayload):
        schemas.reject_nul("\x00")
    schemas.reject_nul({"a": ["b", 1, None, {"c": "d\u0001"}]})  # other control characters pass


def test_errors_never_echo_a_long_secret_like_value() -> None:
    secret = "whsec_" + "S3cr3t" * 200
    data = order(items=[{"item_id": "1", "url": secret}], redress=7, regime=secret)
    with pytest.raises(InvalidPayload) as info:
        schemas.load_order_created(data, now=NOW)
    body = json.dumps(info.value.to_body())
    assert "S3cr3t" not in body


# --- order.withdrawn ------------------------------------------------------------------------


@pytest.mark.parametrize("data", [{"order_id": "o-1"}, {"order_id": "o-1", "reason": "sent twice"}])
def test_withdrawn_valid(data: dict[str, Any]) -> None:
    assert schemas.load_order_withdrawn(data) == data


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"order_id": MISSING}),
        ({"order_id": "o 1"}, {"order_id": ["String does not match expected pattern."]}),
        ({"order_id": "o-1", "reason": 1}, {"reason": ["Not a valid string."]}),
        ({"order_id": "o-1", "why": "x"}, {"why": UNKNOWN}),
        ([], {"_schema": ["Invalid input type."]}),
    ],
)
def test_withdrawn_invalid(data: object, fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload) as info:
        schemas.load_order_withdrawn(data)
    assert info.value.fields == fields


# --- actions --------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["removed", "disabled", "geo_blocked", "not_found",
                                    "not_hosted"])
def test_action_valid_without_reason(action: str) -> None:
    assert schemas.load_action({"action": action}) == {"action": action}


def test_action_full_body() -> None:
    body = {"action": "refused", "acted_at": "2030-01-01T01:00:00+01:00",
            "reason": "manifest error", "basis": "terms", "automated": True}
    loaded = schemas.load_action(body)
    # The schema does not know the clock or the order: a future time and "terms" load here.
    assert loaded == {**body, "acted_at": datetime(2030, 1, 1, tzinfo=UTC)}
    assert schemas.load_action({"action": "removed", "reason": "also fine", "basis": "law",
                                "automated": False})["automated"] is False


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"action": "refused"}, {"reason": MISSING}),
        ({"action": "refused", "reason": " "}, {"reason": ["Must not be blank."]}),
        ({"action": "refused", "reason": None}, {"reason": ["Field may not be null."]}),
        ({}, {"action": MISSING}),
        ({"action": "deleted"}, {"action": ["Must be one of: removed, disabled, geo_blocked, "
                                            "not_found, not_hosted, refused, reinstated."]}),
        ({"action": "reinstated"}, {"reason": MISSING}),
        ({"action": "reinstated", "reason": ""}, {"reason": ["Must not be blank."]}),
        ({"action": "removed", "basis": "Law"}, {"basis": ["Must be one of: law, terms."]}),
        ({"action": "removed", "automated": "true"}, {"automated": ["Not a valid boolean."]}),
        ({"action": "removed", "automated": 1}, {"automated": ["Not a valid boolean."]}),
        ({"action": "removed", "acted_at": "2026-11-22 09:30"},
         {"acted_at": ["Not a valid RFC 3339 time with an offset."]}),
        ({"action": "removed", "actor": "me"}, {"actor": UNKNOWN}),
        ({"action": "removed", "reason": 5}, {"reason": ["Not a valid string."]}),
        ("removed", {"_schema": ["Invalid input type."]}),
    ],
)
def test_action_invalid(body: object, fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload) as info:
        schemas.load_action(body)
    assert info.value.fields == fields


# --- property: nothing but the protocol's errors --------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
ORDER_KEYS = [*order(), *schemas.OrderCreatedSchema().fields, "x"]
ITEM_KEYS = ["item_id", "url", "content_hash", "note", "y"]


def _only_string_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _only_string_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_only_string_keys(v) for v in value)
    return isinstance(value, str)


def _check(call: Any, arg: Any, allowed: tuple[type[Exception], ...]) -> None:
    try:
        result = call(arg)
    except allowed as exc:
        body = exc.to_body()  # type: ignore[attr-defined]
        json.dumps(body)
        assert _only_string_keys(body.get("fields", {}))
    else:
        assert isinstance(result, dict)


@settings(deadline=None, max_examples=200)
@given(json_values)
def test_random_json_raises_only_protocol_errors(value: Any) -> None:
    _check(schemas.load_envelope, value, (InvalidPayload, UnknownType))
    _check(lambda v: schemas.load_order_created(v, now=NOW), value, (InvalidPayload,))
    _check(schemas.load_action, value, (InvalidPayload,))
    _check(schemas.load_order_withdrawn, value, (InvalidPayload,))


@settings(deadline=None, max_examples=300)
@given(
    base=st.sampled_from([order(), notice()]),
    key=st.sampled_from(ORDER_KEYS),
    value=json_values,
    item_key=st.sampled_from(ITEM_KEYS),
    item_value=json_values,
    type_=st.sampled_from(["order.created", "order.withdrawn", "x"]),
)
def test_near_valid_orders_raise_only_protocol_errors(
    base: dict[str, Any], key: str, value: Any, item_key: str, item_value: Any, type_: str
) -> None:
    data = copy.deepcopy(base)
    data[key] = value
    if isinstance(data.get("items"), list) and data["items"] and isinstance(
        data["items"][0], dict
    ):
        data["items"][0][item_key] = item_value
    _check(lambda v: schemas.load_order_created(v, now=NOW), data, (InvalidPayload,))
    _check(schemas.load_envelope, {**ENVELOPE, "type": type_, "data": data},
           (InvalidPayload, UnknownType))
    _check(schemas.load_action, {"action": "refused", key: value}, (InvalidPayload,))
