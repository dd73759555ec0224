"""``comfywatchman resolve`` and the cycle give the same answer on the same install.

Before, ``resolve`` built its own resolver with no detected ComfyUI root and so no known
sources: a model ComfyUI-Manager's model list names was NOT_FOUND by hand and FOUND in the
cycle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watchman.commands.cli import app

MODEL = "flux1-dev-fp8.safetensors"
URL = f"https://huggingface.co/Comfy-Org/flux1-dev/resolve/main/{MODEL}"


def comfyui_with_a_manager_model_list(folder: Path) -> Path:
    (folder / "comfy").mkdir(parents=True)
    (folder / "main.py").write_text("", encoding="utf-8")
    (folder / "nodes.py").write_text(
        'NODE_CLASS_MAPPINGS = {"CheckpointLoaderSimple": 1}\n', encoding="utf-8"
    )
    (folder / "models" / "checkpoints").mkdir(parents=True)
    manager = folder / "custom_nodes" / "ComfyUI-Manager"
    manager.mkdir(parents=True)
    entry = {"type": "checkpoint", "save_path": "checkpoints", "filename": MODEL, "url": URL}
    (manager / "model-list.json").write_text(json.dumps({"models": [entry]}), "utf-8")
    workflows = folder / "user" / "default" / "workflows"
    workflows.mkdir(parents=True)
    workflow = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": MODEL}}}
    (workflows / "flux.json").write_text(json.dumps(workflow), encoding="utf-8")
    return folder


@pytest.fixture
def detected_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ComfyUI tree found by detection (the command starts inside it), no root set."""
    root = comfyui_with_a_manager_model_list(tmp_path / "ComfyUI")
    config = tmp_path / "config.toml"
    config.write_text(
        "[comfyui]\nuse_server = false\n"
        "[schedule]\nboot_grace_minutes = 0\nresume_grace_minutes = 0\nmin_vram_gb = 0\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COMFYWATCHMAN_CONFIG", str(config))
    monkeypatch.setenv("COMFYWATCHMAN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(root)
    return tmp_path


def test_resolve_by_hand_finds_what_the_cycle_finds_in_the_manager_model_list(
    detected_install: Path,
) -> None:
    by_hand = CliRunner().invoke(
        app, ["resolve", MODEL, "--folder", "checkpoints", "--offline", "--json"]
    )
    assert by_hand.exit_code == 0, by_hand.stderr
    hand = json.loads(by_hand.stdout)
    cycle = CliRunner().invoke(app, ["--offline", "--run-cycle", "--json"])
    assert cycle.exit_code == 0, cycle.stderr
    report = detected_install / "home" / "output" / "reports" / "status" / "master_status.json"
    entry = json.loads(report.read_text(encoding="utf-8"))["workflows"][0]
    in_cycle = next(m for m in entry["missing_models"] if m["value"] == MODEL)["resolution"]
    assert hand["status"] == in_cycle["status"] == "FOUND"
    assert hand["download_url"] == in_cycle["download_url"] == URL
