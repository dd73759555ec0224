"""The guards asked on a cycle's behalf: their memory kept, their answer logged, and asked
again before each download."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from watchman.clocks import SystemClock
from watchman.config import ScheduleSettings, Settings
from watchman.cycle_guards import ask_guards, download_check
from watchman.home import Home
from watchman.stages.guards import GuardCheck, GuardVerdict
from watchman.state.cycle_state import load_cycle_state
from watchman.state.jsonl import read_jsonl
from watchman.state.structured_log import StructuredLog


class Guards:
    """Fake guards: say the answers given in turn, and remember the memory each was asked
    with."""

    def __init__(self, *answers: tuple[bool, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.asked_with: list[dict[str, Any]] = []

    def __call__(self, schedule: ScheduleSettings, memory: Mapping[str, Any]) -> GuardVerdict:
        self.asked_with.append(dict(memory))
        allowed, remembered = self.answers.pop(0)
        check = GuardCheck("awake", allowed, "up for an hour" if allowed else "just woke up")
        reason = None if allowed else f"awake: {check.detail}"
        return GuardVerdict(allowed, reason, (check,), remembered)


def _asked(tmp_path: Path, guards: Guards) -> tuple[GuardVerdict, Home]:
    home = Home(tmp_path / "home")
    home.ensure()
    log = StructuredLog(home.structured_log, lambda: 1_700_000_000.0)
    verdict = ask_guards(Settings.model_validate({}), home, log, "c1", guards, SystemClock())
    return verdict, home


def test_the_guards_memory_is_kept_in_the_cycle_state_for_the_next_cycle(tmp_path: Path):
    verdict, home = _asked(tmp_path, Guards((True, {"last_resume": 12.5})))
    assert verdict.allowed
    assert load_cycle_state(home.cycle_state).guard_memory == {"last_resume": 12.5}
    again = Guards((True, {"last_resume": 12.5}))
    _asked(tmp_path, again)
    assert again.asked_with == [{"last_resume": 12.5}]


def test_the_guards_answer_is_the_cycle_s_guards_stage_in_the_log(tmp_path: Path):
    verdict, home = _asked(tmp_path, Guards((False, {})))
    (line,) = read_jsonl(home.structured_log)
    assert (line["cycle_id"], line["phase"], line["allowed"]) == ("c1", "guards", False)
    assert line["reason"] == verdict.reason == "awake: just woke up"
    assert line["checks"] == [{"name": "awake", "passed": False, "detail": "just woke up"}]


def test_a_download_may_start_only_while_the_guards_still_say_yes() -> None:
    first = GuardVerdict(True, None, (), {"last_resume": 3.0})
    guards = Guards((True, {}), (False, {}))
    check = download_check(Settings.model_validate({}), first, guards, SystemClock(), force=False)
    assert check() is None
    assert check() == "awake: just woke up"
    assert guards.asked_with == [{"last_resume": 3.0}, {"last_resume": 3.0}]


def test_forced_downloads_do_not_ask_the_guards_again() -> None:
    first = GuardVerdict(False, "awake: just woke up", (), {})
    guards = Guards()
    check = download_check(Settings.model_validate({}), first, guards, SystemClock(), force=True)
    assert check() is None and guards.asked_with == []
