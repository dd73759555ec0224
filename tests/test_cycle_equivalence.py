"""Every kind of cycle gives the report a cold cycle gives on the same tree.

Seeded random edits (models and workflows added, removed, renamed, rewritten in place; a
folder of models added or removed; a folder named as a model; a node pack enabled or
disabled) are
applied to a copy of the demo tree between cycles of one home; after each round the
incremental cycle's report and model cache are compared with those of a cold cycle in a
fresh home. A model rewritten in place (same name, its folder's stamp unchanged) is seen
at the next full re-stat, which the clock then makes due; an unchanged cycle stops at the
fingerprint and leaves the report as it was. A pack script rewritten in place to register
a node type a workflow uses makes the next cycle run in full.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.generate_tree import model_body
from tests.local_http import answering
from watchman.config import Settings
from watchman.config_loading import load_settings
from watchman.cycle import run_cycle
from watchman.cycle_record import CycleResult
from watchman.environment import Environment
from watchman.home import Home
from watchman.reporting.document import stable_part
from watchman.stages.guards import GuardVerdict


def _load_run_demo() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "examples" / "run_demo.py"
    spec = importlib.util.spec_from_file_location("run_demo_for_equivalence", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_demo = _load_run_demo()

HOUR = 3600.0


class SteppedClock:
    """A wall clock the test moves; monotonic readings follow it."""

    def __init__(self, wall: float) -> None:
        self.now = wall

    def monotonic(self) -> float:
        return self.now

    def boottime(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now


def _allow(*_: Any) -> GuardVerdict:
    return GuardVerdict(allowed=True, reason=None, checks=(), memory={})


class Bench:
    """A demo tree, its settings, a clock and a home kept across cycles."""

    def __init__(self, tmp_path: Path) -> None:
        config = run_demo.prepare(tmp_path / "demo")
        self.root = config.parent / "ComfyUI"
        self.models = self.root / "models"
        self.workflows = self.root / "user" / "default" / "workflows"
        self.settings: Settings = load_settings(config, environ={})
        self.clock = SteppedClock(time.time() + 60)
        self.tmp_path = tmp_path
        self.home = Home(tmp_path / "home")
        self.cold_homes = 0
        # The scheduler hands its freed memory back to the system between cycles; a
        # one-shot --run-cycle simply exits. Both read their listings back from the file.
        self.trigger = "run-cycle"

    def cycle(self, home: Home) -> CycleResult:
        # Each cycle a minute later than the last: no listing is racy unless a test says so.
        self.clock.now += 60
        environment = Environment(
            environ={}, home_dir=self.tmp_path, cwd=self.tmp_path, clock=self.clock
        )
        result = run_cycle(
            self.settings,
            home,
            guard_evaluator=_allow,
            environment=environment,
            trigger=self.trigger,
        )
        assert result.record.outcome == "ran", result.record.reason
        return result

    def incremental(self) -> CycleResult:
        return self.cycle(self.home)

    def cold(self) -> Home:
        """Run a cycle in a fresh home; return the home."""
        self.cold_homes += 1
        home = Home(self.tmp_path / f"cold-{self.cold_homes}")
        self.cycle(home)
        return home


def missing_model(bench: Bench) -> tuple[str, str]:
    """The folder and name of a model the last report says is missing, one that can
    simply be put in its folder (no subfolder, the folder exists)."""
    return next(
        (need["folder"], need["value"])
        for entry in _report(bench.home)["workflows"]
        for need in entry.get("missing_models", [])
        if need.get("folder") and need.get("state") == "missing" and "/" not in need["value"]
        if (bench.models / need["folder"]).is_dir()
    )


def _report(home: Home) -> dict[str, Any]:
    return stable_part(json.loads(home.report_json.read_text(encoding="utf-8")))


def _model_cache(home: Home) -> dict[str, Any]:
    return json.loads(home.model_cache.read_text(encoding="utf-8"))


def _model_files(bench: Bench) -> list[Path]:
    return sorted(path for path in bench.models.rglob("*") if path.is_file())


def _edit(bench: Bench, rng: random.Random, names: list[str]) -> bool:
    """Apply one random edit; return True when it rewrote a model in place."""
    models = _model_files(bench)
    workflows = sorted(bench.workflows.rglob("*.json"))
    kind = rng.choice(
        [
            *("add_model", "remove_model", "rename_model", "rewrite_model"),
            *("edit_workflow", "add_workflow", "remove_workflow", "rename_workflow"),
            *("folder_named_as_model", "toggle_pack", "model_subfolder", "input_file"),
            "model_folder",
        ]
    )
    missing = [
        (need["folder"], need["value"])
        for entry in _report(bench.home)["workflows"]
        for need in entry.get("missing_models", [])
        if need.get("folder") and need.get("state") == "missing"
    ]
    if kind == "model_folder":
        # A whole model folder appears (one of ComfyUI's, or a pack's models/<name>) with
        # a model in it, or one vanishes: no listing of it stood for it before.
        absent = [
            name
            for name in ("loras", "vae", "controlnet", "ipadapter", "pack_models")
            if not (bench.models / name).exists()
        ]
        if absent and rng.random() < 0.7:
            folder = bench.models / rng.choice(absent)
            folder.mkdir()
            (folder / rng.choice(names)).write_bytes(b"model")
        else:
            shutil.rmtree(rng.choice([p for p in bench.models.iterdir() if p.is_dir()]))
    elif kind == "input_file":
        # Only ComfyUI's input folder changes: the image a workflow names comes or goes.
        image = bench.root / "input" / "portrait.png"
        if image.exists():
            image.rename(image.with_name("elsewhere.png"))
        else:
            (bench.root / "input" / "elsewhere.png").rename(image)
    elif kind == "folder_named_as_model" and missing:
        # Only the subfolders change (no model file): a model that is a folder is present.
        folder, value = rng.choice(missing)
        (bench.models / folder / value.replace("\\", "/")).mkdir(parents=True, exist_ok=True)
    elif kind == "model_subfolder":
        # A folder of models appears, or one vanishes with its files (a directory
        # listing gone, not one listed again).
        folders = [p for p in bench.models.glob("*/*") if p.is_dir() and any(p.iterdir())]
        if folders:
            shutil.rmtree(rng.choice(folders))
        else:
            folder = rng.choice([p for p in bench.models.iterdir() if p.is_dir()])
            target = folder / f"sub_{rng.randrange(10**6)}" / rng.choice(names)
            target.parent.mkdir()
            target.write_bytes(b"model")
    elif kind == "toggle_pack":
        # Only the installed node types change: a pack enabled or disabled.
        nodes = bench.root / "custom_nodes"
        enabled, disabled = nodes / "ComfyUI-DemoSwitch", nodes / "ComfyUI-DemoSwitch.disabled"
        if enabled.exists():
            enabled.rename(disabled)
        elif disabled.exists():
            disabled.rename(enabled)
    elif kind == "add_model" or (not models and kind.endswith("_model")):
        folder = rng.choice([p for p in bench.models.iterdir() if p.is_dir()])
        target = folder / rng.choice(names)
        if target.is_dir():
            return False  # a folder named as a model took the name
        existed = target.exists()
        target.write_bytes(b"model")
        return existed  # over an existing file: a rewrite in place
    elif kind == "remove_model":
        rng.choice(models).unlink()
    elif kind == "rename_model":
        model = rng.choice(models)
        folder = rng.choice([p for p in bench.models.iterdir() if p.is_dir()])
        target = folder / rng.choice(names)
        if not target.is_dir():
            model.rename(target)
    elif kind == "rewrite_model":
        model = rng.choice(models)
        model.write_bytes(model.read_bytes() + b"rewritten in place")
        return True
    elif not workflows or kind == "add_workflow":
        source = rng.choice(workflows) if workflows else None
        data = source.read_bytes() if source else b"{}"
        (bench.workflows / f"added_{rng.randrange(10**6)}.json").write_bytes(data)
    elif kind == "edit_workflow":
        workflow = rng.choice(workflows)
        text = workflow.read_text(encoding="utf-8")
        present = [name for name in names if name in text]
        if present:
            text = text.replace(rng.choice(present), rng.choice(names))
        workflow.write_text(text + "\n", encoding="utf-8")
    elif kind == "remove_workflow":
        rng.choice(workflows).unlink()
    else:
        workflow = rng.choice(workflows)
        workflow.rename(workflow.with_name(f"renamed_{rng.randrange(10**6)}.json"))
    return False


def _names(bench: Bench) -> list[str]:
    """File names that matter to the workflows: the installed ones and the missing ones."""
    names = {path.name for path in _model_files(bench)}
    for entry in _report(bench.home)["workflows"]:
        for missing in entry.get("missing_models", []):
            value = missing.get("name") or missing.get("file_name") or ""
            if value:
                names.add(value.replace("\\", "/").rsplit("/", 1)[-1])
    return sorted(names)


@pytest.mark.parametrize(
    ("seed", "trigger"),
    [*((seed, "run-cycle") for seed in range(4)), *((seed, "scheduler") for seed in range(2))],
)
def test_every_cycle_kind_reports_what_a_cold_cycle_reports(tmp_path, seed, trigger):
    bench = Bench(tmp_path)
    bench.trigger = trigger
    rng = random.Random(seed)
    bench.incremental()
    names = _names(bench)
    for _ in range(5):
        rewritten = False
        for _ in range(rng.randint(1, 3)):
            rewritten = _edit(bench, rng, names) or rewritten
        bench.incremental()
        cold = bench.cold()
        if not rewritten:
            # A file rewritten in place is not seen before the full re-stat (below).
            assert _report(bench.home) == _report(cold)
        else:
            # Seen only by the full re-stat: make it due.
            bench.clock.now += 25 * HOUR
            result = bench.incremental()
            assert result.record.counts["models_installed"] == _model_cache_count(cold)
            assert _report(bench.home) == _report(cold)
        assert _model_cache(bench.home) == _model_cache(cold)
        # Nothing changed since: the cycle stops at the fingerprint, same outcome.
        before = bench.home.report_json.stat().st_mtime_ns
        again = bench.incremental()
        assert again.record.counts["workflows"] == len(_report(cold)["workflows"])
        assert bench.home.report_json.stat().st_mtime_ns == before
        assert _unchanged(bench.home, again)


def _model_cache_count(home: Home) -> int:
    return sum(len(files) for files in _model_cache(home)["folders"].values())


def _unchanged(home: Home, result: CycleResult) -> bool:
    """True when the structured log says the cycle stopped at an unchanged fingerprint."""
    for line in home.structured_log.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("cycle_id") == result.record.cycle_id and event.get("unchanged"):
            return True
    return False


@pytest.mark.parametrize("trigger", ["run-cycle", "scheduler"])
def test_a_cycle_whose_models_did_not_change_leaves_their_listing_file_as_it_was(tmp_path, trigger):
    bench = Bench(tmp_path)
    bench.trigger = trigger
    bench.incremental()
    listing = bench.home.listing_cache
    os.utime(listing, ns=(1_000_000_000, 1_000_000_000))
    written = listing.read_bytes()
    (bench.workflows / "new.json").write_text('{"nodes": [], "links": []}', encoding="utf-8")
    again = bench.incremental()
    assert not _unchanged(bench.home, again)  # ran in full, the models walked again
    assert listing.stat().st_mtime_ns == 1_000_000_000
    # A model added: the next cycle writes the listing that names it.
    folder = min(path for path in bench.models.iterdir() if path.is_dir())
    (folder / "added.safetensors").write_bytes(b"model")
    bench.incremental()
    assert listing.stat().st_mtime_ns != 1_000_000_000
    assert listing.read_bytes() != written


def test_a_live_server_whose_node_types_changed_makes_the_cycle_run_in_full(tmp_path):
    bench = Bench(tmp_path)
    node_types = {"KSampler": {"input": {"required": {}}}}

    def respond(path: str) -> tuple[int, bytes]:
        body = json.dumps(node_types).encode()
        return (200, body) if path == "/object_info" else (404, b"{}")

    with answering(respond) as server:
        comfyui = bench.settings.comfyui.model_copy(update={"use_server": True, "url": server.url})
        bench.settings = bench.settings.model_copy(update={"comfyui": comfyui})
        bench.incremental()
        assert _unchanged(bench.home, bench.incremental())
        node_types["CheckpointLoaderSimple"] = {"input": {"required": {}}}  # a pack loaded
        assert not _unchanged(bench.home, bench.incremental())
        assert _unchanged(bench.home, bench.incremental())
    # The server stopped: the static inventory is the truth now, a change of input.
    assert not _unchanged(bench.home, bench.incremental())


def test_an_unchanged_cycle_tells_the_same_summary_with_nothing_new(tmp_path):
    bench = Bench(tmp_path)
    full = bench.incremental()
    again = bench.incremental()
    assert _unchanged(bench.home, again)
    assert full.summary is not None and again.summary is not None
    assert again.summary == full.summary.with_intake(0)
    assert again.to_json()["summary"]["workflows_by_status"] == dict(
        full.summary.workflows_by_status
    )


def test_a_fingerprint_whose_saved_outcome_is_damaged_makes_the_cycle_run_in_full(tmp_path):
    bench = Bench(tmp_path)
    bench.incremental()
    document = json.loads(bench.home.fingerprint.read_text(encoding="utf-8"))
    document["outcome"]["counts"]["workflows"] = "many"
    bench.home.fingerprint.write_text(json.dumps(document), encoding="utf-8")
    again = bench.incremental()
    assert not _unchanged(bench.home, again)
    assert again.record.counts["workflows"] == len(_report(bench.home)["workflows"])


def test_a_bug_in_a_stage_is_recorded_as_failed_and_the_next_cycle_runs_in_full(
    tmp_path, monkeypatch
):
    from watchman.stages import needs
    from watchman.state.cycle_state import load_cycle_state

    bench = Bench(tmp_path)
    bench.incremental()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug, not an input")

    (bench.workflows / "new.json").write_text('{"nodes": [], "links": []}', encoding="utf-8")
    with monkeypatch.context() as patched:
        patched.setattr(needs, "assess_all", broken)
        with pytest.raises(KeyError):
            run_cycle(
                bench.settings,
                bench.home,
                guard_evaluator=_allow,
                environment=Environment(
                    environ={}, home_dir=tmp_path, cwd=tmp_path, clock=bench.clock
                ),
            )
    last = load_cycle_state(bench.home.cycle_state).records[-1]
    assert last.outcome == "failed" and "unexpected KeyError" in (last.reason or "")
    assert not bench.home.fingerprint.exists()
    assert not _unchanged(bench.home, bench.incremental())


def test_needs_made_before_a_failed_cycle_changed_the_models_are_assessed_after_the_next(
    tmp_path, monkeypatch
):
    from watchman.stages import needs

    bench = Bench(tmp_path)
    bench.incremental()
    folder, value = missing_model(bench)
    # The missing model arrives; the cycle writes the model cache, then fails: the needs
    # kept were made under the model cache before it.
    (bench.models / folder / value).write_bytes(model_body(value))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug, not an input")

    with monkeypatch.context() as patched:
        patched.setattr(needs, "assess_all", broken)
        with pytest.raises(KeyError):
            bench.incremental()
    # Then a model nobody names: only its name changed in this cycle's listings.
    (bench.models / folder / "nobody_names_me.safetensors").write_bytes(
        model_body("nobody_names_me.safetensors")
    )
    bench.incremental()
    assert _report(bench.home) == _report(bench.cold())


def _status(home: Home, name: str) -> str:
    """The status the report gives the workflow named ``name``."""
    (entry,) = [item for item in _report(home)["workflows"] if item["name"] == name]
    return str(entry["status"])


def test_a_node_type_a_pack_script_gains_in_place_is_seen_by_the_next_one_shot_cycle(tmp_path):
    bench = Bench(tmp_path)
    # A pack's frontend script, and a workflow using a node type nobody registers yet.
    script = bench.root / "custom_nodes" / "ComfyUI-DemoUpscale" / "web" / "nodes.js"
    script.parent.mkdir()
    script.write_text("// registers nothing yet\n", encoding="utf-8")
    node = {"id": 1, "type": "DemoFrontendNote", "mode": 0, "widgets_values": []}
    workflow = {"last_node_id": 1, "nodes": [node], "links": []}
    (bench.workflows / "frontend_note.json").write_text(json.dumps(workflow), encoding="utf-8")
    bench.incremental()
    before = _status(bench.home, "frontend_note.json")
    assert _unchanged(bench.home, bench.incremental())
    # Rewritten in place (an editor saving over it): its folder's stamp holds.
    script.write_text(
        'app.registerExtension({ setup() { LiteGraph.registerNodeType("DemoFrontendNote", N) } })',
        encoding="utf-8",
    )
    again = bench.incremental()
    assert not _unchanged(bench.home, again)  # ran in full
    cold = bench.cold()
    assert _status(bench.home, "frontend_note.json") == _status(cold, "frontend_note.json")
    assert _status(cold, "frontend_note.json") != before
    assert _report(bench.home) == _report(cold)


def test_an_image_put_in_the_input_folder_makes_the_next_cycle_run_and_the_workflow_ready(
    tmp_path,
):
    bench = Bench(tmp_path)
    image = bench.root / "input" / "portrait.png"
    image.unlink()
    bench.incremental()
    entry = next(
        e for e in _report(bench.home)["workflows"] if e["name"] == "uncertain_sharpen.json"
    )
    assert [need["value"] for need in entry["missing_inputs"]] == ["portrait.png"]
    assert _unchanged(bench.home, bench.incremental())
    image.write_bytes(b"png")
    result = bench.incremental()
    assert not _unchanged(bench.home, result)
    entry = next(
        e for e in _report(bench.home)["workflows"] if e["name"] == "uncertain_sharpen.json"
    )
    assert entry["missing_inputs"] == []
    assert _report(bench.home) == _report(bench.cold())


def test_the_input_folder_comfyui_s_last_start_names_is_where_images_are_looked_for(tmp_path):
    bench = Bench(tmp_path)
    (bench.root / "input" / "portrait.png").unlink()
    desktop = tmp_path / "desktop" / "input"
    desktop.mkdir(parents=True)
    (desktop / "portrait.png").write_bytes(b"png")
    log = bench.root / "user" / "comfyui.log"
    log.write_text(
        f"Setting input directory to: {desktop}\n"
        "Import times for custom nodes:\n"
        "   0.0 seconds: /x/custom_nodes/websocket_image_save.py\n",
        encoding="utf-8",
    )
    bench.incremental()
    entry = next(
        e for e in _report(bench.home)["workflows"] if e["name"] == "uncertain_sharpen.json"
    )
    assert entry["missing_inputs"] == []
    # The image leaves that folder: the next cycle runs and says so.
    (desktop / "portrait.png").unlink()
    assert not _unchanged(bench.home, bench.incremental())
    entry = next(
        e for e in _report(bench.home)["workflows"] if e["name"] == "uncertain_sharpen.json"
    )
    assert [need["value"] for need in entry["missing_inputs"]] == ["portrait.png"]


def test_an_image_beside_its_workflow_is_offered_as_a_copy_into_the_input_folder(tmp_path):
    bench = Bench(tmp_path)
    (bench.root / "input" / "portrait.png").unlink()
    bench.incremental()
    kinds = {action["kind"] for action in _report(bench.home)["actions"]}
    assert "provide_input" in kinds and "copy_input" not in kinds
    (bench.workflows / "portrait.png").write_bytes(b"png")
    assert not _unchanged(bench.home, bench.incremental())
    (copy,) = [a for a in _report(bench.home)["actions"] if a["kind"] == "copy_input"]
    assert copy["command"] == (
        "mkdir -p input && cp user/default/workflows/portrait.png input/portrait.png"
    )
    assert _report(bench.home) == _report(bench.cold())


def test_a_linked_input_file_whose_target_vanishes_is_missing_at_the_next_cycle(tmp_path):
    bench = Bench(tmp_path)
    image = bench.root / "input" / "portrait.png"
    target = tmp_path / "photos" / "portrait.png"
    target.parent.mkdir()
    image.rename(target)
    image.symlink_to(target)
    bench.incremental()
    target.unlink()  # no folder of the input tree changes
    assert not _unchanged(bench.home, bench.incremental())
    entry = next(
        e for e in _report(bench.home)["workflows"] if e["name"] == "uncertain_sharpen.json"
    )
    assert [need["value"] for need in entry["missing_inputs"]] == ["portrait.png"]
    assert _report(bench.home) == _report(bench.cold())


def test_an_input_folder_named_by_the_last_start_that_appears_later_is_looked_in(tmp_path):
    bench = Bench(tmp_path)
    (bench.root / "input" / "portrait.png").unlink()
    desktop = tmp_path / "desktop" / "input"
    (bench.root / "user" / "comfyui.log").write_text(
        f"Setting input directory to: {desktop}\n"
        "Import times for custom nodes:\n"
        "   0.0 seconds: /x/custom_nodes/websocket_image_save.py\n",
        encoding="utf-8",
    )
    bench.incremental()  # that folder is absent: input/ in the root, which lacks the image
    desktop.mkdir(parents=True)  # the drive is mounted
    (desktop / "portrait.png").write_bytes(b"png")
    assert not _unchanged(bench.home, bench.incremental())
    entry = next(
        e for e in _report(bench.home)["workflows"] if e["name"] == "uncertain_sharpen.json"
    )
    assert entry["missing_inputs"] == []
