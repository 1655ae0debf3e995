"""The Commission's CSV templates (Annex I, Parts 1, 3 and 4) filled from the report dict: the
header rows copied byte for byte, the row layouts taken from the packaged templates."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from ..protocol.templates import PART_1, PART_3, PART_4, PART_5, PART_8
from .dsa_csv_v11 import part_5, part_8
from .layout import KEYWORD_OTHER, NOTICE, ORDER, TOTAL, block_rows, read_template
from .render import hours, text_cell

FILES = {
    PART_1: "Part_1_summary.csv",
    PART_3: "Part_3_member_states_orders.csv",
    PART_4: "Part_4_notices.csv",
    PART_5: "Part_5_own_initiative_illegal.csv",
    PART_8: "Part_8_automated_means.csv",
}
NO_INFORMATION_ORDERS = (
    "This system receives orders to act against illegal content only; it does not receive "
    "orders to provide information (Art. 10), so none are reported."
)
ORDER_ACK_NOTE = (
    "From receipt of the order to the issuer's confirmation (HTTP 2xx) of the acknowledgement, "
    "which is sent automatically on receipt; orders not yet acknowledged are left out."
)
ORDER_EFFECT_NOTE = (
    "From receipt to the last action that gave effect (removal, disabling, geo-blocking) on the "
    "order's items; withdrawn orders and orders on which no action gave effect are left out."
)
NOTICE_ACTION_NOTE = (
    "From receipt to the last action that gave effect on the notice's items; withdrawn notices "
    "and notices on which no action gave effect are left out."
)
NOTICE_ACTIONS_NOTE = "Counted per item of information on which an action gave effect."


def _col(letter: str) -> int:
    """Annex II names the columns by letter (A = 0)."""
    return ord(letter) - ord("A")


def write_dsa_csv(
    report: dict[str, Any],
    out_dir: Path,
    *,
    service_name: str,
    provider_name: str,
    published: date,
) -> list[Path]:
    """Write Part_1_summary.csv, Part_3_member_states_orders.csv, Part_4_notices.csv,
    Part_5_own_initiative_illegal.csv and Part_8_automated_means.csv into ``out_dir`` (created
    if missing); returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    period = f"{report['period']['start']}/{report['period']['end']}"
    service_name, provider_name = text_cell(service_name), text_cell(provider_name)
    parts = {
        PART_1: _part_1(report, service_name, provider_name, published),
        PART_3: _part_3(report["orders"], service_name, period),
        PART_4: _part_4(report["notices"], service_name, period),
        PART_5: part_5(report["own_initiative"], service_name, period),
        PART_8: part_8(report["automated_means"], service_name, period),
    }
    paths = []
    for part, rows in parts.items():
        path = out_dir / FILES[part]
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(read_template(part).header_line)
            csv.writer(handle, lineterminator="\n").writerows(rows)
        paths.append(path)
    return paths


def _part_1(
    report: dict[str, Any], service: str, provider: str, published: date
) -> list[list[str]]:
    values = [
        provider,
        published.isoformat(),
        "",
        report["period"]["start"],
        report["period"]["end"],
    ]
    rows = [list(row) for row in read_template(PART_1).rows]
    if len(rows) != len(values):
        raise RuntimeError("unexpected Part 1 template layout")
    for row, value in zip(rows, values, strict=True):
        row[_col("B")], row[_col("D")] = service, value
    return rows


def _expanded(kind: str, groups: Iterable[dict[str, Any]]) -> Iterator[tuple[tuple[str, ...], str]]:
    """The block's template rows with each ``KEYWORD_OTHER`` row repeated once per description
    in use in that category (any scope), or kept once with a blank description."""
    descriptions: dict[str, list[str]] = {}
    for group in groups:
        if group["subcategory"] == KEYWORD_OTHER:
            seen = descriptions.setdefault(group["category"], [])
            if group["description"] not in seen:
                seen.append(group["description"])
    category = ""
    for row in block_rows(kind):
        code = row[_col("D")]
        if code.startswith("STATEMENT_CATEGORY_"):
            category = code
        if code == KEYWORD_OTHER:
            for description in descriptions.get(category) or [""]:
                yield row, description
        else:
            yield row, ""


