"""A whole cycle judges number values against the install's ranges: read from ComfyUI's
own source offline, from a live server beside it, turned off by its setting, and a server
whose range changes makes the next cycle run in full."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.local_http import answering
from tests.test_end_to_end import demo, home_of, report, run

__all__ = ["demo"]  # the fixture, used by name

LATENT = textwrap.dedent(
    """
    MAX_RESOLUTION = 512


    class EmptyLatentImage:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {
                "width": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION}),
                "height": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION}),
                "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096})}}


    """
)


def write_core_class(demo: Path, source: str, node_type: str) -> None:
    """Give the demo's core the class ``source`` writes, named ``node_type`` and mapped
    to it (in place of the demo's stand-in when it maps that type)."""
    nodes = demo.parent / "ComfyUI" / "nodes.py"
    text = nodes.read_text(encoding="utf-8")
    text = text.replace(f'    "{node_type}": _DemoNode,\n', "")
    text = text.replace(
        "NODE_CLASS_MAPPINGS = {",
        f'{source}NODE_CLASS_MAPPINGS = {{\n    "{node_type}": {node_type},',
    )
    nodes.write_text(text, "utf-8")


def write_core_latent(demo: Path) -> None:
    """Give the demo's core an EmptyLatentImage allowing sizes up to 512 only."""
    write_core_class(demo, LATENT, "EmptyLatentImage")


def entries(demo: Path) -> dict[str, dict]:
    return {Path(entry["path"]).name: entry for entry in report(demo)["workflows"]}


def test_offline_a_size_over_the_installs_written_maximum_is_found(demo: Path) -> None:
    write_core_latent(demo)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    found = entries(demo)
    # The API prompt lacks a model too: what is worse stands as its status.
    assert found["ready_sdxl.json"]["status"] == "uncertain"
    assert found["api_format_flux.json"]["status"] == "missing_models"
    for name in ("ready_sdxl.json", "api_format_flux.json"):
        assert [
            (v["input"], v["value"], v["side"], v["max"])
            for v in found[name]["out_of_range_values"]
        ] == [("width", 1024, "above", 512), ("height", 1024, "above", 512)]
    document = report(demo)
    assert document["summary"]["values_out_of_range"] == 2
    assert any(action["kind"] == "set_value" for action in document["actions"])


def test_the_check_of_ranges_can_be_turned_off(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_core_latent(demo)
    monkeypatch.setenv("COMFYWATCHMAN_WORKFLOWS__CHECK_VALUE_RANGES", "false")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    found = entries(demo)
    assert found["ready_sdxl.json"]["status"] == "ready"
    assert found["ready_sdxl.json"]["out_of_range_values"] == []


def test_a_servers_range_is_judged_and_a_change_of_it_runs_the_next_cycle_in_full(
    demo: Path,
) -> None:
    object_info: dict = {
        name: {"input": {"required": {}}}
        for name in (
            "KSampler",
            "CheckpointLoaderSimple",
            "CLIPTextEncode",
            "VAEDecode",
            "SaveImage",
            "VAELoader",
            "CLIPLoader",
            "DemoSharpen",
            "LoraLoader",
        )
    }
    answer: dict[str, bytes] = {}

    def with_maximum(maximum: int) -> None:
        object_info["EmptyLatentImage"] = {
            "input": {
                "required": {
                    "width": ["INT", {"min": 16, "max": maximum}],
                    "height": ["INT", {"min": 16, "max": maximum}],
                    "batch_size": ["INT", {"min": 1, "max": 4096}],
                }
            }
        }
        answer["body"] = json.dumps(object_info).encode()

    with_maximum(16384)
    with answering(
        lambda path: (200, answer["body"]) if path == "/object_info" else (404, b"{}")
    ) as server:
        text = demo.read_text(encoding="utf-8")
        demo.write_text(
            text.replace("use_server = false", f'use_server = true\nurl = "{server.url}"'),
            encoding="utf-8",
        )
        assert run("--config", str(demo), "--run-cycle")[0] == 0
        assert entries(demo)["ready_sdxl.json"]["out_of_range_values"] == []
        # The same server, the same files: only the range it answers changed.
        with_maximum(1000)
        assert run("--config", str(demo), "--run-cycle")[0] == 0
    narrow = entries(demo)
    assert narrow["ready_sdxl.json"]["status"] == "uncertain"
    flux = narrow["api_format_flux.json"]["out_of_range_values"]
    assert [(v["input"], v["max"]) for v in flux] == [("width", 1000), ("height", 1000)]


NOISE = textwrap.dedent(
    """
    class KSamplerAdvanced:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {
                "noise_seed": ("INT", {"default": 0, "min": -0xffffffffffffffff,
                                       "max": 0xffffffffffffffff}),
                "steps": ("INT", {"default": 20, "min": 1, "max": 10000})}}


    """
)


def test_a_bound_past_64_bits_as_comfyui_writes_one_does_not_stop_the_cycle(demo: Path) -> None:
    # ComfyUI's own source writes such a minimum; the node cache keeps it as a double.
    write_core_class(demo, NOISE, "KSamplerAdvanced")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert run("--config", str(demo), "--run-cycle")[0] == 0  # and from the cache
    cache = json.loads((home_of(demo) / "state" / "custom_nodes_cache.json").read_text())
    assert "-1.8446744073709552e+19" in json.dumps(cache)


def test_a_huge_number_in_a_workflow_is_reported_and_does_not_stop_the_cycle(demo: Path) -> None:
    write_core_latent(demo)
    workflow = demo.parent / "ComfyUI" / "user" / "default" / "workflows" / "ready_sdxl.json"
    document = json.loads(workflow.read_text(encoding="utf-8"))
    for node in document["nodes"]:
        if node["type"] == "EmptyLatentImage":
            node["widgets_values"] = [10**30, 512, 1]
    workflow.write_text(json.dumps(document), encoding="utf-8")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert run("--config", str(demo), "--run-cycle", "--force")[0] == 0  # and from the caches
    [value] = entries(demo)["ready_sdxl.json"]["out_of_range_values"]
    assert (value["input"], value["value"], value["side"]) == ("width", 1e30, "above")
