"""A stranger's named pipes, wherever the cycle reads files, never hang it.

``mkfifo custom_nodes/pack/__init__.py`` used to block the cycle forever in the node
inventory: a plain ``open()`` of a pipe waits for a writer. Each file a cycle reads from a
tree others write (node packs and their git metadata, ComfyUI's own node files, the
Manager's model list, workflows, model files) is here a pipe at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.demo_tree import prepare_demo
from tests.named_pipes import finishes, needs_fifo
from watchman.commands.cli import app

pytestmark = needs_fifo


def _replace_with_pipe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)
    return path


@pytest.fixture
def piped_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Path]]:
    """The demo tree with pipes where a cycle reads; returns the config and the pipes."""
    for variable in list(os.environ):
        if variable.startswith("COMFYWATCHMAN_") or variable in ("COMFYUI_ROOT", "HF_TOKEN"):
            monkeypatch.delenv(variable, raising=False)
    config = prepare_demo(tmp_path / "demo")
    comfyui = tmp_path / "demo" / "ComfyUI"
    nodes = comfyui / "custom_nodes"
    workflows = comfyui / "user" / "default" / "workflows"
    pipes = [
        _replace_with_pipe(nodes / "PipePack" / "__init__.py"),
        _replace_with_pipe(nodes / "PipePack" / "nodes.py"),
        _replace_with_pipe(nodes / "PipePack" / ".git" / "HEAD"),
        _replace_with_pipe(nodes / "PipePack" / "pyproject.toml"),
        _replace_with_pipe(nodes / "ComfyUI-DemoUpscale" / "pyproject.toml"),
        _replace_with_pipe(nodes / "ComfyUI-Manager" / "model-list.json"),
        _replace_with_pipe(comfyui / "comfy_extras" / "nodes_upscale_model.py"),
        _replace_with_pipe(comfyui / "models" / "loras" / "pipe.safetensors"),
        _replace_with_pipe(workflows / "pipe.json"),
        _replace_with_pipe(workflows / "pipe.png"),
    ]
    return config, pipes


def test_a_cycle_over_a_tree_full_of_pipes_finishes_and_reports(
    piped_demo: tuple[Path, list[Path]],
) -> None:
    config, pipes = piped_demo
    result = finishes(
        lambda: CliRunner().invoke(app, ["--config", str(config), "--run-cycle"]), pipes, 90
    )
    assert not isinstance(result, BaseException), result
    assert result.exit_code == 0, result.output
    report_path = config.parent / "home" / "output" / "reports" / "status" / "master_status.json"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    # The demo's real workflows are all there; the pipes were never taken for files.
    names = {Path(entry["path"]).name for entry in report["workflows"]}
    assert "ready_sdxl.json" in names
    assert not names & {"pipe.json", "pipe.png"}


def test_scan_names_a_pipe_it_was_pointed_at_as_not_a_file(tmp_path: Path) -> None:
    pipe = _replace_with_pipe(tmp_path / "workflow.json")
    result = finishes(lambda: CliRunner().invoke(app, ["scan", "--json", str(pipe)]), [pipe])
    assert not isinstance(result, BaseException), result
    assert result.exit_code == 1
    [entry] = json.loads(result.stdout)
    assert entry["errors"] == [f"{pipe}: it is a named pipe, not a regular file."]
