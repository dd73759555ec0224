"""SIGINT and SIGTERM stop ``--run-cycle`` in the middle of a long walk, not only at a
stage boundary: the inventory's walk of the model folders and the workflows stage's walk
of the watched folders each look at the stop before every folder. A fault hook
(``slow_walk/sitecustomize.py``) slows one walk of a real ``python -m watchman`` process
so the signal lands inside it; the cycle must then record itself as interrupted in that
walk, exit 130 or 143, and leave no report, cache or temporary file half-written."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.commands.comfy_tree import (
    child_environment,
    minimal_install,
    start_run_cycle,
    write_config,
)
from watchman.home import Home
from watchman.state.cycle_state import load_cycle_state

HOOK = Path(__file__).resolve().parent / "slow_walk"
WAIT_LIMIT = 60.0  # seconds; a bound against hangs, never a speed requirement
FOLDERS = 60

WORKFLOW = """{"1": {"class_type": "CheckpointLoaderSimple",
 "inputs": {"ckpt_name": "a.safetensors"}}}"""


def _tree(tmp_path: Path) -> tuple[Path, Path, Home]:
    """A ComfyUI install with 60 model folders and 60 workflow folders, and its config."""
    root = minimal_install(tmp_path / "ComfyUI")
    workflows = root / "user" / "default" / "workflows"
    for number in range(FOLDERS):
        models = root / "models" / "checkpoints" / f"family{number:03}"
        models.mkdir(parents=True)
        (models / f"model{number}.safetensors").write_bytes(b"\0" * 16)
        (workflows / f"set{number:03}").mkdir(parents=True)
        (workflows / f"set{number:03}" / "flow.json").write_text(WORKFLOW)
    home = Home(tmp_path / "home")
    config = write_config(tmp_path / "config.toml", home, root, "[search]", "offline = true")
    return config, root, home


@pytest.mark.parametrize(
    ("walk", "signal_number", "status"),
    [
        ("inventory", signal.SIGINT, 130),
        ("inventory", signal.SIGTERM, 143),
        ("workflows", signal.SIGINT, 130),
        ("workflows", signal.SIGTERM, 143),
    ],
)
def test_a_signal_during_a_long_walk_ends_the_cycle_in_the_walk(
    tmp_path: Path, walk: str, signal_number: int, status: int
) -> None:
    config, root, home = _tree(tmp_path)
    slowed, caller = {
        "inventory": (root / "models", "list_directory"),
        "workflows": (root / "user", "discover_workflow_files"),
    }[walk]
    started = tmp_path / "walk-started"
    environment = child_environment(HOOK)
    environment.update(
        WATCHMAN_TEST_SLOW_WALK=str(slowed),
        WATCHMAN_TEST_SLOW_CALLER=caller,
        WATCHMAN_TEST_WALK_STARTED=str(started),
    )
    process = start_run_cycle(config, tmp_path, environment)
    try:
        deadline = time.monotonic() + WAIT_LIMIT
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the slowed walk never started"
        process.send_signal(signal_number)
        _, errors = process.communicate(timeout=WAIT_LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == status, errors
    [record] = load_cycle_state(home.cycle_state).records
    assert record.outcome == "interrupted", errors
    # Ended by the walk's own check, inside the slowed tree, not at a stage boundary.
    assert record.reason is not None and record.reason.startswith("stop requested while"), errors
    assert str(slowed) in record.reason
    # Nothing half-written: no report, no workflow cache, no temporary file.
    assert not home.report_json.exists() and not home.report_markdown.exists()
    assert not home.workflow_cache.exists()
    assert not [path for path in home.root.rglob("*") if path.name.endswith(".tmp")]
