"""The report on generated data (bench/generate.py, small) against a plain-Python reference that
reads every row; the Commission CSVs add up; parallel slices change nothing."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hoster_compliance.report import build_report, write_dsa_csv
from hoster_compliance.store.tables import items, orders
from hoster_compliance.timeutil import to_micros
from tests.helpers.report import US_PER_HOUR, load_generator, utc

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
NOW = utc(2027, 1, 5)  # before the generated data ends: some orders are judged at "now"
LO, HI, AS_OF = to_micros(utc(2026, 1, 1)), to_micros(utc(2027, 1, 1)), to_micros(NOW)


@pytest.fixture
def generated(report_engine: Engine) -> Engine:
    url = report_engine.url.render_as_string(hide_password=False)
    report_engine.dispose()  # the generator takes SQLite out of WAL mode while it loads
    load_generator().generate(url, 1500, year=2026, seed=7, batch=400)
    return report_engine


def median(values: list[int]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return (s[(len(s) - 1) // 2] + s[len(s) // 2]) / (2 * US_PER_HOUR)


def reference(engine: Engine) -> dict[str, Any]:
    """Every figure computed the obvious way from all rows of the period."""
    with engine.connect() as conn:
        rows = [r._asdict() for r in conn.execute(
            sa.select(orders).where(orders.c.received_at >= LO, orders.c.received_at < HI))]
        acts = conn.execute(sa.select(items.c.order_pk, items.c.basis, items.c.automated)
                            .where(items.c.effect_given == sa.true())).all()
    by_order: dict[int, list[Any]] = defaultdict(list)
    for act in acts:
        by_order[act.order_pk].append(act)

    def order_figures(group: list[dict[str, Any]]) -> dict[str, Any]:
        live = [r for r in group if r["status"] != "withdrawn" and r["deadline"] is not None]
        handled = [(r["effect_given_at"] or r["completed_at"], r["deadline"]) for r in live]
        return {
            "count": len(group),
            "items": sum(r["items_total"] for r in group),
            "median_hours_to_acknowledge": median(
                [r["acknowledged_at"] - r["received_at"] for r in group if r["acknowledged_at"]]),
            "median_hours_to_effect": median(
                [r["effect_given_at"] - r["received_at"] for r in group
                 if r["effect_given_at"] and r["status"] != "withdrawn"]),
            "within_deadline": sum(1 for h, d in handled if h is not None and h <= d),
            "overdue": sum(1 for h, d in handled if (h is None and d < AS_OF)
                           or (h is not None and h > d)),
        }

    def notice_population(group: list[dict[str, Any]]) -> dict[str, Any]:
        mine = [a for r in group for a in by_order[r["id"]]]
        return {
            "count": len(group),
            "items": sum(r["items_total"] for r in group),
            "median_hours_to_action": median(
                [r["effect_given_at"] - r["received_at"] for r in group
                 if r["effect_given_at"] and r["status"] != "withdrawn"]),
            "actions_law": sum(1 for a in mine if a.basis != "terms"),
            "actions_terms": sum(1 for a in mine if a.basis == "terms"),
            "automated": sum(1 for a in mine if a.automated),
        }

    def notice_figures(group: list[dict[str, Any]]) -> dict[str, Any]:
        tf = notice_population([r for r in group if r["trusted_flagger"]])
        return notice_population(group) | {"trusted_flagger_count": tf["count"],
                                           "trusted_flagger": tf}

    ords = [r for r in rows if r["kind"] == "order"]
    nots = [r for r in rows if r["kind"] == "notice"]
    return {
        "orders": {
            "total": order_figures(ords),
            "by_member_state": {ms: order_figures([r for r in ords
                                                   if r["issuer_member_state"] == ms])
                                for ms in {r["issuer_member_state"] for r in ords}},
            "by_category": {c: order_figures([r for r in ords if r["category"] == c])
                            for c in {r["category"] for r in ords}},
        },
        "notices": {
            "total": notice_figures(nots),
            "by_category": {c: notice_figures([r for r in nots if r["category"] == c])
                            for c in {r["category"] for r in nots}},
        },
    }


def test_generated_year_matches_the_reference(generated: Engine) -> None:
    report = build_report(generated, *YEAR, now=NOW, workers=1)
    expected = reference(generated)
    for section in ("orders", "notices"):
        for block, figures in expected[section].items():
            assert report[section][block] == figures, (section, block)
    # the generator produced what the report has to handle
    totals = report["orders"]["total"]
    assert totals["overdue"] > 0 and totals["within_deadline"] > 0
    assert len(report["orders"]["by_member_state"]) >= 5
    assert report["notices"]["total"]["trusted_flagger_count"] > 0
    descriptions = {g["description"] for g in report["orders"]["breakdown"]}
    assert "Sub-category not specified by the authority" in descriptions
    assert descriptions & {"Doxing", "Fake shop", "Holocaust denial"}


def test_parallel_slices_give_the_same_report(generated: Engine) -> None:
    one = build_report(generated, *YEAR, now=NOW, workers=1)
    assert build_report(generated, *YEAR, now=NOW, workers=3) == one
    assert build_report(generated, *YEAR, now=NOW, workers=7) == one


def _sub_rows_add_up(rows: list[list[str]], columns: list[int]) -> int:
    """Assert that each category row equals the sum of its sub-category rows and the TOTAL row
    the sum of the category rows; returns how many categories had sub-category rows."""
    total = [int(rows[0][c]) for c in columns]
    assert rows[0][3] == "TOTAL"
    categories: list[tuple[list[int], list[list[int]]]] = []
    for row in rows[1:]:
        values = [int(row[c]) for c in columns]
        if row[3].startswith("STATEMENT_CATEGORY_"):
            categories.append((values, []))
        else:
            categories[-1][1].append(values)
    assert [sum(col) for col in zip(*(c for c, _ in categories), strict=True)] == total
    for category, subs in categories:
        if subs:
            assert [sum(col) for col in zip(*subs, strict=True)] == category
    return sum(1 for _, subs in categories if subs)


def test_commission_csvs_add_up(generated: Engine, tmp_path: Path) -> None:
    report = build_report(generated, *YEAR, now=NOW)
    paths = write_dsa_csv(report, tmp_path, service_name="S", provider_name="P",
                          published=date(2027, 1, 6))

    def table(path: Path) -> list[list[str]]:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))[1:]

    part_3 = table(paths[1])
    scopes = list(dict.fromkeys(r[5] for r in part_3))
    assert scopes[0] == "TOTAL" and scopes[1:] == sorted(report["orders"]["by_member_state"])
    for scope in scopes:
        block = [r for r in part_3 if r[5] == scope]
        assert _sub_rows_add_up(block, [6, 7]) == 14  # categories 1-14; 16 has none
    per_state = [int(r[6]) for r in part_3 if r[3] == "TOTAL" and r[5] != "TOTAL"]
    assert sum(per_state) == report["orders"]["total"]["count"]
    part_4 = table(paths[2])
    assert _sub_rows_add_up(part_4, [5, 6, 7, 8, 11, 12, 13, 14]) == 14
    assert int(part_4[0][5]) == report["notices"]["total"]["count"]
