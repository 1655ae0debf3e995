"""Annex I Parts 5 (own-initiative measures, illegal content) and 8 (automated means) filled
from the report's ``own_initiative`` and ``automated_means`` blocks (PROTOCOL 11.3). Columns are
found by their header text; rows and header lines come from the packaged templates."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..protocol.templates import PART_5, PART_8
from .layout import KEYWORD_OTHER, TOTAL, read_template

UNSPECIFIED = "Sub-category not specified in the [hashcheck] configuration"
MEASURES_NOTE = (
    "Actions that gave effect (removed, disabled, geo-blocked) on items of own-initiative "
    "entries: files whose hash matched a list of known illegal material or the hash service. "
    "{reinstated} of them were later reinstated as mistaken."
)
AUTOMATED_NOTE = (
    "Every own-initiative entry comes from hash matching against known material (local lists, "
    "a HashCheckService-compatible API): detection by solely automated means."
)
GEO_NOTE = "Geo-blocking: access disabled in some Member States only."
NOT_TAKEN_NOTE = (
    "This system records actions on content only; it takes no monetary, service or account "
    "measures."
)
SHARE_NOTE = (
    "Share (0 to 1) of the measures taken by automated means in the period that were not later "
    "reinstated (undone as a mistake)."
)
RECALL_NOTE = SHARE_NOTE + (
    " Material the automated means missed is not known to this system, so recall is computed "
    "the same way and is an upper bound."
)
NOTHING_NOTE = "No measure was taken by automated means in the period: nothing to compute."
NO_NOTICE_NOTE = "No notice was processed by automated means in the period: nothing to compute."
PLATFORMS_NOTE = "Applies to online platforms; this report is for a hosting service."
VLOP_NOTE = "Applies to very large online platforms only."

_MEASURE_COLUMNS = (
    "Number of measures taken at the provider's own initiative ",
    "Number of measures taken after detection with solely automated means ",
    "Visibility restriction Removal", "Visibility restriction Disable",
    "Visibility restriction Demoted", "Visibility restriction Age restricted",
    "Visibility restriction Interaction restricted", "Visibility restriction Labelled ",
    "Visibility restriction Other",
)
_NOT_TAKEN_PREFIXES = ("Monetary restriction", "Provision of the service", "Account restriction")


def fraction(value: float | None) -> str:
    """A share with four decimals (half up), blank for none."""
    if value is None:
        return ""
    return str(Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def part_5(own: dict[str, Any], service: str, period: str) -> list[list[str]]:
    template = read_template(PART_5)
    header = template.header
    col = {name: header.index(name) for name in header}
    context = {name: col["Contextual Information on " + name] for name in header
               if "Contextual Information on " + name in col}
    breakdown = {(g["category"], g["subcategory"]): g for g in own["breakdown"]}
    rows: list[list[str]] = []
    category = ""
    for template_row in template.rows:
        code = template_row[col["Category of illegal content"]]
        description = ""
        if code == TOTAL:
            found: dict[str, Any] | None = own["total"]
        elif code.startswith("STATEMENT_CATEGORY_"):
            category = code
            found = own["by_category"].get(code)
        elif code == KEYWORD_OTHER:
            found = breakdown.get((category, None))
            description = UNSPECIFIED if found else ""
        else:
            found = breakdown.get((category, code))
        found = found or {}
        row = [""] * len(header)
        row[0], row[1], row[2], row[3], row[4] = template_row[0], service, period, code, description
        values = [found.get("measures", 0), found.get("measures", 0), found.get("removed", 0),
                  found.get("disabled", 0), 0, 0, 0, 0, found.get("geo_blocked", 0)]
        for name, value in zip(_MEASURE_COLUMNS, values, strict=True):
            row[col[name]] = str(value)
        if code == TOTAL:
            row[context[_MEASURE_COLUMNS[0]]] = MEASURES_NOTE.format(
                reinstated=own["total"]["reinstated"])
            row[context[_MEASURE_COLUMNS[1]]] = AUTOMATED_NOTE
            row[context["Visibility restriction Other"]] = GEO_NOTE
            for name in header:
                if name.startswith(_NOT_TAKEN_PREFIXES) and name in context:
                    row[context[name]] = NOT_TAKEN_NOTE
        rows.append(row)
    return rows


def part_8(automated: dict[str, Any], service: str, period: str) -> list[list[str]]:
    template = read_template(PART_8)
    header = template.header
    indicator, scope_col = header.index("Indicator"), header.index("Scope")
    value_col, context_col = header.index("Value"), header.index("Contextual Information")
    blocks = {"Total number": automated["total"], "Own-initiative": automated["own_initiative"]}
    notices = automated["notices"]
    rows: list[list[str]] = []
    for template_row in template.rows:
        row = [template_row[0], service, period, *template_row[3:]]
        row += [""] * (len(header) - len(row))
        what, scope = template_row[indicator].strip(), template_row[scope_col].strip()
        value, context = "", ""
        if scope in blocks:
            block = blocks[scope]
            value, context = _indicator(what, block["automated"], block["not_automated"],
                                        block["accuracy"], NOTHING_NOTE)
        elif scope == "NAM Total":
            value, context = _indicator(what, notices["solely_automated"],
                                        notices["not_automated"], notices["accuracy"],
                                        NO_NOTICE_NOTE)
        elif scope == "NAM Trusted Flagger":
            context = PLATFORMS_NOTE
        else:
            context = VLOP_NOTE
        row[value_col], row[context_col] = value, context
        rows.append(row)
    return rows


def _indicator(what: str, automated: int, manual: int, accuracy: float | None,
               nothing: str) -> tuple[str, str]:
    if what.startswith("Number of") and "not" in what.split():
        return str(manual), ""
    if what.startswith("Number of"):
        return str(automated), ""
    if accuracy is None:
        return "", nothing
    return fraction(accuracy), RECALL_NOTE if what.endswith("Recall") else SHARE_NOTE
