"""The fingerprint stage: stamps of the inputs, taken as a cycle runs, decide whether the next
cycle has any work."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from watchman.stages.fingerprint import CycleFingerprint, RunOutcome
from watchman.stages.fingerprint_inputs import InputTree
from watchman.stages.inventory.listing import TreeListing
from watchman.state import fingerprint
from watchman.state.cycle_state import CycleSummary

LATER = 60 * 1_000_000_000


def _file(path: Path, data: bytes = b"{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _saved_after_cycle(tmp_path: Path, now_ns: int, due_in: int = 10 * LATER) -> Path:
    """Fingerprint a workflows folder and a nodes.py file as a full cycle would."""
    state = tmp_path / "state" / "fingerprint.json"
    cycle = CycleFingerprint(state, "settings-1", now_ns)
    cycle.observe_inputs(
        TreeListing.for_cycle(None, now_ns, 0),
        [InputTree(str(tmp_path / "workflows"), (".json",))],
        [str(tmp_path / "nodes.py"), str(tmp_path / "extra_model_paths.yaml")],
        [],
    )
    cycle.due_at_ns.append(now_ns + due_in)
    cycle.finish(
        [],
        RunOutcome(counts={"workflows": 1}, summary=CycleSummary(workflows=1)),
        tmp_path / "no-resolution-cache.json",
    )
    return state


def _tree(tmp_path: Path) -> int:
    _file(tmp_path / "workflows" / "a" / "one.json")
    _file(tmp_path / "nodes.py", b"NODE_CLASS_MAPPINGS = {}")
    return max(os.stat(p).st_mtime_ns for p in tmp_path.rglob("*")) + LATER


def test_nothing_changed_means_no_work(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    assert fingerprint.check(saved, "settings-1", now + LATER) is None
    assert saved is not None and saved.outcome["counts"] == {"workflows": 1}


def test_a_workflow_edited_in_place_is_a_change(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    (tmp_path / "workflows" / "a" / "one.json").write_bytes(b'{"nodes": []}')
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"


def test_a_new_workflow_in_a_subfolder_is_a_change(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    _file(tmp_path / "workflows" / "a" / "two.json")
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"


def test_an_extra_model_paths_file_appearing_is_a_change(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    _file(tmp_path / "extra_model_paths.yaml", b"a: {}")
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"


def test_other_settings_or_options_mean_work(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    assert "settings" in (fingerprint.check(saved, "settings-2", now + LATER) or "")


def test_something_falling_due_means_work(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now, due_in=LATER))
    assert "due" in (fingerprint.check(saved, "settings-1", now + 2 * LATER) or "")


def test_an_input_stamped_in_the_same_tick_as_its_change_means_work(tmp_path):
    now = _tree(tmp_path) - LATER  # stamped right as the files were written
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    assert saved is not None and saved.racy
    assert "too close" in (fingerprint.check(saved, "settings-1", now + LATER) or "")


def test_a_fingerprint_that_stamped_fewer_inputs_is_not_trusted(tmp_path, monkeypatch):
    from tests.commands.test_cli import run
    from tests.demo_tree import prepare_demo
    from watchman.stages import fingerprint as stage

    config = prepare_demo(tmp_path / "demo")
    structured = tmp_path / "demo" / "home" / "log" / "structured.log"

    def unchanged_cycles() -> int:
        lines = structured.read_text(encoding="utf-8").splitlines()
        return sum('"phase":"fingerprint"' in line.replace(" ", "") for line in lines)

    assert run("--config", str(config), "--run-cycle")[0] == 0
    assert run("--config", str(config), "--run-cycle")[0] == 0
    assert unchanged_cycles() == 1
    monkeypatch.setattr(stage, "INPUTS_VERSION", stage.INPUTS_VERSION + 1)
    assert run("--config", str(config), "--run-cycle")[0] == 0
    assert unchanged_cycles() == 1  # ran in full


def test_the_node_pack_folders_extra_model_paths_adds_are_stamped_too(tmp_path):
    from watchman.stages.fingerprint import cycle_input_trees

    root = tmp_path / "ComfyUI"
    shared = tmp_path / "shared_nodes"
    trees, _, _ = cycle_input_trees(root, [], (".json",), [], [root / "custom_nodes", shared])
    stamped = [tree.folder for tree in trees if tree.packs]
    assert stamped == [str(root / "custom_nodes"), str(shared)]


def _stamped_in_packs(custom_nodes: Path) -> list[str]:
    from watchman.stages.fingerprint_inputs import PACK_FILE_SUFFIXES, input_paths

    tree = TreeListing.for_cycle(None, 0, 0)
    roots = [InputTree(str(custom_nodes), PACK_FILE_SUFFIXES, packs=True)]
    _, stamped = input_paths(tree, roots, [])
    return [Path(path).relative_to(custom_nodes).as_posix() for path in stamped]


def test_the_scripts_the_frontend_reader_reads_are_stamped_and_no_others(tmp_path):
    nodes = tmp_path / "custom_nodes"
    for name in (
        "Pack/__init__.py",
        "Pack/web/nodes.js",
        "Pack/web/extra.mjs",
        "Pack/web/style.css",
        "Pack/node_modules/lib/index.js",
        "Pack/.hidden/tool.js",
        "Pack/tests/test.js",
        ".disabled/Off/web/off.js",
        "Off2.disabled/off2.js",
        "loose.js",
    ):
        _file(nodes / name, b"x")
    stamped = _stamped_in_packs(nodes)
    scripts = sorted(path for path in stamped if path.endswith(("js",)))
    assert scripts == [
        ".disabled/Off/web/off.js",
        "Off2.disabled/off2.js",
        "Pack/web/extra.mjs",
        "Pack/web/nodes.js",
    ]


def test_a_pack_over_the_script_bound_is_stamped_up_to_the_script_read_last(tmp_path, monkeypatch):
    from watchman.comfy import pack_files

    monkeypatch.setattr(pack_files, "MAX_SCRIPTS", 2)
    nodes = tmp_path / "custom_nodes"
    for name in ("Big/a.js", "Big/web/b.js", "Big/web/c.js", "Small/z.js"):
        _file(nodes / name, b"x")
    scripts = [path for path in _stamped_in_packs(nodes) if path.endswith(".js")]
    assert scripts == ["Big/a.js", "Big/web/b.js", "Small/z.js"]


def _saved_fingerprint(
    tmp_path: Path, trees: list[InputTree], files: list[str], folders: Sequence[str] = ()
) -> tuple[fingerprint.Saved | None, int]:
    """Observe the inputs under ``tmp_path`` as a full cycle does, a while after their
    last change, save the fingerprint and load it back; returns it and that moment."""
    now = max(os.stat(p).st_mtime_ns for p in tmp_path.rglob("*")) + LATER
    state = tmp_path / "state" / "fingerprint.json"
    cycle = CycleFingerprint(state, "settings-1", now)
    cycle.observe_inputs(TreeListing.for_cycle(None, now, 0), trees, files, list(folders))
    cycle.due_at_ns.append(now + 10 * LATER)
    cycle.finish([], RunOutcome(counts={}, summary=CycleSummary()), tmp_path / "none.json")
    return fingerprint.load(state), now


def test_a_pack_script_rewritten_in_place_is_a_change(tmp_path):
    from watchman.stages.fingerprint_inputs import PACK_FILE_SUFFIXES

    script = _file(tmp_path / "custom_nodes" / "Pack" / "web" / "nodes.js", b"// none yet")
    saved, now = _saved_fingerprint(
        tmp_path, [InputTree(str(tmp_path / "custom_nodes"), PACK_FILE_SUFFIXES, packs=True)], []
    )
    assert fingerprint.check(saved, "settings-1", now + LATER) is None
    script.write_bytes(b'LiteGraph.registerNodeType("X", X);')  # its folder's stamp holds
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"


def test_every_folder_of_comfyui_s_input_folder_is_stamped_whatever_its_name(tmp_path):
    from watchman.stages.fingerprint import cycle_input_trees
    from watchman.stages.fingerprint_inputs import input_paths

    root = tmp_path / "ComfyUI"
    for name in ("tests", "node_modules", ".hidden", "pasted"):
        (root / "input" / name).mkdir(parents=True)
    trees, _, _ = cycle_input_trees(root, [], (".json",), [], input_folder=root / "input")
    folders, _ = input_paths(TreeListing.for_cycle(None, 0, 0), trees, [])
    inside = {Path(folder).name for folder in folders if Path(folder).parent == root / "input"}
    assert inside == {"tests", "node_modules", ".hidden", "pasted"}
    without, _, _ = cycle_input_trees(root, [], (".json",), [])
    assert str(root / "input") not in {tree.folder for tree in without}


def _scan_and_stamp(root: Path, monkeypatch) -> tuple[set[str], set[str]]:
    """Return the files the node scan reads of ``root`` (every file it signs: its core
    files, each pack's Python files and scripts) and the files the fingerprint stamps."""
    from watchman.stages.fingerprint import cycle_input_trees
    from watchman.stages.fingerprint_inputs import input_paths
    from watchman.stages.inventory import node_scan

    read: set[str] = set()
    signature = node_scan._signature

    def recording(base: Path, files: Any) -> str:
        files = list(files)
        read.update(str(path) for path in files)
        return signature(base, files)

    monkeypatch.setattr(node_scan, "_signature", recording)
    node_scan.scan_node_inventory(root)
    trees, files, _ = cycle_input_trees(root, [], (".json",), [])
    _, stamped = input_paths(TreeListing.for_cycle(None, 0, 0), trees, files)
    return read, set(stamped)


def test_the_fingerprint_stamps_every_file_the_node_scan_reads(tmp_path, monkeypatch):
    from watchman.comfy import pack_files

    monkeypatch.setattr(pack_files, "MAX_SCRIPTS", 2)
    root = tmp_path / "ComfyUI"
    for name in (
        "nodes.py",
        "comfy/samplers.py",
        "comfy_extras/nodes_a.py",
        "comfy_extras/.hidden.py",
        "comfy_api_nodes/.hidden.py",
        "comfy_api_nodes/apis/client.py",
        "custom_nodes/Pack/__init__.py",
        "custom_nodes/Pack/.hidden.py",
        "custom_nodes/Pack/web/.hidden.js",
        "custom_nodes/single.py",
        "custom_nodes/off.py.disabled",
        "custom_nodes/.disabled/off2.py.disabled",
        "custom_nodes/.disabled/off3.py",
        # Scripts past the bound: the scan does not enter the linked folder (a_link), so
        # it reads b/3.js; a walk entering it would stamp 1.js and 2.js instead.
        "custom_nodes/Big/__init__.py",
        "custom_nodes/Big/b/3.js",
        "elsewhere/1.js",
        "elsewhere/2.js",
    ):
        _file(root / name, b"x = 1")
    (root / "custom_nodes" / "Big" / "a_link").symlink_to(root / "elsewhere")
    read, stamped = _scan_and_stamp(root, monkeypatch)
    assert str(root / "custom_nodes" / "Big" / "b" / "3.js") in read
    assert str(root / "custom_nodes" / "off.py.disabled") in read
    assert read - stamped == set()
    assert not any("elsewhere" in path or "a_link" in path for path in stamped)


@pytest.mark.parametrize(
    "name",
    [
        "custom_nodes/off.py.disabled",
        "custom_nodes/Pack/.hidden.py",
        "comfy_extras/.x.py",
        "comfy/samplers.py",
    ],
)
def test_a_file_the_node_scan_reads_rewritten_in_place_is_a_change(tmp_path, name):
    from watchman.stages.fingerprint import cycle_input_trees

    root = tmp_path / "ComfyUI"
    _file(root / "custom_nodes" / "Pack" / "__init__.py", b"NODE_CLASS_MAPPINGS = {}")
    edited = _file(root / name, b"NODE_CLASS_MAPPINGS = {}")
    trees, files, folders = cycle_input_trees(root, [], (), [])
    saved, now = _saved_fingerprint(tmp_path, trees, files, folders)
    assert fingerprint.check(saved, "settings-1", now + LATER) is None
    edited.write_bytes(b'NODE_CLASS_MAPPINGS = {"Gained": Gained}')  # its folder's stamp holds
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"
