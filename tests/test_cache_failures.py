"""A cache the cycle cannot write is a warning, never the cycle's end: the report is
written, the warning is recorded (structured log, the cycle's record that ``status``
shows), and the next cycle runs in full and reports what a cold cycle reports.

The cache file is made unwritable by putting a folder where it goes (chmod does not stop
root, whom the tests may run as); a full disk, which keeps the old file whole, is played
by the write raising ``ENOSPC``.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.generate_tree import model_body
from tests.test_cycle_equivalence import Bench, _model_cache, _report, _unchanged, missing_model
from watchman.home import Home
from watchman.state.cycle_state import load_cycle_state

CACHES = {
    "model cache": lambda home: home.model_cache,
    "custom-nodes cache": lambda home: home.custom_nodes_cache,
    "workflow parse cache": lambda home: home.workflow_cache,
    "needs cache": lambda home: home.state_dir / "needs_cache.jsonl",
    "model health verdicts": lambda home: home.state_dir / "model_health.json",
    "listing of the model folders": lambda home: home.listing_cache,
    "listing of the input folders": lambda home: home.input_listing_cache,
    "resolution cache": lambda home: home.resolution_cache,
}


def _change_inputs(bench: Bench, edit: bool = True) -> None:
    """A missing model arrives and (``edit``) a workflow is edited: every cache has news
    to keep."""
    folder, value = missing_model(bench)
    (bench.models / folder / value).write_bytes(model_body(value))
    if not edit:
        return
    workflow = sorted(bench.workflows.rglob("*.json"))[0]
    workflow.write_text(workflow.read_text(encoding="utf-8") + "\n", encoding="utf-8")


def _stage_warnings(home: Home, cycle_id: str) -> list[str]:
    warnings: list[str] = []
    for line in home.structured_log.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("cycle_id") == cycle_id:
            warnings += event.get("cache_failures", [])
    return warnings


@pytest.mark.parametrize("cache", sorted(CACHES))
def test_a_cache_that_cannot_be_written_costs_the_cache_not_the_report(tmp_path, cache):
    bench = Bench(tmp_path)
    bench.incremental()
    _change_inputs(bench)
    target: Path = CACHES[cache](bench.home)
    intake_before = bench.home.intake_log.stat().st_size
    if target.exists():
        target.unlink()
    target.mkdir()  # no file can be written here, whoever runs the tests
    (target / "keep").write_text("a folder, not a cache", encoding="utf-8")

    result = bench.incremental()  # asserts the cycle ran
    assert result.record.reason is not None and f"The {cache} could not be" in result.record.reason
    [warning] = _stage_warnings(bench.home, result.record.cycle_id)
    assert warning.startswith(f"The {cache} could not be written ({target}: ")
    assert load_cycle_state(bench.home.cycle_state).records[-1].reason == result.record.reason
    assert not bench.home.fingerprint.exists()
    assert _report(bench.home) == _report(bench.cold())
    assert bench.home.intake_log.stat().st_size > intake_before  # the edit is taken in

    # Still unwritable: the next cycle runs in full, and so on until it can be written.
    again = bench.incremental()
    assert not _unchanged(bench.home, again)
    assert _report(bench.home) == _report(bench.cold())
    shutil.rmtree(target)
    healed = bench.incremental()
    assert not _unchanged(bench.home, healed) and healed.record.reason is None
    cold = bench.cold()
    assert _report(bench.home) == _report(cold)
    assert _model_cache(bench.home) == _model_cache(cold)
    assert _unchanged(bench.home, bench.incremental())


@pytest.mark.parametrize("writer", ["write_chunks_if_changed", "save_listing"])
def test_a_full_disk_keeps_the_old_cache_whole_and_it_is_not_believed(
    tmp_path, monkeypatch, writer
):
    from watchman.stages.inventory import stock

    bench = Bench(tmp_path)
    bench.incremental()
    _change_inputs(bench, edit=False)  # the workflows' needs alone may change
    before = bench.home.model_cache.read_bytes()

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(stock, writer, full)
        result = bench.incremental()
    assert "could not be written" in str(result.record.reason)
    if writer == "write_chunks_if_changed":
        # The old model cache stands for the models before the change: the needs made
        # under it are not reused in this cycle, nor in the next.
        assert bench.home.model_cache.read_bytes() == before
    assert _report(bench.home) == _report(bench.cold())
    healed = bench.incremental()
    assert not _unchanged(bench.home, healed)
    cold = bench.cold()
    assert _report(bench.home) == _report(cold)
    assert _model_cache(bench.home) == _model_cache(cold)
