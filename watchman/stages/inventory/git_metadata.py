"""The origin URL and checked-out commit of a git checkout, read from its files.

Running ``git`` per node pack is slow on Windows, needs git installed and may trigger hooks
or credential helpers; the answers the inventory needs sit in a few small text files:
``config`` (``[remote "origin"] url``), ``HEAD`` and the refs (loose or packed). ``.git``
may also be a file (``gitdir: ...``) for worktrees and submodules; a worktree's shared
refs and config live in the folder named by its ``commondir`` file.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from watchman.regular_files import open_regular

logger = logging.getLogger(__name__)

# Loose ref chains longer than this are a loop or vandalism, not a real repository.
_MAX_SYMBOLIC_DEPTH = 5
_SMALL_FILE_BYTES = 1024 * 1024
_OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_KEY_VALUE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$")


@dataclass(frozen=True)
class GitMetadata:
    """What a checkout says about itself; each part None when unknown."""

    remote_url: str | None
    commit: str | None


def read_git_metadata(checkout: Path) -> GitMetadata:
    """Read the origin URL and HEAD commit of the checkout at ``checkout``.

    Args:
        checkout: a folder that may hold ``.git`` (folder or ``gitdir:`` file).

    Returns:
        The metadata; both parts None when the folder is no checkout or its files are
        unreadable (never raises).
    """
    git_dir = _git_dir(checkout)
    if git_dir is None:
        return GitMetadata(remote_url=None, commit=None)
    common_dir = _common_dir(git_dir)
    remote = _origin_url(common_dir / "config")
    if remote is None and common_dir != git_dir:
        remote = _origin_url(git_dir / "config")
    return GitMetadata(remote_url=remote, commit=_head_commit(git_dir, common_dir))


def _read_text(path: Path) -> str | None:
    try:
        with open_regular(path) as handle:
            data = handle.read(_SMALL_FILE_BYTES)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def _git_dir(checkout: Path) -> Path | None:
    dot_git = checkout / ".git"
    if _is_folder(dot_git):
        return dot_git
    text = _read_text(dot_git)
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("gitdir:"):
            target = Path(line[len("gitdir:") :].strip())
            resolved = target if target.is_absolute() else checkout / target
            if _is_folder(resolved):
                return resolved
            logger.debug("%s points at %s, which is not a folder.", dot_git, resolved)
            return None
    return None


def _common_dir(git_dir: Path) -> Path:
    text = _read_text(git_dir / "commondir")
    if not text or not text.strip():
        return git_dir
    target = Path(text.strip())
    resolved = target if target.is_absolute() else git_dir / target
    return resolved if _is_folder(resolved) else git_dir


def _is_folder(path: Path) -> bool:
    # Path.is_dir raises on permission errors; here an unreadable path is simply absent.
    try:
        return path.is_dir()
    except OSError:
        return False


def _origin_url(config_path: Path) -> str | None:
    text = _read_text(config_path)
    if text is None:
        return None
    in_origin = False
    url: str | None = None
    for raw_line in text.splitlines():
        section = _SECTION.match(raw_line)
        if section:
            name, subsection = section.group(1).lower(), section.group(2)
            in_origin = name == "remote" and subsection == "origin"
            continue
        if not in_origin:
            continue
        pair = _KEY_VALUE.match(raw_line)
        if pair and pair.group(1).lower() == "url" and pair.group(2) is not None:
            # The first url of a remote is the one fetched from.
            url = url or _config_value(pair.group(2))
    return redact_url(url) if url else None


def _config_value(raw: str) -> str:
    # Quotes group text; an unquoted # or ; starts a comment.
    value: list[str] = []
    quoted = False
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            value.append(raw[index + 1])
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char in "#;" and not quoted:
            break
        else:
            value.append(char)
        index += 1
    return "".join(value).strip()


def redact_url(url: str) -> str:
    """Return ``url`` without user name or password, so a token never reaches a report."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def _head_commit(git_dir: Path, common_dir: Path) -> str | None:
    text = _read_text(git_dir / "HEAD")
    if text is None:
        return None
    value = text.strip()
    for _ in range(_MAX_SYMBOLIC_DEPTH):
        if _OBJECT_ID.match(value):
            return value
        if not value.startswith("ref:"):
            return None
        reference = value[len("ref:") :].strip()
        if ".." in reference.split("/") or not reference.startswith("refs/"):
            return None
        resolved = _loose_ref(git_dir, common_dir, reference)
        if resolved is None:
            return _packed_ref(common_dir, reference)
        value = resolved
    return None


def _loose_ref(git_dir: Path, common_dir: Path, reference: str) -> str | None:
    for base in (git_dir, common_dir):
        text = _read_text(base / reference)
        if text is not None and text.strip():
            return text.strip()
    return None


def _packed_ref(common_dir: Path, reference: str) -> str | None:
    text = _read_text(common_dir / "packed-refs")
    if text is None:
        return None
    for line in text.splitlines():
        if not line or line[0] in "#^":
            continue
        object_id, _, name = line.partition(" ")
        if name.strip() == reference and _OBJECT_ID.match(object_id):
            return object_id
    return None
