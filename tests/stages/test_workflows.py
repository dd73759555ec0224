"""The watched-workflow store: parse cache reuse and what counts as a workflow."""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from watchman.commands.scan import scan_paths
from watchman.errors import WorkflowError
from watchman.stages import watched_folders as watched_folders_module
from watchman.stages.workflow_cache import CacheEntry, decode_entry, encode_entry
from watchman.stages.workflow_cache import header as cache_header
from watchman.stages.workflow_entries import load_workflow_cache, parser_version
from watchman.stages.workflows import scan_watched_folders

API = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}}}


def png(*texts: tuple[str, str]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    parts = [chunk(b"IHDR", header)]
    parts += [chunk(b"tEXt", key.encode() + b"\x00" + value.encode()) for key, value in texts]
    parts.append(chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(parts)


def test_pictures_without_workflows_are_skipped_and_workflow_pictures_are_read(
    tmp_path: Path,
) -> None:
    (tmp_path / "render.png").write_bytes(png(("Software", "a camera")))
    (tmp_path / "shared.png").write_bytes(png(("prompt", json.dumps(API))))
    (tmp_path / "broken.png").write_bytes(png(("workflow", "{not json")))
    for written in tmp_path.iterdir():  # older than the scan, or the racy rule re-hashes
        os.utime(written, ns=(5_000_000_000, 5_000_000_000))
    scan = scan_watched_folders([(tmp_path, "mine")], {}, scan_started_ns=time.time_ns())
    found = {path.name: stored for stored in scan.workflows for path in [stored.watched.path]}
    assert set(found) == {"shared.png", "broken.png"}
    assert found["shared.png"].parsed is not None
    assert found["shared.png"].parsed.format == "png"
    assert found["broken.png"].error
    # The picture is remembered, so the next cycle does not read it again.
    again = scan_watched_folders([(tmp_path, "mine")], scan.entries, scan_started_ns=time.time_ns())
    assert again.files_hashed == 0 and len(again.workflows) == 2


def test_videos_and_audio_in_a_watched_folder_are_read_by_their_metadata(
    tmp_path: Path,
) -> None:
    media = Path(__file__).resolve().parents[1] / "comfy" / "media"
    for name in ("savevideo.mp4", "vhs_comment.webm", "saveaudio.flac", "plain.mp4"):
        (tmp_path / name).write_bytes((media / name).read_bytes())
    (tmp_path / "renamed.mov").write_bytes(b"not a video at all")
    for written in tmp_path.iterdir():  # older than the scan, or the racy rule re-hashes
        os.utime(written, ns=(5_000_000_000, 5_000_000_000))
    scan = scan_watched_folders([(tmp_path, "mine")], {}, scan_started_ns=time.time_ns())
    found = {stored.watched.path.name: stored for stored in scan.workflows}
    # The clip without metadata and the file that is no video are neither workflows nor
    # errors; each of the others is one workflow, named by its format.
    assert {name: stored.parsed.format for name, stored in found.items() if stored.parsed} == {
        "savevideo.mp4": "mp4",
        "vhs_comment.webm": "webm",
        "saveaudio.flac": "flac",
    }
    assert all(stored.error is None for stored in found.values())
    # The recorded sha256 is of the embedded texts: the same workflow in another
    # container of the same kind is the same workflow.
    assert found["savevideo.mp4"].watched.sha256
    again = scan_watched_folders([(tmp_path, "mine")], scan.entries, scan_started_ns=time.time_ns())
    assert again.files_hashed == 0 and len(again.workflows) == 3


def test_a_touched_but_unchanged_file_is_hashed_not_parsed(tmp_path: Path) -> None:
    workflow = tmp_path / "w.json"
    workflow.write_text(json.dumps(API), encoding="utf-8")
    first = scan_watched_folders([(tmp_path, "mine")], {}, scan_started_ns=time.time_ns())
    assert (first.files_hashed, first.files_parsed) == (1, 1)
    os.utime(workflow, ns=(5_000_000_000, 5_000_000_000))
    touched = scan_watched_folders(
        [(tmp_path, "mine")], first.entries, scan_started_ns=time.time_ns()
    )
    assert (touched.files_hashed, touched.files_parsed) == (1, 0)
    workflow.write_text(json.dumps({**API, "2": API["1"]}), encoding="utf-8")
    edited = scan_watched_folders(
        [(tmp_path, "mine")], touched.entries, scan_started_ns=time.time_ns()
    )
    assert (edited.files_hashed, edited.files_parsed) == (1, 1)
    assert len(edited.workflows[0].parsed.model_refs) == 2


def test_a_cache_from_another_parser_version_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "workflow_cache.jsonl"
    entry = CacheEntry("mine", 1, 1, None, 1, "", None, "error")
    cache.write_bytes(cache_header("another parser") + encode_entry("x", entry))
    assert load_workflow_cache(cache) == {}
    cache.write_bytes(cache_header(parser_version(None)) + encode_entry("x", entry))
    assert list(load_workflow_cache(cache)) == ["x"]


def test_a_missing_watched_folder_is_skipped(tmp_path: Path) -> None:
    scan = scan_watched_folders([(tmp_path / "nope", "mine")], {}, scan_started_ns=time.time_ns())
    assert scan.workflows == ()


def test_a_damaged_cache_entry_costs_one_re_read(tmp_path: Path) -> None:
    workflow = tmp_path / "w.json"
    workflow.write_text(json.dumps(API), encoding="utf-8")
    entries = scan_watched_folders([(tmp_path, "mine")], {}, scan_started_ns=time.time_ns()).entries
    entries = dict(entries)
    entry = replace(decode_entry(entries[str(workflow)]), parsed=[1, "garbage"])
    entries[str(workflow)] = encode_entry(str(workflow), entry)
    again = scan_watched_folders([(tmp_path, "mine")], entries, scan_started_ns=time.time_ns())
    assert again.files_parsed == 1
    assert again.workflows[0].parsed.model_refs[0].value == "a.safetensors"


UI = {
    "nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["a.safetensors"]},
        {"id": 2, "type": "KSampler", "inputs": [{"name": "model", "type": "MODEL", "link": 1}]},
    ],
    "links": [[1, 1, 0, 2, 0, "MODEL"]],
}


def scanned_twice(folder: Path) -> tuple:
    """A first scan of ``folder`` (parsing) and a second from its cache (reusing)."""
    for written in folder.iterdir():  # older than the scan, or the racy rule re-hashes
        os.utime(written, ns=(5_000_000_000, 5_000_000_000))
    first = scan_watched_folders([(folder, "mine")], {}, scan_started_ns=time.time_ns())
    again = scan_watched_folders([(folder, "mine")], first.entries, scan_started_ns=time.time_ns())
    return first, again


def test_a_cached_parse_keeps_its_nodes_packed_until_they_are_asked_for(tmp_path: Path) -> None:
    (tmp_path / "w.json").write_text(json.dumps(UI), encoding="utf-8")
    first, again = scanned_twice(tmp_path)
    fresh, cached = first.workflows[0], again.workflows[0]

    assert again.files_parsed == 0 and cached.cached is not None
    assert not cached.cached.unpacked
    # The outline holds what kept needs point at, and no node.
    assert cached.outline.nodes == () and cached.outline.model_refs == fresh.parsed.model_refs
    assert cached.has_parse and not cached.cached.unpacked
    assert cached.parsed == fresh.parsed
    assert cached.cached.unpacked and cached.parsed is cached.parsed  # unpacked once


def scanned_with_a_damaged_node_record(folder: Path) -> tuple:
    """A first scan of the UI workflow ``folder/w.json``, and a second from a cache whose
    entry has a damaged node record beside a whole outline."""
    workflow = folder / "w.json"
    workflow.write_text(json.dumps(UI), encoding="utf-8")
    first, _ = scanned_twice(folder)
    entry = decode_entry(first.entries[str(workflow)])
    assert entry.parsed is not None
    damaged = [entry.parsed[0], [["not", "a", "node"]], *entry.parsed[2:]]
    entries = {str(workflow): encode_entry(str(workflow), replace(entry, parsed=damaged))}
    again = scan_watched_folders([(folder, "mine")], entries, scan_started_ns=time.time_ns())
    return first, again


def test_a_damaged_node_record_found_when_asked_costs_one_parse_of_the_file(
    tmp_path: Path,
) -> None:
    first, again = scanned_with_a_damaged_node_record(tmp_path)

    assert again.files_parsed == 0
    assert again.workflows[0].parsed == first.workflows[0].parsed


def test_a_damaged_node_record_of_a_file_gone_since_is_that_workflows_error(
    tmp_path: Path,
) -> None:
    _, again = scanned_with_a_damaged_node_record(tmp_path)
    (tmp_path / "w.json").unlink()

    with pytest.raises(WorkflowError, match="cannot be read again"):
        _ = again.workflows[0].parsed


def test_a_watched_path_that_is_a_file_is_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    import logging

    workflow = tmp_path / "w.json"
    workflow.write_text(json.dumps(API), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        scan = scan_watched_folders([(workflow, "mine")], {}, scan_started_ns=time.time_ns())
    assert scan.workflows == ()
    assert "is a file, not a folder" in caplog.text


def test_scan_and_the_cycle_find_the_same_workflow_files(tmp_path: Path) -> None:
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "sub").mkdir()
    for name in ("a.json", ".dotfile.json", ".hidden/b.json", "sub/c.json", "sub/d.PNG"):
        (tmp_path / name).write_text(json.dumps(API), encoding="utf-8")
    by_scan = [entry.path for entry in scan_paths([tmp_path])]
    by_cycle = [
        stored.watched.path
        for stored in scan_watched_folders(
            [(tmp_path, "x")], {}, scan_started_ns=time.time_ns()
        ).workflows
    ]
    assert (
        by_scan
        == by_cycle
        == [tmp_path / "a.json", tmp_path / "sub/c.json", tmp_path / "sub/d.PNG"]
    )


def test_scan_and_the_cycle_refuse_the_same_oversized_file_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watched_folders_module, "MAX_WORKFLOW_BYTES", 150)
    (tmp_path / "small.json").write_text(json.dumps(API), encoding="utf-8")
    (tmp_path / "huge.json").write_text(json.dumps({**API, "pad": "x" * 100}), encoding="utf-8")
    [huge_scan, small_scan] = scan_paths([tmp_path])
    assert huge_scan.parsed is None and "over a limit" in huge_scan.errors[0]
    assert small_scan.parsed is not None
    cycle = {
        s.watched.path.name: s
        for s in scan_watched_folders(
            [(tmp_path, "x")], {}, scan_started_ns=time.time_ns()
        ).workflows
    }
    assert cycle["huge.json"].parsed is None
    assert "over a limit" in str(cycle["huge.json"].error)
    assert cycle["small.json"].parsed is not None


