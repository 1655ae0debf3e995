"""Group commit: the work of several concurrent callers written in one transaction.

A webhook's answer may only be sent once its order is committed (PROTOCOL: a 2xx means
stored). Committing every order in a transaction of its own costs a commit (an fsync on
SQLite, a WAL flush on PostgreSQL) and a handful of statements per order. Under load, several
request threads of one process hold a validated order at the same moment; a
:class:`GroupCommitter` lets one of them (the *leader*) write all of them in one transaction,
while the others (*followers*) wait for the outcome of their own item. Nobody is answered
before the transaction holding their item has committed.

The leader does not wait for a timer when nobody else is coming: callers *announce* themselves
(:meth:`GroupCommitter.announce`) when they start the work that may end in a submit, and the
leader waits, at most ``max_wait`` seconds, only while announced callers have neither
submitted nor left. With one request at a time there is no wait at all.

Each follower sleeps on a lock of its own, released when its item is done or when it is handed
the lead; no thread is woken for somebody else's news (a shared condition woke every waiting
request thread for every batch, which cost more CPU than it saved under load).

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


class _Slot(Generic[T, R]):
    __slots__ = ("item", "done", "result", "error", "wakeup")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None
        self.wakeup = threading.Lock()
        self.wakeup.acquire()  # released once: item done, or the lead handed over


@dataclass
class GroupCommitStats:
    """Counters for logs and benchmarks: how many batches, how many items, their sizes; and
    right now, how many items wait for a batch and how many are being committed."""

    batches: int = 0
    items: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)
    waiting: int = 0
    committing: int = 0


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
        self._lock = threading.Lock()
        self._arrival = threading.Condition(self._lock)  # only the leader ever waits on it
        self._pending: list[_Slot[T, R]] = []
        self._expected = 0  # announced callers that have neither submitted nor left
        self._leader = False
        self._local = threading.local()
        self.stats = GroupCommitStats()

    @contextmanager
    def announce(self) -> Iterator[None]:
        """Tell the committer that this thread may submit soon. A submit inside the block, or
        leaving it without one (say on a validation error), ends the announcement."""
        if getattr(self._local, "state", None) is not None:  # nested: the outer block counts
            yield
            return
        with self._lock:
            self._expected += 1
        self._local.state = "announced"
        try:
            yield
        finally:
            if self._local.state == "announced":  # left without a submit
                with self._lock:
                    self._expected -= 1
                    self._arrival.notify()
            self._local.state = None

    def submit(self, item: T) -> R:
        """Write ``item`` in the next batch; return its result once that batch committed, or
        raise its exception. Works inside :meth:`announce` or without it."""
        slot: _Slot[T, R] = _Slot(item)
        announced = getattr(self._local, "state", None) == "announced"
        if announced:
            self._local.state = "submitted"  # leaving the block must not count it again
        with self._lock:
            if announced:
                self._expected -= 1
            self._pending.append(slot)
            self.stats.waiting = len(self._pending)
            lead = not self._leader
            if lead:
                self._leader = True
            else:
                self._arrival.notify()  # a leader waiting for announced callers may go on
        if not lead:
            slot.wakeup.acquire()
            if slot.done:
                return self._outcome(slot)
            # Not done, yet woken: the previous leader handed the lead to this thread.
        try:
            while not slot.done:
                self._run(self._take_batch())
        finally:
            self._hand_over_lead()
        return self._outcome(slot)

    def _take_batch(self) -> list[_Slot[T, R]]:
        """The leader's next batch: everything pending, once no announced caller is still on
        its way (at most ``max_wait`` after the leader started waiting)."""
        with self._lock:
            if self._expected > 0 and len(self._pending) < self._max_batch:
                deadline = self._monotonic() + self._max_wait
                while self._expected > 0 and len(self._pending) < self._max_batch:
                    remaining = deadline - self._monotonic()
                    if remaining <= 0:
                        break
                    self._arrival.wait(remaining)
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            self.stats.waiting = len(self._pending)
            self.stats.committing = len(batch)
            return batch

    def _run(self, batch: list[_Slot[T, R]]) -> None:
        try:
            outcomes: Sequence[R | BaseException] = self._commit_batch([s.item for s in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError("commit_batch returned a wrong number of outcomes")
        except BaseException as exc:  # every item of the batch failed with it
            outcomes = [exc] * len(batch)
        size = len(batch)
        with self._lock:
            self.stats.committing = 0
            self.stats.batches += 1
            self.stats.items += size
            self.stats.largest = max(self.stats.largest, size)
            self.stats.sizes[size] = self.stats.sizes.get(size, 0) + 1
        for slot, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                slot.error = outcome
            else:
                slot.result = outcome
            slot.done = True
            slot.wakeup.release()  # the leader's own slot too: nobody waits on it

    def _hand_over_lead(self) -> None:
        """The leader's item is done: the oldest pending caller leads next, or nobody."""
        with self._lock:
            if self._pending:
                self._pending[0].wakeup.release()
            else:
                self._leader = False

    @staticmethod
    def _outcome(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]
