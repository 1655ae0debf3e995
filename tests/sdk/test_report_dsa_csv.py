"""write_dsa_csv: the Commission's templates (Annex I, Parts 1, 3, 4, 5, 8) filled from the
report."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from hoster_compliance.report import build_report, write_dsa_csv
from hoster_compliance.report.layout import PART_3, block_rows, read_template
from tests.helpers.report import (
    CSAM,
    IP,
    MINORS,
    SCAMS,
    SPEECH,
    T,
    add_order,
    seed_notices,
    seed_orders,
    utc,
)

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
PERIOD = "2026-01-01/2026-12-31"
NAMES = ["Part_1_summary.csv", "Part_3_member_states_orders.csv", "Part_4_notices.csv",
         "Part_5_own_initiative_illegal.csv", "Part_8_automated_means.csv"]
HOSTING = "Only for providers of hosting services, including online platforms"
UNSPECIFIED_ORDER = "Sub-category not specified by the authority"
UNSPECIFIED_NOTICE = "Sub-category not specified by the notifier"
PLACEHOLDER = 'Text to detail the "Other" keyword.'


def write(engine: Engine, out: Path) -> list[Path]:
    report = build_report(engine, *YEAR, now=utc(2027, 1, 15))
    return write_dsa_csv(report, out, service_name="Example Hosting",
                         provider_name="Example Hosting B.V.", published=date(2027, 1, 20))


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def first_line(path: Path) -> bytes:
    data = path.read_bytes()
    return data[: data.index(b"\n") + 1]


def test_writes_exactly_five_files_with_the_commissions_header_rows(
    report_engine: Engine, tmp_path: Path, commission_template: Callable[[str], Path]
) -> None:
    out = tmp_path / "new" / "dsa"
    paths = write(report_engine, out)
    assert [p.name for p in paths] == NAMES
    assert sorted(p.name for p in out.iterdir()) == NAMES
    for path in paths:
        data = path.read_bytes()
        part = "_".join(path.name.split("_")[:2]) + "_"  # "Part_3_"
        assert data[: data.index(b"\n") + 1] == first_line(commission_template(part))
        assert b"\r" not in data and data.endswith(b"\n")


def test_part_1(report_engine: Engine, tmp_path: Path) -> None:
    paths = write(report_engine, tmp_path)
    assert paths[0].read_text(encoding="utf-8").splitlines()[1:] == [
        "All,Example Hosting,Name of the service provider,Example Hosting B.V.",
        "All,Example Hosting,Date of the publication of the report,2027-01-20",
        "All,Example Hosting,Date of the publication of the latest previous report,",
        "All,Example Hosting,Starting date of reporting period,2026-01-01",
        "All,Example Hosting,Ending date of reporting period,2026-12-31",
    ]


def test_part_3_empty_year_is_the_total_block_of_zeros(
    report_engine: Engine, tmp_path: Path
) -> None:
    part_3 = rows(write(report_engine, tmp_path)[1])
    template = block_rows("order")
    assert [r[3] for r in part_3] == [r[3] for r in template]
    assert {r[5] for r in part_3} == {"TOTAL"}
    for row in part_3:
        assert row[:3] == ["All", "Example Hosting", PERIOD]
        assert row[4] == ""  # no "Other" row is in use: blank descriptions
        assert row[6:8] == ["0", "0"] and row[8:13] == ["", "", "", "", ""]


def test_part_3_total_row_says_orders_to_provide_information_are_not_received(
    report_engine: Engine, tmp_path: Path
) -> None:
    """PROTOCOL 8: the Art. 10 columns (K-M) stay blank and the TOTAL/TOTAL row's contextual
    information (R-T, next to them) says why, in an empty year as in a busy one."""
    empty = rows(write(report_engine, tmp_path / "empty")[1])
    seed_orders(report_engine)
    busy = rows(write(report_engine, tmp_path / "busy")[1])
    header = read_template(PART_3).header
    totals = 0
    for part_3 in (empty, busy):
        for row in part_3:
            named = dict(zip(header, row, strict=True))
            for column in ("Number of orders to provide information",
                           "Median time to inform the authority of the receipt of the order to "
                           "provide information",
                           "Median time to give effect to the order to provide information"):
                assert named[column] == ""
            context = [named[c] for c in header if c.startswith("Contextual information")
                       and "provide information" in c]
            assert len(context) == 3
            if named["Scope"] == "TOTAL" and named["Category of illegal content"] == "TOTAL":
                totals += 1
                assert all("does not receive orders to provide information (Art. 10)" in text
                           for text in context), context
            else:
                assert context == ["", "", ""]
    assert totals == 2


def test_part_3_blocks_per_member_state(report_engine: Engine, tmp_path: Path) -> None:
    seed_orders(report_engine)
    part_3 = rows(write(report_engine, tmp_path)[1])
    size = len(block_rows("order"))
    assert len(part_3) == 3 * size
    blocks = [part_3[i * size:(i + 1) * size] for i in range(3)]
    assert [block[0][5] for block in blocks] == ["TOTAL", "DE", "NL"]
    for block in blocks:
        assert {r[5] for r in block} == {block[0][5]}
        assert [r[3:5] for r in block] == [r[3:5] for r in blocks[0]]
    # the Commission's Member State block lacks this sub-category; ours repeats the TOTAL block
    template = read_template(PART_3).rows
    assert "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE" not in [
        r[3] for r in template if r[5] != "TOTAL"]
    assert sum(r[3] == "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE" for r in part_3) == 3

    def row(scope: str, code: str, description: str = "") -> list[str]:
        found = [r for r in part_3 if r[5] == scope and r[3] == code and r[4] == description]
        assert len(found) == 1, (scope, code, description)
        return found[0][6:]

    context_info_orders = row("TOTAL", "TOTAL")[11]
    assert "does not receive orders to provide information" in context_info_orders
    assert row("TOTAL", "TOTAL")[:7] == ["8", "11", "0.25", "1.50", "", "", ""]
    assert row("DE", "TOTAL")[:4] == ["4", "6", "0.33", "0.75"]  # 0.325 rounds half up
    assert row("DE", "TOTAL")[7:] == [""] * 7  # context only on the TOTAL/TOTAL row
    assert row("NL", "TOTAL")[:4] == ["4", "5", "0.20", "2.00"]
    assert row("TOTAL", MINORS)[:4] == ["3", "4", "0.20", "2.00"]
    assert row("TOTAL", CSAM)[:4] == ["2", "3", "0.20", "1.50"]
    assert row("TOTAL", "KEYWORD_OTHER", UNSPECIFIED_ORDER)[:4] == ["1", "1", "0.20", "20.00"]
    assert row("DE", "KEYWORD_OTHER", UNSPECIFIED_ORDER)[:4] == ["0", "0", "", ""]
    assert row("DE", "KEYWORD_OTHER", "Holocaust denial")[:4] == ["1", "1", "0.25", ""]
    assert row("NL", "KEYWORD_OTHER", "Holocaust denial")[:4] == ["0", "0", "", ""]
    assert row("NL", "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER")[:4] == ["1", "1", "", ""]
    assert row("DE", "STATEMENT_CATEGORY_ANIMAL_WELFARE")[:4] == ["0", "0", "", ""]
    assert all(PLACEHOLDER not in r for r in part_3)


def test_keyword_other_rows(report_engine: Engine, tmp_path: Path) -> None:
    add_order(report_engine, T, ms="NL", category=SPEECH)
    add_order(report_engine, T, ms="NL", category=SPEECH, subcategory="KEYWORD_OTHER",
              other="Holocaust denial")
    add_order(report_engine, T, ms="BE", category=SPEECH, subcategory="KEYWORD_OTHER",
              other="Holocaust denial ")
    add_order(report_engine, T, ms="BE", category=SPEECH, subcategory="KEYWORD_OTHER",
              other="Glorification of crimes")
    add_order(report_engine, T, ms="BE", category=SPEECH, subcategory="KEYWORD_HATE_SPEECH")
    part_3 = rows(write(report_engine, tmp_path)[1])
    def speech(scope: str) -> list[tuple[str, str, str]]:
        block = [r for r in part_3 if r[5] == scope]
        first = [r[3] for r in block].index(SPEECH)
        end = next(i for i in range(first + 1, len(block)) if block[i][3].startswith("STATEMENT"))
        return [(r[3], r[4], r[6]) for r in block[first:end]]

    assert speech("TOTAL") == [
        (SPEECH, "", "5"),
        ("KEYWORD_DEFAMATION", "", "0"),
        ("KEYWORD_DISCRIMINATION", "", "0"),
        ("KEYWORD_HATE_SPEECH", "", "1"),
        ("KEYWORD_OTHER", UNSPECIFIED_ORDER, "1"),
        ("KEYWORD_OTHER", "Glorification of crimes", "1"),
        ("KEYWORD_OTHER", "Holocaust denial", "2"),  # the same text, trailing space trimmed
    ]
    assert [(c, d) for c, d, _ in speech("BE")] == [(c, d) for c, d, _ in speech("TOTAL")]
    assert [n for _, _, n in speech("BE")] == ["3", "0", "0", "1", "0", "1", "1"]
    assert [n for _, _, n in speech("NL")] == ["2", "0", "0", "0", "1", "0", "1"]
    # other categories keep one "Other" row each, with a blank description
    others = [r for r in part_3 if r[5] == "TOTAL" and r[3] == "KEYWORD_OTHER"]
    assert len(others) == 14 + 2
    assert sum(r[4] == "" for r in others) == 13


def test_part_4(report_engine: Engine, tmp_path: Path) -> None:
    seed_notices(report_engine)
    part_4 = rows(write(report_engine, tmp_path)[2])
    assert len(part_4) == len(block_rows("notice"))  # one "Other" row each in IP and scams
    assert {r[0] for r in part_4} == {HOSTING}
    assert {(r[1], r[2]) for r in part_4} == {("Example Hosting", PERIOD)}

    def row(code: str, description: str = "") -> list[str]:
        found = [r for r in part_4 if r[3] == code and r[4] == description]
        assert len(found) == 1, (code, description)
        return found[0][5:15]

    # received, TF received, items, TF items, median, TF median, law, TF law, terms, TF terms
    assert row("TOTAL") == ["6", "3", "10", "5", "5.00", "3.50", "5", "3", "2", "0"]
    assert row(IP) == ["3", "2", "5", "3", "4.00", "3.50", "2", "2", "2", "0"]
    assert row("KEYWORD_COPYRIGHT_INFRINGEMENT") == [
        "2", "1", "3", "1", "2.50", "1.00", "1", "1", "2", "0"]
    assert row("KEYWORD_OTHER", UNSPECIFIED_NOTICE) == [
        "1", "1", "2", "2", "6.00", "6.00", "1", "1", "0", "0"]
    assert row(SCAMS) == ["2", "1", "4", "2", "10.00", "", "3", "1", "0", "0"]
    assert row("KEYWORD_PHISHING") == ["1", "1", "2", "2", "", "", "1", "1", "0", "0"]
    assert row("KEYWORD_OTHER", "Fake shop") == [
        "1", "0", "2", "0", "10.00", "", "2", "0", "0", "0"]
    assert row("STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE") == [
        "1", "0", "1", "0", "", "", "0", "0", "0", "0"]
    assert row("KEYWORD_TRADEMARK_INFRINGEMENT") == ["0"] * 4 + ["", ""] + ["0"] * 4
    assert all(PLACEHOLDER not in r for r in part_4)


@pytest.mark.parametrize(("hours", "text"), [(0.125, "0.13"), (1 / 3, "0.33"), (2.0, "2.00")])
def test_median_hours_have_two_decimals_rounded_half_up(
    report_engine: Engine, tmp_path: Path, hours: float, text: str
) -> None:
    add_order(report_engine, T, ack_h=hours)
    part_3 = rows(write(report_engine, tmp_path)[1])
    assert part_3[0][8] == text
