"""Group sums and exact medians without holding the rows: sums come from SQL ``GROUP BY``; each
median comes from one pass over a cursor that the database sorted by the duration, counting rows
per group and keeping only the values at the two middle positions (memory: O(groups))."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

from sqlalchemy import Select
from sqlalchemy.engine import Connection

US_PER_HOUR = 3_600_000_000
_BATCH = 50_000


class Slots:
    """Named groups (slots), each a vector of integer sums; a fine key maps to several slots."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.index: dict[Hashable, int] = {}
        self.sums: list[list[int]] = []
        self._fine: dict[Hashable, tuple[int, ...]] = {}

    def slot(self, key: Hashable) -> int:
        """The id of the slot named ``key``, created empty if new."""
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.sums)
            self.sums.append([0] * self.width)
        return found

    def register(self, fine: Hashable, keys: Iterable[Hashable]) -> tuple[int, ...]:
        """Tie a fine key (one ``GROUP BY`` group) to the slots it counts in; returns their ids."""
        ids = self._fine.get(fine)
        if ids is None:
            ids = self._fine[fine] = tuple(dict.fromkeys(self.slot(key) for key in keys))
        return ids

    def add(self, fine: Hashable, values: Sequence[int | None]) -> None:
        """Add one group's sums to every slot of its fine key (which must be registered)."""
        for slot_id in self._fine[fine]:
            vector = self.sums[slot_id]
            for position, value in enumerate(values):
                vector[position] += int(value or 0)

    def fine_ids(self) -> dict[Hashable, tuple[int, ...]]:
        return self._fine

    def get(self, key: Hashable) -> int | None:
        return self.index.get(key)


def stream_medians(
    conn: Connection,
    stmt: Select,
    slots_of: Callable[[tuple], tuple[int, ...]],
    counts: Sequence[int],
) -> list[float | None]:
    """Median hours per slot from ``stmt``, which selects the fine-key columns then the duration
    in microseconds, ordered by the duration; ``counts[s]`` is how many rows slot ``s`` gets
    (from the same snapshot). The middle value, or the mean of the two middle values."""
    size = len(counts)
    lo_pos = [(n - 1) // 2 for n in counts]
    hi_pos = [n // 2 for n in counts]
    seen = [0] * size
    lo_val = [0] * size
    hi_val = [0] * size
    cache: dict[tuple, tuple[int, ...]] = {}
    result = conn.execute(stmt, execution_options={"yield_per": _BATCH})
    for batch in result.partitions():
        for row in batch:
            key = row[:-1]
            ids = cache.get(key)
            if ids is None:
                ids = cache[key] = slots_of(key)
            duration = row[-1]
            for s in ids:
                c = seen[s]
                if c == lo_pos[s]:
                    lo_val[s] = duration
                if c == hi_pos[s]:
                    hi_val[s] = duration
                seen[s] = c + 1
    if seen != list(counts):
        raise RuntimeError("the store changed while the report was read")
    return [(lo_val[s] + hi_val[s]) / (2 * US_PER_HOUR) if counts[s] else None for s in range(size)]
