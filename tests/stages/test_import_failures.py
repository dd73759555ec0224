"""Packs ComfyUI's last start failed to import: their node types are missing, with advice
to fix the pack, when no server answers; a pack changed since the log may load now."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.demo_tree import prepare_demo
from watchman.comfy.startup_log import ImportFailures
from watchman.stages.inventory.nodes import NodeInventory, NodePack
from watchman.stages.inventory.stock import with_import_failures
from watchman.stages.needs import NodeNeed
from watchman.stages.node_packs import advise

LOG_WRITTEN_NS = 2_000 * 10**9


def _pack(tmp_path: Path, name: str, enabled: bool = True, mtime: int = 1_000) -> NodePack:
    folder = tmp_path / name
    (folder / "__init__.py").parent.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text(f"NODE_CLASS_MAPPINGS = {{'{name}Node': object}}\n")
    for path in (folder / "__init__.py", folder):
        os.utime(path, (mtime, mtime))
    return NodePack(name, str(folder), "folder", enabled, None, None, None, (f"{name}Node",))


def _failures(*packs: str) -> ImportFailures:
    return ImportFailures(Path("/c/user/comfyui.log"), LOG_WRITTEN_NS, frozenset(packs))


def test_a_pack_that_failed_to_import_provides_no_node_types(tmp_path: Path) -> None:
    broken, fine = _pack(tmp_path, "Broken"), _pack(tmp_path, "Fine")
    nodes = with_import_failures(
        NodeInventory(frozenset({"KSampler"}), (broken, fine)), _failures("Broken")
    )
    assert nodes.enabled_classes() == {"KSampler", "FineNode"}
    advice = advise(NodeNeed("BrokenNode", ("3",), None, None), nodes, None)
    assert (advice.status, advice.title, advice.path) == ("import_failed", "Broken", broken.path)
    assert "restart ComfyUI" in str(advice.reason)


def test_a_pack_changed_since_the_log_may_import_now_and_counts_as_loading(tmp_path: Path) -> None:
    updated = _pack(tmp_path, "Updated", mtime=3_000)  # written after the log
    nodes = with_import_failures(NodeInventory(frozenset(), (updated,)), _failures("Updated"))
    assert nodes.import_failed == frozenset()
    assert nodes.enabled_classes() == {"UpdatedNode"}


def test_a_disabled_pack_stays_a_disabled_pack(tmp_path: Path) -> None:
    off = _pack(tmp_path, "Off.disabled", enabled=False)
    nodes = with_import_failures(NodeInventory(frozenset(), (off,)), _failures("Off.disabled"))
    assert nodes.import_failed == frozenset()
    advice = advise(NodeNeed("Off.disabledNode", ("1",), None, None), nodes, None)
    assert advice.status == "installed_disabled"


def test_a_workflow_ready_by_the_source_is_blocked_when_comfyui_could_not_import_its_pack(
    tmp_path: Path,
) -> None:
    from tests.commands.test_cli import run

    config = prepare_demo(tmp_path / "demo")
    report = tmp_path / "demo" / "home" / "output" / "reports" / "status" / "master_status.json"

    def status_of_ready_sdxl() -> tuple[str, list[str]]:
        assert run("--config", str(config), "--run-cycle")[0] == 0
        document = json.loads(report.read_bytes())
        [entry] = [w for w in document["workflows"] if w["path"].endswith("ready_sdxl.json")]
        kinds = [a["kind"] for a in document["actions"] if "ready_sdxl.json" in a["unblocks"]]
        return entry["status"], kinds

    assert status_of_ready_sdxl() == ("ready", [])
    log = tmp_path / "demo" / "ComfyUI" / "user" / "comfyui.log"
    pack = tmp_path / "demo" / "ComfyUI" / "custom_nodes" / "ComfyUI-DemoUpscale"
    log.write_text(
        "Import times for custom nodes:\n"
        f"   0.0 seconds (IMPORT FAILED): {pack}\n"
        "\nStarting server\n",
        encoding="utf-8",
    )
    assert status_of_ready_sdxl() == ("missing_nodes", ["fix_pack_import"])


def test_a_log_the_settings_name_is_read_and_its_import_times_arriving_rerun_the_cycle(
    tmp_path: Path,
) -> None:
    from tests.commands.test_cli import run

    config = prepare_demo(tmp_path / "demo")
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "use_server = false", 'use_server = false\nstartup_logs = ["logs/comfy-out.txt"]'
        ),
        encoding="utf-8",
    )
    report = tmp_path / "demo" / "home" / "output" / "reports" / "status" / "master_status.json"
    pack = tmp_path / "demo" / "ComfyUI" / "custom_nodes" / "ComfyUI-DemoUpscale"
    teed = tmp_path / "demo" / "ComfyUI" / "logs" / "comfy-out.txt"
    teed.parent.mkdir()
    teed.write_text("[START] Security scan\nTotal VRAM 24576 MB\n", encoding="utf-8")

    def status_of_ready_sdxl() -> str:
        assert run("--config", str(config), "--run-cycle")[0] == 0
        document = json.loads(report.read_bytes())
        [entry] = [w for w in document["workflows"] if w["path"].endswith("ready_sdxl.json")]
        return str(entry["status"])

    assert status_of_ready_sdxl() == "ready"  # ComfyUI still starting: nothing known
    with teed.open("a", encoding="utf-8") as teeing:  # its imports end, one pack failed
        teeing.write(f"Import times for custom nodes:\n   0.0 seconds (IMPORT FAILED): {pack}\n\n")
    assert status_of_ready_sdxl() == "missing_nodes"  # no other input changed
