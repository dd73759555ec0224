"""Cached parses a stranger (or a bad disk) damaged: whatever a cache line holds, its
outline and its nodes unpack or fail as damage, and the nodes asked for come back as a
parse, never as an escaping error."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.stages.workflow_cache import (
    decode_entry,
    encode_entry,
    pack_parse,
    unpack_outline,
    unpack_parse,
)
from watchman.stages.workflow_entries import CachedParse
from watchman.stages.workflows import scan_watched_folders

UI = {
    "nodes": [
        {
            "id": 1,
            "type": "CheckpointLoaderSimple",
            "widgets_values": ["sdxl/base.safetensors"],
            "properties": {"cnr_id": "comfy-core", "models": [{"name": "base.safetensors"}]},
        },
        {"id": 2, "type": "KSampler", "inputs": [{"name": "model", "type": "MODEL", "link": 1}]},
        {"id": 3, "type": "VAEDecode", "inputs": [{"name": "vae", "type": "VAE", "link": None}]},
        {"id": 4, "type": "LoadImage", "mode": 4, "widgets_values": ["cat.png", "image"]},
    ],
    "links": [[1, 1, 0, 2, 0, "MODEL"]],
}
DAMAGE = (ValueError, TypeError, KeyError, IndexError, AttributeError)
"""What the unpackers may raise on a damaged record (the scan treats each as damage)."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@st.composite
def damaged(draw: st.DrawFn, packed: list[Any]) -> list[Any]:
    """``packed`` (JSON-ready lists) with one value somewhere in it replaced."""
    copy: list[Any] = json.loads(json.dumps(packed))
    holder: Any = copy
    while True:
        index = draw(st.integers(0, len(holder) - 1))
        child = holder[index]
        if isinstance(child, list) and child and draw(st.booleans()):
            holder = child
            continue
        holder[index] = draw(json_values)
        return copy


def fresh_scan(folder: Path) -> Any:
    (folder / "w.json").write_text(json.dumps(UI), encoding="utf-8")
    os.utime(folder / "w.json", ns=(5_000_000_000, 5_000_000_000))
    return scan_watched_folders([(folder, "mine")], {}, scan_started_ns=time.time_ns())


def _packed(tmp_path_factory: Any) -> tuple[Path, ParsedWorkflow, list[Any]]:
    folder = tmp_path_factory.mktemp("workflows")
    scan = fresh_scan(folder)
    parsed = scan.workflows[0].parsed
    assert parsed is not None and parsed.nodes and parsed.model_refs
    return folder, parsed, pack_parse(parsed)


def test_an_outline_is_the_whole_parse_without_its_nodes_and_numbers(tmp_path: Path) -> None:
    parsed = fresh_scan(tmp_path).workflows[0].parsed
    packed = json.loads(json.dumps(pack_parse(parsed)))

    assert unpack_outline(packed) == replace(
        unpack_parse(packed), nodes=(), undefined_instances=(), numbers=b""
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_packed_parse_unpacks_or_fails_as_damage(
    tmp_path_factory: Any, data: st.DataObject
) -> None:
    _, _, packed = _packed(tmp_path_factory)
    hostile = data.draw(damaged(packed))
    for unpack in (unpack_outline, unpack_parse):
        try:
            result = unpack(hostile)
        except DAMAGE:
            continue
        assert isinstance(result, ParsedWorkflow)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_nodes_of_any_damaged_line_come_back_as_a_parse(
    tmp_path_factory: Any, data: st.DataObject
) -> None:
    folder, parsed, packed = _packed(tmp_path_factory)
    path = folder / "w.json"
    entry = decode_entry(fresh_scan(folder).entries[str(path)])
    line = encode_entry(str(path), replace(entry, parsed=data.draw(damaged(packed))))
    hostile = decode_entry(line).parsed  # as the scan reads it back (orjson wrote it)
    assert hostile is not None
    try:
        outline = unpack_outline(hostile)
    except DAMAGE:
        return  # the scan reads the file again: covered by the scan's own tests
    whole = CachedParse(line, outline, {}, path, None).whole()

    # A record still whole is trusted, as any cache line is; a damaged one is read anew.
    try:
        trusted = unpack_parse(hostile)
    except DAMAGE:
        assert whole == parsed
    else:
        assert whole == trusted
