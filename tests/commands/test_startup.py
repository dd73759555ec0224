"""Start-up: a cron ``--run-cycle`` whose inputs did not change imports only what it uses.

Checked the way issue 14 asks, with ``python -X importtime``: the third cycle of a real
process stops at the fingerprint and never imports the settings validation (pydantic),
the command-line parser (typer), the HTTP stack, the resolver, the workflow readers, the
report, or rich (no person watches it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.commands.comfy_tree import age_tree, child_environment, minimal_install, write_config
from watchman.home import Home

NOT_NEEDED = (
    "pydantic",  # the settings come from their memo (state/settings_memo.py)
    "typer",  # the arguments are read by commands/quick_cycle.py
    "httpx",
    "rich",  # no person watches cron: plain lines, no tables
    "psutil",  # asked only about a temporary file a writer left
    "watchman.resolve.orchestrator",
    "watchman.comfy.workflow_ui",
    "watchman.reporting.report",
    "watchman.stages.needs",
)


def _run_cycle(config: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *options, "-m", "watchman", "--config", str(config), "--run-cycle"],
        capture_output=True,
        text=True,
        env=child_environment(),
        timeout=300,
        check=False,
    )


def _imported(importtime: str) -> set[str]:
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_an_unchanged_cron_cycle_imports_neither_the_http_stack_nor_the_stages(
    tmp_path: Path,
) -> None:
    root = minimal_install(tmp_path / "ComfyUI")
    (root / "models" / "checkpoints").mkdir(parents=True)
    (root / "models" / "checkpoints" / "a.safetensors").write_bytes(b"\0" * 16)
    workflows = root / "user" / "default" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "flow.json").write_text(
        '{"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "b.safetensors"}}}'
    )
    home = Home(tmp_path / "home")
    config = write_config(tmp_path / "config.toml", home, root, "[search]", "offline = true")
    first = _run_cycle(config)
    assert first.returncode == 0, first.stderr
    # Stamps taken within the file system's granularity of a change are not trusted:
    # age the tree's and the state's times so the next cycle may stop at the fingerprint.
    age_tree(tmp_path)
    _run_cycle(config)  # sees the aged stamps as a change, runs in full, fingerprints them
    again = _run_cycle(config, "-X", "importtime")
    assert again.returncode == 0, again.stderr
    imported = _imported(again.stderr)
    assert "watchman.cycle" in imported  # the check saw the cycle's own imports
    assert [name for name in NOT_NEEDED if name in imported] == []
    assert '"unchanged":true' in home.structured_log.read_text(encoding="utf-8").replace(" ", "")
