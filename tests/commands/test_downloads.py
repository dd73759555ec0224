"""`comfywatchman downloads` lists the plan, `download` runs it after review: exit status,
the download log, and SIGTERM mid-download leaving a part the next run resumes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from typer.testing import CliRunner

from tests.remote.blob_server import BlobServer, safetensors_blob
from watchman.comfy.model_key import ModelKey
from watchman.commands.cli import app
from watchman.commands.downloads import run_download
from watchman.remote.part_file import PARTIAL_SUFFIX
from watchman.resolve import SearchResult
from watchman.stages.download_plan import Wanted, build_plan, save_plan, token_services
from watchman.state.download_log import log_path, read_downloads

BLOB = safetensors_blob(1_500_000)
SHA = hashlib.sha256(BLOB).hexdigest()
PROJECT = Path(__file__).resolve().parents[2]


def plan_for(home: Path, models: Path, url: str, *, sha256: str = SHA) -> None:
    key = ModelKey.of("loras", "x.safetensors")
    wanted = [Wanted(key, "loras", "x.safetensors", ("w.json",))]
    resolutions = {
        key: SearchResult.from_json({
            "status": "FOUND", "backend": "civitai", "download_url": url,
            "file_name": "x.safetensors", "folder": "loras", "size": len(BLOB), "sha256": sha256,
        })
    }  # fmt: skip
    plan = build_plan(wanted, resolutions, lambda folder: (str(models / folder),), token_services(
        "https://civitai.com", "https://huggingface.co"))  # fmt: skip
    save_plan(home / "state", plan)


def environment(home: Path, tmp_path: Path) -> dict[str, str | None]:
    config = tmp_path / "config.toml"
    config.write_text("[downloads]\nfree_space_margin_gb = 0\n")
    return {
        "COMFYWATCHMAN_HOME": str(home),
        "COMFYWATCHMAN_CONFIG": str(config),
        "CIVITAI_API_TOKEN": None,
        "HF_TOKEN": None,
        "COLUMNS": "200",
    }


def invoke(home: Path, tmp_path: Path, *arguments: str):
    return CliRunner().invoke(app, list(arguments), env=environment(home, tmp_path))


def test_downloads_lists_the_plan_as_json_and_as_a_table(tmp_path: Path) -> None:
    home = tmp_path / "home"
    plan_for(home, tmp_path / "models", "https://civitai.com/api/download/models/1")
    listed = invoke(home, tmp_path, "downloads", "--json")
    assert listed.exit_code == 0
    (task,) = json.loads(listed.stdout)["tasks"]
    assert task["name"] == "loras/x.safetensors" and task["token"] == "civitai"
    table = invoke(home, tmp_path, "downloads")
    assert "loras/x.safetensors" in table.stdout and "civitai.com" in table.stdout


def test_download_all_fetches_logs_and_exits_zero(tmp_path: Path) -> None:
    home, models = tmp_path / "home", tmp_path / "models"
    with BlobServer(BLOB) as server:
        plan_for(home, models, f"{server.url}/x")
        result = invoke(home, tmp_path, "download", "--all", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["outcome"] == "downloaded"
    assert (models / "loras" / "x.safetensors").read_bytes() == BLOB
    (record,) = read_downloads(log_path(home / "state"))
    assert record.sha256 == SHA and record.trigger == "download"


def test_a_failed_download_exits_non_zero_and_says_why(tmp_path: Path) -> None:
    home, models = tmp_path / "home", tmp_path / "models"
    with BlobServer(BLOB) as server:
        plan_for(home, models, f"{server.url}/x", sha256="0" * 64)
        result = invoke(home, tmp_path, "download", "x.safetensors")
    assert result.exit_code == 1
    assert "hash_mismatch" in result.stdout or "sha256" in result.stdout
    assert not (models / "loras" / "x.safetensors").exists()


def test_a_device_name_is_shown_as_not_planned_and_refused_from_a_copied_plan(
    tmp_path: Path,
) -> None:
    home, models = tmp_path / "home", tmp_path / "models"
    key = ModelKey.of("loras", "CON.safetensors")
    wanted = [Wanted(key, "loras", "CON.safetensors", ("w.json",))]
    resolutions = {key: SearchResult.from_json({
        "status": "FOUND", "backend": "civitai", "download_url": "https://civitai.com/x",
        "file_name": "CON.safetensors", "folder": "loras", "size": 3})}  # fmt: skip
    plan = build_plan(wanted, resolutions, lambda folder: (str(models / folder),), {})
    save_plan(home / "state", plan)
    listed = invoke(home, tmp_path, "downloads")
    assert "not planned: loras:con.safetensors" in listed.stdout
    assert "device name Windows reserves" in listed.stdout
    # A plan written by another version (or edited by hand) still cannot write the name.
    with BlobServer(BLOB) as server:
        plan_for(home, models, f"{server.url}/x")
        document = json.loads((home / "state" / "download_plan.json").read_text())
        document["tasks"][0].update(name="loras/AUX.safetensors", file_name="AUX.safetensors")
        (home / "state" / "download_plan.json").write_text(json.dumps(document))
        result = invoke(home, tmp_path, "download", "--all", "--json")
    assert result.exit_code == 1
    (outcome,) = json.loads(result.stdout)
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "unsafe_target")
    assert "device name Windows reserves" in outcome["detail"]
    assert not any(models.rglob("AUX*"))


def test_an_unknown_name_or_no_name_is_one_sentence_and_a_usage_error(tmp_path: Path) -> None:
    # Exit 2 like every usage error: 1 would read as "a file failed" to a script.
    home = tmp_path / "home"
    plan_for(home, tmp_path / "models", "https://civitai.com/api/download/models/1")
    result = invoke(home, tmp_path, "download", "nope.safetensors")
    assert result.exit_code == 2
    assert "No planned download is named 'nope.safetensors'" in result.stderr
    result = invoke(home, tmp_path, "download")
    assert result.exit_code == 2
    assert "Name the downloads to run, or pass --all." in result.stderr


def test_sigterm_mid_download_exits_143_and_the_next_run_resumes(tmp_path: Path) -> None:
    home, models = tmp_path / "home", tmp_path / "models"
    env = {key: value for key, value in environment(home, tmp_path).items() if value is not None}
    env |= {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(PROJECT)}
    command = [sys.executable, "-m", "watchman", "download", "--all"]
    part = models / "loras" / ("x.safetensors" + PARTIAL_SUFFIX)
    gate = threading.Event()
    with BlobServer(BLOB, gate=gate) as server:
        plan_for(home, models, f"{server.url}/x")
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        gate.set()
        assert process.wait(timeout=60) == 143
        assert not (models / "loras" / "x.safetensors").exists()
        kept = part.stat().st_size
        assert 0 < kept < len(BLOB)
        server.gate = None
        finished = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=60)
        assert finished.returncode == 0, finished.stderr
        assert server.requests[-1]["headers"]["Range"] == f"bytes={kept}-"
    assert (models / "loras" / "x.safetensors").read_bytes() == BLOB


def test_a_person_watching_sees_progress_bars_and_the_daemon_gets_progress_lines(
    tmp_path: Path,
) -> None:
    import io

    from rich.console import Console

    from watchman.clocks import SystemClock
    from watchman.config_loading import load_settings
    from watchman.home import Home
    from watchman.remote.download_task import Progress
    from watchman.stages.downloads import ProgressLines

    home, models = Home(tmp_path / "home"), tmp_path / "models"
    settings = load_settings(None, {"downloads": {"free_space_margin_gb": 0}}, environ={})
    shown = io.StringIO()
    with BlobServer(BLOB) as server:
        plan_for(home.root, models, f"{server.url}/x")
        status, run = run_download(
            settings, home, [], run_all=True, interactive=True, clock=SystemClock(),
            console=Console(file=shown, force_terminal=True, width=120),
        )  # fmt: skip
    assert status == 0 and run is not None and run.results[0][1].outcome == "downloaded"
    assert "loras/x.safetensors: downloaded" in shown.getvalue()
    lines: list[dict] = []
    ticks = iter([0.0, 1.0, 2.0, 30.0])
    progress = ProgressLines(lambda event, **f: lines.append({"event": event, **f}),
                             lambda: next(ticks), every=10.0)  # fmt: skip
    target = models / "x.safetensors"
    for done, finished in ((100, False), (200, False), (300, False), (400, True)):
        progress(Progress(target, done, 400, done, finished=finished))
    assert [line["done_bytes"] for line in lines] == [100, 400]  # first, then the end
    assert lines[-1]["finished"] is True and lines[-1]["total_bytes"] == 400
