"""The listing saved between cycles: read back by another process, rewritten only when it
changed or the file no longer holds it, and a damaged file set aside."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.stages.inventory.listings import (
    LATER,
    files_seen,
    newest_mtime,
    walk_cycle,
    write_file,
)
from watchman.stages.inventory.listing import TreeListing
from watchman.stages.inventory.listing_file import SCHEMA_VERSION, load_listing, save_listing


def _listed_and_saved(tmp_path: Path) -> tuple[Path, Path, TreeListing]:
    """A models folder of one file, listed once and saved: the folder, the listing's
    file and the listing."""
    root = tmp_path / "models"
    write_file(root / "one.safetensors")
    state = tmp_path / "listing.json"
    first = walk_cycle(root, None, newest_mtime(root) + LATER)
    save_listing(state, first)
    return root, state, first


def test_a_saved_listing_is_read_back_by_another_process(tmp_path):
    root = tmp_path / "models"
    write_file(root / "a" / "one.safetensors", b"12")
    state = tmp_path / "state" / "listing.json"
    first = walk_cycle(root, None, newest_mtime(root) + LATER)
    save_listing(state, first)
    loaded = load_listing(state)
    assert loaded is not None and loaded.restat_at_ns == first.restat_at_ns
    second = walk_cycle(root, loaded, first.now_ns + LATER)
    assert second.listed == 0
    assert files_seen(second, root) == {"a/one.safetensors": 2}


def test_an_unchanged_listing_is_not_rewritten(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    written = state.stat().st_mtime_ns
    kept = load_listing(state)
    second = walk_cycle(root, kept, first.now_ns + LATER)
    save_listing(state, second)
    assert state.stat().st_mtime_ns == written
    assert load_listing(state) is not None


def test_a_listing_kept_in_memory_is_not_rewritten_by_the_next_cycle(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    written = state.stat().st_mtime_ns
    second = walk_cycle(root, first, first.now_ns + LATER)
    save_listing(state, second)
    assert state.stat().st_mtime_ns == written


def test_a_listing_is_written_when_its_facts_or_folders_changed(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    with_fact = walk_cycle(root, load_listing(state), first.now_ns + LATER)
    with_fact.meta["model_roots"] = "another digest"
    save_listing(state, with_fact)
    loaded = load_listing(state)
    assert loaded is not None and loaded.meta["model_roots"] == "another digest"
    write_file(root / "two.safetensors")
    added = walk_cycle(root, loaded, newest_mtime(root) + LATER)
    save_listing(state, added)
    reloaded = load_listing(state)
    assert reloaded is not None
    assert reloaded.seen[str(root)].names == ("one.safetensors", "two.safetensors")


def test_an_unchanged_listing_is_written_over_a_file_another_process_replaced(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    ours = state.read_bytes()
    second = walk_cycle(root, load_listing(state), first.now_ns + LATER)
    state.write_bytes(b"{}")  # another process's write after this one read the file
    save_listing(state, second)
    assert state.read_bytes() == ours


def test_an_unchanged_listing_is_written_to_a_file_that_does_not_hold_it(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    save_listing(elsewhere, walk_cycle(root, load_listing(state), first.now_ns + LATER))
    assert elsewhere.read_bytes() == state.read_bytes()


def test_a_listing_written_by_another_process_replaces_the_one_in_memory(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    write_file(root / "two.safetensors")
    other = walk_cycle(root, TreeListing(seen=dict(first.seen)), newest_mtime(root) + LATER)
    state.write_bytes(b"")  # another process's write: the file is not the one kept
    save_listing_elsewhere = tmp_path / "other.json"
    save_listing(save_listing_elsewhere, other)
    os.replace(save_listing_elsewhere, state)
    loaded = load_listing(state)
    assert loaded is not None
    assert files_seen(walk_cycle(root, loaded, other.now_ns + LATER), root) == {
        "one.safetensors": 0,
        "two.safetensors": 0,
    }


def test_a_damaged_listing_is_set_aside_and_everything_listed(tmp_path):
    state = write_file(
        tmp_path / "listing.json",
        b'{"schema_version": %d, "byteorder": "%s", "directories": {"/m": [1]}}'
        % (SCHEMA_VERSION, sys.byteorder.encode()),
    )
    assert load_listing(state) is None
    assert not state.exists()
    assert list(tmp_path.glob("listing.json.corrupt-*"))


def test_a_listing_of_another_version_is_ignored_not_set_aside(tmp_path):
    state = write_file(tmp_path / "listing.json", b'{"schema_version": 1, "directories": {}}')
    assert load_listing(state) is None
    assert state.exists()
