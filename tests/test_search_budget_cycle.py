"""The search budget in a cycle, over 127.0.0.1: the model more workflows need is asked
first, the one past the budget waits with an action that says so, and the next cycle asks
it even though nothing changed (the fingerprint does not pass it off as done)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.commands.comfy_tree import minimal_install, write_config
from tests.resolve.servers import ReplayServer, Reply
from watchman.commands.cli import app
from watchman.home import Home

SEARCH = "/api/v1/models"


def api_workflow(checkpoint: str) -> str:
    return json.dumps(
        {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}}}
    )


def run_cycle(config: Path) -> dict:
    result = CliRunner().invoke(app, ["--config", str(config), "--run-cycle", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def searched_names(server: ReplayServer) -> set[str]:
    return {query for seen in server.requests for query in seen.query.get("query", [])}


def test_the_budget_asks_the_most_needed_model_first_and_the_next_cycle_asks_the_rest(
    tmp_path: Path,
) -> None:
    root = minimal_install(tmp_path / "ComfyUI")
    workflows = root / "user" / "default" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "rare.json").write_text(api_workflow("rarely_needed.safetensors"))
    for number in range(3):
        (workflows / f"common{number}.json").write_text(api_workflow("often_needed.safetensors"))
    home = Home(tmp_path / "home")
    with ReplayServer() as server:
        server.route("GET", SEARCH, Reply(200, {"items": []}))
        config = write_config(
            tmp_path / "config.toml",
            home,
            root,
            "[search]",
            'backend_order = ["civitai"]',
            "max_models_per_cycle = 1",
            "max_parallel_models = 1",
            "[civitai]",
            f'base_url = "{server.url}"',
        )
        first_cycle = run_cycle(config)
        first = searched_names(server)
        report = json.loads(home.report_json.read_text(encoding="utf-8"))
        markdown = home.report_markdown.read_text(encoding="utf-8")
        server.requests.clear()
        second_cycle = run_cycle(config)  # nothing changed on disk
        second = searched_names(server)
    assert any("often" in name for name in first)
    assert not any("rarely" in name for name in first)
    assert (first_cycle["counts"]["deferred"], first_cycle["counts"]["errors"]) == (1, 0)
    assert second_cycle["counts"]["deferred"] == 0
    assert report["resolution_note"].startswith("1 of 2 missing models wait for the next cycle")
    (rare,) = [entry for entry in report["workflows"] if entry["path"].endswith("rare.json")]
    assert rare["missing_models"][0]["resolution"]["reason"] == "deferred"
    assert "Wait for the next cycle to search for rarely_needed.safetensors" in markdown
    # Not asked is not an error: the summary and the page say it is not resolved yet.
    assert report["summary"]["resolutions"] == {"NOT_FOUND": 1, "unresolved": 1}
    assert "`rarely_needed.safetensors` (checkpoints): unresolved, deferred" in markdown
    # The second cycle asked the model left over, and not again the one answered before.
    assert any("rarely" in name for name in second)
    assert not any("often" in name for name in second)
    final = json.loads(home.report_json.read_text(encoding="utf-8"))
    assert final["resolution_note"] is None
