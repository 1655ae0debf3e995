"""Exact medians over sorted arrays: the merge path and the bisection path agree with sorting."""

from __future__ import annotations

import random
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hoster_compliance.report.medians import (
    US_PER_HOUR,
    Slots,
    _kth,
    median_hours,
    merge_sorted,
    parse_sorted,
)


def expected(groups: list[list[int]]) -> float | None:
    values = sorted(v for g in groups for v in g)
    if not values:
        return None
    n = len(values)
    return (values[(n - 1) // 2] + values[n // 2]) / (2 * US_PER_HOUR)


def test_parse_sorted() -> None:
    assert parse_sorted("3600000000,-5,0,7") == array("q", [-5, 0, 7, 3_600_000_000])
    assert parse_sorted(None) == array("q") and parse_sorted("") == array("q")


def test_merge_sorted() -> None:
    assert merge_sorted(array("q", [1, 4, 9]), array("q", [2, 4])) == array("q", [1, 2, 4, 4, 9])
    assert merge_sorted(array("q"), array("q", [3])) == array("q", [3])
    assert merge_sorted(array("q", [3]), array("q")) == array("q", [3])


def test_median_odd_even_and_empty() -> None:
    hour = US_PER_HOUR
    assert median_hours([array("q", [hour, 3 * hour, 2 * hour][:1])]) == 1.0
    assert median_hours([array("q", [hour]), array("q", [2 * hour, 4 * hour])]) == 2.0
    assert median_hours([array("q", [hour, 2 * hour])]) == 1.5
    assert median_hours([array("q"), array("q")]) is None
    assert median_hours([]) is None


@given(st.lists(st.lists(st.integers(0, 10**12), max_size=12), max_size=40))
def test_median_of_many_arrays_equals_the_median_of_their_union(groups: list[list[int]]) -> None:
    arrays = [array("q", sorted(g)) for g in groups]
    assert median_hours(arrays) == expected(groups)


@given(st.lists(st.lists(st.sampled_from([0, 1, 5, 5, 5, 9]), min_size=1, max_size=6),
                min_size=1, max_size=30), st.data())
def test_kth_selects_by_bisection(groups: list[list[int]], data: st.DataObject) -> None:
    arrays = [array("q", sorted(g)) for g in groups]
    union = sorted(v for g in groups for v in g)
    k = data.draw(st.integers(0, len(union) - 1))
    assert _kth(arrays, k) == union[k]


@pytest.mark.parametrize(("seed", "sizes"), [(1, [600] * 20), (2, [1, 3000, 2, 700, 5000]),
                                             (3, [1000, 999] * 9)])
def test_large_roll_ups_take_the_bisection_path(seed: int, sizes: list[int]) -> None:
    rng = random.Random(seed)
    groups = [[rng.choice([0, US_PER_HOUR, rng.randrange(10**11)]) for _ in range(n)]
              for n in sizes]
    assert sum(sizes) > 256 * len(sizes)  # more values per array than the merge path takes
    assert median_hours([array("q", sorted(g)) for g in groups]) == expected(groups)


def test_slots_count_a_fine_group_once_per_slot() -> None:
    slots = Slots(2, 1)
    slots.add([("a",), ("b",), ("a",)], [1, 10], [array("q", [US_PER_HOUR])])
    slots.add([("a",)], [2, 20], [array("q", [3 * US_PER_HOUR])])
    a, b = slots.get(("a",)), slots.get(("b",))
    assert a is not None and b is not None and slots.get(("c",)) is None
    assert slots.sums[a] == [3, 30] and slots.sums[b] == [1, 10]
    assert slots.medians(0)[a] == 2.0 and slots.medians(0)[b] == 1.0
