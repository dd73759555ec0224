"""The Prometheus textfile written after each cycle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watchman.state.cycle_state import CycleRecord, CycleState
from watchman.state.metrics import reason_code, render_metrics, write_metrics_textfile

# One sample line of the text exposition format: name, optional labels, a number.
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$')


def record(outcome: str, started_at: str, **values: object) -> CycleRecord:
    return CycleRecord(
        cycle_id=started_at,
        started_at=started_at,
        duration_seconds=float(values.get("duration", 2.5)),  # type: ignore[arg-type]
        outcome=outcome,  # type: ignore[arg-type]
        reason=values.get("reason"),  # type: ignore[arg-type]
        counts=values.get("counts", {}),  # type: ignore[arg-type]
    )


def samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        found[name] = float(value)
    return found


def test_a_cycle_that_ran_reports_duration_outcome_counts_and_last_success() -> None:
    state = CycleState(
        records=(
            record(
                "ran",
                "2026-01-02T03:04:05+00:00",
                duration=12.5,
                counts={"workflows_scanned": 7, "models_missing": 2},
            ),
        ),
        next_run="2026-01-02T05:04:05+00:00",
    )
    values = samples(render_metrics(state))
    assert values["comfywatchman_last_cycle_duration_seconds"] == 12.5
    assert values['comfywatchman_last_cycle_outcome{outcome="ran"}'] == 1
    assert values['comfywatchman_last_cycle_outcome{outcome="skipped"}'] == 0
    assert values['comfywatchman_last_cycle_count{name="workflows_scanned"}'] == 7
    assert values['comfywatchman_last_cycle_count{name="models_missing"}'] == 2
    assert values["comfywatchman_last_cycle_start_timestamp_seconds"] == 1767323045
    assert values["comfywatchman_last_success_timestamp_seconds"] == 1767323045 + 12.5
    assert values["comfywatchman_next_run_timestamp_seconds"] == 1767323045 + 7200
    assert not any("skipped{" in name for name in values)


def test_a_skip_is_labelled_with_the_guard_and_keeps_the_earlier_success() -> None:
    state = CycleState(
        records=(
            record("ran", "2026-01-02T03:00:00Z", duration=1),
            record("failed", "2026-01-02T04:00:00Z", reason="ComfyUI folder vanished"),
            record("skipped", "2026-01-02T05:00:00Z", reason="vram: no GPU has 4 GiB free"),
        )
    )
    text = render_metrics(state)
    values = samples(text)
    assert values['comfywatchman_last_cycle_skipped{reason="vram"}'] == 1
    assert values['comfywatchman_last_cycle_outcome{outcome="skipped"}'] == 1
    assert values["comfywatchman_last_success_timestamp_seconds"] == 1767322801
    assert values['comfywatchman_recent_cycles{outcome="failed"}'] == 1
    assert values['comfywatchman_recent_cycles{outcome="ran"}'] == 1
    assert "# TYPE comfywatchman_last_cycle_skipped gauge" in text
    assert "no GPU has" not in text


def test_an_empty_state_still_writes_a_valid_file() -> None:
    values = samples(render_metrics(CycleState()))
    assert values == {
        'comfywatchman_recent_cycles{outcome="ran"}': 0,
        'comfywatchman_recent_cycles{outcome="skipped"}': 0,
        'comfywatchman_recent_cycles{outcome="failed"}': 0,
        'comfywatchman_recent_cycles{outcome="interrupted"}': 0,
    }


def test_an_unreadable_time_is_left_out_rather_than_written_as_zero() -> None:
    values = samples(render_metrics(CycleState(records=(record("ran", "yesterday"),))))
    assert "comfywatchman_last_cycle_start_timestamp_seconds" not in values
    assert "comfywatchman_last_success_timestamp_seconds" not in values


def test_label_values_are_escaped() -> None:
    state = CycleState(records=(record("ran", "2026-01-02T03:00:00Z", counts={'a"b\\c': 1}),))
    assert 'comfywatchman_last_cycle_count{name="a\\"b\\\\c"} 1' in render_metrics(state)


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("awake: booted 2 min ago", "awake"),
        ("lock: another cycle is running", "lock"),
        ("Something without a code", "other"),
        (None, "other"),
    ],
)
def test_reason_codes_are_the_guard_names(reason: str | None, code: str) -> None:
    assert reason_code(reason) == code


def test_the_textfile_is_replaced_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "textfile" / "comfywatchman.prom"
    write_metrics_textfile(target, CycleState(records=(record("ran", "2026-01-02T03:00:00Z"),)))
    first = target.read_text()
    write_metrics_textfile(
        target, CycleState(records=(record("skipped", "2026-01-02T05:00:00Z", reason="awake: x"),))
    )
    assert target.read_text() != first
    assert 'comfywatchman_last_cycle_skipped{reason="awake"} 1' in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["comfywatchman.prom"]
