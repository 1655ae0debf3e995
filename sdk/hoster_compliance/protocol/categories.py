"""The Commission's harmonised list of categories of illegal content (transparency templates,
Part 2), read from the packaged copy of the Commission's CSV rather than retyped, so the codes can
never drift from the reference."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache

from hoster_compliance.protocol import templates

from ..vocabulary import NOTICE, ORDER

NOT_SPECIFIED_ORDER = "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER"
NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
KEYWORD_OTHER = "KEYWORD_OTHER"
_NOT_SPECIFIED = {ORDER: NOT_SPECIFIED_ORDER, NOTICE: NOT_SPECIFIED_NOTICE}

_CATEGORY_PREFIX = "STATEMENT_CATEGORY_"
_KEYWORD_PREFIX = "KEYWORD_"
_DATA_FILE = templates.PART_2


@dataclass(frozen=True)
class Subcategory:
    """One ``KEYWORD_*`` row: ``label`` is the template's ``Category 1a``, ``description`` its
    text."""

    code: str
    label: str
    description: str


@dataclass(frozen=True)
class Category:
    """One ``STATEMENT_CATEGORY_*`` row with the ``KEYWORD_*`` rows listed under it, in file
    order."""

    code: str
    label: str
    description: str
    subcategories: tuple[Subcategory, ...]

    @property
    def subcategory_codes(self) -> tuple[str, ...]:
        """The codes of the subcategories, in file order."""
        return tuple(sub.code for sub in self.subcategories)


def parse_categories(text: str) -> tuple[Category, ...]:
    """Parse the Part 2 CSV: a header, a ``TOTAL`` row, then each category followed by its
    subcategories. Cells are stripped (the Commission's file has trailing spaces)."""
    rows = list(csv.reader(io.StringIO(text)))
    result: list[Category] = []
    current: tuple[str, str, str] | None = None
    subs: list[Subcategory] = []
    for line_no, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) < 3:
            raise ValueError(f"{_DATA_FILE} line {line_no}: expected at least 3 columns")
        label, description, code = cells[0], cells[1], cells[2]
        if code == "TOTAL":
            continue
        if code.startswith(_CATEGORY_PREFIX):
            if current is not None:
                result.append(Category(*current, subcategories=tuple(subs)))
            current, subs = (code, label, description), []
        elif code.startswith(_KEYWORD_PREFIX) and current is not None:
            subs.append(Subcategory(code, label, description))
        else:
            raise ValueError(f"{_DATA_FILE} line {line_no}: unexpected code {code!r}")
    if current is not None:
        result.append(Category(*current, subcategories=tuple(subs)))
    return tuple(result)


def not_specified(kind: str) -> str:
    """The category of an order (``order``) or notice (``notice``) that names none."""
    return _NOT_SPECIFIED[kind]


@cache
def _load() -> tuple[Category, ...]:
    raw = templates.read_bytes(_DATA_FILE)
    return parse_categories(raw.decode("utf-8-sig"))


@cache
def _by_code() -> dict[str, Category]:
    return {category.code: category for category in _load()}


def categories() -> list[Category]:
    """Every category of the harmonised list in file order (the ``TOTAL`` row excluded)."""
    return list(_load())


def category(code: str) -> Category:
    """The category with this code; ``KeyError`` when the list has none."""
    return _by_code()[code]


def is_category(code: object) -> bool:
    """Whether ``code`` is a ``STATEMENT_CATEGORY_*`` code of the list."""
    return isinstance(code, str) and code in _by_code()


def subcategories_of(code: str) -> tuple[str, ...]:
    """The ``KEYWORD_*`` codes listed under category ``code`` (``KEYWORD_OTHER`` belongs to every
    category whose block lists it); empty for an unknown code and for the two NOT_SPECIFIED
    categories, which have none."""
    found = _by_code().get(code)
    return found.subcategory_codes if found is not None else ()


def is_subcategory(category_code: str, subcategory_code: object) -> bool:
    """Whether ``subcategory_code`` is listed under ``category_code``."""
    return isinstance(subcategory_code, str) and subcategory_code in subcategories_of(
        category_code
    )


CATEGORIES: tuple[str, ...] = tuple(c.code for c in _load())
"""The category codes in file order."""


def category_name(code: str) -> str:
    """The Commission's name of a category (Annex I, Part 2), or the code if it has none."""
    return category(code).description if is_category(code) else code
