"""Statements of reasons (PROTOCOL 10.3) and ``reinstated`` (4): owed for effect given on
notices, own-initiative entries and non-confidential EU_TCO orders, never for Art. 9 orders or
confidential ones; the DSA Transparency Database's field names and values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from hoster_compliance.errors import Conflict, InvalidPayload, NoStatement
from hoster_compliance.notices.statements import puid
from hoster_compliance.service import ComplianceService
from hoster_compliance.vocabulary import MEMBER_STATES
from tests.helpers import AUTH, FakeClock, order_data
from tests.helpers.notices import URLS, notice, notices_app, notices_service
from tests.helpers.webhooks import envelope, post

TDB_KEYS = {
    "puid", "decision_visibility", "decision_ground", "category", "category_specification",
    "territorial_scope", "application_date", "decision_facts", "source_type",
    "automated_detection", "automated_decision", "url", "redress",
}


@pytest.fixture
def svc(db_url: str, clock: FakeClock) -> Iterator[ComplianceService]:
    service = notices_service(db_url, clock, redress="Write to abuse@example.nl.")
    yield service
    service.close()


@pytest.fixture
def api(svc: ComplianceService) -> Any:
    return notices_app(svc).test_client()


def new_notice(svc: ComplianceService, **overrides: Any) -> str:
    status, body = svc.submit_notice(notice(**overrides), "client")
    assert status == 201
    return str(body["notice_id"])


def act(svc: ComplianceService, order: str, item: str | None, issuer: str = "public",
        **body: Any) -> Any:
    return svc.act(issuer, order, item, body, actor="operator:test")


def test_a_removed_notice_item_has_a_statement_in_the_databases_words(
    svc: ComplianceService, api: Any
) -> None:
    notice_id = new_notice(svc)
    act(svc, notice_id, "1", action="removed")
    response = api.get(f"/v1/orders/public/{notice_id}/items/1/statement", headers=AUTH)
    assert response.status_code == 200
    s = response.json
    assert TDB_KEYS | {"illegal_content_legal_ground", "illegal_content_explanation"} == set(s)
    assert s["puid"] == f"public-{notice_id}-1"
    assert s["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert s["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert s["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert s["category_specification"] == ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"]
    assert s["source_type"] == "SOURCE_ARTICLE_16"
    assert (s["automated_detection"], s["automated_decision"]) == (
        "No", "AUTOMATED_DECISION_NOT_AUTOMATED")
    assert s["application_date"] == "2026-11-22"
    assert s["url"] == URLS[0] and s["redress"] == "Write to abuse@example.nl."
    assert "GR" in s["territorial_scope"] and "EL" not in s["territorial_scope"]
    assert len(s["territorial_scope"]) == len(MEMBER_STATES)
    # The notifier's own words never reach the customer.
    assert "abuse of a child" not in json.dumps(s)
    missing = api.get(f"/v1/orders/public/{notice_id}/items/2/statement", headers=AUTH)
    assert (missing.status_code, missing.json["error"]) == (404, "no_statement")
    assert "no effect" in missing.json["message"]
    assert api.get(f"/v1/orders/public/{notice_id}/items/1/statement").status_code == 401
    assert api.get(f"/v1/orders/public/{notice_id}/items/9/statement",
                   headers=AUTH).json["error"] == "unknown_item"


def test_terms_geo_blocking_and_automation_change_the_statement(svc: ComplianceService) -> None:
    notice_id = new_notice(svc)
    act(svc, notice_id, "1", action="geo_blocked", basis="terms", automated=True)
    s = svc.statement("public", notice_id, "1")
    assert s["decision_visibility"] == ["DECISION_VISIBILITY_OTHER"]
    assert s["decision_visibility_other"].startswith("geo-blocked in AT, BE")
    assert s["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert {"incompatible_content_ground", "incompatible_content_explanation"} <= set(s)
    assert "illegal_content_legal_ground" not in s
    assert s["automated_decision"] == "AUTOMATED_DECISION_FULLY"


def test_orders_under_art_9_and_confidential_ones_have_none(
    svc: ComplianceService, api: Any, clock: FakeClock
) -> None:
    post(api, clock, envelope(order_data("art9")))
    post(api, clock, envelope(order_data("tco-secret", regime="EU_TCO", confidential=True)))
    post(api, clock, envelope(order_data("tco", regime="EU_TCO", territorial_scope=["NL", "EL"],
                                         legal_basis="Reg. 2021/784 Art. 3")))
    for order in ("art9", "tco-secret", "tco"):
        act(svc, order, None, issuer="nl-atkm", action="disabled")
    with pytest.raises(NoStatement, match="Art. 9"):
        svc.statement("nl-atkm", "art9", "i1")
    with pytest.raises(NoStatement, match="confidential"):
        svc.statement("nl-atkm", "tco-secret", "i1")
    s = svc.statement("nl-atkm", "tco", "i2")
    assert s["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert s["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert s["territorial_scope"] == ["GR", "NL"]
    assert s["illegal_content_legal_ground"] == "Reg. 2021/784 Art. 3"


def test_puid_replaces_what_the_database_does_not_take() -> None:
    assert puid("nl-atkm", "2026:00/1", "a b.c") == "nl-atkm-2026_00_1-a_b_c"


def test_reinstated_on_a_notice_keeps_its_statement_and_sends_nothing_more(
    svc: ComplianceService, api: Any, clock: FakeClock
) -> None:
    notice_id = new_notice(svc)
    with pytest.raises(Conflict, match="to reinstate"):
        act(svc, notice_id, "1", action="reinstated", reason="wrong")
    act(svc, notice_id, "1", action="removed")
    act(svc, notice_id, "2", action="not_found")
    assert svc.get_order("public", notice_id)["status"] == "completed"
    with pytest.raises(InvalidPayload):
        act(svc, notice_id, "1", action="reinstated")  # no reason
    clock.advance(hours=1)
    item = act(svc, notice_id, "1", action="reinstated", reason="The image is a painting.")
    assert (item["action"], item["reason"]) == ("reinstated", "The image is a painting.")
    with pytest.raises(Conflict):
        act(svc, notice_id, "1", action="removed")
    detail = svc.get_order("public", notice_id)
    assert detail["status"] == "completed" and detail["deliveries"] == []
    assert [e["type"] for e in detail["events"]].count("completed") == 1
    # The restriction that was undone still has its statement.
    assert svc.statement("public", notice_id, "1")["application_date"] == "2026-11-22"
    post(api, clock, envelope(order_data("ord-r")))
    act(svc, "ord-r", "i1", issuer="nl-atkm", action="removed")
    with pytest.raises(Conflict, match="notices and own-initiative"):
        act(svc, "ord-r", "i1", issuer="nl-atkm", action="reinstated", reason="x")


def test_statements_of_a_period_as_json_lines(
    svc: ComplianceService, clock: FakeClock, tmp_path: Any
) -> None:
    first = new_notice(svc)
    act(svc, first, None, action="removed")
    clock.advance(days=20)
    second = new_notice(svc, urls=["https://x.example/late"])
    act(svc, second, None, action="not_found")
    third = new_notice(svc, urls=["https://x.example/later"])
    act(svc, third, None, action="disabled")
    listed = list(svc.iter_statements(date(2026, 11, 1), date(2026, 11, 30)))
    assert [s["puid"] for s in listed] == [f"public-{first}-1", f"public-{first}-2"]
    assert [s["puid"] for s in svc.iter_statements(date(2026, 12, 1), date(2026, 12, 31))] == [
        f"public-{third}-1"]


def test_an_own_initiative_entry_has_a_voluntary_automated_detection_statement(
    db_url: str, clock: FakeClock
) -> None:
    from hoster_compliance.config_hashcheck import HashcheckConfig
    from hoster_compliance.orders.own_initiative import Finding
    from tests.helpers import make_config

    own = ComplianceService(make_config(db_url, hashcheck=HashcheckConfig(lists=("k.txt",))),
                            clock=clock)
    try:
        entry = own.record_own_initiative(
            [Finding("https://files.example/x.jpg", "sha1", "0" * 40, "hash list")])
        order_id = entry["order_id"]
        item_id = own.get_order("self", order_id)["items"][0]["item_id"]
        own.act("self", order_id, item_id, {"action": "disabled", "automated": True},
                actor="automation:t")
        s = own.statement("self", order_id, item_id)
        assert (s["source_type"], s["automated_detection"], s["automated_decision"]) == (
            "SOURCE_VOLUNTARY", "Yes", "AUTOMATED_DECISION_FULLY")
        assert s["puid"].startswith("self-scan-")
    finally:
        own.close()
