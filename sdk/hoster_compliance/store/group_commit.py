"""Group commit: the work of several concurrent callers written in one transaction.

A webhook's answer may only be sent once its order is committed (PROTOCOL: a 2xx means
stored). Committing every order in a transaction of its own costs a commit (an fsync on
SQLite, a WAL flush on PostgreSQL) and a handful of statements per order. Under load, several
request threads of one process hold a validated order at the same moment; a
:class:`GroupCommitter` collects them and a *committer* thread writes them in one
transaction, while each caller waits for the outcome of its own item. Nobody is answered
before the transaction holding their item has committed.

- **No timer when nobody else is coming.** Callers *announce* themselves
  (:meth:`GroupCommitter.announce`) when they start the work that may end in a submit. A
  committer with work waits, at most ``max_wait`` seconds, only while announced callers have
  neither submitted nor left. With one request at a time there is no wait at all.
- **One committer thread, one transaction in flight.** When the database is slow, batches
  grow. A second committer for backlogs was measured on PostgreSQL and dropped: it made
  batches smaller and cost more CPU than its overlap with the first saved (BENCHMARKS.md).
- **Cheap wake-ups.** Each caller sleeps on a lock of its own, released once, when its item
  is done; only the committer waits on the shared condition.
- **No thread when idle.** The committer thread starts with the first submit and ends after
  ``idle_exit`` seconds without work, so a service that is dropped leaves no thread behind.
- **Resources for the thread's life.** ``commit_batch`` may keep things for its next batches
  (a database connection) in :func:`committer_resources`; they are closed when the committer
  thread ends.

The committer knows nothing of databases: ``commit_batch(items)`` does the writing and returns
one outcome per item (a result, or the exception for that item alone); if it raises, every item
of the batch gets that exception. Thread-safe; one committer per process (per engine).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("hoster_compliance.group_commit")


class _CommitterThread(threading.local):
    resources: dict[object, Any] | None = None


_thread = _CommitterThread()


def committer_resources() -> dict[object, Any] | None:
    """In a committer thread: a dict where ``commit_batch`` may keep things (say a database
    connection) for the thread's next batches; each value's ``close()`` is called when the
    thread ends. Elsewhere None: the caller opens and closes what it needs itself."""
    return _thread.resources


def _close_resources() -> None:
    resources, _thread.resources = _thread.resources or {}, None
    for resource in resources.values():
        try:
            resource.close()
        except Exception:  # noqa: BLE001 - closing is best effort; the thread ends anyway
            log.warning("closing a resource of the group commit thread failed", exc_info=True)


class _Slot(Generic[T, R]):
    __slots__ = ("item", "result", "error", "wakeup")

    def __init__(self, item: T) -> None:
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.wakeup = threading.Lock()
        self.wakeup.acquire()  # released once, by the committer, when the item is done


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
    """Collects items from many threads; a committer thread writes them in batches through
    ``commit_batch`` (see the module's description)."""

    def __init__(
        self,
        commit_batch: Callable[[Sequence[T]], Sequence[R | BaseException]],
        *,
        max_batch: int = 64,
        max_wait: float = 0.005,
        idle_exit: float = 2.0,
        name: str = "group-commit",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._idle_exit = idle_exit
        self._name = name
        self._reset()
        # A child process (gunicorn forking a preloaded app) has none of the parent's threads.
        reset = weakref.WeakMethod(self._reset)
        os.register_at_fork(after_in_child=lambda: (method := reset()) and method())

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # only the committer waits on it
        self._pending: list[_Slot[T, R]] = []
        self._expected = 0  # announced callers that have neither submitted nor left
        self._running = False  # the committer thread is alive
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
                    self._work.notify()
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
            if not self._running:
                self._start_committer()
            self._work.notify()
        slot.wakeup.acquire()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _start_committer(self) -> None:
        # Under self._lock.
        thread = threading.Thread(target=self._committer, name=self._name, daemon=True)
        thread.start()
        self._running = True

    def _committer(self) -> None:
        _thread.resources = {}
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return  # idle: _next_batch marked the committer stopped
                self._run(batch)
        except BaseException:  # pragma: no cover - a bug here must not strand callers
            log.exception("group commit thread failed; starting another")
            with self._lock:
                self._running = False
                if self._pending:
                    self._start_committer()
            raise
        finally:
            _close_resources()

    def _next_batch(self) -> list[_Slot[T, R]] | None:
        """The next batch: everything pending, once no announced caller is still on its way
        (at most ``max_wait`` after there was work); None when idle for ``idle_exit``."""
        with self._lock:
            while not self._pending:
                if not self._work.wait(self._idle_exit) and not self._pending:
                    self._running = False
                    return None
            if self._expected > 0 and len(self._pending) < self._max_batch:
                deadline = time.monotonic() + self._max_wait
                while self._expected > 0 and len(self._pending) < self._max_batch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._work.wait(remaining)
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
            slot.wakeup.release()
