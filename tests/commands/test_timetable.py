"""The scheduler's decisions, on a fake clock: no thread, no sleep, no APScheduler."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchman.commands.timetable import (
    CycleOutcome,
    Rules,
    Tick,
    Timetable,
    after_cycle,
    at_start,
    next_slot,
    on_tick,
)

MINUTE = 60.0
HOUR = 3600.0
START = 1_700_000_000.0
RULES = Rules(interval=2 * HOUR, retry_after_skip=10 * MINUTE)


@dataclass
class FakeClock:
    """Wall time that the test moves by hand; ``sleep`` moves it as a suspend would."""

    wall: float = START
    resumed: bool = False

    def advance(self, seconds: float) -> None:
        self.wall += seconds

    def sleep(self, seconds: float) -> None:
        self.wall += seconds
        self.resumed = True


@dataclass
class Daemon:
    """The runner's loop reduced to its decisions: heartbeats ask ``on_tick``; a run asks
    ``after_cycle`` with the outcome the test's guard gives."""

    clock: FakeClock
    guard: list[CycleOutcome] = field(default_factory=list)
    runs: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.timetable = at_start(self.clock.wall)

    def heartbeat(self) -> Tick:
        tick = on_tick(self.timetable, now=self.clock.wall, resumed=self.clock.resumed)
        self.clock.resumed = False
        if tick is Tick.RUN_NOW:
            self.runs.append(self.clock.wall)
            outcome = self.guard.pop(0) if self.guard else "ran"
            self.timetable = after_cycle(
                self.timetable, RULES, now=self.clock.wall, outcome=outcome
            )
        return tick

    def live(self, seconds: float, step: float = 15.0) -> None:
        """Heartbeat every ``step`` seconds of awake time for ``seconds``."""
        end = self.clock.wall + seconds
        while self.clock.wall < end:
            self.heartbeat()
            self.clock.advance(step)


def test_the_first_cycle_runs_at_start() -> None:
    assert on_tick(at_start(START), now=START, resumed=False) is Tick.RUN_NOW


def test_a_cycle_that_ran_is_followed_an_interval_later() -> None:
    planned = after_cycle(at_start(START), RULES, now=START + 40, outcome="ran")
    assert planned.next_run == START + 2 * HOUR


def test_slots_missed_by_a_long_cycle_are_coalesced_into_the_next_one_ahead() -> None:
    planned = after_cycle(at_start(START), RULES, now=START + 5 * HOUR, outcome="ran")
    assert planned.next_run == START + 6 * HOUR


def test_a_skipped_cycle_is_retried_soon() -> None:
    planned = after_cycle(at_start(START), RULES, now=START + 30, outcome="skipped")
    assert planned.next_run == START + 30 + 10 * MINUTE


def test_a_skip_just_before_a_slot_waits_for_the_slot_not_the_retry() -> None:
    now = START + 2 * HOUR - 5 * MINUTE
    planned = after_cycle(at_start(START), RULES, now=now, outcome="skipped")
    assert planned.next_run == START + 2 * HOUR


def test_a_failed_cycle_waits_for_the_next_slot() -> None:
    planned = after_cycle(at_start(START), RULES, now=START + 30, outcome="failed")
    assert planned.next_run == START + 2 * HOUR


def test_jitter_delays_the_slot() -> None:
    planned = after_cycle(at_start(START), RULES, now=START, outcome="ran", jitter=42)
    assert planned.next_run == START + 2 * HOUR + 42


def test_nothing_due_and_no_resume_means_wait() -> None:
    timetable = Timetable(anchor=START, next_run=START + HOUR)
    assert on_tick(timetable, now=START + 10, resumed=False) is Tick.WAIT


def test_a_short_suspend_before_the_next_run_only_rechecks_the_wait() -> None:
    timetable = Timetable(anchor=START, next_run=START + HOUR)
    assert on_tick(timetable, now=START + 20 * MINUTE, resumed=True) is Tick.RECHECK


def test_asleep_through_three_slots_runs_one_catch_up_then_keeps_the_grid() -> None:
    clock = FakeClock()
    # The catch-up meets the awake guard's resume grace: skipped, retried, then runs.
    daemon = Daemon(clock, guard=["ran", "skipped", "ran"])
    daemon.live(HOUR)
    assert daemon.runs == [START]
    clock.sleep(7 * HOUR)  # three slots (2 h, 4 h, 6 h) pass while asleep
    woke = clock.wall
    daemon.live(HOUR)
    assert daemon.runs == [START, woke, woke + 10 * MINUTE]
    assert daemon.timetable.next_run == START + 10 * HOUR  # the grid ahead, not a backlog


def test_a_day_awake_runs_once_per_interval() -> None:
    clock = FakeClock()
    daemon = Daemon(clock)
    daemon.live(24 * HOUR - 1)
    assert daemon.runs == [START + k * 2 * HOUR for k in range(12)]


def test_the_rules_refuse_a_zero_interval() -> None:
    with pytest.raises(ValueError):
        Rules(interval=0, retry_after_skip=1)


@given(
    interval=st.floats(min_value=1, max_value=1e6),
    retry=st.floats(min_value=1, max_value=1e6),
    elapsed=st.floats(min_value=0, max_value=1e8),
    jitter=st.floats(min_value=0, max_value=1e4),
    outcome=st.sampled_from(["ran", "skipped", "failed"]),
)
def test_the_next_run_is_always_ahead_and_never_further_than_one_interval(
    interval: float, retry: float, elapsed: float, jitter: float, outcome: CycleOutcome
) -> None:
    rules = Rules(interval=interval, retry_after_skip=retry)
    now = START + elapsed
    planned = after_cycle(at_start(START), rules, now=now, outcome=outcome, jitter=jitter)
    assert planned.next_run > now
    assert planned.next_run <= now + interval + jitter + 1e-6 * max(1.0, now)
    if outcome == "skipped":
        assert planned.next_run <= now + retry + 1e-6 * max(1.0, now)
    slot = next_slot(planned, rules, now)
    assert slot > now
