"""The group committer on its own (no database): who gets which outcome, how batches form,
announcements, and that no caller is lost or left waiting."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from hoster_compliance.store.group_commit import GroupCommitter

JOIN = 10  # seconds: only a hang would take this long


class Recorder:
    """A commit function that records its batches; the first batch can be held open, so that
    later callers queue behind it."""

    def __init__(self, hold_first: bool = False, fail: Any = None) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail = fail or (lambda item: None)

    def __call__(self, items: Sequence[int]) -> list[Any]:
        self.batches.append(list(items))
        if len(self.batches) == 1:  # only the first batch is held open
            self.entered.set()
            assert self.release.wait(JOIN)
        return [self.fail(item) or item * 10 for item in items]


def run_in_threads(fn: Any, args: list[Any]) -> tuple[list[threading.Thread], dict[Any, Any]]:
    results: dict[Any, Any] = {}

    def call(arg: Any) -> None:
        try:
            results[arg] = fn(arg)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertions
            results[arg] = exc

    threads = [threading.Thread(target=call, args=(arg,)) for arg in args]
    for thread in threads:
        thread.start()
    return threads, results


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(JOIN)
        assert not thread.is_alive(), "a caller was left waiting"


def wait_until(predicate: Any) -> None:
    done = threading.Event()
    for _ in range(2000):
        if predicate():
            return
        done.wait(0.005)
    raise AssertionError("condition never became true")


def test_a_lone_caller_commits_its_item_alone() -> None:
    recorder = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(recorder)
    assert committer.submit(7) == 70
    assert recorder.batches == [[7]]
    assert committer.stats.batches == 1 and committer.stats.items == 1


def test_callers_arriving_during_a_commit_share_the_next_one() -> None:
    recorder = Recorder(hold_first=True)
    committer: GroupCommitter[int, int] = GroupCommitter(recorder)
    first, first_results = run_in_threads(committer.submit, [1])
    assert recorder.entered.wait(JOIN)  # caller 1's batch is being committed
    rest, results = run_in_threads(committer.submit, [2, 3, 4, 5])
    wait_until(lambda: committer.stats.waiting == 4)
    recorder.release.set()
    join(first + rest)
    assert first_results == {1: 10}
    assert results == {2: 20, 3: 30, 4: 40, 5: 50}
    assert recorder.batches[0] == [1]
    assert sorted(recorder.batches[1]) == [2, 3, 4, 5]  # one transaction for all four
    assert len(recorder.batches) == 2
    assert committer.stats.largest == 4 and committer.stats.waiting == 0


def test_an_error_for_one_item_reaches_only_its_caller() -> None:
    recorder = Recorder(hold_first=True,
                        fail=lambda item: ValueError(f"bad {item}") if item == 3 else None)
    committer: GroupCommitter[int, int] = GroupCommitter(recorder)
    first, _ = run_in_threads(committer.submit, [1])
    assert recorder.entered.wait(JOIN)
    rest, results = run_in_threads(committer.submit, [2, 3, 4])
    wait_until(lambda: committer.stats.waiting == 3)
    recorder.release.set()
    join(first + rest)
    assert isinstance(results[3], ValueError) and str(results[3]) == "bad 3"
    assert results[2] == 20 and results[4] == 40


def test_a_failing_commit_fails_every_caller_of_that_batch_only() -> None:
    entered, release = threading.Event(), threading.Event()
    state = {"broken": False}

    def commit(items: Sequence[int]) -> list[int]:
        if 1 in items:
            entered.set()
            assert release.wait(JOIN)
        if state["broken"] and 1 not in items:
            raise RuntimeError("database gone")
        return [item * 10 for item in items]

    committer: GroupCommitter[int, int] = GroupCommitter(commit)
    first, first_results = run_in_threads(committer.submit, [1])
    assert entered.wait(JOIN)
    rest, results = run_in_threads(committer.submit, [2, 3])
    wait_until(lambda: committer.stats.waiting == 2)
    state["broken"] = True  # the next transaction fails
    release.set()
    join(first + rest)
    assert first_results == {1: 10}
    assert all(isinstance(results[i], RuntimeError) for i in (2, 3))
    state["broken"] = False  # and the committer goes on once the database is back
    assert committer.submit(4) == 40


def test_a_wrong_number_of_outcomes_is_an_error_for_everyone() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(lambda items: [])
    with pytest.raises(RuntimeError, match="wrong number of outcomes"):
        committer.submit(1)


def test_max_batch_bounds_each_transaction_and_everyone_is_served() -> None:
    recorder = Recorder(hold_first=True)
    committer: GroupCommitter[int, int] = GroupCommitter(recorder, max_batch=2)
    first, _ = run_in_threads(committer.submit, [0])
    assert recorder.entered.wait(JOIN)
    rest, results = run_in_threads(committer.submit, list(range(1, 8)))
    wait_until(lambda: committer.stats.waiting == 7)
    recorder.release.set()
    join(first + rest)
    assert results == {i: i * 10 for i in range(1, 8)}
    assert max(len(batch) for batch in recorder.batches) == 2
    assert sorted(i for batch in recorder.batches for i in batch) == list(range(8))


def test_the_committer_waits_for_an_announced_caller() -> None:
    recorder = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(recorder, max_wait=JOIN)
    validated = threading.Event()
    announced = threading.Event()

    def slow_caller(item: int) -> int:
        with committer.announce():
            announced.set()
            assert validated.wait(JOIN)  # still "validating" when work arrives
            return committer.submit(item)

    def fast_caller(item: int) -> int:
        with committer.announce():
            return committer.submit(item)

    slow, slow_results = run_in_threads(slow_caller, [1])
    assert announced.wait(JOIN)
    fast, fast_results = run_in_threads(fast_caller, [2])
    wait_until(lambda: committer.stats.waiting == 1)
    assert recorder.batches == []  # the committer waits for the announced caller
    validated.set()
    join(slow + fast)
    assert recorder.batches == [[2, 1]]  # one transaction for both
    assert slow_results == {1: 10} and fast_results == {2: 20}


def test_an_announced_caller_that_leaves_without_submitting_releases_the_committer() -> None:
    recorder = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(recorder, max_wait=JOIN)
    leave = threading.Event()
    announced = threading.Event()

    def rejected_caller(_: int) -> None:
        with committer.announce():  # e.g. a request whose signature fails
            announced.set()
            assert leave.wait(JOIN)

    rejected, _ = run_in_threads(rejected_caller, [0])
    assert announced.wait(JOIN)
    fast, results = run_in_threads(lambda item: committer.submit(item), [5])
    wait_until(lambda: committer.stats.waiting == 1)
    leave.set()
    join(rejected + fast)
    assert results == {5: 50} and recorder.batches == [[5]]


def test_the_committer_stops_waiting_after_max_wait() -> None:
    recorder = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(recorder, max_wait=0.05)
    stay = threading.Event()
    announced = threading.Event()

    def lingering(_: int) -> None:
        with committer.announce():
            announced.set()
            assert stay.wait(JOIN)

    lingerer, _ = run_in_threads(lingering, [0])
    assert announced.wait(JOIN)
    try:
        assert committer.submit(3) == 30  # returns although the other never submits
    finally:
        stay.set()
        join(lingerer)


def test_nested_announcements_count_once() -> None:
    recorder = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(recorder, max_wait=6 * JOIN)
    with committer.announce(), committer.announce():
        assert committer.submit(1) == 10
    # Nothing is left announced: a later lone caller does not wait for anybody (a leaked
    # announcement would hold its batch for max_wait, far past the join below).
    later, results = run_in_threads(committer.submit, [2])
    join(later)
    assert results == {2: 20}


def test_many_callers_each_get_their_own_outcome() -> None:
    rng = random.Random(5)
    failing = {i for i in range(400) if rng.random() < 0.1}

    def commit(items: Sequence[int]) -> list[Any]:
        return [KeyError(i) if i in failing else i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(commit, max_batch=16)

    def caller(base: int) -> list[Any]:
        out: list[Any] = []
        for item in range(base, base + 25):
            with committer.announce():
                try:
                    out.append(committer.submit(item))
                except KeyError as exc:
                    out.append(exc)
        return out

    threads, results = run_in_threads(caller, list(range(0, 400, 25)))
    join(threads)
    for base, outcomes in results.items():
        for item, outcome in zip(range(base, base + 25), outcomes, strict=True):
            if item in failing:
                assert isinstance(outcome, KeyError) and outcome.args == (item,)
            else:
                assert outcome == item * 10
    assert committer.stats.items == 400
    assert committer.stats.waiting == 0


def test_committer_threads_end_when_idle_and_come_back() -> None:
    name = "gc-idle-test"
    committer: GroupCommitter[int, int] = GroupCommitter(
        Recorder(), idle_exit=0.05, name=name)

    def alive() -> int:
        return sum(1 for t in threading.enumerate() if t.name.startswith(name))

    assert alive() == 0  # none before the first submit
    assert committer.submit(1) == 10
    wait_until(lambda: alive() == 0)
    assert committer.submit(2) == 20  # a new one starts
    wait_until(lambda: alive() == 0)


def test_a_forked_child_commits_with_threads_of_its_own() -> None:
    import os

    committer: GroupCommitter[int, int] = GroupCommitter(Recorder(), idle_exit=JOIN)
    assert committer.submit(1) == 10  # the parent's committer thread is alive now
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is not here
        import signal

        signal.alarm(5)  # a child left waiting dies of SIGALRM: the test fails, never hangs
        code = 1
        try:
            code = 0 if committer.submit(2) == 20 else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
