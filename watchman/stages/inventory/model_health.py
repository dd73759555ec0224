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
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

from watchman.comfy.folders import FOLDER_TYPES
from watchman.comfy.model_file_check import FileProblem, check_model_file
from watchman.stages.inventory.file_judging import judge_all
from watchman.stages.inventory.model_verdicts import (
    HEALTH_SCHEMA_VERSION,
    Flaw,
    Judged,
    RememberedVerdicts,
    previous_verdicts,
)
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.state.json_state import read_json_state
from watchman.state.safe_files import write_json_if_changed

logger = logging.getLogger(__name__)

LEFTOVER_SUFFIXES = (
    ".part", ".partial", ".tmp", ".temp", ".download", ".crdownload", ".aria2", ".cwpart",
)  # fmt: skip
"""Names other downloaders (browsers, aria2, ComfyUI-Manager, this tool) give to a file
that is still being fetched: never a finished model."""

Problem = tuple[str, str]
"""A broken file's (reason, detail)."""


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
    """The verdict on every model file: ``broken`` by full path, ``judged`` (one record per
    folder type and root) to remember, and ``opened``, how many files were read this cycle
    (zero when nothing changed)."""

    broken: Mapping[str, BrokenModel]
    judged: Mapping[str, Judged] = field(repr=False)
    opened: int = 0
    changed: bool = True  # a record differs from the remembered ones: save them

    def __post_init__(self) -> None:
        object.__setattr__(self, "broken", MappingProxyType(dict(self.broken)))
        object.__setattr__(self, "judged", MappingProxyType(dict(self.judged)))

    def broken_only(self) -> ModelHealth:
        """Return this health without the per-file records (``judged``): what the cycle
        needs once they are saved (at 100,000 files they hold ~10 MiB)."""
        return ModelHealth(self.broken, {}, self.opened, self.changed)

    def problem_of(self, model: ModelFile) -> BrokenModel | None:
        """Return why ``model`` is broken, or None when it looks sound."""
        return self.broken.get(file_key(model))

    def to_state_document(self) -> dict[str, Any]:
        """Return ``state/model_health.json``: schema version and one record per folder
        type and root (:meth:`Judged.to_json`), sorted."""
        return {
            "schema_version": HEALTH_SCHEMA_VERSION,
            "judged": {key: judged.to_json() for key, judged in sorted(self.judged.items())},
        }


def file_key(model: ModelFile) -> str:
    """The key a file's verdict is kept under: its root and relative path joined by ``/``
    (cheaper than building a ``Path`` per file, which matters at 100,000 files)."""
    return f"{model.root}/{model.relative_path}"


def leftover_problem(name: str) -> FileProblem | None:
    """Return a problem when ``name`` is a download another tool has not finished."""
    lowered = name.lower()
    if not lowered.endswith(LEFTOVER_SUFFIXES):  # one call: this runs once per model file
        return None
    suffix = next(suffix for suffix in LEFTOVER_SUFFIXES if lowered.endswith(suffix))
    return FileProblem("leftover", f"it is an unfinished download ({suffix} file)")


def _judge(model: ModelFile, path: str, check: Callable[..., FileProblem | None]) -> Problem | None:
    problem = leftover_problem(model.file_name)
    if problem is None:
        try:
            # The joined string, not ``model.full_path``: a Path per file is a tenth of a
            # cold check's time (both separators are accepted on Windows too).
            problem = check(path, model.size)
        except OSError as error:
            problem = FileProblem("unreadable", f"it cannot be read: {error.strerror or error}")
    return None if problem is None else (problem.reason, problem.detail)


def _by_root(models: Sequence[ModelFile]) -> Iterator[tuple[str, Sequence[ModelFile]]]:
    """Split a folder type's files into one run per root, in order of first appearance.

    The inventory orders them by root, so each root is one stretch; should a root come
    back later, its stretches are joined (one record per root, or its files would look
    new every cycle).
    """
    runs: dict[str, tuple[ModelFile, ...]] = {}
    for root, run in groupby(models, key=attrgetter("root")):
        stretch = tuple(run)
        runs[root] = runs[root] + stretch if root in runs else stretch
    yield from runs.items()


