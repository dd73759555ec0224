"""What changed since the previous report: workflows new, updated, newly ready, newly
blocked and gone (:class:`Changes`), told against what that report said
(:class:`Before`: its JSON document, or what :mod:`watchman.reporting.previous` kept of
it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchman.reporting.report import WorkflowEntry


@dataclass(frozen=True)
class Changes:
    """What changed since the previous report, workflows named as the report names them.
    ``previous_generated_at`` is None when there was no previous report."""

    previous_generated_at: str | None
    new: tuple[str, ...]
    updated: tuple[str, ...]
    newly_ready: tuple[str, ...]
    newly_blocked: tuple[str, ...]
    # In the previous report, not in this one: deleted, renamed, or no longer watched.
    removed: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(
            self.new or self.updated or self.newly_ready or self.newly_blocked or self.removed
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "previous_generated_at": self.previous_generated_at,
            "new": list(self.new),
            "updated": list(self.updated),
            "newly_ready": list(self.newly_ready),
            "newly_blocked": list(self.newly_blocked),
            "removed": list(self.removed),
        }


@dataclass(frozen=True)
class Before:
    """What the report before this one said that its changes are told against: when it
    was made (None: it does not say) and each workflow's ``(sha256, status)`` by path, as
    its JSON gives them (text)."""

    generated_at: str | None
    workflows: Mapping[str, tuple[str, str]]

    @classmethod
    def of_document(cls, document: Mapping[str, Any]) -> Before:
        """Read them from a report's JSON document (of any shape: what is not as written
        is left out)."""
        workflows: dict[str, tuple[str, str]] = {}
        items = document.get("workflows")
        for item in items if isinstance(items, list) else ():
            add_workflow(workflows, item)
        return cls(time_of(document.get("generated_at")), workflows)


def add_workflow(workflows: dict[str, tuple[str, str]], item: object) -> None:
    """Add one item of a report's ``workflows`` list (as read back) to ``workflows``:
    its ``(sha256, status)`` by path, as text; an item of another shape is left out."""
    if isinstance(item, Mapping) and isinstance(item.get("path"), str):
        workflows[item["path"]] = (str(item.get("sha256")), str(item.get("status")))


def time_of(generated_at: object) -> str | None:
    """A report's ``generated_at`` as its changes name it (None: it has none)."""
    return str(generated_at) if generated_at else None


def changes_since(
    previous: Mapping[str, Any] | Before | None,
    entries: Sequence[WorkflowEntry],
    watched_folders: Sequence[str] = (),
) -> Changes:
    """Compare the workflows with the previous report (its JSON document, or what was
    kept of it; None: there was none, so every workflow is new): new and updated (by
    sha256) workflows, those ready now that were not, those blocked now that were ready,
    and those it listed that are gone (named below the watched folder that held them,
    among ``watched_folders``, else by their path)."""
    if previous is not None and not isinstance(previous, Before):
        previous = Before.of_document(previous)
    before = previous.workflows if previous is not None else {}
    new: list[str] = []
    updated: list[str] = []
    ready: list[str] = []
    blocked: list[str] = []
    for entry in entries:
        name = entry.name or entry.path
        old = before.get(entry.path)
        if old is None:
            new.append(name)
            continue
        if old[0] != entry.sha256:
            updated.append(name)
        if entry.status == "ready" and old[1] != "ready":
            ready.append(name)
        elif entry.status != "ready" and old[1] == "ready":
            blocked.append(name)
    present = {entry.path for entry in entries}
    removed = sorted(_name_below(path, watched_folders) for path in before if path not in present)
    return Changes(
        previous_generated_at=previous.generated_at if previous is not None else None,
        new=tuple(new),
        updated=tuple(updated),
        newly_ready=tuple(ready),
        newly_blocked=tuple(blocked),
        removed=tuple(removed),
    )


def _name_below(path: str, folders: Sequence[str]) -> str:
    # As the report names a workflow: its path below the watched folder that holds it.
    for folder in folders:
        try:
            return PurePath(path).relative_to(folder).as_posix()
        except ValueError:
            continue
    return path
