"""Exact medians without holding rows: each fine group's durations come from the database as one
comma-separated string (``group_concat`` / ``string_agg``) and are kept as a sorted
``array('q')`` (8 bytes a value). A roll-up group (a category, a Member State, the total) takes the
median of the union of its fine groups' arrays: merged when they are small, else selected by
bisection on the value, which never copies them."""

from __future__ import annotations

import json
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import Any

from sqlalchemy import Text, cast, func
from sqlalchemy.engine import Connection

US_PER_HOUR = 3_600_000_000
# A roll-up is merged when that is cheaper than ~40 bisection steps over its arrays, i.e. when it
# holds at most this many values per array[int]; else its median is selected by bisection.
_MERGE_PER_ARRAY = 256


def concat(conn: Connection, expr: Any) -> Any:
    """An aggregate of ``expr``'s non-null integer values as one comma-separated string."""
    if conn.dialect.name == "postgresql":
        return func.string_agg(cast(expr, Text), ",")
    return func.group_concat(expr)


def parse_sorted(text: str | None) -> array[int]:
    """The integers of a ``concat`` result, sorted, as a compact array[int] (JSON's C parser reads
    integers about twice as fast as ``map(int, text.split(","))``)."""
    if not text:
        return array("q")
    values = json.loads(f"[{text}]")
    values.sort()
    return array("q", values)


def merge_sorted(a: array[int], b: array[int]) -> array[int]:
    """One sorted array[int] from two (Timsort merges the two runs in linear time)."""
    if not a or not b:
        return a or b
    return array("q", sorted(chain(a, b)))


def _count_le(arrays: Sequence[array[int]], value: int) -> int:
    return sum(map(bisect_right, arrays, repeat(value)))


def _kth(arrays: Sequence[array[int]], k: int) -> int:
    """The k-th smallest (from 0) value of the union of non-empty sorted arrays: bisection on
    the value, counting with ``bisect_right`` (O(arrays * log n) a step, ~40 steps)."""
    lo = min(a[0] for a in arrays)
    hi = max(a[-1] for a in arrays)
    while lo < hi:
        mid = (lo + hi) // 2
        if _count_le(arrays, mid) > k:
            hi = mid
        else:
            lo = mid + 1
    return lo


def median_hours(arrays: Sequence[array[int]]) -> float | None:
    """Median of the union of sorted arrays of microseconds, in hours: the middle value, or the
    mean of the two middle values; ``None`` when there are none."""
    arrays = [a for a in arrays if a]
    n = sum(len(a) for a in arrays)
    if n == 0:
        return None
    k = (n - 1) // 2
    if len(arrays) == 1 or n <= _MERGE_PER_ARRAY * len(arrays):
        merged = arrays[0] if len(arrays) == 1 else sorted(chain.from_iterable(arrays))
        lo, hi = merged[k], merged[n // 2]
    else:
        lo = hi = _kth(arrays, k)
        if n % 2 == 0 and _count_le(arrays, lo) <= k + 1:  # the next value is larger
            hi = min(a[j] for a in arrays if (j := bisect_right(a, lo)) < len(a))
    return (lo + hi) / (2 * US_PER_HOUR)


class Slots:
    """Named roll-up groups (slots) with integer sums and duration arrays; each fine group counts
    in several slots (the total, its Member State, its category, its sub-category ...)."""

    def __init__(self, width: int, series: int) -> None:
        self.width = width
        self.index: dict[tuple[Any, ...], int] = {}
        self.sums: list[list[int]] = []
        self.arrays: list[list[list[array[int]]]] = []
        self._series = series

    def _slot(self, key: tuple[Any, ...]) -> int:
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.sums)
            self.sums.append([0] * self.width)
            self.arrays.append([[] for _ in range(self._series)])
        return found

    def add(
        self, keys: Iterable[tuple[Any, ...]], sums: Sequence[int], series: Sequence[array[int]]
    ) -> None:
        """Add one fine group's sums and arrays to each slot named in ``keys`` (once each)."""
        for slot in dict.fromkeys(self._slot(key) for key in keys):
            vector = self.sums[slot]
            for position, value in enumerate(sums):
                vector[position] += value
            for number, values in enumerate(series):
                self.arrays[slot][number].append(values)

    def get(self, key: tuple[Any, ...]) -> int | None:
        return self.index.get(key)

    def medians(self, series: int) -> list[float | None]:
        """The median hours of one series for every slot."""
        return [median_hours(arrays[series]) for arrays in self.arrays]
