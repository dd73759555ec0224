"""A whole cycle judges values against their inputs' types: read from ComfyUI's own
source offline, from a live server beside it, and turned off by its setting."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.test_end_to_end import demo, report, run, run_cycle_beside_server
from tests.test_range_cycle import write_core_class

__all__ = ["demo"]  # the fixture, used by name

LATENT = textwrap.dedent(
    """
    class EmptyLatentImage:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {
                "width": ("INT", {"default": 512, "min": 16}),
                "height": ("INT", {"default": 512}),
                "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096})}}


    """
)

PROMPT = {
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": "auto", "height": "512", "batch_size": None},
    },
    "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "x"}},
}


def write_prompt(demo: Path) -> None:
    """Put an API prompt whose width is a text no int() reads, and whose batch size is
    null, among the demo's workflows."""
    folder = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    (folder / "typed_latent.json").write_text(json.dumps(PROMPT), encoding="utf-8")


def typed_entry(demo: Path) -> dict:
    [entry] = [e for e in report(demo)["workflows"] if e["path"].endswith("typed_latent.json")]
    return entry


def test_offline_a_text_where_the_source_declares_an_int_is_found(demo: Path) -> None:
    write_core_class(demo, LATENT, "EmptyLatentImage")
    write_prompt(demo)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entry = typed_entry(demo)
    assert entry["status"] == "uncertain"
    assert entry["wrong_type_values"] == [
        {
            "node_id": "5",
            "node_type": "EmptyLatentImage",
            "input": "width",
            "value": "auto",
            "type": "INT",
        },
        {
            "node_id": "5",
            "node_type": "EmptyLatentImage",
            "input": "batch_size",
            "value": None,
            "type": "INT",
        },
    ]
    document = report(demo)
    assert document["summary"]["values_of_wrong_type"] == 2
    assert any(
        action["kind"] == "set_value" and "width of EmptyLatentImage" in action["title"]
        for action in document["actions"]
    )


def test_the_check_of_types_can_be_turned_off(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_core_class(demo, LATENT, "EmptyLatentImage")
    write_prompt(demo)
    monkeypatch.setenv("COMFYWATCHMAN_WORKFLOWS__CHECK_VALUE_TYPES", "false")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    entry = typed_entry(demo)
    assert entry["status"] == "ready"
    assert entry["wrong_type_values"] == []


def test_beside_a_server_its_declared_types_are_the_ones_judged(demo: Path) -> None:
    write_prompt(demo)
    object_info = {
        "EmptyLatentImage": {
            "input": {
                "required": {
                    "width": ["STRING", {}],  # this server takes a text there
                    "height": ["FLOAT", {}],
                    "batch_size": ["FLOAT", {"min": 1}],  # null: maybe a NaN
                }
            },
        },
        "SaveImage": {
            "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}},
            "output_node": True,
        },
    }
    run_cycle_beside_server(demo, object_info)
    entry = typed_entry(demo)
    assert entry["wrong_type_values"] == []
    assert entry["status"] == "ready"
