"""A whole cycle judges a required input of a pack's own data type (``WANVIDEOMODEL``)
that a saved node lacks, as it does ComfyUI's own types, unless a pack's script names the
type (it may be a custom widget)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_end_to_end import OFFLINE_CORE, demo, report, run

__all__ = ["demo"]  # the fixture, used by name

WAN_PACK = """
class WanSampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"wan": ("WANVIDEOMODEL",), "steps": ("INT", {"default": 4})}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"


NODE_CLASS_MAPPINGS = {"WanSampler": WanSampler}
"""


def saved_sampler(inputs: list[dict]) -> dict:
    """A UI workflow: the pack's sampler, as a frontend saved it with ``inputs``, feeding
    a SaveImage."""
    return {
        "nodes": [
            {"id": 1, "type": "WanSampler", "mode": 0, "inputs": inputs, "widgets_values": [4],
             "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}]},
            {"id": 2, "type": "SaveImage", "mode": 0, "widgets_values": ["ComfyUI"],
             "inputs": [{"name": "images", "type": "IMAGE", "link": 1}]},
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"]],
    }  # fmt: skip


def install(demo: Path) -> tuple[Path, Path]:
    """Give the demo a core written as ComfyUI writes one and the pack; return the pack
    folder and the workflows folder."""
    comfyui = demo.parent / "ComfyUI"
    (comfyui / "nodes.py").write_text(OFFLINE_CORE, encoding="utf-8")
    pack = comfyui / "custom_nodes" / "ComfyUI-DemoWan"
    pack.mkdir()
    (pack / "__init__.py").write_text(WAN_PACK, encoding="utf-8")
    return pack, comfyui / "user" / "default" / "workflows"


def entries(demo: Path) -> dict[str, dict]:
    return {Path(entry["path"]).name: entry for entry in report(demo)["workflows"]}


def test_a_saved_node_lacking_a_required_input_of_a_pack_s_own_type_is_not_ready(
    demo: Path,
) -> None:
    _, workflows = install(demo)
    (workflows / "stale_wan.json").write_text(json.dumps(saved_sampler([])), "utf-8")
    fed = [{"name": "wan", "type": "WANVIDEOMODEL", "link": None}]
    (workflows / "open_wan.json").write_text(json.dumps(saved_sampler(fed)), "utf-8")
    code, _, err = run("--config", str(demo), "--run-cycle")
    assert code == 0, err
    found = entries(demo)
    expected = [{"node_id": "1", "node_type": "WanSampler", "inputs": ["wan"]}]
    for name in ("stale_wan.json", "open_wan.json"):
        assert found[name]["status"] == "uncertain"
        assert found[name]["unlinked_inputs"] == expected


def test_a_pack_type_a_script_names_may_be_a_widget_and_its_absence_is_not_judged(
    demo: Path,
) -> None:
    pack, workflows = install(demo)
    (workflows / "stale_wan.json").write_text(json.dumps(saved_sampler([])), "utf-8")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert entries(demo)["stale_wan.json"]["unlinked_inputs"] != []
    # The pack's script colours the type's links: it may as well make it a widget.
    (pack / "web").mkdir()
    script = 'app.registerExtension({name: "wan"}); colors["WANVIDEOMODEL"] = "#0f0";\n'
    (pack / "web" / "wan.js").write_text(script, encoding="utf-8")
    code, _, err = run("--config", str(demo), "--run-cycle")
    assert code == 0, err
    entry = entries(demo)["stale_wan.json"]
    assert entry["unlinked_inputs"] == []
    assert entry["status"] == "ready"