def _key(
    row: tuple[str, ...], category: str, description: str
) -> tuple[str, str | None, str | None]:
    code = row[_col("D")]
    if code == TOTAL or code.startswith("STATEMENT_CATEGORY_"):
        return (code, None, None)
    return (category, code, description or None)


def _part_3(orders: dict[str, Any], service: str, period: str) -> list[list[str]]:
    by_key = {
        (g["member_state"], g["category"], g["subcategory"], g["description"]): g
        for g in orders["breakdown"]
    }
    scopes = [TOTAL, *orders["by_member_state"]]
    layout = list(_expanded(ORDER, orders["breakdown"]))
    rows = []
    for scope in scopes:
        category = ""
        for template_row, description in layout:
            if template_row[_col("D")].startswith("STATEMENT_CATEGORY_"):
                category = template_row[_col("D")]
            found = by_key.get((scope, *_key(template_row, category, description)), {})
            row = [""] * len(template_row)
            row[_col("A")], row[_col("B")], row[_col("C")] = template_row[0], service, period
            row[_col("D")], row[_col("E")] = template_row[3], text_cell(description)
            row[_col("F")] = scope
            row[_col("G")] = str(found.get("count", 0))
            row[_col("H")] = str(found.get("items", 0))
            row[_col("I")] = hours(found.get("median_hours_to_acknowledge"))
            row[_col("J")] = hours(found.get("median_hours_to_effect"))
            if scope == TOTAL and template_row[_col("D")] == TOTAL:
                row[_col("P")], row[_col("Q")] = ORDER_ACK_NOTE, ORDER_EFFECT_NOTE
                # Columns K-M (orders to provide information) stay blank; their contextual
                # columns R-T say why.
                row[_col("R")] = row[_col("S")] = row[_col("T")] = NO_INFORMATION_ORDERS
            rows.append(row)
    return rows


def _part_4(notices: dict[str, Any], service: str, period: str) -> list[list[str]]:
    by_key = {(g["category"], g["subcategory"], g["description"]): g for g in notices["breakdown"]}
    rows = []
    category = ""
    for template_row, description in _expanded(NOTICE, notices["breakdown"]):
        if template_row[_col("D")].startswith("STATEMENT_CATEGORY_"):
            category = template_row[_col("D")]
        found = by_key.get(_key(template_row, category, description))
        tf = found["trusted_flagger"] if found else {}
        found = found or {}
        row = [""] * len(template_row)
        row[_col("A")], row[_col("B")], row[_col("C")] = template_row[0], service, period
        row[_col("D")], row[_col("E")] = template_row[3], text_cell(description)
        row[_col("F")] = str(found.get("count", 0))
        row[_col("G")] = str(tf.get("count", 0))
        row[_col("H")] = str(found.get("items", 0))
        row[_col("I")] = str(tf.get("items", 0))
        row[_col("J")] = hours(found.get("median_hours_to_action"))
        row[_col("K")] = hours(tf.get("median_hours_to_action"))
        row[_col("L")] = str(found.get("actions_law", 0))
        row[_col("M")] = str(tf.get("actions_law", 0))
        row[_col("N")] = str(found.get("actions_terms", 0))
        row[_col("O")] = str(tf.get("actions_terms", 0))
        if template_row[_col("D")] == TOTAL:
            row[_col("T")], row[_col("U")] = NOTICE_ACTION_NOTE, NOTICE_ACTION_NOTE
            row[_col("V")] = row[_col("W")] = row[_col("X")] = row[_col("Y")] = NOTICE_ACTIONS_NOTE
        rows.append(row)
    return rows
