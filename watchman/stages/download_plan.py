"""The download plan: every FOUND result for a missing or broken model, as a task.

Every FOUND result becomes a :class:`PlannedDownload`: the URL the listing gave, the
folder type, subfolder and file name exactly as the workflow expects them (never the
server's Content-Disposition name), the size and sha256 to verify, the source, which token
would be sent, and the workflows it unblocks. The target is the folder type's default root
(``is_default`` in extra_model_paths.yaml, else ComfyUI's own ``models/<folder>``). The
plan is shown in the report and kept in ``state/download_plan.json``; running it is
:mod:`watchman.stages.downloads`.

A task is *trusted* (``--auto-download`` may run it unattended) when it was FOUND by the
exact file name, the loader and the result agree on the folder, the URL is https, and a
sha256 or size is there to verify the bytes against.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from watchman.comfy.folders import canonical_folder
from watchman.comfy.model_key import ModelKey, value_parts
from watchman.errors import DownloadError, StateError
from watchman.remote.download_safety import check_url, target_parts
from watchman.remote.download_task import DownloadTask
from watchman.remote.origins import credentials_key
from watchman.resolve import SearchResult, Status
from watchman.stages.inventory.model_health import leftovers_beside
from watchman.stages.needs_model import ModelNeed
from watchman.state.json_state import read_json_state
from watchman.state.safe_files import write_json_if_changed

logger = logging.getLogger(__name__)

PLAN_SCHEMA_VERSION = 1
PLAN_FILE_NAME = "download_plan.json"


@dataclass(frozen=True)
class PlannedDownload:
    """One file to fetch, as a person reviews it and the downloader runs it.

    ``name`` is how the CLI names it (``folder/subfolder/file``); ``root`` the folder type's
    default root; ``token`` the service whose token would be sent (``civitai``,
    ``huggingface``) or None; ``replaces`` why a file already under the name is broken;
    ``trusted`` whether ``--auto-download`` may run it, ``why_not`` when not.
    """

    name: str
    url: str
    folder: str
    subfolder: str
    file_name: str
    root: str
    size: int | None
    sha256: str | None
    source: str | None
    token: str | None
    workflows: tuple[str, ...]
    trusted: bool
    why_not: str | None = None
    replaces: str | None = None
    # Unfinished downloads of other tools (``x.safetensors.part``) found where it goes.
    leftovers: tuple[str, ...] = ()

    @property
    def relative(self) -> str:
        """The path under the root, as the workflow names it (posix)."""
        return f"{self.subfolder}/{self.file_name}" if self.subfolder else self.file_name

    @property
    def target(self) -> Path:
        """Where the file goes."""
        return Path(self.root, *self.relative.split("/"))

    def task(self) -> DownloadTask:
        """Return the downloader's task for this plan."""
        return DownloadTask(
            self.url,
            Path(self.root),
            self.relative,
            self.size,
            self.sha256,
            self.replaces is not None,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the planned download as a JSON-ready dict (report and state)."""
        return {
            "name": self.name,
            "url": self.url,
            "folder": self.folder,
            "subfolder": self.subfolder,
            "file_name": self.file_name,
            "root": self.root,
            "target": str(self.target),
            "size": self.size,
            "sha256": self.sha256,
            "source": self.source,
            "token": self.token,
            "workflows": list(self.workflows),
            "trusted": self.trusted,
            "why_not": self.why_not,
            "replaces": self.replaces,
            "leftovers": list(self.leftovers),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedDownload:
        """Rebuild a planned download from :meth:`to_json` output.

        Raises:
            KeyError, TypeError, ValueError: a field is missing or of the wrong type.
        """
        size = data.get("size")
        return cls(
            name=str(data["name"]),
            url=str(data["url"]),
            folder=str(data["folder"]),
            subfolder=str(data.get("subfolder") or ""),
            file_name=str(data["file_name"]),
            root=str(data["root"]),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            sha256=_text(data.get("sha256")),
            source=_text(data.get("source")),
            token=_text(data.get("token")),
            workflows=tuple(str(w) for w in data.get("workflows") or ()),
            trusted=bool(data.get("trusted")),
            why_not=_text(data.get("why_not")),
            replaces=_text(data.get("replaces")),
            leftovers=tuple(str(item) for item in data.get("leftovers") or ()),
        )


@dataclass(frozen=True)
class NotPlanned:
    """A FOUND result that cannot become a download, and why (an unsafe name, no root)."""

    key: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "reason": self.reason}


@dataclass(frozen=True)
class DownloadPlan:
    """Every planned download, sorted by name, and the FOUND results left out."""

    tasks: tuple[PlannedDownload, ...] = ()
    not_planned: tuple[NotPlanned, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the plan as the report and ``state/download_plan.json`` hold it."""
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "tasks": [task.to_json() for task in self.tasks],
            "not_planned": [item.to_json() for item in self.not_planned],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> DownloadPlan:
        """Rebuild a plan from :meth:`to_json` output.

        Raises:
            StateError: the document has the wrong shape.
        """
        try:
            return cls(
                tasks=tuple(PlannedDownload.from_json(item) for item in document["tasks"]),
                not_planned=tuple(
                    NotPlanned(str(item["key"]), str(item["reason"]))
                    for item in document.get("not_planned") or ()
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StateError(f"The download plan is malformed ({error}); run a cycle.") from None

    def select(self, names: Sequence[str]) -> tuple[PlannedDownload, ...]:
        """Return the tasks ``names`` designate: a task's name (``loras/x.safetensors``), or
        a file name that only one task has; case-insensitive.

        Raises:
            DownloadError: a name matches no task, or a file name matches several
                (reason ``unknown_name``).
        """
        chosen: dict[str, PlannedDownload] = {}
        for wanted in names:
            folded = wanted.replace("\\", "/").strip("/").lower()
            hits = [t for t in self.tasks if t.name.lower() == folded]
            hits = hits or [t for t in self.tasks if t.file_name.lower() == folded]
            if not hits:
                raise DownloadError(
                    f"No planned download is named {wanted!r}; `comfywatchman downloads` "
                    "lists them.",
                    "unknown_name",
                )
            if len(hits) > 1:
                raise DownloadError(
                    f"{wanted!r} names {len(hits)} planned downloads: "
                    + ", ".join(t.name for t in hits)
                    + "; give the folder too.",
                    "unknown_name",
                )
            chosen[hits[0].name] = hits[0]
        return tuple(chosen.values())


@dataclass(frozen=True)
class Wanted:
    """A model file the workflows need: its report key, folder, the value as written, the
    workflows needing it, and why the file under that name is broken (None: missing)."""

    key: ModelKey
    folder: str | None
    value: str
    workflows: tuple[str, ...]
    broken: str | None = None


def token_services(civitai_base: str, huggingface_base: str) -> dict[str, str]:
    """Map the origins whose tokens the downloader sends to the service names."""
    return {
        credentials_key(civitai_base): "civitai",
        credentials_key(huggingface_base): "huggingface",
    }


def build_plan(
    wanted: Iterable[Wanted],
    resolutions: Mapping[ModelKey, SearchResult],
    roots_for: Callable[[str], Sequence[str]],
    token_origins: Mapping[str, str],
) -> DownloadPlan:
    """Turn every FOUND resolution of a wanted model into a planned download.

    Takes the wanted models, the resolve stage's results by model key, the
    folder type's roots in search order (the first is the default) and
    :func:`token_services`. A FOUND result whose target would escape its folder or is a
    name Windows cannot hold, whose URL is not https, or whose folder has no root is listed
    in ``not_planned`` with why.
    """
    tasks: dict[str, PlannedDownload] = {}
    skipped: list[NotPlanned] = []
    for item in wanted:
        result = resolutions.get(item.key)
        if result is None or result.status != Status.FOUND or not result.download_url:
            continue
        url = result.download_url
        folder = item.folder or result.folder
        if folder is None:
            skipped.append(NotPlanned(item.key.text, "the loader's folder is unknown"))
            continue
        roots = roots_for(folder)
        if not roots:
            skipped.append(NotPlanned(item.key.text, f"no folder of type {folder} is configured"))
            continue
        parts = value_parts(item.value)
        if not parts.file_name:
            continue
        try:
            check_url(httpx.URL(url))
            # A name Windows cannot hold (CON, a trailing dot, "?") is refused here too, so
            # the review shows why before anyone runs the download.
            target_parts(parts.relative_path)
        except (DownloadError, httpx.InvalidURL) as error:
            skipped.append(NotPlanned(item.key.text, str(error)))
            continue
        # Tasks are keyed by the model key, so one file reached through a legacy folder
        # name or other separators is one download.
        key = ModelKey.of(folder, item.value).text
        folder = canonical_folder(folder)
        name = f"{folder}/{parts.relative_path}"
        existing = tasks.get(key)
        if existing is not None:
            merged = tuple(dict.fromkeys(existing.workflows + item.workflows))
            tasks[key] = replace(existing, workflows=merged)
            continue
        size = result.size if result.size is not None and result.size > 0 else None
        sha256 = result.sha256 or None
        why_not = _distrust(result, item, folder, parts.file_name, size, sha256)
        tasks[key] = PlannedDownload(
            name=name,
            url=url,
            folder=folder,
            subfolder=parts.subfolder,
            file_name=parts.file_name,
            root=str(roots[0]),
            size=size,
            sha256=sha256.lower() if sha256 else None,
            source=result.backend,
            token=token_origins.get(credentials_key(url)),
            workflows=item.workflows,
            trusted=why_not is None,
            why_not=why_not,
            replaces=item.broken,
            leftovers=tuple(str(path) for path in leftovers_beside(roots, parts.relative_path)),
        )
    ordered = tuple(sorted(tasks.values(), key=lambda task: task.name.lower()))
    return DownloadPlan(ordered, tuple(skipped))


def _distrust(
    result: SearchResult,
    item: Wanted,
    folder: str,
    file_name: str,
    size: int | None,
    sha256: str | None,
) -> str | None:
    """Why a FOUND result is not trusted for an unattended download, or None."""
    listed = result.file_name
    if listed != file_name:
        # Trust needs the exact name: a case variant is FOUND for review, never fetched alone.
        return f"the source lists {listed!r}, not {file_name!r}"
    if result.reason == "auth_required":
        # A gated file answers 401 until its owner's terms are accepted with the user's own
        # account, which no token setting proves: a person downloads it after review.
        return "the file is gated: accept its terms on the site, set the token, then download it"
    if item.folder is None or (result.folder and result.folder != folder):
        return "the folder is not agreed by the loader and the source"
    if not sha256 and size is None:
        return "no sha256 or size to verify the file against"
    return None


def plan_path(state_dir: Path) -> Path:
    """Where the plan is kept: ``state/download_plan.json``."""
    return state_dir / PLAN_FILE_NAME


def save_plan(state_dir: Path, plan: DownloadPlan) -> bool:
    """Write the plan atomically when it changed; return True if written.

    Raises:
        OSError: the state folder is not writable.
    """
    return write_json_if_changed(plan_path(state_dir), plan.to_json())


def load_plan(state_dir: Path) -> DownloadPlan:
    """Read the plan the last cycle wrote; an absent or unreadable plan is empty (a corrupt
    file is set aside by ``read_json_state``)."""
    document = read_json_state(plan_path(state_dir), PLAN_SCHEMA_VERSION)
    if document is None:
        return DownloadPlan()
    try:
        return DownloadPlan.from_json(document)
    except StateError as error:
        logger.warning("%s", error)
        return DownloadPlan()


def wanted_models(workflows: Iterable[tuple[str, Iterable[ModelNeed]]]) -> list[Wanted]:
    """Return each missing or broken model once, with every workflow needing it.

    Takes ``(workflow path, its ModelNeeds)`` pairs from the needs stage.
    """
    found: dict[str, Wanted] = {}  # by key text
    for path, model_needs in workflows:
        for need in model_needs:
            if not need.to_fetch:
                continue
            key = need.key
            known = found.get(key.text)
            if known is None:
                found[key.text] = Wanted(
                    key,
                    need.reference.folder,
                    need.reference.value,
                    (path,),
                    need.problem if need.state == "broken" else None,
                )
            elif path not in known.workflows:
                found[key.text] = Wanted(
                    known.key, known.folder, known.value, (*known.workflows, path), known.broken
                )
    return list(found.values())


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
