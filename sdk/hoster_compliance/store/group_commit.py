"""Group commit: the work of several concurrent callers written in one transaction.

A webhook's answer may only be sent once its order is committed (PROTOCOL: a 2xx means
stored). Committing every order in a transaction of its own costs a commit (an fsync on
SQLite, a WAL flush on PostgreSQL) and a handful of statements per order. Under load, several
request threads of one process hold a validated order at the same moment; a
:class:`GroupCommitter` lets the first of them (the *leader*) write all of them in one
transaction, while the others (*followers*) wait for the outcome of their own item. Nobody is
answered before the transaction holding their item has committed.

The leader does not wait for a timer when nobody else is coming: callers *announce* themselves
(:meth:`GroupCommitter.announce`) when they start the work that may end in a submit, and the
leader waits, at most ``max_wait`` seconds, only while announced callers have not yet
submitted or left. With one request at a time there is no wait at all.

The committer knows nothing of databases: ``commit_batch(items)`` does the writing and returns
one outcome per item (a result, or the exception for that item alone); if it raises, every item
of the batch gets that exception. Thread-safe; one committer per process (per engine).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


@dataclass
class GroupCommitStats:
    """Counters for logs and benchmarks: how many batches, how many items in them."""

    batches: int = 0
    items: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        commit_batch: Callable[[Sequence[T]], Sequence[R | BaseException]],
        *,
        max_batch: int = 64,
        max_wait: float = 0.005,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._monotonic = monotonic
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[_Slot[T, R]] = []
        self._announced = 0
        self._leader = False
        self.stats = GroupCommitStats()

    @contextmanager
    def announce(self) -> Iterator[None]:
        """Tell the committer that this thread may submit soon; leaving the block (after a
        submit, or without one, say on a validation error) withdraws the announcement."""
        with self._cond:
            self._announced += 1
        try:
            yield
        finally:
            with self._cond:
                self._announced -= 1
                self._cond.notify_all()

    def submit(self, item: T) -> R:
        """Write ``item`` in the next batch; return its result once that batch committed, or
        raise its exception. Called inside :meth:`announce` or not, both work."""
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._pending.append(slot)
            self._cond.notify_all()  # a leader waiting for announced callers may go on
            while not slot.done and self._leader:
                self._cond.wait()
            if slot.done:
                return self._outcome(slot)
            self._leader = True
        try:
            while not slot.done:
                batch = self._take_batch()
                self._run(batch)
        finally:
            with self._cond:
                self._leader = False
                self._cond.notify_all()  # followers: results, or one of you leads now
        return self._outcome(slot)

    def _take_batch(self) -> list[_Slot[T, R]]:
        """The leader's next batch: everything pending, once every announced caller has
        submitted or left (at most ``max_wait`` after the leader started waiting)."""
        with self._cond:
            deadline = self._monotonic() + self._max_wait
            # Callers that announced and have not submitted yet are still validating; the
            # leader's own submit is already counted in _pending (and maybe still announced).
            while (
                len(self._pending) < self._max_batch
                and self._announced > self._announced_pending()
            ):
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            return batch

    def _announced_pending(self) -> int:
        # Every submitter may be announced; counting pending ones against the announced is
        # an upper bound on who is still on the way (callers that never announced make the
        # leader wait less, never more).
        return len(self._pending)

    def _run(self, batch: list[_Slot[T, R]]) -> None:
        try:
            outcomes: Sequence[R | BaseException] = self._commit_batch([s.item for s in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError("commit_batch returned a wrong number of outcomes")
        except BaseException as exc:  # every item of the batch failed with it
            outcomes = [exc] * len(batch)
        with self._cond:
            for slot, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    slot.error = outcome
                else:
                    slot.result = outcome
                slot.done = True
            size = len(batch)
            self.stats.batches += 1
            self.stats.items += size
            self.stats.largest = max(self.stats.largest, size)
            self.stats.sizes[size] = self.stats.sizes.get(size, 0) + 1
            self._cond.notify_all()

    @staticmethod
    def _outcome(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]
