"""A whole cycle judges the types of links: from ComfyUI's own source offline, from a
live server beside it (the source still says whether a node checks its links itself)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.test_end_to_end import demo, report, run, run_cycle_beside_server
from tests.test_range_cycle import write_core_class

__all__ = ["demo"]  # the fixture, used by name

SPLIT = textwrap.dedent(
    """
    class SplitImage:
        RETURN_TYPES = ("IMAGE", "MASK")
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {}}


    """
)

DEMO_SAVE = "class SaveImage:\n    # As ComfyUI's own: the node a prompt is run from.\n"
TYPED_SAVE = DEMO_SAVE + textwrap.indent(
    textwrap.dedent(
        """
        RETURN_TYPES = ()
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"images": ("IMAGE",), "filename_prefix": ("STRING", {})}}
        """
    ),
    "    ",
)


def write_core(demo: Path) -> None:
    """Give the demo's core a SplitImage returning an image then a mask, and a SaveImage
    declaring its images input, as ComfyUI's own does."""
    write_core_class(demo, SPLIT, "SplitImage")
    nodes = demo.parent / "ComfyUI" / "nodes.py"
    text = nodes.read_text(encoding="utf-8")
    assert DEMO_SAVE in text
    nodes.write_text(text.replace(DEMO_SAVE, TYPED_SAVE), encoding="utf-8")


def ui_workflow(slot: int) -> dict:
    return {
        "nodes": [
            {"id": 4, "type": "SplitImage", "mode": 0, "inputs": [], "outputs": []},
            {
                "id": 3,
                "type": "SaveImage",
                "mode": 0,
                "inputs": [{"name": "images", "type": "IMAGE", "link": 20}],
                "widgets_values": ["out"],
            },
        ],
        "links": [[20, 4, slot, 3, 0, "IMAGE"]],
    }


def rerouted_workflow(slot: int) -> dict:
    """:func:`ui_workflow` with its link led through two legacy ``Reroute`` nodes."""
    document = ui_workflow(slot)
    document["nodes"][1:1] = [
        {"id": 5, "type": "Reroute", "mode": 0, "inputs": [{"name": "", "type": "*", "link": 21}]},
        {"id": 6, "type": "Reroute", "mode": 0, "inputs": [{"name": "", "type": "*", "link": 22}]},
    ]
    document["links"] = [
        [21, 4, slot, 5, 0, "IMAGE"],
        [22, 5, 0, 6, 0, "IMAGE"],
        [20, 6, 0, 3, 0, "IMAGE"],
    ]
    return document


def write_workflows(demo: Path) -> None:
    """Put a UI workflow feeding SaveImage the mask (``mask_saved``), the same through two
    reroutes (``mask_rerouted``), one feeding it the image (``image_saved``), and an API
    prompt feeding it a slot SplitImage lacks."""
    folder = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    for name, document in (
        ("mask_saved.json", ui_workflow(1)),
        ("mask_rerouted.json", rerouted_workflow(1)),
        ("image_saved.json", ui_workflow(0)),
        (
            "gone_saved.json",
            {
                "4": {"class_type": "SplitImage", "inputs": {}},
                "3": {
                    "class_type": "SaveImage",
                    "inputs": {"images": ["4", 5], "filename_prefix": "out"},
                },
            },
        ),
    ):
        (folder / name).write_text(json.dumps(document), encoding="utf-8")


def entries(demo: Path) -> dict[str, dict]:
    return {Path(entry["path"]).name: entry for entry in report(demo)["workflows"]}


MASK_LINK = {
    "node_id": "3",
    "node_type": "SaveImage",
    "input": "images",
    "source_id": "4",
    "source_type": "SplitImage",
    "slot": 1,
    "received": "MASK",
    "expected": "IMAGE",
}


