"""Incremental directory listings: reuse while a directory's stamp holds, git's racy rule,
the scheduled full re-stat, and the listing saved between cycles."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from watchman.stages.inventory.listing import (
    RACY_NANOSECONDS,
    SCHEMA_VERSION,
    TreeListing,
    load_listing,
    save_listing,
)

DAY_NS = 86_400 * 1_000_000_000
LATER = 60 * 1_000_000_000


def _file(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _newest_mtime(root: Path) -> int:
    return max(os.stat(folder).st_mtime_ns for folder, _, _ in os.walk(root))


def _cycle(root: Path, previous: TreeListing | None, now_ns: int) -> TreeListing:
    """One cycle's walk at ``now_ns``, long enough after every change to be trusted."""
    tree = TreeListing.for_cycle(previous, now_ns, DAY_NS)
    for _ in tree.walk(str(root)):
        pass
    return tree.finish()


def _files(tree: TreeListing, root: Path) -> dict[str, int]:
    found = {}
    for _, prefix, record in tree.walk(str(root)):
        for name, size in zip(record.names, record.sizes, strict=True):
            found[prefix + name] = size
    return found


def _listed_and_saved(tmp_path: Path) -> tuple[Path, Path, TreeListing]:
    """A models folder of one file, listed once and saved: the folder, the listing's
    file and the listing."""
    root = tmp_path / "models"
    _file(root / "one.safetensors")
    state = tmp_path / "listing.json"
    first = _cycle(root, None, _newest_mtime(root) + LATER)
    save_listing(state, first)
    return root, state, first


def test_an_unchanged_tree_is_not_listed_again(tmp_path):
    _file(tmp_path / "a" / "one.safetensors")
    _file(tmp_path / "b" / "c" / "two.safetensors")
    now = _newest_mtime(tmp_path) + LATER
    first = _cycle(tmp_path, None, now)
    assert first.listed == 4 and first.restat
    second = _cycle(tmp_path, first, now + LATER)
    assert (second.listed, second.changed, second.restat) == (0, False, False)


def test_an_added_file_relists_only_its_directory(tmp_path):
    _file(tmp_path / "a" / "one.safetensors")
    _file(tmp_path / "b" / "two.safetensors")
    first = _cycle(tmp_path, None, _newest_mtime(tmp_path) + LATER)
    _file(tmp_path / "b" / "three.safetensors", b"abc")
    second = _cycle(tmp_path, first, _newest_mtime(tmp_path) + LATER)
    assert second.listed == 1 and second.changed
    assert second.changed_paths == [str(tmp_path / "b")]
    assert _files(second, tmp_path)["b/three.safetensors"] == 3


def test_a_removed_folder_is_a_change(tmp_path):
    _file(tmp_path / "a" / "gone" / "one.safetensors")
    first = _cycle(tmp_path, None, _newest_mtime(tmp_path) + LATER)
    (tmp_path / "a" / "gone" / "one.safetensors").unlink()
    (tmp_path / "a" / "gone").rmdir()
    second = _cycle(tmp_path, first, _newest_mtime(tmp_path) + LATER)
    assert second.changed
    assert str(tmp_path / "a" / "gone") not in second.seen


def test_a_directory_changed_within_the_timestamp_granularity_is_listed_again(tmp_path):
    _file(tmp_path / "a" / "one.safetensors")
    # Listed in the same tick as its last change: a file added later in that tick would
    # leave the stamp as it is, so the list cannot be trusted.
    racy_now = _newest_mtime(tmp_path) + RACY_NANOSECONDS // 2
    first = _cycle(tmp_path, None, racy_now)
    second = _cycle(tmp_path, first, racy_now + LATER)
    assert second.listed == 2
    third = _cycle(tmp_path, second, racy_now + 2 * LATER)
    assert third.listed == 0


def test_a_file_rewritten_in_place_is_seen_only_by_the_full_restat(tmp_path):
    model = _file(tmp_path / "a" / "one.safetensors", b"x")
    first = _cycle(tmp_path, None, _newest_mtime(tmp_path) + LATER)
    folder_stamp = os.stat(tmp_path / "a").st_mtime_ns
    model.write_bytes(b"rewritten")  # in place: the folder's stamp stays as it was
    assert os.stat(tmp_path / "a").st_mtime_ns == folder_stamp
    now = first.restat_at_ns + LATER
    reused = _cycle(tmp_path, first, now)
    assert _files(reused, tmp_path)["a/one.safetensors"] == 1
    restat = _cycle(tmp_path, reused, first.restat_at_ns + DAY_NS)
    assert restat.restat and restat.changed
    assert _files(restat, tmp_path)["a/one.safetensors"] == len(b"rewritten")


