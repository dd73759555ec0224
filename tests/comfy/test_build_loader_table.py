"""The loader table builder reads each pack from the right snapshot: its own repository,
or an upstream commit that a fork's newer snapshot holds, named as the upstream's."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import build_loader_table as builder

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

LOADER = b"""
import folder_paths
raise RuntimeError("pack sources are read, never imported")
class Loader:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": (folder_paths.get_filename_list("%s"),)}}
NODE_CLASS_MAPPINGS = {"%s": Loader}
"""


def _git(work: Path, *args: str, when: int = 1_700_000_000) -> str:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": f"@{when} +0000",
        "GIT_COMMITTER_DATE": f"@{when} +0000",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    done = subprocess.run(
        ["git", *args], cwd=work, env=environment, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _commit(work: Path, node_type: str, folder: str, when: int) -> str:
    (work / "nodes.py").write_bytes(LOADER % (folder.encode(), node_type.encode()))
    _git(work, "add", "nodes.py", when=when)
    _git(work, "commit", "-q", "-m", node_type, when=when)
    return _git(work, "rev-parse", "HEAD")


def _repository(tmp_path: Path) -> tuple[Path, Path]:
    """An empty git work tree and the folder its mirrors go to."""
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q")
    return work, tmp_path / "mirrors"


def _mirror(work: Path, mirrors: Path, repo: str) -> None:
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(work), str(mirrors / repo.replace("/", "+") / "repo")],
        check=True,
        capture_output=True,
    )


def test_an_upstream_commit_held_by_a_fork_is_read_and_named_as_the_upstreams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, mirrors = _repository(tmp_path)
    _commit(work, "OldLoader", "loras", 1_700_000_000)
    _mirror(work, mirrors, "up/Pack")  # the upstream's own snapshot is the old commit
    newer = _commit(work, "NewLoader", "vae", 1_700_100_000)
    _commit(work, "ForkOnlyLoader", "checkpoints", 1_700_200_000)  # the fork's own change
    _mirror(work, mirrors, "fork/Pack")
    monkeypatch.setattr(builder, "PACKS", (("up/Pack", "Pack", False),))
    monkeypatch.setattr(builder, "UPSTREAM_IN_FORKS", {"up/Pack": ("fork/Pack", newer)})

    document, _ = builder.build(mirrors)

    entries = document["entries"]
    assert isinstance(entries, list)
    assert [(e["node_type"], e["inputs"], e["commit"], e["repository"]) for e in entries] == [
        ("NewLoader", {"model": ["vae"]}, newer, "https://github.com/up/Pack")
    ]


def test_the_upstreams_own_snapshot_wins_when_it_is_newer_than_the_forks_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, mirrors = _repository(tmp_path)
    older = _commit(work, "OldLoader", "loras", 1_700_000_000)
    _mirror(work, mirrors, "fork/Pack")
    newest = _commit(work, "NewLoader", "vae", 1_700_100_000)
    _mirror(work, mirrors, "up/Pack")
    monkeypatch.setattr(builder, "UPSTREAM_IN_FORKS", {"up/Pack": ("fork/Pack", older)})

    assert builder.snapshot(mirrors, "up/Pack") == (mirrors / "up+Pack" / "repo", newest)


def test_a_commit_the_fork_does_not_hold_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, mirrors = _repository(tmp_path)
    older = _commit(work, "OldLoader", "loras", 1_700_000_000)
    _mirror(work, mirrors, "up/Pack")
    _mirror(work, mirrors, "fork/Pack")
    missing = _commit(work, "NewLoader", "vae", 1_700_100_000)
    monkeypatch.setattr(builder, "UPSTREAM_IN_FORKS", {"up/Pack": ("fork/Pack", missing)})

    assert builder.snapshot(mirrors, "up/Pack") == (mirrors / "up+Pack" / "repo", older)
    assert builder.snapshot(mirrors, "absent/Pack") is None


def test_entries_the_new_snapshots_lack_are_kept_from_the_previous_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, mirrors = _repository(tmp_path)
    _commit(work, "NewLoader", "vae", 1_700_100_000)
    _mirror(work, mirrors, "up/Pack")
    monkeypatch.setattr(
        builder, "PACKS", (("up/Pack", "Pack", False), ("absent/Other", "Other", False))
    )
    old = {"repository": "https://github.com/up/Pack", "pack": "Pack", "commit": "c0"}
    previous = {
        "entries": [
            {**old, "node_type": "NewLoader", "inputs": {"model": ["loras"]}},
            {**old, "node_type": "RemovedLoader", "inputs": {"model": ["loras"]}},
            {"repository": "https://github.com/absent/Other", "pack": "Other", "node_type": "O"},
            {"repository": "https://github.com/unlisted/Gone", "pack": "Gone", "node_type": "G"},
        ]
    }

    document, messages = builder.build(mirrors, previous)

    entries = document["entries"]
    assert isinstance(entries, list)
    assert [(e["node_type"], e.get("inputs"), e.get("commit") == "c0") for e in entries] == [
        ("NewLoader", {"model": ["vae"]}, False),
        ("O", None, False),
        ("RemovedLoader", {"model": ["loras"]}, True),
    ]
    assert "2 entries kept from the previous table." in messages


def test_node_types_since_gone_come_from_the_last_commit_before_a_history_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, mirrors = _repository(tmp_path)
    gone = (LOADER % (b"loras", b"Gone")).replace(b"Loader", b"OldNode")
    (work / "old.py").write_bytes(gone)
    _git(work, "add", "old.py", when=1_700_000_000)
    old = _commit(work, "KeptLoader", "vae", 1_700_000_000)  # 2023-11
    _git(work, "rm", "-q", "old.py", when=1_730_000_000)
    newest = _commit(work, "KeptLoader", "checkpoints", 1_730_000_000)  # 2024-10
    _mirror(work, mirrors, "up/Pack")
    monkeypatch.setattr(builder, "PACKS", (("up/Pack", "Pack", False),))

    document, _ = builder.build(mirrors)

    entries = document["entries"]
    assert isinstance(entries, list)
    assert [(e["node_type"], e["inputs"], e["commit"]) for e in entries] == [
        ("Gone", {"model": ["loras"]}, old),
        ("KeptLoader", {"model": ["checkpoints"]}, newest),
    ]
