"""Judging many files: one at a time while the disk answers at once, several in flight
while it makes each one wait.

A cold cycle opens every model file's first bytes (100,000 at the scale issue 14 names).
When those bytes are in the page cache each open and read takes a few microseconds, and
worker threads only add the cost of handing the interpreter lock back and forth (about
40 % slower, measured). When they are not (the first cycle after a boot, a spinning
disk, a network share), each file waits on the device, and a handful of opens in flight
let it serve them together: half the time on this project's VM with the page cache
dropped. So the files are judged in the calling thread by runs of
:data:`PROBE_FILES`, and when :data:`SLOW_RUNS` runs in a row took longer per file than
:data:`SLOW_FILE_SECONDS` the rest goes to :data:`FILES_IN_FLIGHT` threads. The
verdicts do not depend on which way a file was judged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from watchman.errors import CycleInterrupted

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Verdict = TypeVar("Verdict")

PROBE_FILES = 256
"""Files judged in the calling thread before the pace is looked at, and again after each
run that went fast."""

SLOW_FILE_SECONDS = 40e-6
"""Above this mean time per file the disk is waited on: the rest is judged in threads.
A file whose bytes are cached takes about 10 microseconds here; one read from the
device, hundreds."""

SLOW_RUNS = 2
"""Runs in a row that must be slow before threads are started."""

FILES_IN_FLIGHT = 4
"""Threads judging at once when the disk is slow: enough to keep a device's queue busy,
few enough not to crowd a render's own reads (16 was slower than 4 here)."""

BATCH_FILES = 64
"""Files one thread judges per task: small enough to stop soon, large enough that the
tasks' own cost is nothing."""


def judge_all(
    items: Sequence[tuple[str, Item]],
    judge: Callable[[Item, str], Verdict],
    *,
    stop_event: threading.Event | None = None,
    timer: Callable[[], float] | None = None,
) -> list[Verdict]:
    """Return ``judge(item, path)`` for each ``(path, item)`` of ``items``, in their order.

    Takes the files to judge, the judgement (it must catch what one file
    may raise: an exception leaving it ends the whole call, as it would serially) and,
    the clock whose pace decides between the two ways (None: the process's performance
    counter; tests pass their own). ``stop_event``, once
    set, ends the work before the next file is opened.

    Raises:
        CycleInterrupted: ``stop_event`` was set before every file was judged.
    """
    timer = timer or time.perf_counter  # a pace, never a date: nothing is recorded
    verdicts: list[Verdict] = []
    position = 0
    slow_runs = 0
    while position < len(items):
        run = items[position : position + PROBE_FILES]
        started = timer()
        _judge_run(run, judge, verdicts, stop_event)
        position += len(run)
        pace = (timer() - started) / len(run)
        # Two slow runs in a row: one alone may be another process taking the core.
        slow_runs = slow_runs + 1 if pace > SLOW_FILE_SECONDS else 0
        if slow_runs >= SLOW_RUNS and len(items) - position > BATCH_FILES:
            logger.debug(
                "The disk makes each file wait (%.0f µs a file): the other %d files are "
                "read %d at a time.", pace * 1e6, len(items) - position, FILES_IN_FLIGHT,
            )  # fmt: skip
            _judge_in_threads(items[position:], judge, verdicts, stop_event)
            break
    return verdicts


def _judge_run(
    run: Sequence[tuple[str, Item]],
    judge: Callable[[Item, str], Verdict],
    verdicts: list[Verdict],
    stop_event: threading.Event | None,
    halt: threading.Event | None = None,
) -> None:
    """Judge ``run`` in order, appending to ``verdicts``; stop early, quietly, once
    ``halt`` is set (the threads' way out), and loudly once ``stop_event`` is.

    Raises:
        CycleInterrupted: ``stop_event`` was set before a file was opened.
    """
    for path, item in run:
        if halt is not None and halt.is_set():
            return
        if stop_event is not None and stop_event.is_set():
            raise CycleInterrupted(f"stop requested while checking {path}")
        verdicts.append(judge(item, path))


def _judge_in_threads(
    items: Sequence[tuple[str, Item]],
    judge: Callable[[Item, str], Verdict],
    verdicts: list[Verdict],
    stop_event: threading.Event | None,
) -> None:
    """Judge ``items`` in :data:`FILES_IN_FLIGHT` threads, appending to ``verdicts`` in
    the order of ``items``.

    Each task judges a slice into a list of its own (no lock on the shared one); the
    lists are joined in the slices' order. On an interruption or an error the tasks not
    yet started are cancelled and the running ones end within their batch, since each
    looks at ``stop_event`` before every file.
    """
    halt = threading.Event()  # set on the way out: the running batches stop early

    def batch(part: Sequence[tuple[str, Item]]) -> list[Verdict]:
        found: list[Verdict] = []
        _judge_run(part, judge, found, stop_event, halt)
        return found

    pool = ThreadPoolExecutor(FILES_IN_FLIGHT, thread_name_prefix="file-judging")
    try:
        tasks: list[Future[list[Verdict]]] = [
            pool.submit(batch, items[start : start + BATCH_FILES])
            for start in range(0, len(items), BATCH_FILES)
        ]
        for task in tasks:
            verdicts.extend(task.result())
    finally:
        halt.set()
        pool.shutdown(wait=True, cancel_futures=True)