def test_offline_a_mask_linked_where_the_source_declares_an_image_is_found(demo: Path) -> None:
    write_core(demo)
    write_workflows(demo)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    found = entries(demo)
    assert found["mask_saved.json"]["status"] == "uncertain"
    assert found["mask_saved.json"]["mismatched_links"] == [MASK_LINK]
    # ComfyUI is sent the link entering the reroutes: the same mask, the same refusal.
    assert found["mask_rerouted.json"]["status"] == "uncertain"
    assert found["mask_rerouted.json"]["mismatched_links"] == [MASK_LINK]
    assert found["image_saved.json"]["status"] == "ready"
    assert found["image_saved.json"]["mismatched_links"] == []
    [gone] = found["gone_saved.json"]["mismatched_links"]
    assert (gone["slot"], gone["received"]) == (5, None)
    document = report(demo)
    assert document["summary"]["mismatched_links"] == 3
    assert any(
        action["kind"] == "reconnect_links" and "mask_saved.json" in action["unblocks"]
        for action in document["actions"]
    )


def test_beside_a_server_its_outputs_and_declared_types_are_the_ones_judged(demo: Path) -> None:
    write_core(demo)
    write_workflows(demo)
    object_info = {
        "SplitImage": {"input": {"required": {}}, "output": ["IMAGE", "IMAGE"]},
        "SaveImage": {
            "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}},
            "output": [],
            "output_node": True,
        },
    }
    run_cycle_beside_server(demo, object_info)
    found = entries(demo)
    # This server's SplitImage returns two images: the second is no mismatch.
    assert found["mask_saved.json"]["mismatched_links"] == []
    assert found["mask_saved.json"]["status"] == "ready"
    assert found["mask_rerouted.json"]["mismatched_links"] == []
    assert [link["slot"] for link in found["gone_saved.json"]["mismatched_links"]] == [5]


def test_without_its_source_a_servers_types_judge_nothing(demo: Path) -> None:
    write_workflows(demo)  # the demo's core writes no INPUT_TYPES for SaveImage
    object_info = {
        "SplitImage": {"input": {"required": {}}, "output": ["IMAGE", "MASK"]},
        "SaveImage": {
            "input": {"required": {"images": ["IMAGE"]}},
            "output": [],
            "output_node": True,
        },
    }
    run_cycle_beside_server(demo, object_info)
    # Whether SaveImage's validation takes input_types only its source says.
    assert entries(demo)["mask_saved.json"]["mismatched_links"] == []


BLUR = textwrap.dedent(
    """
    class Blur:
        RETURN_TYPES = ("IMAGE",)
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": ("IMAGE",)}}


    """
)


def with_dead_branch(document: dict) -> dict:
    """``document`` with SplitImage's mask also led into a Blur whose output goes nowhere:
    a branch no output needs, which ComfyUI neither checks nor runs."""
    document["nodes"].append(
        {
            "id": 7,
            "type": "Blur",
            "mode": 0,
            "inputs": [{"name": "image", "type": "IMAGE", "link": 30}],
            "outputs": [],
        }
    )
    document["links"].append([30, 4, 1, 7, 0, "IMAGE"])
    return document


def test_a_mismatch_on_a_branch_no_output_needs_does_not_make_a_workflow_uncertain(
    demo: Path,
) -> None:
    write_core(demo)
    write_core_class(demo, BLUR, "Blur")
    folder = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    (folder / "dead_branch.json").write_text(json.dumps(with_dead_branch(ui_workflow(0))))
    (folder / "live_branch.json").write_text(json.dumps(with_dead_branch(ui_workflow(1))))
    object_info = {
        "SplitImage": {"input": {"required": {}}, "output": ["IMAGE", "MASK"]},
        "SaveImage": {
            "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}},
            "output": [],
            "output_node": True,
        },
        "Blur": {"input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"]},
    }
    run_cycle_beside_server(demo, object_info)
    found = entries(demo)
    assert found["dead_branch.json"]["mismatched_links"] == []
    assert found["dead_branch.json"]["status"] == "ready"
    # Where the output needs the mask, the refusal is still found (the blur's is not).
    assert found["live_branch.json"]["mismatched_links"] == [MASK_LINK]
    assert found["live_branch.json"]["status"] == "uncertain"
