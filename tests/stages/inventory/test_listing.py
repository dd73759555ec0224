"""Incremental directory listings: reuse while a directory's stamp holds, git's racy rule,
the scheduled full re-stat."""

from __future__ import annotations

import itertools
import os

import pytest

from tests.stages.inventory.listings import (
    DAY_NS,
    LATER,
    files_seen,
    newest_mtime,
    walk_cycle,
    write_file,
)
from watchman.clocks import RACY_NANOSECONDS
from watchman.stages.inventory.listing import MAX_ENTRIES_PER_FOLDER, TreeListing


def test_an_unchanged_tree_is_not_listed_again(tmp_path):
    write_file(tmp_path / "a" / "one.safetensors")
    write_file(tmp_path / "b" / "c" / "two.safetensors")
    now = newest_mtime(tmp_path) + LATER
    first = walk_cycle(tmp_path, None, now)
    assert first.listed == 4 and first.restat
    second = walk_cycle(tmp_path, first, now + LATER)
    assert (second.listed, second.changed, second.restat) == (0, False, False)


def test_an_added_file_relists_only_its_directory(tmp_path):
    write_file(tmp_path / "a" / "one.safetensors")
    write_file(tmp_path / "b" / "two.safetensors")
    first = walk_cycle(tmp_path, None, newest_mtime(tmp_path) + LATER)
    write_file(tmp_path / "b" / "three.safetensors", b"abc")
    second = walk_cycle(tmp_path, first, newest_mtime(tmp_path) + LATER)
    assert second.listed == 1 and second.changed
    assert second.changed_paths == [str(tmp_path / "b")]
    assert files_seen(second, tmp_path)["b/three.safetensors"] == 3


def test_a_removed_folder_is_a_change(tmp_path):
    write_file(tmp_path / "a" / "gone" / "one.safetensors")
    first = walk_cycle(tmp_path, None, newest_mtime(tmp_path) + LATER)
    (tmp_path / "a" / "gone" / "one.safetensors").unlink()
    (tmp_path / "a" / "gone").rmdir()
    second = walk_cycle(tmp_path, first, newest_mtime(tmp_path) + LATER)
    assert second.changed
    assert str(tmp_path / "a" / "gone") not in second.seen


def test_a_directory_changed_within_the_timestamp_granularity_is_listed_again(tmp_path):
    write_file(tmp_path / "a" / "one.safetensors")
    # Listed in the same tick as its last change: a file added later in that tick would
    # leave the stamp as it is, so the list cannot be trusted.
    racy_now = newest_mtime(tmp_path) + RACY_NANOSECONDS // 2
    first = walk_cycle(tmp_path, None, racy_now)
    second = walk_cycle(tmp_path, first, racy_now + LATER)
    assert second.listed == 2
    third = walk_cycle(tmp_path, second, racy_now + 2 * LATER)
    assert third.listed == 0


def test_a_file_rewritten_in_place_is_seen_only_by_the_full_restat(tmp_path):
    model = write_file(tmp_path / "a" / "one.safetensors", b"x")
    first = walk_cycle(tmp_path, None, newest_mtime(tmp_path) + LATER)
    folder_stamp = os.stat(tmp_path / "a").st_mtime_ns
    model.write_bytes(b"rewritten")  # in place: the folder's stamp stays as it was
    assert os.stat(tmp_path / "a").st_mtime_ns == folder_stamp
    now = first.restat_at_ns + LATER
    reused = walk_cycle(tmp_path, first, now)
    assert files_seen(reused, tmp_path)["a/one.safetensors"] == 1
    restat = walk_cycle(tmp_path, reused, first.restat_at_ns + DAY_NS)
    assert restat.restat and restat.changed
    assert files_seen(restat, tmp_path)["a/one.safetensors"] == len(b"rewritten")


def test_a_zero_interval_lists_everything_every_cycle(tmp_path):
    write_file(tmp_path / "a" / "one.safetensors")
    first = walk_cycle(tmp_path, None, newest_mtime(tmp_path) + LATER)
    again = TreeListing.for_cycle(first, first.now_ns + LATER, 0)
    assert again.restat


def test_a_link_loop_ends(tmp_path):
    write_file(tmp_path / "a" / "one.safetensors")
    try:
        (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    except OSError:
        pytest.skip("symbolic links are not allowed here")
    tree = walk_cycle(tmp_path, None, newest_mtime(tmp_path) + LATER)
    assert files_seen(tree, tmp_path) == {"a/one.safetensors": 0}


def test_the_changed_file_names_are_those_added_removed_rewritten_or_gone_with_a_folder(
    tmp_path,
):
    write_file(tmp_path / "a" / "Kept.safetensors")
    write_file(tmp_path / "a" / "Removed.pt")
    rewritten = write_file(tmp_path / "b" / "Rewritten.ckpt", b"x")
    write_file(tmp_path / "b" / "beside.pt")
    write_file(tmp_path / "gone" / "Vanished.pt")
    write_file(tmp_path / "quiet" / "untouched.pt")
    first = walk_cycle(tmp_path, None, newest_mtime(tmp_path) + LATER)
    (tmp_path / "a" / "Removed.pt").unlink()
    write_file(tmp_path / "a" / "Added.safetensors")
    rewritten.write_bytes(b"longer")
    (tmp_path / "gone" / "Vanished.pt").unlink()
    (tmp_path / "gone").rmdir()
    write_file(tmp_path / "new" / "Fresh.pt")
    second = walk_cycle(tmp_path, first, first.restat_at_ns + DAY_NS)  # a full re-stat
    assert second.changed_file_names() == {
        "removed.pt",
        "added.safetensors",
        "rewritten.ckpt",
        "vanished.pt",
        "fresh.pt",
    }
    third = walk_cycle(tmp_path, second, second.restat_at_ns + LATER)
    assert third.changed_file_names() == frozenset()
    # A first walk names every file, and so do too many changes: not known, not kept.
    assert first.changed_file_names() is None
    assert second.changed_file_names(limit=3) is None


def test_links_that_fan_out_and_join_enter_each_folder_a_bounded_number_of_times(tmp_path):
    # Two links from each level to the next, 30 levels: every path ComfyUI would list
    # reaches the last folder 2^29 times (hours); the walk enters each folder at most
    # MAX_ENTRIES_PER_FOLDER times, and a folder reached twice is listed under both paths.
    levels = [tmp_path / f"d{index}" for index in range(30)]
    write_file(levels[-1] / "x.safetensors")
    try:
        for level, below in itertools.pairwise(levels):
            level.mkdir(exist_ok=True)
            (level / "a").symlink_to(below, target_is_directory=True)
            (level / "b").symlink_to(below, target_is_directory=True)
    except OSError:
        pytest.skip("symbolic links are not allowed here")
    tree = TreeListing.for_cycle(None, newest_mtime(tmp_path) + LATER, 0)
    entered: dict[str, int] = {}
    for directory, _, _ in tree.walk(str(levels[0])):
        real = os.path.realpath(directory)
        entered[real] = entered.get(real, 0) + 1
    assert max(entered.values()) == MAX_ENTRIES_PER_FOLDER
    assert entered[os.path.realpath(levels[1])] == 2
    assert entered[os.path.realpath(levels[-1])] == MAX_ENTRIES_PER_FOLDER
