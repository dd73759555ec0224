"""The fuzzer, short: seeded Hypothesis runs over mutated workflows and hostile PNG / WebP
containers, in process, then one batch through a real ``scan --json`` and a real cycle.
``make faults`` runs the long version (tests/faults/run_faults.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.faults import fuzz
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import WorkflowError
from watchman.state.json_codec import dumps_json

# The fuzzed values include 100 kB strings; Hypothesis warns that their repr is long.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
SEEDS = fuzz.seed_documents()
# Seeded, yet the examples drawn also depend on the modules imported before: Hypothesis
# mixes in constants it finds in the project's loaded modules. A failure therefore prints
# its @reproduce_failure blob (the choices themselves), which replays it exactly when the
# test is run alone.
QUICK = settings(
    max_examples=60,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def read_in_process(data: bytes) -> None:
    """The reader's contract: a ParsedWorkflow that serialises, or a WorkflowError."""
    try:
        parsed = parse_workflow_bytes(data, "fuzzed")
    except WorkflowError as error:
        assert str(error)
        return
    dumps_json(parsed.to_json()).decode("utf-8")


@seed(9)
@QUICK
@given(fuzz.fuzzed_workflow(SEEDS))
def test_mutated_workflows_are_read_or_refused_never_a_crash(data: bytes) -> None:
    read_in_process(data)


@seed(9)
@QUICK
@given(fuzz.fuzzed_png(SEEDS))
def test_hostile_pngs_are_read_or_refused_never_a_crash(data: bytes) -> None:
    read_in_process(data)


@seed(9)
@QUICK
@given(fuzz.fuzzed_webp(SEEDS))
def test_hostile_webps_are_read_or_refused_never_a_crash(data: bytes) -> None:
    read_in_process(data)


@seed(9)
@QUICK
@given(
    st.sampled_from(fuzz.MEDIA_FUZZ_SUFFIXES).flatmap(
        lambda s: fuzz.fuzzed_media(SEEDS, s).map(lambda d: (s, d))
    )
)
def test_hostile_videos_and_audio_are_read_or_refused_never_a_crash(
    item: tuple[str, bytes],
) -> None:
    suffix, data = item
    try:
        read_in_process(fuzz.reader_input(suffix, data))
    except WorkflowError as error:
        assert str(error)


def test_a_fuzzed_batch_goes_through_a_real_scan_and_a_real_cycle(tmp_path: Path) -> None:
    if not SEEDS:
        pytest.skip("no seed workflows (examples/ is missing)")
    files: list[tuple[str, bytes]] = []

    @seed(11)
    @settings(QUICK, max_examples=40)
    @given(fuzz.fuzzed_file(SEEDS))
    def collect(item: tuple[str, bytes]) -> None:
        files.append(item)

    collect()
    batch = tmp_path / "batch"
    paths = fuzz.write_batch(batch, files)
    assert fuzz.check_scan(batch, paths) == []
    config, home = fuzz.cycle_setup(tmp_path / "cycle", batch)
    assert fuzz.check_cycle(config, home, paths) == []
