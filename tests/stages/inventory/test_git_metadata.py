"""A checkout's origin URL and commit are read from its .git files, without running git."""

from __future__ import annotations

from pathlib import Path

from watchman.stages.inventory.git_metadata import GitMetadata, read_git_metadata, redact_url

SHA_MAIN = "1" * 40
SHA_PACKED = "2" * 40
SHA_DETACHED = "3" * 40

CONFIG = """\
[core]
\trepositoryformatversion = 0
\tbare
[remote "upstream"]
\turl = https://github.com/other/fork.git
[remote "origin"]
\turl = "https://github.com/owner/pack.git" ; a comment
\tfetch = +refs/heads/*:refs/remotes/origin/*
\tfetch = +refs/tags/*:refs/tags/*
[branch "main"]
\tremote = origin
"""


def make_git_dir(git_dir: Path, head: str, config: str = CONFIG) -> Path:
    (git_dir / "refs" / "heads").mkdir(parents=True)
    (git_dir / "HEAD").write_text(head)
    (git_dir / "config").write_text(config)
    return git_dir


def test_a_branch_checkout_gives_origin_and_the_loose_ref_commit(tmp_path: Path) -> None:
    git_dir = make_git_dir(tmp_path / ".git", "ref: refs/heads/main\n")
    (git_dir / "refs" / "heads" / "main").write_text(SHA_MAIN + "\n")
    assert read_git_metadata(tmp_path) == GitMetadata(
        remote_url="https://github.com/owner/pack.git", commit=SHA_MAIN
    )


def test_a_packed_ref_is_found_when_no_loose_ref_exists(tmp_path: Path) -> None:
    git_dir = make_git_dir(tmp_path / ".git", "ref: refs/heads/release\n")
    (git_dir / "packed-refs").write_text(
        "# pack-refs with: peeled fully-peeled sorted\n"
        f"{SHA_MAIN} refs/heads/main\n"
        f"{SHA_PACKED} refs/heads/release\n"
        f"^{SHA_DETACHED}\n"
    )
    assert read_git_metadata(tmp_path).commit == SHA_PACKED


def test_a_detached_head_is_its_own_commit(tmp_path: Path) -> None:
    make_git_dir(tmp_path / ".git", SHA_DETACHED + "\n")
    assert read_git_metadata(tmp_path).commit == SHA_DETACHED


def test_an_unborn_branch_has_no_commit(tmp_path: Path) -> None:
    make_git_dir(tmp_path / ".git", "ref: refs/heads/main\n")
    assert read_git_metadata(tmp_path).commit is None


def test_a_gitdir_file_of_a_worktree_uses_the_common_folder(tmp_path: Path) -> None:
    main_git = make_git_dir(tmp_path / "main" / ".git", "ref: refs/heads/main\n")
    (main_git / "refs" / "heads" / "feature").write_text(SHA_MAIN + "\n")
    worktree_git = main_git / "worktrees" / "pack"
    worktree_git.mkdir(parents=True)
    (worktree_git / "HEAD").write_text("ref: refs/heads/feature\n")
    (worktree_git / "commondir").write_text("../..\n")
    checkout = tmp_path / "pack"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {worktree_git}\n")
    assert read_git_metadata(checkout) == GitMetadata(
        remote_url="https://github.com/owner/pack.git", commit=SHA_MAIN
    )


def test_a_relative_gitdir_file_of_a_submodule_is_followed(tmp_path: Path) -> None:
    module_git = make_git_dir(tmp_path / ".git" / "modules" / "pack", SHA_DETACHED)
    assert module_git.is_dir()
    checkout = tmp_path / "pack"
    checkout.mkdir()
    (checkout / ".git").write_text("gitdir: ../.git/modules/pack\n")
    assert read_git_metadata(checkout).commit == SHA_DETACHED


def test_a_folder_without_git_or_with_a_dangling_gitdir_gives_nothing(tmp_path: Path) -> None:
    assert read_git_metadata(tmp_path) == GitMetadata(None, None)
    (tmp_path / ".git").write_text("gitdir: /nonexistent/elsewhere\n")
    assert read_git_metadata(tmp_path) == GitMetadata(None, None)


def test_a_ref_that_escapes_the_git_folder_is_refused(tmp_path: Path) -> None:
    make_git_dir(tmp_path / ".git", "ref: refs/../../outside\n")
    (tmp_path / "outside").write_text(SHA_MAIN)
    assert read_git_metadata(tmp_path).commit is None


def test_credentials_in_the_remote_url_never_come_out() -> None:
    assert redact_url("https://user:ghp_secret@github.com/o/r.git") == "https://github.com/o/r.git"
    assert redact_url("git@github.com:o/r.git") == "git@github.com:o/r.git"


def test_a_remote_url_with_a_token_is_redacted_when_read(tmp_path: Path) -> None:
    make_git_dir(
        tmp_path / ".git",
        SHA_MAIN,
        config='[remote "origin"]\n\turl = https://x-access-token:abc@github.com/o/r\n',
    )
    assert read_git_metadata(tmp_path).remote_url == "https://github.com/o/r"
