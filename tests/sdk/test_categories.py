"""The harmonised category list is the Commission's file, read rather than retyped."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from hoster_compliance.protocol import categories
from hoster_compliance.protocol.categories import (
    KEYWORD_OTHER,
    NOT_SPECIFIED_NOTICE,
    NOT_SPECIFIED_ORDER,
    Category,
    Subcategory,
    parse_categories,
)


@pytest.fixture
def fresh_read(commission_template: Callable[[str], Path]) -> list[tuple[str, list[str]]]:
    """An independent read of Part 2: each category code with the keyword codes under it."""
    blocks: list[tuple[str, list[str]]] = []
    text = commission_template("Part_2_").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    for row in rows[1:]:
        code = row[2].strip()
        if code.startswith("STATEMENT_CATEGORY_"):
            blocks.append((code, []))
        elif code.startswith("KEYWORD_"):
            blocks[-1][1].append(code)
    return blocks


def test_category_codes_equal_the_files_codes_in_file_order(
    fresh_read: list[tuple[str, list[str]]],
) -> None:
    expected = fresh_read
    assert [c.code for c in categories.categories()] == [code for code, _ in expected]
    assert categories.CATEGORIES == tuple(code for code, _ in expected)
    assert len(categories.CATEGORIES) == 17


def test_subcategories_equal_the_files_blocks(fresh_read: list[tuple[str, list[str]]]) -> None:
    for code, keywords in fresh_read:
        assert categories.subcategories_of(code) == tuple(keywords)


def test_total_row_and_header_are_not_categories() -> None:
    assert "TOTAL" not in categories.CATEGORIES
    assert not categories.is_category("TOTAL")
    assert categories.CATEGORIES[0] == "STATEMENT_CATEGORY_ANIMAL_WELFARE"


def test_cells_are_stripped_of_the_files_trailing_spaces() -> None:
    minors = categories.category("STATEMENT_CATEGORY_PROTECTION_OF_MINORS")
    assert minors.description == "Protection of minors"
    assert minors.label == "Category 9"
    women = categories.category("STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN")
    assert women.code == "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN"
    other = women.subcategories[-1]
    assert other == Subcategory(
        "KEYWORD_OTHER", "Category 4h", "Not captured by any other sub-category"
    )
    for cat in categories.categories():
        for text in (cat.code, cat.label, cat.description):
            assert text == text.strip()


def test_keyword_other_belongs_to_every_category_that_lists_it() -> None:
    with_other = [c.code for c in categories.categories() if KEYWORD_OTHER in c.subcategory_codes]
    assert len(with_other) == 15
    assert "STATEMENT_CATEGORY_ANIMAL_WELFARE" in with_other
    assert "STATEMENT_CATEGORY_OTHER_VIOLATION_TC" in with_other
    assert NOT_SPECIFIED_ORDER not in with_other


def test_not_specified_categories_exist_and_have_no_subcategories() -> None:
    for code in (NOT_SPECIFIED_ORDER, NOT_SPECIFIED_NOTICE):
        assert categories.is_category(code)
        assert categories.subcategories_of(code) == ()


@pytest.mark.parametrize("value", ["KEYWORD_PHISHING", "TOTAL", "", "statement_category_violence",
                                   None, 3, ["STATEMENT_CATEGORY_VIOLENCE"]])
def test_is_category_is_false_for_anything_else(value: object) -> None:
    assert categories.is_category(value) is False


def test_subcategory_membership() -> None:
    assert categories.is_subcategory("STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "KEYWORD_PHISHING")
    assert not categories.is_subcategory("STATEMENT_CATEGORY_VIOLENCE", "KEYWORD_PHISHING")
    assert not categories.is_subcategory("STATEMENT_CATEGORY_VIOLENCE", None)
    assert categories.subcategories_of("STATEMENT_CATEGORY_UNKNOWN") == ()
    with pytest.raises(KeyError):
        categories.category("STATEMENT_CATEGORY_UNKNOWN")


def test_returned_list_is_a_copy() -> None:
    first = categories.categories()
    first.clear()
    assert len(categories.categories()) == 17
    assert isinstance(categories.categories()[0], Category)


def test_parse_rejects_a_row_it_does_not_understand() -> None:
    header = "Category label,Category description,code,Contextual information\n"
    with pytest.raises(ValueError, match="line 2"):
        parse_categories(header + "Category 1a,Orphan keyword,KEYWORD_X,\n")
    with pytest.raises(ValueError, match="line 3"):
        parse_categories(header + "Category 1,A,STATEMENT_CATEGORY_A,\nX,Y,SOMETHING_ELSE,\n")
    parsed = parse_categories(header + "TOTAL,All,TOTAL,\nC 1 ,A ,STATEMENT_CATEGORY_A , \n\n")
    assert parsed == (Category("STATEMENT_CATEGORY_A", "C 1", "A", ()),)
