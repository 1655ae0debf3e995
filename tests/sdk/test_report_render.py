"""render_json, render_csv and render_markdown of a report built from real rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from hoster_compliance.report import (
    build_report,
    render_csv,
    render_json,
    render_markdown,
    within_deadline_share,
)
from hoster_compliance.report.render import hours
from tests.helpers.report import MINORS, seed_notices, seed_orders, utc

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def seeded(engine: Engine) -> dict[str, Any]:
    seed_orders(engine)
    seed_notices(engine)
    return build_report(engine, *YEAR, now=utc(2027, 1, 15))


def test_json_round_trips_with_unrounded_medians_and_nulls(report_engine: Engine) -> None:
    report = seeded(report_engine)
    text = render_json(report)
    assert json.loads(text) == report
    parsed = json.loads(text)
    assert parsed["orders"]["by_member_state"]["DE"]["median_hours_to_acknowledge"] == 0.325
    assert parsed["orders"]["by_category"]["STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"][
        "median_hours_to_effect"] is None
    assert list(parsed) == ["period", "as_of", "generated_at", "orders", "notices",
                            "own_initiative", "automated_means"]


def test_flat_csv(report_engine: Engine) -> None:
    report = seeded(report_engine)
    text = render_csv(report)
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["section", "member_state", "category", "subcategory", "description",
                        "metric", "value"]
    assert table[1:4] == [
        ["period", "", "", "", "", "start", "2026-01-01"],
        ["period", "", "", "", "", "end", "2026-12-31"],
        ["period", "", "", "", "", "as_of", "2027-01-01T00:00:00Z"],
    ]
    orders = report["orders"]["breakdown"]
    notices = report["notices"]["breakdown"]
    assert len(table) == 4 + 6 * len(orders) + 13 * len(notices)
    values = {tuple(r[:6]): r[6] for r in table[4:]}
    assert len(values) == len(table) - 4  # one row per section, group and metric
    assert values[("orders", "TOTAL", "TOTAL", "", "", "median_hours_to_acknowledge")] == "0.25"
    assert values[("orders", "DE", "TOTAL", "", "", "median_hours_to_acknowledge")] == "0.325"
    assert values[("orders", "NL", MINORS, "KEYWORD_OTHER",
                   "Sub-category not specified by the authority", "overdue")] == "1"
    assert values[("orders", "TOTAL", "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER", "", "",
                   "median_hours_to_effect")] == ""
    assert values[("notices", "TOTAL", "TOTAL", "", "", "trusted_flagger.median_hours_to_action")
                  ] == "3.5"
    assert values[("notices", "TOTAL", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "KEYWORD_OTHER",
                   "Fake shop", "actions_law")] == "2"


def test_markdown_shows_the_within_deadline_share_and_tables(report_engine: Engine) -> None:
    report = seeded(report_engine)
    text = render_markdown(report)
    assert "# Transparency report 2026-01-01 to 2026-12-31" in text
    assert "Handled within their deadline: **80.0%** (4 of 5 orders" in text
    assert "| Total | 8 | 11 | 0.25 | 1.50 | 4 | 1 |" in text
    assert "| DE | 4 | 6 | 0.33 | 0.75 | 1 | 0 |" in text
    unspecified = "Type of illegal content not specified by the public authority"
    assert f"| {unspecified} | 1 | 1 | – | – | 1 | 0 |" in text
    assert "| Protection of minors | 3 | 4 | 0.20 | 2.00 | 2 | 1 |" in text
    assert "| Total | 6 | 3 | 10 | 5.00 | 3.50 | 5 | 2 | 3 |" in text


def test_markdown_without_any_order_due(report_engine: Engine) -> None:
    report = build_report(report_engine, *YEAR, now=utc(2027, 1, 15))
    text = render_markdown(report)
    assert "no order with a deadline fell due" in text
    assert "| Total | 0 | 0 | – | – | 0 | 0 |" in text


def test_within_deadline_share() -> None:
    assert within_deadline_share({"within_deadline": 3, "overdue": 1}) == (3, 4, 0.75)
    assert within_deadline_share({"within_deadline": 0, "overdue": 0}) == (0, 0, None)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (0.0, "0.00"), (0.005, "0.01"), (0.125, "0.13"), (1.994999, "1.99"),
     (2.675, "2.68"), (100.0, "100.00")],
)
def test_hours_two_decimals_half_up(value: float | None, text: str) -> None:
    assert hours(value) == text
