"""Watched folders: workflow files are found recursively, hidden entries and link loops
skipped; each folder is reported with its workflow file count, and one that is missing or
cannot be read is a problem sentence and a WARNING, never silently nothing."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from watchman.stages.watched_folders import (
    FolderProblem,
    WatchedFolder,
    discover_workflow_files,
    watched_folders,
)
from watchman.stages.workflows import scan_watched_folders

WORKFLOW = '{"1": {"class_type": "KSampler", "inputs": {}}}'


def test_a_missing_folder_is_a_problem_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    here = tmp_path / "here"
    (here / "sub").mkdir(parents=True)
    (here / "a.json").write_text(WORKFLOW)
    (here / "sub" / "b.json").write_text(WORKFLOW)
    gone = tmp_path / "gone"
    with caplog.at_level(logging.WARNING):
        scan = scan_watched_folders(
            [(here, "mine"), (gone, "downloads")], {}, scan_started_ns=time.time_ns()
        )
    seen = {folder.path: folder for folder in scan.folders}
    assert seen[str(here)].files == 2 and seen[str(here)].problems == ()
    assert seen[str(gone)].files == 0 and not seen[str(gone)].listed
    assert seen[str(gone)].problems == (f"Watched folder {gone} does not exist.",)
    assert any(str(gone) in record.getMessage() for record in caplog.records)


def test_a_subfolder_that_cannot_be_listed_is_a_problem_and_the_rest_is_still_found(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A listing that refuses one folder, as the OS does for a folder without read
    # permission: testable as root too (root reads any folder, whatever its mode).
    here = tmp_path / "here"
    locked = here / "locked"
    (locked / "deeper").mkdir(parents=True)
    (here / "a.json").write_text(WORKFLOW)
    (locked / "hidden.json").write_text(WORKFLOW)

    def refusing_scandir(path: Path) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return os.scandir(path)

    problems: list[FolderProblem] = []
    with caplog.at_level(logging.WARNING):
        found = list(discover_workflow_files(here, True, problems, scandir=refusing_scandir))
    assert found == [here / "a.json"]
    assert problems == [FolderProblem(locked, f"{locked} cannot be read: Permission denied.")]
    assert any(str(locked) in record.getMessage() for record in caplog.records)
    # The watched folder itself was listed: the problem is its subfolder's, in its entry.
    [folder] = scan_watched_folders(
        [(here, "mine")], {}, scan_started_ns=time.time_ns(), scandir=refusing_scandir
    ).folders
    assert folder.files == 1 and folder.listed
    assert folder.problems == (f"{locked} cannot be read: Permission denied.",)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_subfolder_is_a_problem_of_its_watched_folder(tmp_path: Path) -> None:
    here = tmp_path / "here"
    locked = here / "locked"
    locked.mkdir(parents=True)
    (here / "a.json").write_text(WORKFLOW)
    locked.chmod(0)
    try:
        [folder] = scan_watched_folders(
            [(here, "mine")], {}, scan_started_ns=time.time_ns()
        ).folders
    finally:
        locked.chmod(0o755)
    assert folder.files == 1 and folder.listed
    assert folder.problems and str(locked) in folder.problems[0]


def test_workflows_are_discovered_recursively_skipping_hidden_entries(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".trash").mkdir()
    for name in ("one.json", "a/two.JSON", "a/b/three.png", "a/notes.txt", ".trash/x.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_workflow_files(tmp_path)]
    assert found == ["a/b/three.png", "a/two.JSON", "one.json"]
    no_images = list(discover_workflow_files(tmp_path, include_images=False))
    assert all(p.suffix.lower() == ".json" for p in no_images)


def test_a_symlink_loop_in_a_watched_folder_does_not_multiply_workflows(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.json").write_text("{}", encoding="utf-8")
    (tmp_path / "sub" / "b.json").write_text("{}", encoding="utf-8")
    try:
        (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    except OSError:
        pytest.skip("this system cannot make symlinks")
    names = sorted(path.name for path in discover_workflow_files(tmp_path))
    assert names == ["a.json", "b.json"]


def test_a_watched_folder_that_cannot_be_listed_itself_is_not_listed(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    (here / "a.json").write_text(WORKFLOW)

    def refusing_scandir(path: Path) -> Any:
        if Path(path) == here:
            raise PermissionError(13, "Permission denied", str(path))
        return os.scandir(path)

    [folder] = scan_watched_folders(
        [(here, "mine")], {}, scan_started_ns=time.time_ns(), scandir=refusing_scandir
    ).folders
    assert folder.files == 0 and not folder.listed
    assert folder.problems == (f"{here} cannot be read: Permission denied.",)


def test_a_folder_configured_twice_is_watched_once_under_its_first_label(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, home = tmp_path / "ComfyUI", tmp_path / "home"
    configured = [
        (Path("user/default/workflows"), "comfyui"),
        (root / "user" / "default" / "workflows", "again"),
        (Path("~/flows"), "mine"),
        (home / "flows", "mine again"),
    ]
    with caplog.at_level(logging.WARNING):
        folders = watched_folders(configured, root, home)
    assert folders == (
        WatchedFolder(root / "user" / "default" / "workflows", "comfyui"),
        WatchedFolder(home / "flows", "mine"),
    )
    assert sum("configured more than once" in r.getMessage() for r in caplog.records) == 2
