"""A cycle is recorded one way, however it ended and whoever ran it: the cycle state, one
log line, the metrics; and its result points at the report only when it ran."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from watchman.cycle_record import CycleRecorder, record_cycle
from watchman.home import Home
from watchman.stages.fingerprint import RunOutcome
from watchman.state.cycle_state import CycleRecord, CycleSummary, load_cycle_state
from watchman.state.jsonl import read_jsonl

WALL = 1_700_000_000.0


@dataclass
class StepClock:
    """A clock that moves only when told."""

    now: float = 100.0

    def monotonic(self) -> float:
        return self.now

    def boottime(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL + self.now


def _home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "home")
    home.ensure()
    return home


def _record(outcome: str = "skipped", counts: dict[str, int] | None = None) -> CycleRecord:
    return CycleRecord(
        cycle_id="c1",
        started_at="2026-11-30T01:00:00+00:00",
        duration_seconds=0.5,
        outcome=outcome,  # type: ignore[arg-type]
        reason="awake: just woke up",
        counts=counts or {},
        trigger="scheduler",
    )


def test_a_recorded_cycle_is_in_the_state_the_log_and_the_metrics(tmp_path: Path) -> None:
    home = _home(tmp_path)
    metrics = tmp_path / "comfywatchman.prom"
    state = record_cycle(home, metrics, _record("ran", {"workflows": 3, "errors": 1}), lambda: WALL)
    assert state.records[-1].cycle_id == "c1"
    assert load_cycle_state(home.cycle_state).records == state.records
    (line,) = read_jsonl(home.structured_log)
    assert (line["event"], line["outcome"], line["trigger"]) == ("cycle", "ran", "scheduler")
    assert (line["workflows_scanned"], line["errors"], line["resolved"]) == (3, 1, 0)
    assert metrics.is_file()


def test_metrics_that_cannot_be_written_do_not_keep_the_cycle_from_its_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = _home(tmp_path)
    unwritable = tmp_path / "a file" / "comfywatchman.prom"
    unwritable.parent.write_text("not a folder")
    state = record_cycle(home, unwritable, _record(), lambda: WALL)
    assert [record.cycle_id for record in state.records] == ["c1"]
    assert "Cannot write metrics" in caplog.text


def test_a_cycle_that_did_not_run_its_stages_points_at_no_report(tmp_path: Path) -> None:
    home = _home(tmp_path)
    clock = StepClock()
    recorder = CycleRecorder(home, None, "c2", "2026-11-30T01:00:00+00:00", "run-cycle", clock)
    clock.now += 2.25
    result = recorder.finish("skipped", "awake: just woke up")
    assert (result.record.outcome, result.record.duration_seconds) == ("skipped", 2.25)
    assert result.report_json is None and result.summary is None
    assert result.to_json()["summary"] == {}
    assert load_cycle_state(home.cycle_state).records == (result.record,)


def test_a_cycle_that_ran_points_at_its_report_with_its_counts_and_summary(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path)
    summary = CycleSummary(workflows=2)
    recorder = CycleRecorder(
        home, None, "c3", "2026-11-30T01:00:00+00:00", "run-cycle", StepClock()
    )
    result = recorder.finish("ran", None, RunOutcome({"workflows": 2}, summary))
    assert result.record.counts == {"workflows": 2}
    assert (result.report_json, result.report_markdown) == (home.report_json, home.report_markdown)
    assert result.summary == summary
