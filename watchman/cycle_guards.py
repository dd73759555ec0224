"""The guards asked on a cycle's behalf: once before it starts, with their memory kept in
the cycle state and their answer logged (:func:`ask_guards`), and again before each file an
automatic download fetches (:func:`download_check`).

The guards themselves (idle time, VRAM, hours) are a stage,
:mod:`watchman.stages.guards`; this module is what the cycle does with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from watchman.clocks import Clock
from watchman.home import Home
from watchman.stages.guards import GuardVerdict, evaluate_guards
from watchman.state.cycle_state import load_cycle_state, update_guard_memory
from watchman.state.structured_log import StructuredLog

if TYPE_CHECKING:
    from watchman.config import ScheduleSettings, Settings

GuardEvaluator = Callable[["ScheduleSettings", Mapping[str, Any]], GuardVerdict]
"""Answers the guards from the schedule settings and their memory: the real guards
(:func:`watchman.stages.guards.evaluate_guards`) or a test's, or the scheduler's."""


def ask_guards(
    settings: Settings,
    home: Home,
    log: StructuredLog,
    cycle_id: str,
    guard_evaluator: GuardEvaluator | None,
    clock: Clock,
) -> GuardVerdict:
    """Ask the guards (with their memory from the cycle state, kept when it changed) and
    log their answer as the cycle's ``guards`` stage.

    Args:
        settings: the settings (``schedule`` is read).
        home: where the cycle state is.
        log: the structured log the answer is written to.
        cycle_id: the cycle the answer belongs to.
        guard_evaluator: replaces the real guards (None: the real ones, on ``clock``).
        clock: the clocks the real guards read.

    Returns:
        The guards' verdict, with their new memory.

    Raises:
        OSError: the changed guard memory cannot be written.
    """
    state = load_cycle_state(home.cycle_state)
    verdict = (guard_evaluator or partial(evaluate_guards, clock=clock))(
        settings.schedule, state.guard_memory
    )
    if dict(verdict.memory) != dict(state.guard_memory):
        update_guard_memory(home.cycle_state, dict(verdict.memory))
    log.write(
        "stage",
        cycle_id=cycle_id,
        phase="guards",
        allowed=verdict.allowed,
        reason=verdict.reason,
        checks=[{"name": c.name, "passed": c.passed, "detail": c.detail} for c in verdict.checks],
    )
    return verdict


def download_check(
    settings: Settings,
    verdict: GuardVerdict,
    guard_evaluator: GuardEvaluator | None,
    clock: Clock,
    *,
    force: bool,
) -> Callable[[], str | None]:
    """The check the downloads run before each file: the guards asked again (with the
    memory of the cycle's first ``verdict``), since a long download may outlast the
    machine's idle time. The check returns None when the file may start, else the guards'
    reason (a no ends the downloads, not the cycle); with ``force`` it always says yes."""

    def may_download() -> str | None:
        if force:
            return None
        again = (guard_evaluator or partial(evaluate_guards, clock=clock))(
            settings.schedule, verdict.memory
        )
        return None if again.allowed else again.reason

    return may_download
