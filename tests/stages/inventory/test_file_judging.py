"""Many files are judged one at a time while the disk answers at once, and several at once
while it makes each wait; the verdicts, their order and a stop do not depend on which."""

from __future__ import annotations

import threading

import pytest

from watchman.errors import CycleInterrupted
from watchman.stages.inventory.file_judging import (
    BATCH_FILES,
    FILES_IN_FLIGHT,
    PROBE_FILES,
    judge_all,
)


def still_clock() -> float:
    """A disk that answers at once: no time passes."""
    return 0.0


class CrawlingClock:
    """A disk that makes each read wait: a second passes between two looks."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class Recorder:
    """A judgement that records which thread judged each file, and says its length."""

    def __init__(self) -> None:
        self.threads: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, item: int, path: str) -> int:
        with self.lock:
            assert path not in self.threads, f"{path} judged twice"
            self.threads[path] = threading.current_thread().name
        return item * 2


def files(count: int) -> list[tuple[str, int]]:
    return [(f"/models/file{number}.safetensors", number) for number in range(count)]


def test_a_fast_disk_is_read_one_file_at_a_time_in_the_calling_thread() -> None:
    judge = Recorder()
    verdicts = judge_all(files(1000), judge, timer=still_clock)
    assert verdicts == [number * 2 for number in range(1000)]
    assert set(judge.threads.values()) == {threading.current_thread().name}


def test_a_slow_disk_has_the_rest_judged_in_threads_with_the_same_verdicts_in_order() -> None:
    judge = Recorder()
    verdicts = judge_all(files(1000), judge, timer=CrawlingClock())
    assert verdicts == [number * 2 for number in range(1000)]
    assert len(judge.threads) == 1000  # each file once
    workers = {name for name in judge.threads.values() if name.startswith("file-judging")}
    assert 1 <= len(workers) <= FILES_IN_FLIGHT
    first_runs = [judge.threads[path] for path, _ in files(2 * PROBE_FILES)]
    assert set(first_runs) == {threading.current_thread().name}  # the pace is measured first


def test_a_few_files_left_after_a_slow_run_are_not_worth_threads() -> None:
    judge = Recorder()
    judge_all(files(2 * PROBE_FILES + BATCH_FILES), judge, timer=CrawlingClock())
    assert set(judge.threads.values()) == {threading.current_thread().name}


def test_a_stop_in_the_threads_ends_the_judging_soon_and_says_so() -> None:
    stop = threading.Event()
    judged: list[str] = []
    lock = threading.Lock()

    def stopping(item: int, path: str) -> int:
        with lock:
            judged.append(path)
            if len(judged) == 2 * PROBE_FILES + 10:
                stop.set()  # Ctrl-C while the threads read
        return item

    with pytest.raises(CycleInterrupted, match="while checking"):
        judge_all(files(5000), stopping, stop_event=stop, timer=CrawlingClock())
    # At most the batches already running finish their current file each.
    assert len(judged) <= 2 * PROBE_FILES + 10 + FILES_IN_FLIGHT
    assert not [t for t in threading.enumerate() if t.name.startswith("file-judging")]


def test_an_error_a_judgement_lets_out_ends_the_call_and_leaves_no_thread_behind() -> None:
    def failing(item: int, path: str) -> int:
        if item == 2 * PROBE_FILES + 100:
            raise ValueError(f"a bug judging {path}")
        return item

    with pytest.raises(ValueError, match="a bug judging"):
        judge_all(files(3000), failing, timer=CrawlingClock())
    assert not [t for t in threading.enumerate() if t.name.startswith("file-judging")]


def test_nothing_to_judge_is_no_work() -> None:
    assert judge_all([], Recorder(), timer=CrawlingClock()) == []


def test_one_slow_run_between_fast_ones_starts_no_thread() -> None:
    """Another process taking the core for a moment is not a slow disk."""
    looks = iter([0.0, 1.0] + [5.0] * 100)  # the first run slow, every later one instant
    judge = Recorder()
    judge_all(files(2000), judge, timer=lambda: next(looks))
    assert set(judge.threads.values()) == {threading.current_thread().name}