def _changed_files(now: Judged, before: Judged | None) -> tuple[list[int], dict[str, Flaw]]:
    """Return the positions in ``now`` of the files new or changed since ``before``, and
    the flaws of ``before`` that still hold (their file is there, unchanged).

    The comparison runs on (path, size, mtime) tuples against a set, so a root of 100,000
    files where one changed costs one tight pass over them, not the full per-file check.
    """
    paths = now.path_list()
    stamps = zip(paths, now.sizes, now.mtimes, strict=True)
    if before is None:
        return list(range(len(paths))), {}
    old = set(zip(before.path_list(), before.sizes, before.mtimes, strict=True))
    fresh = [index for index, stamp in enumerate(stamps) if stamp not in old]
    fresh_paths = {paths[index] for index in fresh}
    present = set(paths)
    kept = {
        relative: flaw
        for relative, flaw in before.problems.items()
        if relative in present and relative not in fresh_paths
    }
    return fresh, kept


def check_model_health(
    inventory: ModelInventory,
    previous: RememberedVerdicts | None = None,
    *,
    check: Callable[..., FileProblem | None] = check_model_file,
    stop_event: threading.Event | None = None,
    timer: Callable[[], float] | None = None,
) -> ModelHealth:
    """Check every model file of ``inventory`` that is new or changed since ``previous``.

    Takes the inventory, the verdicts remembered from the last cycle
    (:func:`previous_verdicts`, :func:`load_verdicts`; None: none) and the check to run on
    a new or changed file (tests count the files it opens). The files of one folder type
    under one root whose paths, sizes and mtimes are all as remembered keep their verdicts
    at the cost of three comparisons, without a look at each file; elsewhere each file is
    compared to its remembered size and mtime and only a new or changed one is opened,
    once even when two folder types list it: one at a time while the disk answers fast,
    several at once while it makes each wait (:mod:`file_judging`; ``timer``, for tests,
    is the clock that tells). Folder models (diffusers) are not files and are skipped. An
    unreadable file is broken with reason ``unreadable``. ``stop_event``, once set, ends
    the check before the next file it would open (a cold cycle opens every model file).

    Raises:
        CycleInterrupted: ``stop_event`` was set during the check.
    """
    previous = previous if previous is not None else RememberedVerdicts()
    # First what to open, then the opening, then the records: the opening can then keep
    # several files in flight whatever folder type and root they belong to.
    runs: list[_RootRun] = []
    to_open: dict[str, int] = {}  # full path -> its place in ``opening``
    opening: list[tuple[str, ModelFile]] = []
    changed = False
    for folder, models in inventory.files.items():
        kind = FOLDER_TYPES.get(folder)
        if kind is not None and kind.holds_folders:
            continue
        for root, run in _by_root(models):
            now = Judged.stamps_of(run)
            before = previous.get(f"{folder}:{root}")
            if before is not None and before.same_files(now):
                runs.append(_RootRun(folder, root, run, now, dict(before.problems), ()))
                continue
            changed = True
            fresh, problems = _changed_files(now, before)
            places = []  # each fresh file's place among the verdicts: its key made once
            for index in fresh:
                path = file_key(run[index])
                place = to_open.setdefault(path, len(opening))
                if place == len(opening):
                    opening.append((path, run[index]))
                places.append(place)
            runs.append(
                _RootRun(folder, root, run, now, problems, tuple(zip(fresh, places, strict=True)))
            )
    verdicts = judge_all(
        opening,
        lambda model, path: _judge(model, path, check),
        stop_event=stop_event,
        timer=timer,
    )
    del opening, to_open
    judged: dict[str, Judged] = {}
    broken: dict[str, BrokenModel] = {}
    for found in runs:
        problems = found.problems
        for index, place in found.fresh:
            model = found.run[index]
            problem = verdicts[place]
            if problem is not None:
                problems[model.relative_path] = (model.size, *problem)
        now = found.now
        judged[f"{found.folder}:{found.root}"] = Judged(now.paths, now.sizes, now.mtimes, problems)
        for relative, (size, reason, detail) in problems.items():
            broken.setdefault(
                f"{found.root}/{relative}",
                BrokenModel(found.folder, relative, found.root, size, reason, detail),
            )
    if broken:
        logger.warning("%d model files are present but broken", len(broken))
    changed = changed or set(judged) != previous.keys()
    return ModelHealth(broken=broken, judged=judged, opened=len(verdicts), changed=changed)


@dataclass(frozen=True, slots=True)
class _RootRun:
    """One folder type's files under one root, as the check goes: their stamps now, the
    problems known so far (kept or remembered) and, for each file to open, its index in
    ``run`` and its place among the verdicts."""

    folder: str
    root: str
    run: Sequence[ModelFile]
    now: Judged
    problems: dict[str, Flaw]
    fresh: Sequence[tuple[int, int]]


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


def load_verdicts(state_dir: Path) -> RememberedVerdicts:
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
