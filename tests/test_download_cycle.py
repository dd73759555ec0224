"""Downloads in a cycle, end to end on the demo tree over 127.0.0.1: a FOUND model with
an embedded URL and sha256 is planned, fetched by --auto-download, logged and reported, a
broken file is reported and replaced, the next cycle finds the workflows ready, and the
tokens set for Civitai and Hugging Face appear in no file the tool wrote."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from typer.testing import CliRunner

from tests.remote.blob_server import BlobServer, safetensors_blob
from watchman.commands.cli import app

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_demo", REPO / "examples" / "run_demo.py")
assert _spec is not None and _spec.loader is not None
run_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_demo)

BLOB = safetensors_blob(300_000)
SHA = hashlib.sha256(BLOB).hexdigest()
CIVITAI_TOKEN = "civitai-SECRET-9f8e7d6c5b4a"
HF_TOKEN = "hf_SECRETabcdefghijklmnop"


def workflow(lora: str, url: str) -> str:
    return json.dumps(
        {
            "last_node_id": 1,
            "last_link_id": 0,
            "nodes": [
                {"id": 1, "type": "LoraLoader", "mode": 0, "inputs": [], "outputs": [],
                 "properties": {}, "widgets_values": [lora, 1.0, 1.0]},
                # An output: ComfyUI runs nothing from a prompt without one.
                {"id": 2, "type": "SaveImage", "mode": 0, "inputs": [], "outputs": [],
                 "properties": {}, "widgets_values": ["ComfyUI"]},
            ],
            "links": [],
            "models": [
                {"name": lora, "url": url, "directory": "loras", "hash": SHA,
                 "hash_type": "SHA256"}
            ],
            "version": 0.4,
        }
    )  # fmt: skip


def cycle(config: Path) -> dict:
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "--run-cycle", "--auto-download", "--json"],
        env={"CIVITAI_API_TOKEN": CIVITAI_TOKEN, "HF_TOKEN": HF_TOKEN},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def statuses(report: Path) -> dict[str, str]:
    document = json.loads(report.read_text())
    return {Path(w["path"]).name: w["status"] for w in document["workflows"]}


def test_auto_download_fetches_trusted_files_and_the_next_cycle_is_ready(tmp_path: Path) -> None:
    config = run_demo.prepare(tmp_path / "demo")
    text = config.read_text().replace("offline = true", "offline = false\nbackend_order = []")
    config.write_text(text + "[downloads]\nfree_space_margin_gb = 0\n")
    comfy = tmp_path / "demo" / "ComfyUI"
    workflows = comfy / "user" / "default" / "workflows"
    loras = comfy / "models" / "loras"
    loras.mkdir(parents=True, exist_ok=True)
    (loras / "login_page.safetensors").write_text("<!DOCTYPE html><html><title>Log in</title>")
    with BlobServer(BLOB) as server:
        (workflows / "wants_new_lora.json").write_text(
            workflow("fresh_lora.safetensors", f"{server.url}/fresh_lora.safetensors")
        )
        (workflows / "wants_broken_lora.json").write_text(
            workflow("login_page.safetensors", f"{server.url}/login_page.safetensors")
        )
        first = cycle(config)
        report = Path(first["report_json"])
        document = json.loads(report.read_text())
        assert first["counts"]["downloaded"] == 2
        names = {task["name"] for task in document["downloads"]}
        assert {"loras/fresh_lora.safetensors", "loras/login_page.safetensors"} <= names
        broken = [
            m for w in document["workflows"] for m in w["missing_models"]
            if m["state"] == "broken"
        ]  # fmt: skip
        assert [m["file_name"] for m in broken] == ["login_page.safetensors"]
        assert "html_page" in broken[0]["problem"]
        markdown = Path(first["report_markdown"]).read_text()
        assert "## Downloaded since last report" in markdown
        assert "Replace the broken file login_page.safetensors" in markdown
        sent = [r["headers"] for r in server.requests]
        second = cycle(config)
    assert (loras / "fresh_lora.safetensors").read_bytes() == BLOB
    assert (loras / "login_page.safetensors").read_bytes() == BLOB
    now = statuses(Path(second["report_json"]))
    assert now["wants_new_lora.json"] == "ready"
    assert now["wants_broken_lora.json"] == "ready"
    assert all("Authorization" not in headers for headers in sent)  # not their host
    home = tmp_path / "demo" / "home"
    log = (home / "state" / "download_log.jsonl").read_text().splitlines()
    assert {json.loads(line)["name"] for line in log} == {
        "loras/fresh_lora.safetensors",
        "loras/login_page.safetensors",
    }
    # No token in any file the tool wrote: state, reports, logs.
    hits = [
        path
        for path in home.rglob("*")
        if path.is_file()
        and (CIVITAI_TOKEN.encode() in path.read_bytes() or HF_TOKEN.encode() in path.read_bytes())
    ]
    assert hits == []
