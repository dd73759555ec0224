"""One thing a person should do, as the report's advice says it (:class:`Action`), and
the helpers every kind of advice writes it with: a workflow's display name, a shell word,
a path relative to the ComfyUI folder (commands run from there).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from watchman.reporting.report import Report, WorkflowEntry


@dataclass(frozen=True)
class Action:
    """One thing to do: a short sentence, the workflows it unblocks, the command to copy
    (None: none exists), and for an uncertain item what is uncertain and its candidates,
    with the count of those left out of ``candidates`` (``more_candidates``: a file name
    installed in more places than a need keeps)."""

    kind: str
    title: str
    unblocks: tuple[str, ...]
    command: str | None = None
    uncertain: str | None = None
    candidates: tuple[str, ...] = ()
    more_candidates: int = 0

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title,
            "unblocks": list(self.unblocks),
            "command": self.command,
            "uncertain": self.uncertain,
            "candidates": list(self.candidates),
        }
        if self.more_candidates:
            document["more_candidates"] = self.more_candidates
        return document


def display_name(entry: WorkflowEntry) -> str:
    """The workflow as a person knows it: its path inside its watched folder."""
    return entry.name or entry.path


def shell_quote(text: str) -> str:
    """``text`` as one word of a POSIX shell command."""
    return shlex.quote(text)


def relative_to_root(path: PurePath | str, root: PurePath) -> str:
    """``path`` relative to the ComfyUI folder (commands run from there), else whole."""
    path = PurePath(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def display_names(report: Report) -> dict[str, str]:
    """Each workflow's display name by path, built once per list of actions (one per
    action made it quadratic: minutes at 5,000 workflows)."""
    return {entry.path: display_name(entry) for entry in report.workflows}


def workflow_names(by_path: Mapping[str, str], paths: Iterable[str]) -> tuple[str, ...]:
    """The display names of the workflows at ``paths`` (see :func:`display_names`)."""
    return tuple(by_path.get(path, path) for path in paths)