def test_a_zero_interval_lists_everything_every_cycle(tmp_path):
    _file(tmp_path / "a" / "one.safetensors")
    first = _cycle(tmp_path, None, _newest_mtime(tmp_path) + LATER)
    again = TreeListing.for_cycle(first, first.now_ns + LATER, 0)
    assert again.restat


def test_a_link_loop_ends(tmp_path):
    _file(tmp_path / "a" / "one.safetensors")
    try:
        (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    except OSError:
        pytest.skip("symbolic links are not allowed here")
    tree = _cycle(tmp_path, None, _newest_mtime(tmp_path) + LATER)
    assert _files(tree, tmp_path) == {"a/one.safetensors": 0}


def test_a_saved_listing_is_read_back_by_another_process(tmp_path):
    root = tmp_path / "models"
    _file(root / "a" / "one.safetensors", b"12")
    state = tmp_path / "state" / "listing.json"
    first = _cycle(root, None, _newest_mtime(root) + LATER)
    save_listing(state, first)
    loaded = load_listing(state)
    assert loaded is not None and loaded.restat_at_ns == first.restat_at_ns
    second = _cycle(root, loaded, first.now_ns + LATER)
    assert second.listed == 0
    assert _files(second, root) == {"a/one.safetensors": 2}


def test_an_unchanged_listing_is_not_rewritten(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    written = state.stat().st_mtime_ns
    kept = load_listing(state)
    second = _cycle(root, kept, first.now_ns + LATER)
    save_listing(state, second)
    assert state.stat().st_mtime_ns == written
    assert load_listing(state) is not None


def test_a_listing_kept_in_memory_is_not_rewritten_by_the_next_cycle(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    written = state.stat().st_mtime_ns
    second = _cycle(root, first, first.now_ns + LATER)
    save_listing(state, second)
    assert state.stat().st_mtime_ns == written


def test_a_listing_is_written_when_its_facts_or_folders_changed(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    with_fact = _cycle(root, load_listing(state), first.now_ns + LATER)
    with_fact.meta["model_roots"] = "another digest"
    save_listing(state, with_fact)
    loaded = load_listing(state)
    assert loaded is not None and loaded.meta["model_roots"] == "another digest"
    _file(root / "two.safetensors")
    added = _cycle(root, loaded, _newest_mtime(root) + LATER)
    save_listing(state, added)
    reloaded = load_listing(state)
    assert reloaded is not None
    assert reloaded.seen[str(root)].names == ("one.safetensors", "two.safetensors")


def test_an_unchanged_listing_is_written_over_a_file_another_process_replaced(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    ours = state.read_bytes()
    second = _cycle(root, load_listing(state), first.now_ns + LATER)
    state.write_bytes(b"{}")  # another process's write after this one read the file
    save_listing(state, second)
    assert state.read_bytes() == ours


def test_an_unchanged_listing_is_written_to_a_file_that_does_not_hold_it(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    save_listing(elsewhere, _cycle(root, load_listing(state), first.now_ns + LATER))
    assert elsewhere.read_bytes() == state.read_bytes()


def test_a_listing_written_by_another_process_replaces_the_one_in_memory(tmp_path):
    root, state, first = _listed_and_saved(tmp_path)
    _file(root / "two.safetensors")
    other = _cycle(root, TreeListing(seen=dict(first.seen)), _newest_mtime(root) + LATER)
    state.write_bytes(b"")  # another process's write: the file is not the one kept
    save_listing_elsewhere = tmp_path / "other.json"
    save_listing(save_listing_elsewhere, other)
    os.replace(save_listing_elsewhere, state)
    loaded = load_listing(state)
    assert loaded is not None
    assert _files(_cycle(root, loaded, other.now_ns + LATER), root) == {
        "one.safetensors": 0,
        "two.safetensors": 0,
    }


def test_a_damaged_listing_is_set_aside_and_everything_listed(tmp_path):
    state = _file(
        tmp_path / "listing.json",
        b'{"schema_version": %d, "byteorder": "%s", "directories": {"/m": [1]}}'
        % (SCHEMA_VERSION, sys.byteorder.encode()),
    )
    assert load_listing(state) is None
    assert not state.exists()
    assert list(tmp_path.glob("listing.json.corrupt-*"))


def test_a_listing_of_another_version_is_ignored_not_set_aside(tmp_path):
    state = _file(tmp_path / "listing.json", b'{"schema_version": 1, "directories": {}}')
    assert load_listing(state) is None
    assert state.exists()
