"""Renderers of the report dict: JSON (PROTOCOL 8), a flat CSV (one row per section, group and
metric) and a Markdown summary for people."""

from __future__ import annotations

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..protocol import categories
from .layout import TOTAL

CSV_COLUMNS = (
    "section",
    "member_state",
    "category",
    "subcategory",
    "description",
    "metric",
    "value",
)
ORDER_METRICS = (
    "count",
    "items",
    "median_hours_to_acknowledge",
    "median_hours_to_effect",
    "within_deadline",
    "overdue",
)
NOTICE_METRICS = (
    "count",
    "items",
    "trusted_flagger_count",
    "median_hours_to_action",
    "actions_law",
    "actions_terms",
    "automated",
)
TF_METRICS = (
    "count",
    "items",
    "median_hours_to_action",
    "actions_law",
    "actions_terms",
    "automated",
)


def hours(value: float | None, blank: str = "") -> str:
    """Hours with two decimals (half up, from the shortest repr), or ``blank`` for no median."""
    if value is None:
        return blank
    return str(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


#: What a spreadsheet takes for the start of a formula (or, for tab and carriage return, hides
#: one behind): such a text cell gets a leading apostrophe (PROTOCOL 13.2).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A CSV cell holding text that came from outside (an issuer's ``subcategory_other``),
    neutralised so that no spreadsheet runs it as a formula. Numbers never pass here: a
    negative count must stay a number."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def render_json(report: dict[str, Any]) -> str:
    """The report as JSON text (UTF-8, indented, medians unrounded)."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render_csv(report: dict[str, Any]) -> str:
    """Flat CSV: ``section,member_state,category,subcategory,description,metric,value``.

    ``period`` rows carry start, end and as_of; then one row per metric of every non-empty group
    of ``orders.breakdown`` (member_state ``TOTAL`` or a code; category ``TOTAL``, a category, or
    a category with its sub-category and "Other" description) and of ``notices.breakdown``
    (member_state ``TOTAL``; trusted-flagger figures as metrics ``trusted_flagger.<name>``).
    Medians in hours, unrounded; an empty value is a median of nothing.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    period = report["period"]
    for name, value in (("start", period["start"]), ("end", period["end"])):
        writer.writerow(("period", "", "", "", "", name, value))
    writer.writerow(("period", "", "", "", "", "as_of", report["as_of"]))
    for group in report["orders"]["breakdown"]:
        lead = ("orders", group["member_state"], group["category"], group["subcategory"] or "",
                text_cell(group["description"] or ""))
        for metric in ORDER_METRICS:
            writer.writerow((*lead, metric, _value(group[metric])))
    for group in report["notices"]["breakdown"]:
        lead = ("notices", TOTAL, group["category"], group["subcategory"] or "",
                text_cell(group["description"] or ""))
        for metric in NOTICE_METRICS:
            writer.writerow((*lead, metric, _value(group[metric])))
        for metric in TF_METRICS:
            writer.writerow(
                (*lead, f"trusted_flagger.{metric}", _value(group["trusted_flagger"][metric]))
            )
    return out.getvalue()


def within_deadline_share(figures: dict[str, Any]) -> tuple[int, int, float | None]:
    """(within, decided, share): orders handled within their deadline among those whose outcome
    against it is known (handled in time, or overdue); share ``None`` when none is."""
    within, decided = figures["within_deadline"], figures["within_deadline"] + figures["overdue"]
    return within, decided, (within / decided if decided else None)


def _category_name(code: str) -> str:
    return categories.category_name(code)


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return lines


def _order_row(name: str, f: dict[str, Any]) -> tuple[Any, ...]:
    return (
        name,
        f["count"],
        f["items"],
        hours(f["median_hours_to_acknowledge"], "–"),
        hours(f["median_hours_to_effect"], "–"),
        f["within_deadline"],
        f["overdue"],
    )


def _notice_row(name: str, f: dict[str, Any]) -> tuple[Any, ...]:
    return (
        name,
        f["count"],
        f["trusted_flagger_count"],
        f["items"],
        hours(f["median_hours_to_action"], "–"),
        hours(f["trusted_flagger"]["median_hours_to_action"], "–"),
        f["actions_law"],
        f["actions_terms"],
        f["automated"],
    )


def render_markdown(report: dict[str, Any]) -> str:
    """A person's summary: the share of orders handled within their deadline, then a table per
    section (total, by Member State, by category)."""
    period, orders, notices = report["period"], report["orders"], report["notices"]
    within, decided, share = within_deadline_share(orders["total"])
    lines = [
        f"# Transparency report {period['start']} to {period['end']}",
        "",
        f"DSA Art. 15(1)(a) and (b). Figures as of {report['as_of']}; times in hours from receipt.",
        "",
        "## Orders to act against illegal content",
        "",
    ]
    if share is None:
        lines.append("Handled within their deadline: no order with a deadline fell due.")
    else:
        lines.append(
            f"Handled within their deadline: **{share:.1%}** ({within} of {decided} orders that "
            "had a deadline and were handled or overdue; withdrawn orders, orders without a "
            "deadline and open orders not yet due are not counted)."
        )
    order_header = (
        "",
        "Orders",
        "Items",
        "Median h to acknowledge",
        "Median h to effect",
        "Within deadline",
        "Overdue",
    )
    order_rows = [_order_row("Total", orders["total"])]
    order_rows += [_order_row(ms, f) for ms, f in orders["by_member_state"].items()]
    lines += ["", "### Total and by Member State", "", *_table(order_header, order_rows)]
    category_rows = [_order_row(_category_name(c), f) for c, f in orders["by_category"].items()]
    lines += ["", "### By category", "", *_table(order_header, category_rows or [])]
    notice_header = (
        "",
        "Notices",
        "From trusted flaggers",
        "Items",
        "Median h to action",
        "Median h to action (trusted flaggers)",
        "Actions (law)",
        "Actions (terms)",
        "Automated",
    )
    notice_rows = [_notice_row("Total", notices["total"])]
    notice_rows += [_notice_row(_category_name(c), f) for c, f in notices["by_category"].items()]
    lines += ["", "## Notices", "", *_table(notice_header, notice_rows), ""]
    return "\n".join(lines)
