"""When the scheduler runs the next cycle: pure decisions from the clock and a timetable.

Nothing here sleeps, reads a clock or touches a file; the scheduler's runner
(``watchman.commands.scheduler``) reads the clock, asks these functions, and hands the
answer to APScheduler. The rules:

- The first cycle runs at start.
- Cycles run on a grid counted from the start: ``anchor + k * interval``. A cycle that
  ends after one or more slots went by (a long cycle, a machine asleep) runs next at the
  first slot still ahead: missed slots are coalesced, never run one after another.
- A cycle skipped (by a guard, or by the run lock a cron ``--run-cycle`` holds) is retried
  ``retry_after_skip`` seconds later, unless the next slot comes sooner.
- A cycle that failed waits for the next slot: retrying sooner would fail the same way.
- After a resume from suspend, a run that fell due while the machine slept runs once, now
  (the catch-up): however many slots were missed, one run stands for them all. Its awake
  guard skips it until the resume grace is over, and that skip is retried soon. A run not
  yet due keeps its time, but the runner's own wait must be measured again
  (``Tick.RECHECK``): APScheduler's wait counts monotonic time, which stops in suspend.
- Jitter: a delay drawn by the runner in ``[0, jitter_seconds]`` is added to each slot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal

CycleOutcome = Literal["ran", "skipped", "failed"]


@dataclass(frozen=True)
class Timetable:
    """The scheduler's plan, in wall-clock seconds since the epoch.

    Attributes:
        anchor: where the grid of slots counts from (the scheduler's start).
        next_run: when the next cycle runs (jitter included).
    """

    anchor: float
    next_run: float


class Tick(Enum):
    """What a heartbeat should do."""

    WAIT = "wait"  # nothing is due; the runner's wait is still right
    RUN_NOW = "run_now"  # a run is due (or fell due while asleep): run it now, once
    RECHECK = "recheck"  # nothing is due, but the machine resumed: measure the wait again


@dataclass(frozen=True)
class Rules:
    """The schedule settings, in seconds."""

    interval: float
    retry_after_skip: float

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.retry_after_skip <= 0:
            raise ValueError("interval and retry_after_skip must be positive")


def at_start(now: float) -> Timetable:
    """The timetable of a scheduler starting at ``now``: the first cycle runs at once."""
    return Timetable(anchor=now, next_run=now)


def next_slot(timetable: Timetable, rules: Rules, now: float) -> float:
    """Return the first slot of the grid strictly after ``now``."""
    if now < timetable.anchor:
        return timetable.anchor + rules.interval
    passed = math.floor((now - timetable.anchor) / rules.interval) + 1
    slot = timetable.anchor + passed * rules.interval
    # Rounding can land the product on ``now`` itself; the slot must lie ahead, or a
    # cycle ending exactly on a slot would run again at once.
    if slot <= now:
        slot = timetable.anchor + (passed + 1) * rules.interval
    return slot if slot > now else now + rules.interval


def after_cycle(
    timetable: Timetable,
    rules: Rules,
    *,
    now: float,
    outcome: CycleOutcome,
    jitter: float = 0.0,
) -> Timetable:
    """Plan the next run once a cycle ended at ``now`` with ``outcome``.

    Returns:
        The next slot ahead (plus ``jitter``); for a skipped cycle the retry time
        instead, when it comes first.
    """
    regular = next_slot(timetable, rules, now) + max(0.0, jitter)
    if outcome == "skipped":
        return replace(timetable, next_run=min(now + rules.retry_after_skip, regular))
    return replace(timetable, next_run=regular)


def on_tick(timetable: Timetable, *, now: float, resumed: bool) -> Tick:
    """Decide what a heartbeat at ``now`` does (``resumed``: a resume was seen since the
    previous heartbeat). Not called while a cycle runs: the cycle's end plans the next."""
    if now >= timetable.next_run:
        return Tick.RUN_NOW
    return Tick.RECHECK if resumed else Tick.WAIT


def run_now(timetable: Timetable, now: float) -> Timetable:
    """The timetable once a due run was started at ``now``."""
    return replace(timetable, next_run=now)
