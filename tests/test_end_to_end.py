"""The whole cycle through the CLI, in-process, on a temporary copy of the demo tree."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.demo_tree import prepare_demo
from tests.local_http import answering
from watchman.commands.cli import app
from watchman.environment import Environment
from watchman.stages import fingerprint as fingerprint_stage
from watchman.stages.inventory.nodes import CACHE_SCHEMA_VERSION
from watchman.state.run_lock import RunLock

EXPECTED_STATUSES = {
    # ComfyUI accepts only its own spelling, with the separator of the OS it runs on.
    "ready_sdxl.json": "ready" if os.sep == "/" else "missing_models",
    "missing_lora.json": "missing_models",
    "misplaced_vae.json": "missing_models",
    "missing_node.json": "missing_nodes",
    "subgraph_upscale.json": "ready",
    "api_format_flux.json": "missing_models",
    "broken_download.json": "parse_error",
    "uncertain_sharpen.json": "uncertain",
}


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo tree with a config file; returns the config path."""
    for variable in list(os.environ):
        if variable.startswith("COMFYWATCHMAN_") or variable in ("COMFYUI_ROOT", "HF_TOKEN"):
            monkeypatch.delenv(variable, raising=False)
    # The same preparation `make demo` runs, so the demo itself is under test.
    return prepare_demo(tmp_path / "demo")


def run(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(arguments))
    return result.exit_code, result.stdout, result.stderr


def home_of(config: Path) -> Path:
    return config.parent / "home"


def report(config: Path) -> dict:
    path = home_of(config) / "output" / "reports" / "status" / "master_status.json"
    return json.loads(path.read_text(encoding="utf-8"))


def intake_lines(config: Path) -> list[dict]:
    log = home_of(config) / "state" / "intake_log.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def test_one_cycle_on_the_demo_tree_shows_every_status(demo: Path) -> None:
    code, out, err = run("--config", str(demo), "--run-cycle")
    assert code == 0, err
    assert "master_status.md" in out
    document = report(demo)
    assert document["comfyui_found_by"] == "set"
    statuses = {Path(entry["path"]).name: entry["status"] for entry in document["workflows"]}
    assert statuses == EXPECTED_STATUSES
    names = {entry["name"] for entry in document["workflows"]}
    assert "subfolder/subgraph_upscale.json" in names  # shown inside its watched folder
    counts = document["summary"]["workflows_by_status"]
    assert all(counts[status] >= 1 for status in set(EXPECTED_STATUSES.values()))
    assert set(EXPECTED_STATUSES.values()) == set(counts)  # the demo shows every status
    uncertain = next(e for e in document["workflows"] if e["status"] == "uncertain")
    assert uncertain["uncertain_count"] == 1
    assert document["summary"]["uncertain"] >= 1
    markdown = (home_of(demo) / "output/reports/status/master_status.md").read_text("utf-8")
    assert markdown.startswith("# ComfyUI readiness")
    assert "Move demo_vae.safetensors into models/vae." in markdown
    # What a person does next, with commands to copy, without reading the JSON.
    for command in (
        "mkdir -p models/vae && mv models/checkpoints/demo_vae.safetensors models/vae/",
        "mv custom_nodes/ComfyUI-DemoSwitch.disabled custom_nodes/ComfyUI-DemoSwitch",
        "comfy node install comfyui-impact-pack",
        "comfywatchman download checkpoints/flux1-dev-fp8.safetensors",
    ):
        assert f"   {command}\n" in markdown, command
    assert "Watched folders:" in markdown and "workflows` (comfyui): 8 workflow file(s)" in markdown
    assert "- New: `api_format_flux.json`" in markdown


