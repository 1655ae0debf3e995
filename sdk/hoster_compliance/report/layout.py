"""The Commission's row layouts (Annex I, Parts 3 and 4), read from the packaged templates and
never retyped, and the mapping of an order's category and sub-category onto a template row."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache

from ..protocol.categories import KEYWORD_OTHER, not_specified
from ..protocol.templates import PART_3, PART_4, read_bytes
from ..vocabulary import NOTICE, ORDER

__all__ = [
    "KEYWORD_OTHER", "NOTICE", "ORDER", "PART_3", "PART_4", "TOTAL",
    "UNSPECIFIED_DESCRIPTION", "RowKey", "Template", "block_rows", "category_layout",
    "read_template", "row_sort_key", "template_row_key",
]

TOTAL = "TOTAL"
UNSPECIFIED_DESCRIPTION = {
    ORDER: "Sub-category not specified by the authority",
    NOTICE: "Sub-category not specified by the notifier",
}

# A template row key: (category, sub-category or None, description of "Other" or None).
RowKey = tuple[str, str | None, str | None]


@dataclass(frozen=True)
class Template:
    """One Commission CSV: its raw header line (bytes as published) and its parsed rows."""

    header_line: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@cache
def read_template(name: str) -> Template:
    """Read a packaged template (``PART_1``, ``PART_3`` or ``PART_4``)."""
    raw = read_bytes(name).decode("utf-8")
    header_line = raw[: raw.index("\n") + 1]
    parsed = [tuple(row) for row in csv.reader(io.StringIO(raw, newline="")) if row]
    return Template(header_line=header_line, header=parsed[0], rows=tuple(parsed[1:]))


@cache
def block_rows(kind: str) -> tuple[tuple[str, ...], ...]:
    """The template rows of one block: Part 3's TOTAL-scope block (orders) or Part 4 (notices).

    Part 3's Member State block is not used: the Commission's file leaves a sub-category out of
    it, and PROTOCOL 8 repeats the TOTAL block whole for each Member State.
    """
    if kind == ORDER:
        template = read_template(PART_3)
        scope = template.header.index("Scope")
        return tuple(row for row in template.rows if row[scope] == TOTAL)
    return read_template(PART_4).rows


@cache
def category_layout(kind: str) -> dict[str, tuple[str, ...]]:
    """Each category of the block, in template order, with its sub-category codes."""
    layout: dict[str, list[str]] = {}
    current: list[str] | None = None
    for row in block_rows(kind):
        code = row[3]
        if code.startswith("STATEMENT_CATEGORY_"):
            current = layout.setdefault(code, [])
        elif code.startswith("KEYWORD_") and current is not None:
            current.append(code)
    return {category: tuple(subs) for category, subs in layout.items()}


def template_row_key(
    kind: str, category: str, subcategory: str | None, subcategory_other: str | None
) -> RowKey:
    """The template row an order or notice counts under (PROTOCOL 8's ``KEYWORD_OTHER`` rules).

    A category the block does not list (e.g. the own-initiative category 15) counts under the
    block's "not specified" category; a sub-category the category does not list counts under
    ``KEYWORD_OTHER`` described by its code, so that nothing is lost and the rows still add up.
    """
    layout = category_layout(kind)
    if category not in layout:
        category = not_specified(kind)
    subs = layout[category]
    if not subs:
        return (category, None, None)
    if subcategory is None:
        return (category, KEYWORD_OTHER, UNSPECIFIED_DESCRIPTION[kind])
    if subcategory == KEYWORD_OTHER:
        text = (subcategory_other or "").strip()
        return (category, KEYWORD_OTHER, text or UNSPECIFIED_DESCRIPTION[kind])
    if subcategory not in subs:
        return (category, KEYWORD_OTHER, subcategory)
    return (category, subcategory, None)


def row_sort_key(kind: str, key: RowKey) -> tuple[int, int, int, str]:
    """Template order for row keys; ``KEYWORD_OTHER`` rows: the unspecified one first, then A-Z."""
    category, sub, description = key
    if category == TOTAL:
        return (-1, -1, 0, "")
    layout = category_layout(kind)
    names = list(layout)
    cat_pos = names.index(category) if category in layout else len(names)
    if sub is None:
        return (cat_pos, -1, 0, "")
    subs = layout.get(category, ())
    sub_pos = subs.index(sub) if sub in subs else len(subs)
    if sub != KEYWORD_OTHER:
        return (cat_pos, sub_pos, 0, "")
    unspecified = description == UNSPECIFIED_DESCRIPTION[kind]
    return (cat_pos, sub_pos, 0 if unspecified else 1, description or "")
