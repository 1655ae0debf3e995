"""Report v1.1 (PROTOCOL 11.3) on both databases: the JSON ``own_initiative`` block, Part 5 by
category and Part 8's automated means with accuracy from ``reinstated``; blank with contextual
information where nothing can be computed."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from hoster_compliance.orders.own_initiative import Finding
from hoster_compliance.report import build_report, write_dsa_csv
from hoster_compliance.report.dsa_csv_v11 import NOTHING_NOTE, VLOP_NOTE
from hoster_compliance.service import ComplianceService
from tests.helpers import FakeClock
from tests.helpers.report import It, add_order, utc

URL = "https://files.example-hosting.nl/"
MEASURES = "Number of measures taken at the provider's own initiative "
CATEGORY = "Category of illegal content"


def findings(n: int, tag: str) -> list[Finding]:
    return [Finding(f"{URL}{tag}{k}.jpg", "sha1", f"{k:040x}", "hash list") for k in range(n)]


def dsa(report: dict[str, Any], out: Path) -> dict[str, list[dict[str, str]]]:
    paths = write_dsa_csv(report, out, service_name="Example Hosting",
                          provider_name="Example Hosting B.V.", published=date(2027, 1, 20))
    return {p.name: list(csv.DictReader(p.read_text(encoding="utf-8").splitlines()))
            for p in paths}


def test_an_empty_year(own: ComplianceService, tmp_path: Path) -> None:
    report = own.report("2026-01-01", "2026-12-31")
    assert report["own_initiative"]["total"] == {
        "count": 0, "items": 0, "automated_detection": 0, "removed": 0, "disabled": 0,
        "geo_blocked": 0, "reinstated": 0, "measures": 0}
    files = dsa(report, tmp_path)
    total = files["Part_5_own_initiative_illegal.csv"][0]
    assert total[CATEGORY] == "TOTAL" and total[MEASURES] == "0"
    part_8 = files["Part_8_automated_means.csv"]
    accuracy = [r for r in part_8 if r["Indicator"].startswith("Accuracy")
                and r["Scope"].strip() in ("Total number", "Own-initiative")]
    assert len(accuracy) == 6
    assert all(r["Value"] == "" and r["Contextual Information"] == NOTHING_NOTE
               for r in accuracy)
    assert all(r["Value"] == "" and r["Contextual Information"] == VLOP_NOTE
               for r in part_8 if r["Applicability"] == "Only for VLOPs")


def test_scans_actions_and_reinstatements_are_counted(own: ComplianceService,
                                                      tmp_path: Path) -> None:
    first = own.record_own_initiative(findings(3, "a"))["order_id"]
    second = own.record_own_initiative(findings(2, "b"))["order_id"]
    # Automation quarantines the first entry; a person removes one item of the second.
    own.act("self", first, None, {"action": "disabled", "automated": True}, actor="automation")
    own.act("self", second, "1", {"action": "removed"}, actor="op")
    own.act("self", second, "2", {"action": "not_found"}, actor="op")
    own.act("self", first, "2", {"action": "reinstated", "reason": "stock image"}, actor="op")
    report = own.report("2026-01-01", "2026-12-31")
    block = report["own_initiative"]
    assert block["total"] == {"count": 2, "items": 5, "automated_detection": 5, "removed": 1,
                              "disabled": 3, "geo_blocked": 0, "reinstated": 1, "measures": 4}
    assert list(block["by_category"]) == ["STATEMENT_CATEGORY_PROTECTION_OF_MINORS"]
    means = report["automated_means"]
    assert means["own_initiative"] == {"automated": 3, "not_automated": 1,
                                       "automated_reinstated": 1, "accuracy": 2 / 3}
    assert means["total"]["automated"] == 3

    files = dsa(report, tmp_path)
    part_5 = files["Part_5_own_initiative_illegal.csv"]
    by_code = {r[CATEGORY]: r for r in part_5}
    for code in ("TOTAL", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                 "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"):
        assert by_code[code][MEASURES] == "4"
        assert by_code[code]["Visibility restriction Removal"] == "1"
        assert by_code[code]["Visibility restriction Disable"] == "3"
        assert by_code[code]["Visibility restriction Demoted"] == "0"
    assert by_code["STATEMENT_CATEGORY_VIOLENCE"][MEASURES] == "0"
    assert "1 of them were later reinstated" in by_code["TOTAL"][
        "Contextual Information on " + MEASURES]
    assert by_code["TOTAL"]["Monetary restriction Suspension"] == ""
    part_8 = {(r["Indicator"].strip(), r["Scope"].strip()): r
              for r in files["Part_8_automated_means.csv"]}
    own_scope = "Own-initiative"
    assert part_8[("Number of measures solely taken by automated means", own_scope)][
        "Value"] == "3"
    assert part_8[("Number of measures not taken by automated means", own_scope)]["Value"] == "1"
    for what in ("Accuracy", "Precision", "Recall"):
        row = part_8[(f"Accuracy of the automated means - {what}", own_scope)]
        assert row["Value"] == "0.6667" and "not later reinstated" in row[
            "Contextual Information"]


def test_entries_of_another_period_are_left_out(own: ComplianceService,
                                                clock: FakeClock) -> None:
    own.record_own_initiative(findings(1, "z"))
    assert own.report("2025-01-01", "2025-12-31")["own_initiative"]["total"]["count"] == 0
    assert own.report("2026-11-22", "2026-11-22")["own_initiative"]["total"]["count"] == 1


def test_notices_processed_solely_by_automated_means(report_engine: Engine) -> None:
    """Part 8's notices: a completed notice all of whose actions were automated counts as
    processed solely by automated means, whatever the actions (not only effect-giving ones);
    open and withdrawn notices count in neither; the period's slices add up (workers=2)."""
    auto = It("removed", 1.0, automated=True)
    for when in (utc(2026, 2, 1), utc(2026, 11, 1)):  # one in each half of the year
        add_order(report_engine, when, kind="notice", items_=(auto, auto))
        add_order(report_engine, when, kind="notice",
                  items_=(auto, It("not_found", 2.0, automated=True)))
        add_order(report_engine, when, kind="notice", items_=(auto, It("removed", 2.0)))
        add_order(report_engine, when, kind="notice", items_=(It("not_found", 1.0),))
        add_order(report_engine, when, kind="notice", items_=(auto, It(None)))  # open
        add_order(report_engine, when, kind="notice", items_=(auto,), withdrawn_h=3.0)
        add_order(report_engine, when, items_=(auto,))  # an order: not a notice
    for workers in (1, 2):
        report = build_report(report_engine, date(2026, 1, 1), date(2026, 12, 31),
                              now=utc(2027, 1, 1), workers=workers)
        notices = report["automated_means"]["notices"]
        assert (notices["solely_automated"], notices["not_automated"]) == (4, 4)
        # effect-giving measures on notices: 2 + 1 + 1 + 0 + 1 automated each half (the
        # withdrawn notice left out), 1 not automated
        assert report["automated_means"]["total"]["automated"] == 2 * (5 + 1)
        assert report["automated_means"]["total"]["not_automated"] == 2
