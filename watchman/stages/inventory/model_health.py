"""Present but broken: model files that bear the right name but cannot be the model.

ComfyUI loads whatever file bears the name, so a truncated download, an empty file, a login
page saved as ``foo.safetensors`` or a ``.part`` left by another downloader fails at render
time. While taking stock, each model file that is new or changed since the last cycle
(another size or mtime than the one remembered in ``state/model_health.json``) is checked
cheaply by :func:`watchman.comfy.model_file_check.check_model_file`: its first 4 KiB and,
for ``.safetensors``, its header, never the whole file. An unchanged file keeps its last
verdict without being opened, so a cycle over an unchanged tree reads no model file at all.

A broken file is reported with its reason; the needs stage counts it as not installed, so
its workflows are not ready and the plan replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from watchman.comfy.folders import FOLDER_TYPES
from watchman.comfy.model_file_check import FileProblem, check_model_file
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.state.safe_files import read_json_state, write_json_if_changed

logger = logging.getLogger(__name__)

HEALTH_SCHEMA_VERSION = 2
LEFTOVER_SUFFIXES = (
    ".part", ".partial", ".tmp", ".temp", ".download", ".crdownload", ".aria2", ".cwpart",
)  # fmt: skip
"""Names other downloaders (browsers, aria2, ComfyUI-Manager, this tool) give to a file
that is still being fetched: never a finished model."""

Verdict = tuple[int, float, "str | None", "str | None"]
"""What is remembered of one file: size, mtime, and its problem (reason, detail) or None."""


@dataclass(frozen=True)
class BrokenModel:
    """A model file ComfyUI would load that cannot be the model: where and why."""

    folder: str
    relative_path: str
    root: str
    size: int
    reason: str
    detail: str

    @property
    def full_path(self) -> Path:
        """The file's path on disk."""
        return Path(self.root, *self.relative_path.split("/"))

    def to_json(self) -> dict[str, Any]:
        """Return the broken file as a JSON-ready dict (report and state)."""
        return {
            "folder": self.folder,
            "path": self.relative_path,
            "root": self.root,
            "size": self.size,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ModelHealth:
    """The verdict on every model file: ``broken`` by full path, ``verdicts`` to remember,
    and ``opened``, how many files were read this cycle (zero when nothing changed)."""

    broken: Mapping[str, BrokenModel]
    verdicts: Mapping[str, Verdict] = field(repr=False)
    opened: int = 0
    changed: bool = True  # a verdict differs from the remembered ones: save them

    def __post_init__(self) -> None:
        object.__setattr__(self, "broken", MappingProxyType(dict(self.broken)))
        object.__setattr__(self, "verdicts", MappingProxyType(dict(self.verdicts)))

    def problem_of(self, model: ModelFile) -> BrokenModel | None:
        """Return why ``model`` is broken, or None when it looks sound."""
        return self.broken.get(file_key(model))

    def to_state_document(self) -> dict[str, Any]:
        """Return ``state/model_health.json``: schema version and one verdict per file
        (``[size, mtime]``, or ``[size, mtime, reason, detail]`` when broken), sorted."""
        return {
            "schema_version": HEALTH_SCHEMA_VERSION,
            "files": {
                path: list(verdict) if verdict[2] is not None else [verdict[0], verdict[1]]
                for path, verdict in sorted(self.verdicts.items())
            },
        }


def previous_verdicts(document: Mapping[str, Any] | None) -> dict[str, Verdict]:
    """Read the verdicts of :meth:`ModelHealth.to_state_document`; anything malformed is
    dropped (that file is simply checked again). Takes the parsed document or None."""
    if not isinstance(document, Mapping) or document.get("schema_version") != HEALTH_SCHEMA_VERSION:
        return {}
    files = document.get("files")
    if not isinstance(files, Mapping):
        return {}
    verdicts: dict[str, Verdict] = {}
    for path, item in files.items():
        if not isinstance(item, list) or len(item) not in (2, 4):
            continue
        size, mtime = item[0], item[1]
        if not isinstance(size, int) or not isinstance(mtime, (int, float)):
            continue
        reason = str(item[2]) if len(item) == 4 else None
        detail = str(item[3]) if len(item) == 4 else None
        verdicts[str(path)] = (size, float(mtime), reason, detail)
    return verdicts


def file_key(model: ModelFile) -> str:
    """The key a file's verdict is kept under: its root and relative path joined by ``/``
    (cheaper than building a ``Path`` per file, which matters at 100,000 files)."""
    return f"{model.root}/{model.relative_path}"


def leftover_problem(name: str) -> FileProblem | None:
    """Return a problem when ``name`` is a download another tool has not finished."""
    lowered = name.lower()
    for suffix in LEFTOVER_SUFFIXES:
        if lowered.endswith(suffix):
            return FileProblem("leftover", f"it is an unfinished download ({suffix} file)")
    return None


def _judge(model: ModelFile, check: Callable[..., FileProblem | None]) -> FileProblem | None:
    problem = leftover_problem(model.file_name)
    if problem is not None:
        return problem
    try:
        return check(model.full_path, model.size)
    except OSError as error:
        return FileProblem("unreadable", f"it cannot be read: {error.strerror or error}")


def check_model_health(
    inventory: ModelInventory,
    previous: Mapping[str, Verdict],
    *,
    check: Callable[..., FileProblem | None] = check_model_file,
) -> ModelHealth:
    """Check every model file of ``inventory`` that is new or changed since ``previous``.

    Takes the inventory, the verdicts remembered from the last cycle
    (:func:`previous_verdicts`) and the check to run on a new or changed file (tests count
    the files it opens). Folder models (diffusers) are not files and are skipped. Never
    raises: an unreadable file is broken with reason ``unreadable``.
    """
    verdicts: dict[str, Verdict] = {}
    broken: dict[str, BrokenModel] = {}
    opened = 0
    for folder, models in inventory.files.items():
        kind = FOLDER_TYPES.get(folder)
        if kind is not None and kind.holds_folders:
            continue
        for model in models:
            path = file_key(model)
            verdict = verdicts.get(path)
            if verdict is None:
                remembered = previous.get(path)
                if remembered is not None and remembered[:2] == (model.size, model.mtime):
                    verdict = remembered
                else:
                    opened += 1
                    problem = _judge(model, check)
                    verdict = (
                        model.size,
                        model.mtime,
                        problem.reason if problem else None,
                        problem.detail if problem else None,
                    )
                verdicts[path] = verdict
            if verdict[2] is not None and path not in broken:
                broken[path] = BrokenModel(
                    model.folder, model.relative_path, model.root, model.size,
                    verdict[2], verdict[3] or verdict[2],
                )  # fmt: skip
    if broken:
        logger.warning("%d model files are present but broken", len(broken))
    changed = opened > 0 or len(verdicts) != len(previous)
    return ModelHealth(broken=broken, verdicts=verdicts, opened=opened, changed=changed)


def leftovers_beside(roots: Iterable[str], relative: str) -> tuple[Path, ...]:
    """Return unfinished downloads of ``relative`` (posix) lying in any of ``roots``:
    ``<name>.part`` and the like, which tell that another tool's download was cut. A stat
    per suffix and root; nothing is read."""
    found = []
    for root in roots:
        base = Path(root, *relative.split("/"))
        for suffix in LEFTOVER_SUFFIXES:
            candidate = base.with_name(base.name + suffix)
            if candidate.is_file():
                found.append(candidate)
    return tuple(found)


HEALTH_FILE_NAME = "model_health.json"


def load_verdicts(state_dir: Path) -> dict[str, Verdict]:
    """Read the verdicts the last cycle kept in ``state/model_health.json``; an absent or
    unreadable file means every file is checked again (a corrupt one is set aside)."""
    return previous_verdicts(read_json_state(state_dir / HEALTH_FILE_NAME, HEALTH_SCHEMA_VERSION))


def save_health(state_dir: Path, health: ModelHealth) -> bool:
    """Keep the verdicts for the next cycle, atomically, only when a file was judged or
    one disappeared; return True if written.

    Raises:
        OSError: the state folder is not writable.
    """
    if not health.changed:
        return False
    return write_json_if_changed(state_dir / HEALTH_FILE_NAME, health.to_state_document())


def broken_lookup(health: ModelHealth) -> Callable[[ModelFile], str | None] | None:
    """Return the needs stage's question "why is this file broken?", or None when no file
    is (so the needs stage asks nothing)."""
    if not health.broken:
        return None

    def why(model: ModelFile) -> str | None:
        found = health.problem_of(model)
        return None if found is None else f"{found.reason}: {found.detail}"

    return why