def test_an_earlier_versions_parse_cache_is_removed_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from watchman.stages.watched_folders import WatchedFolder
    from watchman.stages.workflows import read_watched_workflows

    state = tmp_path / "state"
    state.mkdir()
    old_cache = state / "workflow_cache.json"
    old_cache.write_text('{"schema_version": 1, "workflows": {}}')
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "a.json").write_text('{"1": {"class_type": "KSampler", "inputs": {}}}')
    watched = [WatchedFolder(folder, "mine")]
    with caplog.at_level(logging.INFO, logger="watchman.stages.workflows"):
        scan = read_watched_workflows(
            state / "workflow_cache.jsonl", watched, True, now_ns=time.time_ns()
        )
    assert len(scan.workflows) == 1 and not old_cache.exists()
    assert [r.getMessage() for r in caplog.records if "earlier version" in r.getMessage()] == [
        f"Removed {old_cache}, the parse cache of an earlier version."
    ]
    caplog.clear()
    read_watched_workflows(state / "workflow_cache.jsonl", watched, True, now_ns=time.time_ns())
    assert not [r for r in caplog.records if "earlier version" in r.getMessage()]


def test_a_workflow_is_named_by_its_posix_path_inside_its_watched_folder(tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    (folder / "sdxl" / "deep").mkdir(parents=True)
    for relative in ("top.json", "sdxl/deep/inner.json"):
        (folder / relative).write_text(json.dumps(API), encoding="utf-8")
    scan = scan_watched_folders(
        [(folder, "mine"), (Path(str(folder) + os.sep), "again")], {}, scan_started_ns=0
    )
    assert sorted(stored.name for stored in scan.workflows) == ["sdxl/deep/inner.json", "top.json"]
