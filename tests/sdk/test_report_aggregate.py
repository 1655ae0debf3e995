"""build_report: counts, medians, deadlines and periods, against hand-computed figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from hoster_compliance.errors import InvalidQuery
from hoster_compliance.report import build_report
from tests.helpers.report import (
    CSAM,
    IP,
    MINORS,
    NOT_SPECIFIED_NOTICE,
    NOT_SPECIFIED_ORDER,
    SCAMS,
    SECURITY,
    SPEECH,
    TERRORISM,
    It,
    add_order,
    seed_notices,
    seed_orders,
    utc,
)

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
LATER = utc(2027, 1, 15)
T = utc(2026, 3, 1, 12)


def figures(count, items, ack, effect, within, overdue):
    return {
        "count": count,
        "items": items,
        "median_hours_to_acknowledge": ack,
        "median_hours_to_effect": effect,
        "within_deadline": within,
        "overdue": overdue,
    }


def test_order_totals_medians_and_deadlines(report_engine: Engine) -> None:
    seed_orders(report_engine)
    orders = build_report(report_engine, *YEAR, now=LATER)["orders"]
    # ack: 0.1 0.15 0.2 0.25 0.3 0.4 0.5 (odd: the middle); effect: 0.75 1 2 20 (even: mean)
    assert orders["total"] == figures(8, 11, 0.25, 1.5, 4, 1)
    assert orders["by_member_state"] == {
        "DE": figures(4, 6, 0.325, 0.75, 1, 0),
        "NL": figures(4, 5, 0.2, 2.0, 3, 1),
    }
    assert list(orders["by_member_state"]) == ["DE", "NL"]
    assert orders["by_category"] == {
        SPEECH: figures(2, 2, 0.2, None, 0, 0),
        MINORS: figures(3, 4, 0.2, 2.0, 2, 1),
        SECURITY: figures(2, 4, 0.45, 0.75, 1, 0),
        NOT_SPECIFIED_ORDER: figures(1, 1, None, None, 1, 0),
    }
    # template order: category 6 (speech), 9 (minors), 10 (security), 16 (not specified)
    assert list(orders["by_category"]) == [SPEECH, MINORS, SECURITY, NOT_SPECIFIED_ORDER]


def test_breakdown_follows_the_template_rows(report_engine: Engine) -> None:
    seed_orders(report_engine)
    breakdown = build_report(report_engine, *YEAR, now=LATER)["orders"]["breakdown"]
    keys = [(g["member_state"], g["category"], g["subcategory"], g["description"])
            for g in breakdown]
    assert keys == [
        ("TOTAL", "TOTAL", None, None),
        ("TOTAL", SPEECH, None, None),
        ("TOTAL", SPEECH, "KEYWORD_HATE_SPEECH", None),
        ("TOTAL", SPEECH, "KEYWORD_OTHER", "Holocaust denial"),
        ("TOTAL", MINORS, None, None),
        ("TOTAL", MINORS, CSAM, None),
        ("TOTAL", MINORS, "KEYWORD_OTHER", "Sub-category not specified by the authority"),
        ("TOTAL", SECURITY, None, None),
        ("TOTAL", SECURITY, TERRORISM, None),
        ("TOTAL", NOT_SPECIFIED_ORDER, None, None),
        ("DE", "TOTAL", None, None),
        ("DE", SPEECH, None, None),
        ("DE", SPEECH, "KEYWORD_HATE_SPEECH", None),
        ("DE", SPEECH, "KEYWORD_OTHER", "Holocaust denial"),
        ("DE", SECURITY, None, None),
        ("DE", SECURITY, TERRORISM, None),
        ("NL", "TOTAL", None, None),
        ("NL", MINORS, None, None),
        ("NL", MINORS, CSAM, None),
        ("NL", MINORS, "KEYWORD_OTHER", "Sub-category not specified by the authority"),
        ("NL", NOT_SPECIFIED_ORDER, None, None),
    ]
    by_key = {k: g for k, g in zip(keys, breakdown, strict=True)}
    csam = by_key[("TOTAL", MINORS, CSAM, None)]
    assert {k: csam[k] for k in figures(0, 0, 0, 0, 0, 0)} == figures(2, 3, 0.2, 1.5, 2, 0)
    de_terror = by_key[("DE", SECURITY, TERRORISM, None)]
    assert de_terror["median_hours_to_acknowledge"] == 0.45
    assert de_terror["count"] == 2 and de_terror["within_deadline"] == 1


def test_empty_period_gives_zeros_and_nulls(report_engine: Engine) -> None:
    add_order(report_engine, utc(2025, 6, 1))
    report = build_report(report_engine, *YEAR, now=LATER)
    assert report["period"] == {"start": "2026-01-01", "end": "2026-12-31"}
    assert report["orders"]["total"] == figures(0, 0, None, None, 0, 0)
    assert report["orders"]["by_member_state"] == {}
    assert report["orders"]["by_category"] == {}
    assert report["orders"]["breakdown"] == []
    assert report["notices"]["total"] == {
        "count": 0, "items": 0, "trusted_flagger_count": 0, "median_hours_to_action": None,
        "actions_law": 0, "actions_terms": 0, "automated": 0,
        "trusted_flagger": {"count": 0, "items": 0, "median_hours_to_action": None,
                            "actions_law": 0, "actions_terms": 0, "automated": 0},
    }


@pytest.mark.parametrize(
    ("received", "counted"),
    [
        (utc(2025, 12, 31, 23, 59, 59, 999_999), False),
        (utc(2026, 1, 1), True),
        (datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), False),  # 23:30Z
        (datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))), False),  # 00:30Z
        (utc(2026, 12, 31, 23, 59, 59, 999_999), True),
        (utc(2027, 1, 1), False),
    ],
)
def test_period_holds_the_received_at_utc_date(
    report_engine: Engine, received: datetime, counted: bool
) -> None:
    add_order(report_engine, received, kind="notice")
    add_order(report_engine, received)
    report = build_report(report_engine, *YEAR, now=LATER)
    assert report["orders"]["total"]["count"] == int(counted)
    assert report["notices"]["total"]["count"] == int(counted)


def test_one_day_period(report_engine: Engine) -> None:
    add_order(report_engine, utc(2026, 5, 4, 23, 59))
    add_order(report_engine, utc(2026, 5, 5, 0, 0))
    report = build_report(report_engine, date(2026, 5, 4), date(2026, 5, 4), now=LATER)
    assert report["orders"]["total"]["count"] == 1


JUNE = (date(2026, 6, 1), date(2026, 6, 30))


@pytest.mark.parametrize(
    ("now", "as_of", "overdue"),
    [
        (utc(2026, 6, 30, 21, 59), "2026-06-30T21:59:00Z", 0),  # before the deadline
        (utc(2026, 6, 30, 22, 0), "2026-06-30T22:00:00Z", 0),  # at it: not yet past
        (utc(2026, 6, 30, 23, 0), "2026-06-30T23:00:00Z", 1),  # now, before the period ends
        (utc(2026, 8, 1), "2026-07-01T00:00:00Z", 1),  # the period's end
    ],
)
def test_open_order_is_overdue_past_its_deadline_at_the_report_end(
    report_engine: Engine, now: datetime, as_of: str, overdue: int
) -> None:
    add_order(report_engine, utc(2026, 6, 30, 10), deadline_h=12, items_=[It(), It("removed", 1)])
    report = build_report(report_engine, *JUNE, now=now)
    assert report["as_of"] == as_of
    assert report["orders"]["total"]["overdue"] == overdue
    assert report["orders"]["total"]["within_deadline"] == 0


def test_deadline_after_the_report_end(report_engine: Engine) -> None:
    late = utc(2026, 6, 30, 20)  # 12 h deadline: 1 July 08:00
    add_order(report_engine, late, deadline_h=12, items_=[It()])  # still open
    add_order(report_engine, late, deadline_h=12, items_=[It("removed", 13)])  # 09:00: late
    add_order(report_engine, late, deadline_h=12, items_=[It("disabled", 11)])  # 07:00: in time
    add_order(report_engine, late, deadline_h=12, items_=[It("removed", 12)])  # at the deadline
    june = build_report(report_engine, *JUNE, now=utc(2026, 8, 1))["orders"]["total"]
    assert (june["within_deadline"], june["overdue"]) == (2, 1)  # the open one is not yet due
    july = build_report(report_engine, date(2026, 6, 1), date(2026, 7, 31), now=utc(2026, 8, 1))
    assert (july["orders"]["total"]["within_deadline"], july["orders"]["total"]["overdue"]) == (
        2,
        2,
    )


def test_effect_in_time_but_last_action_late_counts_once_as_within(report_engine: Engine) -> None:
    add_order(report_engine, T, deadline_h=12, items_=[It("removed", 2), It("refused", 30)])
    total = build_report(report_engine, *YEAR, now=LATER)["orders"]["total"]
    assert (total["within_deadline"], total["overdue"]) == (1, 0)
    assert total["median_hours_to_effect"] == 2.0


def test_no_effect_given_is_judged_by_the_last_action(report_engine: Engine) -> None:
    add_order(report_engine, T, deadline_h=12, items_=[It("not_found", 1), It("not_hosted", 13)])
    add_order(report_engine, T, deadline_h=12, items_=[It("refused", 4)])
    total = build_report(report_engine, *YEAR, now=LATER)["orders"]["total"]
    assert (total["within_deadline"], total["overdue"]) == (1, 1)
    assert total["median_hours_to_effect"] is None
    assert total["count"] == 2 and total["items"] == 3


def test_withdrawn_orders_count_as_received_and_acknowledged_only(report_engine: Engine) -> None:
    add_order(report_engine, T, ack_h=1, deadline_h=1, items_=[It("removed", 3)], withdrawn_h=4)
    add_order(report_engine, T, ack_h=2, deadline_h=1, items_=[It()], withdrawn_h=5)
    add_order(report_engine, T, ack_h=4, deadline_h=1, items_=[It("removed", 0.5)])
    total = build_report(report_engine, *YEAR, now=LATER)["orders"]["total"]
    assert total == figures(3, 3, 2.0, 0.5, 1, 0)


def test_notices(report_engine: Engine) -> None:
    seed_notices(report_engine)
    notices = build_report(report_engine, *YEAR, now=LATER)["notices"]

    def nf(count, tf_count, items, median, law, terms, auto, tf):
        return {"count": count, "items": items, "median_hours_to_action": median,
                "actions_law": law, "actions_terms": terms, "automated": auto,
                "trusted_flagger_count": tf_count,
                "trusted_flagger": dict(zip(
                    ("count", "items", "median_hours_to_action", "actions_law",
                     "actions_terms", "automated"), tf, strict=True))}

    # effects 1 4 6 10 -> 5; trusted flaggers 1 6 -> 3.5
    assert notices["total"] == nf(6, 3, 10, 5.0, 5, 2, 3, (3, 5, 3.5, 3, 0, 1))
    assert notices["by_category"] == {
        IP: nf(3, 2, 5, 4.0, 2, 2, 2, (2, 3, 3.5, 2, 0, 1)),
        SCAMS: nf(2, 1, 4, 10.0, 3, 0, 1, (1, 2, None, 1, 0, 0)),
        NOT_SPECIFIED_NOTICE: nf(1, 0, 1, None, 0, 0, 0, (0, 0, None, 0, 0, 0)),
    }
    rows = {(g["category"], g["subcategory"], g["description"]): g for g in notices["breakdown"]}
    assert list(rows) == [
        ("TOTAL", None, None),
        (IP, None, None),
        (IP, "KEYWORD_COPYRIGHT_INFRINGEMENT", None),
        (IP, "KEYWORD_OTHER", "Sub-category not specified by the notifier"),
        (SCAMS, None, None),
        (SCAMS, "KEYWORD_PHISHING", None),
        (SCAMS, "KEYWORD_OTHER", "Fake shop"),
        (NOT_SPECIFIED_NOTICE, None, None),
    ]
    copyright_ = rows[(IP, "KEYWORD_COPYRIGHT_INFRINGEMENT", None)]
    assert copyright_ == nf(2, 1, 3, 2.5, 1, 2, 2, (1, 1, 1.0, 1, 0, 1)) | {
        "category": IP, "subcategory": "KEYWORD_COPYRIGHT_INFRINGEMENT", "description": None}


def test_orders_and_notices_are_counted_apart(report_engine: Engine) -> None:
    add_order(report_engine, T, kind="notice", tf=True, items_=[It("removed", 1), It()])
    add_order(report_engine, T, items_=[It("removed", 3)])
    report = build_report(report_engine, *YEAR, now=LATER)
    assert report["orders"]["total"]["count"] == 1
    assert report["orders"]["total"]["items"] == 1
    assert report["notices"]["total"]["count"] == 1
    assert report["notices"]["total"]["items"] == 2
    assert report["notices"]["total"]["median_hours_to_action"] is None  # still open


def test_unlisted_category_and_subcategory_still_add_up(report_engine: Engine) -> None:
    add_order(report_engine, T, category="STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
              subcategory="KEYWORD_NUDITY")
    add_order(report_engine, T, category=MINORS, subcategory="KEYWORD_PHISHING")
    orders = build_report(report_engine, *YEAR, now=LATER)["orders"]
    assert set(orders["by_category"]) == {"STATEMENT_CATEGORY_OTHER_VIOLATION_TC", MINORS}
    keys = [(g["category"], g["subcategory"], g["description"]) for g in orders["breakdown"]
            if g["member_state"] == "TOTAL"]
    assert keys == [
        ("TOTAL", None, None),
        (MINORS, None, None),
        (MINORS, "KEYWORD_OTHER", "KEYWORD_PHISHING"),
        (NOT_SPECIFIED_ORDER, None, None),
    ]


def test_times_are_written_in_utc(report_engine: Engine) -> None:
    now = datetime(2027, 1, 2, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    report = build_report(report_engine, *YEAR, now=now)
    assert report["generated_at"] == "2027-01-01T23:30:00Z"
    assert report["as_of"] == "2027-01-01T00:00:00Z"


def test_bad_input(report_engine: Engine) -> None:
    with pytest.raises(InvalidQuery):
        build_report(report_engine, date(2026, 2, 1), date(2026, 1, 31), now=LATER)
    with pytest.raises(ValueError, match="timezone"):
        build_report(report_engine, *YEAR, now=datetime(2027, 1, 1))