def test_the_report_says_where_a_misplaced_model_is_and_resolves_honestly(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    misplaced = entries["misplaced_vae.json"]["missing_models"]
    assert [(m["value"], m["state"]) for m in misplaced] == [("demo_vae.safetensors", "misplaced")]
    assert misplaced[0]["locations"][0]["folder"] == "checkpoints"
    lora = {m["value"]: m for m in entries["missing_lora.json"]["missing_models"]}
    assert "demo_detail_lora.safetensors" not in lora  # found through extra_model_paths.yaml
    embedded = lora["pixel_art_xl_v2.safetensors"]["resolution"]
    assert embedded["status"] == "FOUND"
    assert embedded["download_url"].endswith("/pixel_art_xl_v2.safetensors")
    unknown = lora["never_published_lora.safetensors"]["resolution"]
    assert unknown["status"] != "FOUND"  # offline: nothing is made up
    assert entries["missing_lora.json"]["last_resolved_at"]
    broken = entries["broken_download.json"]
    assert broken["status"] == "parse_error" and broken["error"]


def test_missing_nodes_name_their_pack_and_disabled_packs_do_not_count(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entry = next(e for e in report(demo)["workflows"] if e["path"].endswith("missing_node.json"))
    nodes = {node["node_type"]: node for node in entry["missing_nodes"]}
    assert set(nodes) == {"ImpactWildcardProcessor", "DemoSwitch"}
    assert "comfyui-impact-pack" in json.dumps(nodes["ImpactWildcardProcessor"]["pack"])
    assert nodes["ImpactWildcardProcessor"]["pack"]["status"] == "found"
    assert nodes["DemoSwitch"]["pack"]["status"] == "installed_disabled"
    # The bypassed loader's missing lora is reported apart and does not count.
    assert all(m["value"] != "bypassed_only_lora.safetensors" for m in entry["missing_models"])
    inactive = [m["value"] for m in entry["inactive"]["missing_models"]]
    assert "bypassed_only_lora.safetensors" in inactive


def test_a_second_cycle_rewrites_nothing_and_a_change_logs_one_update(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    state = home_of(demo) / "state"
    watched = [
        state / "model_cache.json",
        state / "custom_nodes_cache.json",
        home_of(demo) / "output/reports/status/master_status.json",
    ]
    for path in watched:
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    first_lines = intake_lines(demo)
    assert len(first_lines) == len(EXPECTED_STATUSES)
    assert {line["event"] for line in first_lines} == {"new"}

    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert [path.stat().st_mtime_ns for path in watched] == [1_000_000_000] * 3
    assert intake_lines(demo) == first_lines

    changed = demo.parent / "ComfyUI/user/default/workflows/ready_sdxl.json"
    document = json.loads(changed.read_text(encoding="utf-8"))
    document["extra"]["note"] = "edited"
    changed.write_text(json.dumps(document), encoding="utf-8")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    new_lines = intake_lines(demo)[len(first_lines) :]
    assert [(Path(line["path"]).name, line["event"]) for line in new_lines] == [
        ("ready_sdxl.json", "updated")
    ]


def test_list_intake_shows_newest_first_as_json_and_as_a_table(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    code, out, _ = run("--config", str(demo), "--list-intake", "--limit", "3", "--json")
    assert code == 0
    listed = json.loads(out)
    assert len(listed) == 3 and all(item["event"] == "new" for item in listed)
    code, out, _ = run("--config", str(demo), "--list-intake")
    assert code == 0 and "Intake log" in out


def test_list_intake_names_the_common_folder_once_and_each_path_below_it(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    result = CliRunner().invoke(
        app, ["--config", str(demo), "--list-intake"], env={"COLUMNS": "200"}
    )
    watched = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    assert result.exit_code == 0
    # An 80-column terminal cannot show five absolute paths: the title names their folder.
    assert f"under {watched}" in " ".join(result.stdout.split())
    assert str(watched / "ready_sdxl.json") not in result.stdout
    assert "ready_sdxl.json" in result.stdout


def test_a_second_cycle_while_one_holds_the_lock_exits_3(demo: Path) -> None:
    lock = home_of(demo) / "state" / "cycle.lock"
    with RunLock(lock):
        code, _, err = run("--config", str(demo), "--run-cycle")
    assert code == 3
    assert "Another comfywatchman cycle is running" in err
    assert len(err.strip().splitlines()) == 1


def test_a_corrupt_cache_is_set_aside_and_rebuilt(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    cache = home_of(demo) / "state" / "model_cache.json"
    cache.write_text("{ torn", encoding="utf-8")
    for name in ("cycle_state.json", "workflow_cache.json"):
        (home_of(demo) / "state" / name).write_text("[]", encoding="utf-8")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert list(cache.parent.glob("custom_nodes_cache.json.corrupt-*")) == []
    assert json.loads(cache.read_text(encoding="utf-8"))["schema_version"] == 1
    assert list(cache.parent.glob("cycle_state.json.corrupt-*"))


def test_a_bad_config_value_exits_2_naming_the_key_and_file(demo: Path) -> None:
    with demo.open("a", encoding="utf-8") as handle:
        handle.write("[metrics]\ntextfile = 3\n")
    code, _, err = run("--config", str(demo), "--run-cycle")
    assert code == 2
    assert "metrics.textfile" in err and str(demo) in err


def test_a_missing_comfyui_exits_2_saying_how_to_set_it(demo: Path, tmp_path: Path) -> None:
    code, _, err = run(
        "--config", str(demo), "--comfyui-root", str(tmp_path / "nope"), "--run-cycle"
    )
    assert code == 2
    assert "COMFYUI_ROOT" in err


def test_a_guard_that_says_no_skips_the_cycle_with_exit_0(demo: Path) -> None:
    with demo.open("a", encoding="utf-8") as handle:
        handle.write("")
    text = demo.read_text(encoding="utf-8").replace(
        "boot_grace_minutes = 0", "boot_grace_minutes = 10000000"
    )
    demo.write_text(text, encoding="utf-8")
    code, out, _ = run("--config", str(demo), "--run-cycle")
    assert code == 0
    assert "skipped" in out.lower()
    state = json.loads((home_of(demo) / "state" / "cycle_state.json").read_text("utf-8"))
    assert state["records"][-1]["outcome"] == "skipped"
    assert state["records"][-1]["reason"]


def test_each_cycle_writes_structured_log_lines(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    log = home_of(demo) / "log" / "structured.log"
    lines = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    # Stage and cycle lines; with no terminal, progress lines come between them.
    lines = [line for line in lines if line["event"] in ("stage", "cycle")]
    phases = [line["phase"] for line in lines]
    assert phases[0] == "guards" and phases[-1] == "cycle"
    for phase in ("inventory", "caches", "workflows", "needs", "resolve", "report"):
        assert phase in phases
    assert lines[-1]["workflows_scanned"] == len(EXPECTED_STATUSES)


def test_a_node_cache_of_the_right_version_but_wrong_shape_is_set_aside(demo: Path) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    cache = home_of(demo) / "state" / "custom_nodes_cache.json"
    cache.write_text(
        json.dumps({"schema_version": CACHE_SCHEMA_VERSION, "packs": "nonsense"}), encoding="utf-8"
    )
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert list(cache.parent.glob("custom_nodes_cache.json.corrupt-*"))
    assert isinstance(json.loads(cache.read_text(encoding="utf-8"))["packs"], list)


def run_cycle_beside_server(config: Path, object_info: dict) -> None:
    """Run one cycle of ``config`` with a local ComfyUI answering ``object_info``."""
    body = json.dumps(object_info).encode()

    def respond(path: str) -> tuple[int, bytes]:
        return (200, body) if path == "/object_info" else (404, b"{}")

    with answering(respond) as server:
        text = config.read_text(encoding="utf-8").replace(
            "use_server = false", f'use_server = true\nurl = "{server.url}"'
        )
        config.write_text(text, encoding="utf-8")
        assert run("--config", str(config), "--run-cycle")[0] == 0


def test_a_live_comfyui_server_is_the_truth_for_nodes_and_file_names(demo: Path) -> None:
    object_info = {
        name: {"input": {"required": {}}}
        for name in (
            "KSampler",
            "CheckpointLoaderSimple",
            "CLIPTextEncode",
            "EmptyLatentImage",
            "VAEDecode",
            "SaveImage",
            "VAELoader",
            "UpscaleModelLoader",
            "ImpactWildcardProcessor",
        )
    }
    object_info["LoraLoader"] = {
        "input": {"required": {"lora_name": [["pixel_art_xl_v2.safetensors"], {}]}}
    }
    run_cycle_beside_server(demo, object_info)
    document = report(demo)
    assert document["summary"]["node_source"] == "object_info"
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    missing_nodes = {n["node_type"] for n in entries["missing_node.json"]["missing_nodes"]}
    assert missing_nodes == {"DemoSwitch"}  # the server has the Impact node; not the pack
    lora_values = {m["value"] for m in entries["missing_lora.json"]["missing_models"]}
    assert "pixel_art_xl_v2.safetensors" not in lora_values  # listed by the server
    assert "never_published_lora.safetensors" in lora_values


def test_a_value_the_live_servers_list_lacks_makes_a_ready_workflow_uncertain(
    demo: Path,
) -> None:
    object_info: dict = {
        name: {"input": {"required": {}}}
        for name in (
            "CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "VAEDecode",
            "SaveImage", "VAELoader", "CLIPLoader", "DemoSharpen", "LoraLoader",
        )
    }  # fmt: skip
    object_info["KSampler"] = {
        "input": {
            "required": {
                "model": ["MODEL"],
                "seed": ["INT", {"control_after_generate": True}],
                "steps": ["INT", {}],
                "cfg": ["FLOAT", {}],
                "sampler_name": [["euler", "dpmpp_2m"], {}],
                "scheduler": [["simple", "karras"], {}],
                "positive": ["CONDITIONING"],
                "negative": ["CONDITIONING"],
                "latent_image": ["LATENT"],
                "denoise": ["FLOAT", {}],
            }
        }
    }
    run_cycle_beside_server(demo, object_info)
    document = report(demo)
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    sdxl = entries["ready_sdxl.json"]
    assert sdxl["status"] == "uncertain"
    assert [(v["node_type"], v["input"], v["value"]) for v in sdxl["unlisted_values"]] == [
        ("KSampler", "scheduler", "normal")
    ]
    assert entries["api_format_flux.json"]["unlisted_values"] == []  # "simple" is listed
    assert document["summary"]["unlisted_values"] == 1
    picks = [a for a in document["actions"] if a["kind"] == "pick_value"]
    assert len(picks) == 1 and "scheduler" in picks[0]["title"]
    markdown = (home_of(demo) / "output/reports/status/master_status.md").read_text("utf-8")
    assert "Values ComfyUI's lists do not offer: 1" in markdown


def _socket(name: str, kind: str, link: int | None) -> dict:
    return {"name": name, "type": kind, "link": link}


WIRED_SDXL = {
    "nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "mode": 0,
         "widgets_values": ["SDXL/demo_sdxl_base.safetensors"]},
        {"id": 2, "type": "CLIPTextEncode", "mode": 0,
         "inputs": [_socket("clip", "CLIP", 11)], "widgets_values": ["a cat"]},
        {"id": 3, "type": "CLIPTextEncode", "mode": 2,  # muted: feeds nothing
         "inputs": [_socket("clip", "CLIP", 12)], "widgets_values": ["blurry"]},
        {"id": 4, "type": "EmptyLatentImage", "mode": 0, "widgets_values": [1024, 1024, 1]},
        {"id": 5, "type": "KSampler", "mode": 0, "inputs": [
            _socket("model", "MODEL", 10), _socket("positive", "CONDITIONING", 13),
            _socket("negative", "CONDITIONING", 14), _socket("latent_image", "LATENT", 15)],
         "widgets_values": [1, "fixed", 20, 7, "euler", "simple", 1]},
        {"id": 6, "type": "VAEDecode", "mode": 0,
         "inputs": [_socket("samples", "LATENT", 16), _socket("vae", "VAE", None)]},
        {"id": 7, "type": "SaveImage", "mode": 0,
         "inputs": [_socket("images", "IMAGE", 17)], "widgets_values": ["out"]},
        # A stray decoder no output needs: ComfyUI does not check it.
        {"id": 8, "type": "VAEDecode", "mode": 0,
         "inputs": [_socket("samples", "LATENT", None), _socket("vae", "VAE", None)]},
    ],
    "links": [
        [10, 1, 0, 5, 0, "MODEL"], [11, 1, 1, 2, 0, "CLIP"], [12, 1, 1, 3, 0, "CLIP"],
        [13, 2, 0, 5, 1, "CONDITIONING"], [14, 3, 0, 5, 2, "CONDITIONING"],
        [15, 4, 0, 5, 3, "LATENT"], [16, 5, 0, 6, 0, "LATENT"], [17, 6, 0, 7, 0, "IMAGE"],
    ],
}  # fmt: skip


def test_a_required_input_nothing_feeds_makes_a_workflow_uncertain_beside_a_server(
    demo: Path,
) -> None:
    workflows = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    (workflows / "wired_sdxl.json").write_text(json.dumps(WIRED_SDXL), encoding="utf-8")
    no_inputs: dict = {"input": {"required": {}}}
    object_info: dict = {
        name: no_inputs
        for name in ("CheckpointLoaderSimple", "EmptyLatentImage", "VAELoader", "CLIPLoader",
                     "DemoSharpen", "LoraLoader")
    }  # fmt: skip
    object_info |= {
        "CLIPTextEncode": {"input": {"required": {"text": ["STRING", {}], "clip": ["CLIP"]}}},
        "KSampler": {"input": {"required": {
            "model": ["MODEL"], "positive": ["CONDITIONING"], "negative": ["CONDITIONING"],
            "latent_image": ["LATENT"], "seed": ["INT", {"control_after_generate": True}],
            "steps": ["INT", {}], "cfg": ["FLOAT", {}],
            "sampler_name": [["euler"], {}], "scheduler": [["simple", "normal"], {}],
            "denoise": ["FLOAT", {}]}}},
        "VAEDecode": {"input": {"required": {"samples": ["LATENT"], "vae": ["VAE"]}}},
        "SaveImage": {"output_node": True, "input": {"required": {
            "images": ["IMAGE"], "filename_prefix": ["STRING", {}]}}},
    }  # fmt: skip
    run_cycle_beside_server(demo, object_info)
    document = report(demo)
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    wired_entry = entries["wired_sdxl.json"]
    assert wired_entry["status"] == "uncertain"
    assert wired_entry["unlinked_inputs"] == [
        {"node_id": "5", "node_type": "KSampler", "inputs": ["negative"]},
        {"node_id": "6", "node_type": "VAEDecode", "inputs": ["vae"]},
    ]
    assert entries["ready_sdxl.json"]["unlinked_inputs"] == []  # it lists no sockets
    assert document["summary"]["unlinked_inputs"] == 2
    connects = [a for a in document["actions"] if a["kind"] == "connect_inputs"]
    assert len(connects) == 1 and "KSampler (node 5: negative)" in connects[0]["title"]
    markdown = (home_of(demo) / "output/reports/status/master_status.md").read_text("utf-8")
    assert "Nodes with required inputs nothing feeds: 2" in markdown


def write_core_ksampler(demo: Path) -> None:
    """Give the demo's core a KSampler whose scheduler list is written in its source."""
    nodes = demo.parent / "ComfyUI" / "nodes.py"
    sampler = textwrap.dedent(
        """
        class KSampler:
            @classmethod
            def INPUT_TYPES(s):
                return {"required": {
                    "model": ("MODEL",),
                    "seed": ("INT", {"control_after_generate": True}),
                    "steps": ("INT",), "cfg": ("FLOAT",),
                    "sampler_name": (comfy.samplers.KSampler.SAMPLERS,),
                    "scheduler": (["simple", "karras"],),
                    "positive": ("CONDITIONING",), "negative": ("CONDITIONING",),
                    "latent_image": ("LATENT",), "denoise": ("FLOAT",)}}


        """
    )
    text = nodes.read_text(encoding="utf-8")
    text = text.replace("NODE_CLASS_MAPPINGS = {", sampler + "NODE_CLASS_MAPPINGS = {")
    nodes.write_text(text.replace('"KSampler": _DemoNode', '"KSampler": KSampler'), "utf-8")


def test_offline_a_value_the_installs_own_source_does_not_list_is_found(demo: Path) -> None:
    write_core_ksampler(demo)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    document = report(demo)
    assert document["summary"]["node_source"] == "static"
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    assert entries["ready_sdxl.json"]["status"] == "uncertain"
    assert [v["value"] for v in entries["ready_sdxl.json"]["unlisted_values"]] == ["normal"]
    assert entries["api_format_flux.json"]["unlisted_values"] == []


def write_core_samplers(demo: Path, schedulers: list[str]) -> Path:
    """Give the demo's core a KSampler taking ComfyUI's own sampler and scheduler lists,
    and the ``comfy/samplers.py`` that writes them; return that file."""
    write_core_ksampler(demo)
    root = demo.parent / "ComfyUI"
    nodes = root / "nodes.py"
    nodes.write_text(
        nodes.read_text("utf-8").replace(
            '"scheduler": (["simple", "karras"],)',
            '"scheduler": (comfy.samplers.KSampler.SCHEDULERS,)',
        ),
        "utf-8",
    )
    samplers = root / "comfy" / "samplers.py"
    samplers.write_text(
        f"KSAMPLER_NAMES = ['euler', 'dpmpp_2m']\n"
        f"SCHEDULER_HANDLERS = {{{', '.join(f'{n!r}: handler' for n in schedulers)}}}\n"
        "SCHEDULER_NAMES = list(SCHEDULER_HANDLERS)\n"
        "SAMPLER_NAMES = KSAMPLER_NAMES + ['ddim', 'uni_pc']\n"
        "class KSampler:\n"
        "    SCHEDULERS = SCHEDULER_NAMES\n"
        "    SAMPLERS = SAMPLER_NAMES\n",
        "utf-8",
    )
    return samplers


def test_offline_a_scheduler_the_installs_samplers_file_lacks_is_found_until_it_has_it(
    demo: Path,
) -> None:
    samplers = write_core_samplers(demo, ["simple", "karras"])
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["ready_sdxl.json"]["status"] == "uncertain"
    assert [(v["input"], v["value"]) for v in entries["ready_sdxl.json"]["unlisted_values"]] == [
        ("scheduler", "normal")
    ]
    assert entries["api_format_flux.json"]["unlisted_values"] == []  # euler, simple
    # ComfyUI updated: its samplers.py now lists the scheduler; the next cycle sees it.
    samplers.write_text(samplers.read_text("utf-8").replace("'karras'", "'karras', 'normal'"))
    os.utime(samplers, ns=(1, 1))
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["ready_sdxl.json"]["status"] == "ready"


def test_offline_sampler_lists_a_pack_changes_at_import_are_not_checked(demo: Path) -> None:
    write_core_samplers(demo, ["simple", "karras"])
    pack = demo.parent / "ComfyUI" / "custom_nodes" / "ComfyUI-DemoUpscale" / "schedulers.py"
    pack.write_text("import comfy.samplers\ncomfy.samplers.SCHEDULER_NAMES.append('normal')\n")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["ready_sdxl.json"]["status"] == "ready"
    assert entries["ready_sdxl.json"]["unlisted_values"] == []


def test_the_check_of_list_values_can_be_turned_off(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_core_ksampler(demo)
    monkeypatch.setenv("COMFYWATCHMAN_WORKFLOWS__CHECK_LIST_VALUES", "false")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["ready_sdxl.json"]["status"] == "ready"
    assert entries["ready_sdxl.json"]["unlisted_values"] == []


def test_a_stop_request_ends_the_cycle_at_a_stage_boundary_as_skipped(demo: Path) -> None:
    import threading

    from watchman.config_loading import load_settings
    from watchman.cycle import run_cycle
    from watchman.home import resolve_home

    settings = load_settings(demo, environ={})
    stop = threading.Event()
    stop.set()
    result = run_cycle(
        settings,
        resolve_home(settings, Environment(environ={}, home_dir=demo.parent, cwd=demo.parent)),
        stop_event=stop,
    )
    assert result.record.outcome == "interrupted"
    assert result.record.reason.startswith("stop requested before the inventory")
    assert not (home_of(demo) / "output/reports/status/master_status.json").exists()
    assert not [p for p in (home_of(demo) / "state").iterdir() if p.name.startswith(".")]


def test_a_progress_callback_hears_every_stage_in_order(demo: Path) -> None:
    from watchman.config_loading import load_settings
    from watchman.cycle import run_cycle
    from watchman.cycle_listener import QuietListener
    from watchman.home import resolve_home

    settings = load_settings(demo, environ={})
    heard: list[str] = []

    class Listener(QuietListener):
        def on_stage(self, phase: str) -> None:
            heard.append(phase)

    result = run_cycle(
        settings,
        resolve_home(settings, Environment(environ={}, home_dir=demo.parent, cwd=demo.parent)),
        listener=Listener(),
    )
    assert result.record.outcome == "ran"
    from watchman.cycle import STAGES

    assert heard == [name for name, _ in STAGES]  # every stage has its progress label
    assert heard == [
        "inventory",
        "caches",
        "workflows",
        "needs",
        "node_packs",
        "resolve",
        "downloads",
        "report",
    ]


def test_an_unreadable_workflow_stays_in_the_report_as_a_parse_error(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchman.stages import workflows as workflow_store

    assert run("--config", str(demo), "--run-cycle")[0] == 0
    real_entry_for = workflow_store.entry_for

    def refuse(path: Path, source: str, cached: dict | None, *rest: object) -> object:
        if path.name == "ready_sdxl.json":
            raise PermissionError(13, "Permission denied", str(path))
        return real_entry_for(path, source, cached, *rest)

    monkeypatch.setattr(workflow_store, "entry_for", refuse)
    # A real loss of permission is a chmod, which changes the file's stamp (ctime).
    for path in demo.parent.rglob("ready_sdxl.json"):
        path.chmod(path.stat().st_mode)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert len(entries) == len(EXPECTED_STATUSES)
    unreadable = entries["ready_sdxl.json"]
    assert unreadable["status"] == "parse_error"
    assert "Permission denied" in unreadable["error"]
    # What was known about it is kept: readable again, it is not logged as new.
    monkeypatch.setattr(workflow_store, "entry_for", real_entry_for)
    lines_before = intake_lines(demo)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert intake_lines(demo) == lines_before


@pytest.mark.skipif(os.sep != "/", reason="ComfyUI on Windows lists files with backslashes")
def test_a_value_in_another_spelling_is_not_ready_and_the_report_says_what_to_pick(
    demo: Path,
) -> None:
    folder = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    ready = (folder / "ready_sdxl.json").read_text(encoding="utf-8")
    windows = ready.replace("SDXL/demo_sdxl_base.safetensors", "SDXL\\\\demo_sdxl_base.safetensors")
    (folder / "written_on_windows.json").write_text(windows, encoding="utf-8")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["ready_sdxl.json"]["status"] == "ready"
    entry = entries["written_on_windows.json"]
    assert entry["status"] == "missing_models"
    [model] = entry["missing_models"]
    assert model["state"] == "misspelled" and model["value"] == "SDXL\\demo_sdxl_base.safetensors"
    assert model["pick"] == "SDXL/demo_sdxl_base.safetensors"
    assert report(demo)["summary"]["misspelled_models"] == 1
    markdown = (home_of(demo) / "output/reports/status/master_status.md").read_text("utf-8")
    assert "node, pick SDXL/demo_sdxl_base.safetensors instead of SDXL\\demo_sdxl_base" in markdown


def _age(tree: Path) -> None:
    """Move every time in ``tree`` a minute back: stamps taken within the file system's
    granularity of a change are not trusted, and the next cycles may stop at the
    fingerprint only once they are old enough."""
    for folder, _, files in os.walk(tree):
        for name in [*files, "."]:
            path = os.path.join(folder, name)
            stat = os.stat(path)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60 * 10**9))


def _settle_beside(config: Path, url: str) -> None:
    """Point ``config`` at the ComfyUI server at ``url`` and run the two cycles after which
    the next may stop at the fingerprint: the first, and the one that sees the aged stamps
    (:func:`_age`)."""
    text = config.read_text(encoding="utf-8").replace(
        "use_server = false", f'use_server = true\nurl = "{url}"'
    )
    config.write_text(text, encoding="utf-8")
    assert run("--config", str(config), "--run-cycle")[0] == 0
    _age(config.parent)
    assert run("--config", str(config), "--run-cycle")[0] == 0


def _counted_answers(
    object_info: dict,
) -> tuple[list[str], Callable[[str], tuple[int, bytes]]]:
    """A server's answers: ``object_info`` as it is at each request; and the paths asked."""
    asked: list[str] = []

    def respond(path: str) -> tuple[int, bytes]:
        asked.append(path)
        return 200, json.dumps(object_info).encode()

    return asked, respond


def test_a_large_changed_answer_is_asked_for_again_rather_than_held(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kept from the inputs check, a reading of hundreds of MB would sit under the model
    # walk's peak: past the bound, the needs stage asks for it again.
    monkeypatch.setattr(fingerprint_stage, "MAX_KEPT_ANSWER_BYTES", 10)
    object_info = {"KSampler": {"input": {"required": {"seed": ["INT", {}]}}}}
    asked, respond = _counted_answers(object_info)

    with answering(respond) as server:
        _settle_beside(demo, server.url)
        object_info["LoraLoader"] = {"input": {"required": {"lora_name": [["a.pt"], {}]}}}
        asked.clear()
        assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert asked == ["/object_info"] * 3
    assert report(demo)["summary"]["node_source"] == "object_info"


def _fingerprint_lines(config: Path) -> list[dict]:
    log = home_of(config) / "log" / "structured.log"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line.get("phase") == "fingerprint"]


def test_a_cycle_beside_an_unchanged_server_stops_at_the_fingerprint(demo: Path) -> None:
    # A pack whose page registers a node of its own: beside a server, the installed
    # types are the server's and these, and both must count as unchanged.
    custom_nodes = next(path for path in demo.parent.rglob("custom_nodes") if path.is_dir())
    pack = custom_nodes / "ComfyUI-PageNotes"
    (pack / "js").mkdir(parents=True)
    (pack / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {}\n", encoding="utf-8")
    (pack / "js" / "notes.js").write_text('app.registerNodeType("PageNote", {});\n')
    object_info = {"KSampler": {"input": {"required": {"seed": ["INT", {}]}}}}
    asked, respond = _counted_answers(object_info)

    with answering(respond) as server:
        _settle_beside(demo, server.url)
        asked.clear()
        assert run("--config", str(demo), "--run-cycle")[0] == 0
        assert _fingerprint_lines(demo)[-1].get("unchanged") is True
        assert asked == ["/object_info"]  # once, for its digest

        object_info["LoraLoader"] = {"input": {"required": {"lora_name": [["a.pt"], {}]}}}
        asked.clear()
        assert run("--config", str(demo), "--run-cycle")[0] == 0
        # The answer's digest, then its content (both changed), which the full cycle
        # then uses: the server is not asked a third time.
        assert asked == ["/object_info"] * 2
        assert len(_fingerprint_lines(demo)) == 1  # only the unchanged cycle wrote one
        # The full cycle recorded the changed answer: the next cycle finds it unchanged.
        asked.clear()
        assert run("--config", str(demo), "--run-cycle")[0] == 0
        assert _fingerprint_lines(demo)[-1].get("unchanged") is True
        assert asked == ["/object_info"]
    document = report(demo)
    assert document["summary"]["node_source"] == "object_info"


def test_needs_kept_beside_a_server_give_the_report_a_cold_cycle_gives(demo: Path) -> None:
    # Beside a server the needs are kept per workflow under the digest of its answer: a
    # cycle after an edit, or after the server's answer changed, must say what a cycle
    # in a fresh home says.
    object_info: dict = {
        name: {"input": {"required": {}}}
        for name in ("KSampler", "CheckpointLoaderSimple", "CLIPTextEncode", "VAEDecode")
    }
    object_info["LoraLoader"] = {
        "input": {"required": {"lora_name": [["pixel_art_xl_v2.safetensors"], {}]}}
    }

    def respond(path: str) -> tuple[int, bytes]:
        return 200, json.dumps(object_info).encode()

    def needs(document: dict) -> dict:
        return {
            Path(entry["path"]).name: (
                entry["status"],
                sorted(m["value"] for m in entry["missing_models"]),
                sorted(n["node_type"] for n in entry["missing_nodes"]),
            )
            for entry in document["workflows"]
        }

    def cold_cycle(text: str, name: str) -> dict:
        config = demo.with_name(f"{name}.toml")
        home = demo.parent / name
        config.write_text(text.replace(str(home_of(demo)), str(home)), encoding="utf-8")
        assert run("--config", str(config), "--run-cycle")[0] == 0
        status = home / "output" / "reports" / "status" / "master_status.json"
        return needs(json.loads(status.read_text(encoding="utf-8")))

    edited = demo.parent / "ComfyUI" / "user" / "default" / "workflows" / "missing_lora.json"
    with answering(respond) as server:
        text = demo.read_text(encoding="utf-8").replace(
            "use_server = false", f'use_server = true\nurl = "{server.url}"'
        )
        demo.write_text(text, encoding="utf-8")
        assert run("--config", str(demo), "--run-cycle")[0] == 0
        cache = home_of(demo) / "state" / "needs_cache.jsonl"
        assert len(cache.read_bytes().splitlines()) > 2  # the context, and a line each

        edited.write_text(
            edited.read_text(encoding="utf-8").replace(
                "never_published_lora.safetensors", "pixel_art_xl_v2.safetensors"
            ),
            encoding="utf-8",
        )
        assert run("--config", str(demo), "--run-cycle")[0] == 0
        assert needs(report(demo)) == cold_cycle(text, "cold_after_edit")
        assert "never_published" not in str(needs(report(demo))["missing_lora.json"])

        del object_info["LoraLoader"]
        assert run("--config", str(demo), "--run-cycle")[0] == 0
        assert needs(report(demo)) == cold_cycle(text, "cold_after_answer")
    assert "LoraLoader" in needs(report(demo))["missing_lora.json"][2]


def test_a_server_drawing_a_new_default_on_every_request_is_still_unchanged(
    demo: Path,
) -> None:
    # WAS Node Suite's cache node draws a random default each time ComfyUI is asked.
    asked: list[str] = []

    def respond(path: str) -> tuple[int, bytes]:
        asked.append(path)
        suffix = ["STRING", {"default": f"{len(asked)}_cache"}]
        object_info = {
            "KSampler": {"input": {"required": {"seed": ["INT", {}]}}},
            "Cache Node": {"input": {"required": {"latent_suffix": suffix}}},
        }
        return 200, json.dumps(object_info).encode()

    with answering(respond) as server:
        _settle_beside(demo, server.url)
        asked.clear()
        assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert _fingerprint_lines(demo)[-1].get("unchanged") is True
    assert asked == ["/object_info", "/object_info"]  # the answer differed; its content not


def test_with_a_base_directory_models_nodes_workflows_and_inputs_are_read_there(
    demo: Path,
) -> None:
    comfy = demo.parent / "ComfyUI"
    base = demo.parent / "comfy-data"
    base.mkdir()
    for name in ("models", "custom_nodes", "user", "input"):
        shutil.move(comfy / name, base / name)
    # A file left in the root's own models/ is not ComfyUI's under --base-directory: the
    # demo's VAE stays misplaced, not found there.
    (comfy / "models" / "vae").mkdir(parents=True)
    shutil.copy(base / "models" / "checkpoints" / "demo_vae.safetensors", comfy / "models/vae")
    text = demo.read_text(encoding="utf-8").replace(
        "[comfyui]\n", '[comfyui]\nbase_directory = "../comfy-data"\n'
    )
    demo.write_text(text, encoding="utf-8")
    code, _, err = run("--config", str(demo), "--run-cycle")
    assert code == 0, err
    statuses = {Path(e["path"]).name: e["status"] for e in report(demo)["workflows"]}
    assert statuses == EXPECTED_STATUSES
    # Unchanged, the next cycle stops at its fingerprint; a model added in the base
    # directory is seen by the one after.
    _age(demo.parent)
    assert run("--config", str(demo), "--run-cycle")[0] == 0  # sees the aged stamps
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert _fingerprint_lines(demo)[-1].get("unchanged") is True
    lora = base / "models" / "loras" / "never_published_lora.safetensors"
    lora.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(base / "models" / "checkpoints" / "demo_vae.safetensors", lora)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    values = {m["value"] for m in entries["missing_lora.json"]["missing_models"]}
    assert "never_published_lora.safetensors" not in values


def test_a_base_directory_that_does_not_exist_exits_2_naming_the_setting(demo: Path) -> None:
    text = demo.read_text(encoding="utf-8").replace(
        "[comfyui]\n", '[comfyui]\nbase_directory = "../nowhere"\n'
    )
    demo.write_text(text, encoding="utf-8")
    code, _, err = run("--config", str(demo), "--run-cycle")
    assert code == 2
    assert "comfyui.base_directory" in err


def test_a_model_folder_created_since_the_last_cycle_is_seen_by_the_next(demo: Path) -> None:
    comfy = demo.parent / "ComfyUI"
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    _age(demo.parent)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert _fingerprint_lines(demo)[-1].get("unchanged") is True
    # models/loras did not exist: no listing of it stood for it, its absence did.
    lora = comfy / "models" / "loras" / "never_published_lora.safetensors"
    lora.parent.mkdir()
    shutil.copy(comfy / "models" / "checkpoints" / "demo_vae.safetensors", lora)
    # And a pack's folder type, a folder of models/ no loader table names.
    (comfy / "models" / "fancy_pack_models").mkdir()
    (comfy / "models" / "fancy_pack_models" / "weights.safetensors").write_bytes(b"x")
    before = report(demo)["summary"]["models_installed"]
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    document = report(demo)
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    values = {m["value"] for m in entries["missing_lora.json"]["missing_models"]}
    assert "never_published_lora.safetensors" not in values
    assert document["summary"]["models_installed"] == before + 2


def test_comfyui_inside_the_desktop_app_is_read_as_the_app_starts_it(demo: Path) -> None:
    from watchman.config_loading import load_settings
    from watchman.cycle import run_cycle
    from watchman.home import resolve_home

    # The app's layout: ComfyUI's code inside the app, the person's files in a folder of
    # their choosing, and the app's data folder naming that folder.
    code = demo.parent / "app" / "resources" / "ComfyUI"
    code.parent.mkdir(parents=True)
    shutil.move(demo.parent / "ComfyUI", code)
    files = demo.parent / "Documents" / "ComfyUI"
    files.mkdir(parents=True)
    for name in ("models", "custom_nodes", "user", "input"):
        shutil.move(code / name, files / name)
    extra = code / "extra_model_paths.yaml"
    extra.write_text(
        extra.read_text(encoding="utf-8").replace(
            "../demo-extra-models", (demo.parent / "demo-extra-models").as_posix()
        ),
        encoding="utf-8",
    )
    person = demo.parent / "person"
    app_data = person / ".config" / "ComfyUI"
    app_data.mkdir(parents=True)
    (app_data / "extra_models_config.yaml").write_text(
        f"comfyui:\n  base_path: {files.as_posix()}\n  is_default: true\n"
        + "".join(
            f"  {folder}: models/{folder}/\n"
            for folder in ("checkpoints", "clip", "embeddings", "loras", "upscale_models", "vae")
        )
        + "  custom_nodes: custom_nodes/\n",
        encoding="utf-8",
    )
    (app_data / "config.json").write_text(json.dumps({"basePath": str(files)}), "utf-8")
    text = demo.read_text(encoding="utf-8").replace(
        (demo.parent / "ComfyUI").as_posix(), code.as_posix()
    )
    demo.write_text(text, encoding="utf-8")
    settings = load_settings(demo, environ={})
    environment = Environment(environ={}, home_dir=person, cwd=demo.parent, platform="linux")
    home = resolve_home(settings, Environment(environ={}, home_dir=demo.parent, cwd=demo.parent))
    result = run_cycle(settings, home, environment=environment)
    assert result.record.outcome == "ran"
    statuses = {Path(e["path"]).name: e["status"] for e in report(demo)["workflows"]}
    assert statuses == EXPECTED_STATUSES
    # The app does not move ComfyUI's own models/: it searches it after the person's.
    lora = code / "models" / "loras" / "never_published_lora.safetensors"
    lora.parent.mkdir(parents=True)
    shutil.copy(files / "models" / "checkpoints" / "demo_vae.safetensors", lora)
    assert run_cycle(settings, home, environment=environment).record.outcome == "ran"
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    values = {m["value"] for m in entries["missing_lora.json"]["missing_models"]}
    assert "never_published_lora.safetensors" not in values


def test_an_install_comfyui_desktop_2_lists_is_read_with_its_shared_model_folder(
    demo: Path,
) -> None:
    from watchman.config_loading import load_settings
    from watchman.cycle import run_cycle
    from watchman.home import resolve_home

    # No root in the settings: the install is found in the launcher's list, and the
    # models it shares are read as the launcher starts ComfyUI, through the file it
    # passes with --extra-model-paths-config.
    person = demo.parent / "person"
    install = person / "ComfyUI-Installs" / "Main"
    install.mkdir(parents=True)
    shutil.move(demo.parent / "ComfyUI", install / "ComfyUI")
    shutil.move(demo.parent / "demo-extra-models", install / "demo-extra-models")
    shared = person / "ComfyUI-Shared" / "models"
    shared.mkdir(parents=True)
    shutil.move(install / "ComfyUI" / "models" / "checkpoints", shared / "checkpoints")
    # Its shared input folder (the default one) is where LoadImage looks.
    shutil.move(install / "ComfyUI" / "input", person / "ComfyUI-Shared" / "input")
    data = person / ".local" / "share" / "comfyui-desktop-2"
    data.mkdir(parents=True)
    (data / "installations.json").write_text(
        json.dumps(
            [
                {
                    "id": "inst-1",
                    "name": "Main [site](http://x)",
                    "installPath": str(install),
                    "sourceId": "standalone",
                }
            ]
        ),
        encoding="utf-8",
    )
    (data / "shared_model_paths.yaml").write_text(
        "# Generated by ComfyUI Desktop 2.0\n"
        f"comfyui_desktop_2_0:\n  base_path: '{shared.as_posix()}'\n  is_default: true\n"
        + "".join(f"  '{folder}': '{folder}/'\n" for folder in ("checkpoints", "loras", "vae")),
        encoding="utf-8",
    )
    text = demo.read_text(encoding="utf-8")
    demo.write_text(re.sub(r"(?m)^root = .*\n", "", text), encoding="utf-8")
    settings = load_settings(demo, environ={})
    assert settings.comfyui.root is None
    environment = Environment(environ={}, home_dir=person, cwd=demo.parent, platform="linux")
    home = resolve_home(settings, Environment(environ={}, home_dir=demo.parent, cwd=demo.parent))
    result = run_cycle(settings, home, environment=environment)
    assert result.record.outcome == "ran"
    document = report(demo)
    assert document["comfyui_root"] == str(install / "ComfyUI")
    # The report says how the folder was chosen; the entry's name is a stranger's text.
    listing = data / "installations.json"
    assert document["comfyui_found_by"] == (
        f"detected: ComfyUI Desktop 2.0's installation 'Main [site](http://x)' in {listing}"
    )
    markdown = (home_of(demo) / "output/reports/status/master_status.md").read_text("utf-8")
    assert "installation 'Main \\[site\\](http://x)'" in markdown
    statuses = {Path(e["path"]).name: e["status"] for e in document["workflows"]}
    # The checkpoints are only in the shared folder, and count as present.
    assert statuses == EXPECTED_STATUSES
    sharpen = next(e for e in document["workflows"] if e["path"].endswith("uncertain_sharpen.json"))
    assert sharpen["missing_inputs"] == []
    lora = shared / "loras" / "never_published_lora.safetensors"
    lora.parent.mkdir()
    shutil.copy(shared / "checkpoints" / "demo_vae.safetensors", lora)
    assert run_cycle(settings, home, environment=environment).record.outcome == "ran"
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    values = {m["value"] for m in entries["missing_lora.json"]["missing_models"]}
    assert "never_published_lora.safetensors" not in values


def test_a_comfyui_package_of_stability_matrix_is_read_with_its_shared_models(
    demo: Path,
) -> None:
    from watchman.config_loading import load_settings
    from watchman.cycle import run_cycle
    from watchman.home import resolve_home

    # Stability Matrix's library: the package under Packages/, the shared models under
    # Models/ with its own folder names, wired in by the section it writes into the
    # package's extra_model_paths.yaml (literal blocks of absolute paths).
    person = demo.parent / "person"
    library = person / "StabilityMatrix"
    package = library / "Packages" / "ComfyUI"
    package.parent.mkdir(parents=True)
    shutil.move(demo.parent / "ComfyUI", package)
    shutil.move(demo.parent / "demo-extra-models", library / "Packages" / "demo-extra-models")
    models = library / "Models"
    models.mkdir()
    shutil.move(package / "models" / "checkpoints", models / "StableDiffusion")
    (models / "Lora").mkdir()
    with (package / "extra_model_paths.yaml").open("a", encoding="utf-8") as file:
        file.write(
            "stability_matrix:\n"
            f"  checkpoints: |-\n    {(models / 'StableDiffusion').as_posix()}\n"
            f"  loras: |-\n    {(models / 'Lora').as_posix()}\n"
            f"    {(models / 'LyCORIS').as_posix()}\n"
        )
    (library / "settings.json").write_text(
        json.dumps(
            {
                "InstalledPackages": [
                    {
                        "Id": "5d3c",
                        "DisplayName": "ComfyUI",
                        "PackageName": "ComfyUI",
                        "LibraryPath": "Packages/ComfyUI",
                        "PreferredSharedFolderMethod": "Configuration",
                    }
                ],
                "ActiveInstalledPackage": "5d3c",
            }
        ),
        encoding="utf-8",
    )
    library_file = person / ".config" / "StabilityMatrix" / "library.json"
    library_file.parent.mkdir(parents=True)
    library_file.write_text(json.dumps({"LibraryPath": str(library)}), encoding="utf-8")
    text = demo.read_text(encoding="utf-8")
    demo.write_text(re.sub(r"(?m)^root = .*\n", "", text), encoding="utf-8")
    settings = load_settings(demo, environ={})
    environment = Environment(environ={}, home_dir=person, cwd=demo.parent, platform="linux")
    home = resolve_home(settings, Environment(environ={}, home_dir=demo.parent, cwd=demo.parent))
    assert run_cycle(settings, home, environment=environment).record.outcome == "ran"
    document = report(demo)
    assert document["comfyui_root"] == str(package)
    statuses = {Path(e["path"]).name: e["status"] for e in document["workflows"]}
    assert statuses == EXPECTED_STATUSES
    shutil.copy(
        models / "StableDiffusion" / "demo_vae.safetensors",
        models / "Lora" / "never_published_lora.safetensors",
    )
    assert run_cycle(settings, home, environment=environment).record.outcome == "ran"
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    values = {m["value"] for m in entries["missing_lora.json"]["missing_models"]}
    assert "never_published_lora.safetensors" not in values


OFFLINE_CORE = """
# A stand-in for ComfyUI's nodes.py, written as ComfyUI writes its nodes.
import comfy.samplers

class KSampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {
            "model": ("MODEL",), "seed": ("INT", {"default": 0}),
            "steps": ("INT", {"default": 20}), "cfg": ("FLOAT", {"default": 8.0}),
            "sampler_name": (comfy.samplers.KSampler.SAMPLERS,),
            "scheduler": (comfy.samplers.KSampler.SCHEDULERS,),
            "positive": ("CONDITIONING",), "negative": ("CONDITIONING",),
            "latent_image": ("LATENT",), "denoise": ("FLOAT", {"default": 1.0}),
        }}

class CLIPTextEncode:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"text": ("STRING", {"multiline": True}), "clip": ("CLIP",)}}

class VAEDecode:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"samples": ("LATENT",), "vae": ("VAE",)}}

class SaveImage:
    OUTPUT_NODE = True
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",), "filename_prefix": ("STRING", {})}}

class PreviewImage(SaveImage):
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",)}}

class _DemoNode:
    pass

NODE_CLASS_MAPPINGS = {
    "KSampler": KSampler, "CLIPTextEncode": CLIPTextEncode, "VAEDecode": VAEDecode,
    "SaveImage": SaveImage, "PreviewImage": PreviewImage,
    "CheckpointLoaderSimple": _DemoNode, "VAELoader": _DemoNode, "LoraLoader": _DemoNode,
    "EmptyLatentImage": _DemoNode, "LoadImage": _DemoNode, "CLIPLoader": _DemoNode,
    "UpscaleModelLoader": _DemoNode,
}
"""


def test_without_a_server_the_cores_source_tells_the_required_inputs_nothing_feeds(
    demo: Path,
) -> None:
    comfyui = demo.parent / "ComfyUI"
    (comfyui / "nodes.py").write_text(OFFLINE_CORE, encoding="utf-8")
    previewed = json.loads(json.dumps(WIRED_SDXL))
    previewed["nodes"][6]["type"] = "PreviewImage"  # an output by its base's flag
    workflows = comfyui / "user" / "default" / "workflows"
    (workflows / "wired_sdxl.json").write_text(json.dumps(WIRED_SDXL), encoding="utf-8")
    (workflows / "previewed_sdxl.json").write_text(json.dumps(previewed), encoding="utf-8")
    # Saved from a decoder that had no VAE input: the install's decoder requires one.
    stale = json.loads(json.dumps(WIRED_SDXL))
    stale["nodes"][5]["inputs"] = [_socket("samples", "LATENT", 16)]
    (workflows / "stale_sdxl.json").write_text(json.dumps(stale), encoding="utf-8")
    complete = json.loads(json.dumps(WIRED_SDXL))
    complete["nodes"][2]["mode"] = 0  # the negative prompt runs
    complete["nodes"][5]["inputs"][1]["link"] = 18  # the checkpoint's VAE
    complete["nodes"].pop()  # no stray decoder
    complete["links"].append([18, 1, 2, 6, 1, "VAE"])
    (workflows / "complete_sdxl.json").write_text(json.dumps(complete), encoding="utf-8")
    code, _, err = run("--config", str(demo), "--run-cycle")
    assert code == 0, err
    document = report(demo)
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    expected = [
        {"node_id": "5", "node_type": "KSampler", "inputs": ["negative"]},
        {"node_id": "6", "node_type": "VAEDecode", "inputs": ["vae"]},
    ]
    for name in ("wired_sdxl.json", "previewed_sdxl.json", "stale_sdxl.json"):
        assert entries[name]["status"] == "uncertain"
        assert entries[name]["unlinked_inputs"] == expected
    assert entries["complete_sdxl.json"]["unlinked_inputs"] == []
    assert entries["complete_sdxl.json"]["status"] == "ready"
    # The core now makes the decoder's VAE optional: the kept needs are judged again.
    relaxed = OFFLINE_CORE.replace(
        '{"required": {"samples": ("LATENT",), "vae": ("VAE",)}}',
        '{"required": {"samples": ("LATENT",)}, "optional": {"vae": ("VAE",)}}',
    )
    (comfyui / "nodes.py").write_text(relaxed, encoding="utf-8")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["wired_sdxl.json"]["unlinked_inputs"] == expected[:1]
    assert entries["stale_sdxl.json"]["unlinked_inputs"] == expected[:1]


def test_beside_a_server_an_input_a_saved_node_lacks_is_judged_by_the_servers_definition(
    demo: Path,
) -> None:
    # The source on disk requires the decoder's VAE; the running ComfyUI (loaded before
    # an update, say) makes it optional: what ComfyUI runs decides.
    comfyui = demo.parent / "ComfyUI"
    (comfyui / "nodes.py").write_text(OFFLINE_CORE, encoding="utf-8")
    stale = json.loads(json.dumps(WIRED_SDXL))
    stale["nodes"][2]["mode"] = 0  # the negative prompt runs
    stale["nodes"].pop()  # no stray decoder
    stale["nodes"][5]["inputs"] = [_socket("samples", "LATENT", 16)]
    workflows = comfyui / "user" / "default" / "workflows"
    (workflows / "stale_sdxl.json").write_text(json.dumps(stale), encoding="utf-8")
    no_inputs: dict = {"input": {"required": {}}}
    object_info: dict = {
        name: no_inputs
        for name in ("CheckpointLoaderSimple", "EmptyLatentImage", "VAELoader", "CLIPLoader",
                     "DemoSharpen", "LoraLoader", "CLIPTextEncode", "KSampler")
    }  # fmt: skip
    object_info |= {
        "VAEDecode": {"input": {"required": {"samples": ["LATENT"]},
                                "optional": {"vae": ["VAE"]}}},
        "SaveImage": {"output_node": True, "input": {"required": {"images": ["IMAGE"]}}},
    }  # fmt: skip
    run_cycle_beside_server(demo, object_info)
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["stale_sdxl.json"]["unlinked_inputs"] == []
    # The server requiring it, the same workflow is judged open.
    object_info["VAEDecode"] = {"input": {"required": {"samples": ["LATENT"], "vae": ["VAE"]}}}
    config_text = demo.read_text(encoding="utf-8")
    demo.write_text(
        re.sub(r'use_server = true\nurl = "[^"]*"', "use_server = false", config_text),
        encoding="utf-8",
    )
    run_cycle_beside_server(demo, object_info)
    entries = {Path(e["path"]).name: e for e in report(demo)["workflows"]}
    assert entries["stale_sdxl.json"]["unlinked_inputs"] == [
        {"node_id": "6", "node_type": "VAEDecode", "inputs": ["vae"]}
    ]


SWITCHED_OFF_SAVE = {
    "nodes": [
        {"id": 1, "type": "EmptyLatentImage", "mode": 0, "widgets_values": [512, 512, 1]},
        {"id": 2, "type": "Note", "mode": 0, "widgets_values": ["Enable the save when done."]},
        {"id": 3, "type": "SaveImage", "mode": 4, "widgets_values": ["ComfyUI"],
         "inputs": [_socket("images", "IMAGE", None)]},
    ],
    "links": [],
}  # fmt: skip


def test_a_workflow_with_no_active_output_is_uncertain_beside_a_server(demo: Path) -> None:
    workflows = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    (workflows / "switched_off_save.json").write_text(
        json.dumps(SWITCHED_OFF_SAVE), encoding="utf-8"
    )
    object_info: dict = {
        name: {"input": {"required": {}}, "output_node": False}
        for name in ("CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler",
                     "VAEDecode", "VAELoader", "CLIPLoader", "DemoSharpen", "LoraLoader")
    }  # fmt: skip
    object_info["SaveImage"] = {"input": {"required": {}}, "output_node": True}
    run_cycle_beside_server(demo, object_info)
    document = report(demo)
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    switched_off = entries["switched_off_save.json"]
    assert switched_off["status"] == "uncertain"
    assert switched_off["no_output"] == {
        "inactive_outputs": [{"node_id": "3", "node_type": "SaveImage", "state": "bypassed"}]
    }
    assert entries["ready_sdxl.json"]["no_output"] is None  # it saves its image
    # The demo's API prompt has no output node either; its missing model comes first.
    flux = entries["api_format_flux.json"]
    assert flux["status"] == "missing_models"
    assert flux["no_output"] == {"inactive_outputs": []}
    assert document["summary"]["workflows_without_output"] == 2
    add_output = {
        a["unblocks"][0]: a["title"] for a in document["actions"] if a["kind"] == "add_output"
    }
    assert "Prompt has no outputs" in add_output["switched_off_save.json"]
    assert "SaveImage (node 3, bypassed)" in add_output["switched_off_save.json"]
    assert "add an output node" in add_output["api_format_flux.json"]
    markdown = (home_of(demo) / "output/reports/status/master_status.md").read_text("utf-8")
    assert "Workflows with no output node: 2" in markdown
    assert "no output node" in markdown


def test_offline_the_install_s_source_tells_a_workflow_with_no_active_output(demo: Path) -> None:
    workflows = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    (workflows / "switched_off_save.json").write_text(
        json.dumps(SWITCHED_OFF_SAVE), encoding="utf-8"
    )
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    document = report(demo)
    assert document["summary"]["node_source"] == "static"
    entries = {Path(e["path"]).name: e for e in document["workflows"]}
    switched_off = entries["switched_off_save.json"]
    assert switched_off["status"] == "uncertain"
    assert switched_off["no_output"] == {
        "inactive_outputs": [{"node_id": "3", "node_type": "SaveImage", "state": "bypassed"}]
    }
    # The demo core's nodes.py writes OUTPUT_NODE on SaveImage, as ComfyUI's does.
    assert entries["misplaced_vae.json"]["no_output"] is None
