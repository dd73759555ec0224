"""The downloads stage: the plan made of FOUND results, and running it.

Every FOUND result for a missing (or broken) model becomes a :class:`PlannedDownload`:
the URL the listing gave, the folder type, subfolder and file name exactly as the workflow
expects them (never the server's Content-Disposition name), the size and sha256 to verify,
the source, which token would be sent, and the workflows it unblocks. The target is the
folder type's default root (``is_default`` in extra_model_paths.yaml, else ComfyUI's own
``models/<folder>``). The plan is shown in the report and kept in ``state/download_plan.json``.

Manual review is the default: ``comfywatchman download NAME`` runs a task a person chose.
Automatic downloads (``--auto-download``) take only *trusted* tasks: FOUND by the exact
file name, the folder agreed by the loader and the result, an https URL, and a sha256 or
size to verify the bytes against.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from watchman.comfy.folders import canonical_folder
from watchman.comfy.model_key import ModelKey, value_parts
from watchman.config import Settings
from watchman.errors import DownloadError, StateError
from watchman.remote.download_safety import target_parts
from watchman.remote.downloader import (
    Downloader,
    DownloadLimits,
    DownloadResult,
    DownloadTask,
    Progress,
    check_url,
)
from watchman.remote.gateway import HttpGateway, credentials_key
from watchman.stages.inventory.model_health import leftovers_beside
from watchman.state.download_log import (
    DownloadRecord,
    append_download,
    log_path,
    read_downloads,
)
from watchman.state.safe_files import read_json_state, write_json_if_changed

logger = logging.getLogger(__name__)

PLAN_SCHEMA_VERSION = 1
PLAN_FILE_NAME = "download_plan.json"
GB = 1_000_000_000
MB = 1_000_000


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

    key: str
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
    resolutions: Mapping[str, Mapping[str, Any]],
    roots_for: Callable[[str], Sequence[str]],
    token_origins: Mapping[str, str],
) -> DownloadPlan:
    """Turn every FOUND resolution of a wanted model into a planned download.

    Takes the wanted models, resolutions by report key (``SearchResult.to_json``), the
    folder type's roots in search order (the first is the default) and
    :func:`token_services`. A FOUND result whose target would escape its folder or is a
    name Windows cannot hold, whose URL is not https, or whose folder has no root is listed
    in ``not_planned`` with why.
    """
    tasks: dict[str, PlannedDownload] = {}
    skipped: list[NotPlanned] = []
    for item in wanted:
        result = resolutions.get(item.key)
        if not result or result.get("status") != "FOUND" or not result.get("download_url"):
            continue
        url = str(result["download_url"])
        folder = item.folder or _text(result.get("folder"))
        if folder is None:
            skipped.append(NotPlanned(item.key, "the loader's folder is unknown"))
            continue
        roots = roots_for(folder)
        if not roots:
            skipped.append(NotPlanned(item.key, f"no folder of type {folder} is configured"))
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
            skipped.append(NotPlanned(item.key, str(error)))
            continue
        # Tasks are keyed by the model key, so one file reached through a legacy folder
        # name or other separators is one download.
        key = ModelKey.of(folder, item.value).text
        folder = canonical_folder(folder)
        name = f"{folder}/{parts.relative_path}"
        existing = tasks.get(key)
        if existing is not None:
            merged = tuple(dict.fromkeys(existing.workflows + item.workflows))
            tasks[key] = _with_workflows(existing, merged)
            continue
        size = result.get("size")
        size = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else None
        sha256 = _text(result.get("sha256"))
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
            source=_text(result.get("backend")),
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
    result: Mapping[str, Any],
    item: Wanted,
    folder: str,
    file_name: str,
    size: int | None,
    sha256: str | None,
) -> str | None:
    """Why a FOUND result is not trusted for an unattended download, or None."""
    listed = str(result.get("file_name") or "")
    if listed != file_name:
        # Trust needs the exact name: a case variant is FOUND for review, never fetched alone.
        return f"the source lists {listed!r}, not {file_name!r}"
    if result.get("reason") == "auth_required":
        # A gated file answers 401 until its owner's terms are accepted with the user's own
        # account, which no token setting proves: a person downloads it after review.
        return "the file is gated: accept its terms on the site, set the token, then download it"
    if item.folder is None or (result.get("folder") and result.get("folder") != folder):
        return "the folder is not agreed by the loader and the source"
    if not sha256 and size is None:
        return "no sha256 or size to verify the file against"
    return None


def _with_workflows(task: PlannedDownload, workflows: tuple[str, ...]) -> PlannedDownload:
    data = task.to_json()
    data["workflows"] = list(workflows)
    return PlannedDownload.from_json(data)


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


@dataclass(frozen=True)
class DownloadRun:
    """What running some tasks did: one result per task run, and the tasks not started
    (a stop, the guards, the budget)."""

    results: tuple[tuple[PlannedDownload, DownloadResult], ...] = ()
    not_started: tuple[PlannedDownload, ...] = ()
    stopped_because: str | None = None

    @property
    def failed(self) -> tuple[tuple[PlannedDownload, DownloadResult], ...]:
        """The tasks that failed (not those paused or interrupted, which resume)."""
        return tuple(pair for pair in self.results if pair[1].outcome == "failed")

    @property
    def to_resume(self) -> bool:
        """Whether work is left that a next run would resume: tasks not started, or
        paused, stopped or cut (not those refused for good: a wrong hash, a login page)."""
        resumable = {"truncated", "unreachable", "server_error", "timeout", "busy", "host_down"}
        return bool(self.not_started) or any(
            result.outcome in ("paused", "interrupted") or result.reason in resumable
            for _, result in self.results
        )

    def to_json(self) -> list[dict[str, Any]]:
        """One line per task run: name, outcome, reason, detail, size, sha256."""
        return [
            {
                "name": task.name,
                "target": str(result.target),
                "outcome": result.outcome,
                "reason": result.reason,
                "detail": result.detail,
                "size": result.size,
                "sha256": result.sha256,
                "fetched_bytes": result.fetched_bytes,
                "resumed_from": result.resumed_from,
            }
            for task, result in self.results
        ]


def run_downloads(
    tasks: Sequence[PlannedDownload],
    downloader: Downloader,
    log_path: Path,
    now: Callable[[], str],
    *,
    trigger: str,
    may_start: Callable[[], str | None] = lambda: None,
    on_start: Callable[[PlannedDownload], None] | None = None,
) -> DownloadRun:
    """Run ``tasks`` one after the other and log each file fetched.

    Takes the downloader (its stop event and byte budget end the run early, the rest
    resumes next time), the JSONL download log, a clock giving ISO 8601 UTC times, the
    trigger recorded in the log (``download``, ``auto``), ``may_start`` asked before each
    task (a reason to stop, such as a failed guard, or None) and ``on_start`` (progress).
    Never raises for one task's failure.
    """
    done: list[tuple[PlannedDownload, DownloadResult]] = []
    for index, task in enumerate(tasks):
        reason = may_start()
        if reason is None and downloader.stop_event.is_set():
            reason = "a stop was asked for"
        if reason is None and downloader.budget_left is not None and downloader.budget_left <= 0:
            reason = "the byte budget of this cycle is spent"
        if reason is not None:
            logger.info("Downloads stop before %s: %s", task.name, reason)
            return DownloadRun(tuple(done), tuple(tasks[index:]), reason)
        if on_start is not None:
            on_start(task)
        result = downloader.fetch(task.task())
        done.append((task, result))
        if result.outcome == "downloaded":
            try:
                append_download(
                    log_path,
                    DownloadRecord(
                        time=now(),
                        name=task.name,
                        url=task.url,
                        source=task.source,
                        target=str(result.target),
                        size=result.size or 0,
                        sha256=result.sha256 or "",
                        workflows=task.workflows,
                        trigger=trigger,
                        replaced=task.replaces,
                    ),
                )
            except OSError as error:
                logger.warning("Cannot append to the download log %s: %s", log_path, error)
    return DownloadRun(tuple(done))


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def build_downloader(
    settings: Settings,
    client: httpx.Client,
    *,
    stop_event: threading.Event | None = None,
    byte_budget: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    free_space: Callable[[Path], int] | None = None,
) -> Downloader:
    """Return a downloader with the settings' limits and the tokens of Civitai and Hugging
    Face, each sent only to its own origin (``civitai.base_url``, ``huggingface.base_url``).

    Takes the settings, the HTTP client, a stop event (SIGTERM), this run's byte budget (None:
    ``downloads.max_gb_per_cycle``, 0 there meaning none), a progress listener and a free
    space function (tests).
    """
    credentials: dict[str, dict[str, str]] = {}
    for base_url, secret in (
        (settings.civitai.base_url, settings.civitai.api_token),
        (settings.huggingface.base_url, settings.huggingface.token),
    ):
        if secret is not None and secret.get_secret_value():
            # Both services take a Bearer token in the Authorization header.
            credentials[credentials_key(base_url)] = {
                "Authorization": f"Bearer {secret.get_secret_value()}"
            }
    options = settings.downloads
    limits = DownloadLimits(
        free_space_margin_bytes=int(options.free_space_margin_gb * GB),
        bandwidth_bytes_per_second=options.bandwidth_mb_per_second * MB or None,
    )
    if byte_budget is None and options.max_gb_per_cycle > 0:
        byte_budget = int(options.max_gb_per_cycle * GB)
    gateway = HttpGateway(client, credentials=credentials, stop_event=stop_event)
    extra: dict[str, Any] = {} if free_space is None else {"free_space": free_space}
    return Downloader(gateway, limits, byte_budget=byte_budget, on_progress=on_progress, **extra)


class ProgressLines:
    """Progress for the daemon and logs: one structured line per file every ``every``
    seconds and when it ends, through ``write(event, fields)`` (the structured log)."""

    def __init__(
        self,
        write: Callable[..., None],
        clock: Callable[[], float],
        every: float = 10.0,
    ) -> None:
        self.write = write
        self.clock = clock
        self.every = every
        self._last: dict[Path, float] = {}
        self._started: dict[Path, float] = {}

    def __call__(self, progress: Progress) -> None:
        now = self.clock()
        started = self._started.setdefault(progress.target, now)
        last = self._last.get(progress.target)
        if not progress.finished and last is not None and now - last < self.every:
            return
        self._last[progress.target] = now
        elapsed = max(now - started, 1e-9)
        rate = progress.fetched / elapsed
        left = None
        if progress.total is not None and rate > 0:
            left = round((progress.total - progress.done) / rate, 1)
        self.write(
            "download_progress",
            file=progress.target.name,
            done_bytes=progress.done,
            total_bytes=progress.total,
            bytes_per_second=round(rate),
            seconds_left=left,
            finished=progress.finished,
        )


def wanted_models(workflows: Iterable[tuple[str, Iterable[Any]]]) -> list[Wanted]:
    """Return each missing or broken model once, with every workflow needing it.

    Takes ``(workflow path, its ModelNeeds)`` pairs from the needs stage.
    """
    found: dict[str, Wanted] = {}
    for path, model_needs in workflows:
        for need in model_needs:
            if need.state not in ("missing", "broken"):
                continue
            key = need.key.text
            known = found.get(key)
            if known is None:
                found[key] = Wanted(
                    key,
                    need.reference.folder,
                    need.reference.value,
                    (path,),
                    need.problem if need.state == "broken" else None,
                )
            elif path not in known.workflows:
                found[key] = Wanted(
                    known.key, known.folder, known.value, (*known.workflows, path), known.broken
                )
    return list(found.values())


def resolution_documents(by_key: Mapping[Any, Any]) -> dict[str, dict[str, Any]]:
    """Resolutions by ``ModelKey`` (``SearchResult``) as :func:`build_plan` takes them:
    by key text, as JSON."""
    return {key.text: result.to_json() for key, result in by_key.items()}


@dataclass(frozen=True)
class DownloadsStage:
    """What the downloads stage did: the plan, and the run when downloads were automatic."""

    plan: DownloadPlan
    run: DownloadRun | None = None

    def counts(self) -> dict[str, int]:
        """The figures a cycle records: planned, fetched, failed."""
        results = self.run.results if self.run is not None else ()
        return {
            "downloads_planned": len(self.plan.tasks),
            "downloaded": sum(1 for _, result in results if result.outcome == "downloaded"),
            "download_failures": sum(1 for _, result in results if result.outcome == "failed"),
        }


def downloaded_since(report_json: Path, log: Path) -> list[dict[str, Any]]:
    """The download log's lines since the report at ``report_json`` was made (its
    ``generated_at``); every line when there is no report yet."""
    # Read, never judged: the report belongs to the report stage (which sets it aside).
    try:
        previous = orjson.loads(report_json.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        previous = None
    since = previous.get("generated_at") if isinstance(previous, dict) else None
    return list(read_downloads(log, since if isinstance(since, str) else None))


def downloads_stage(
    settings: Settings,
    state_dir: Path,
    needs: Iterable[tuple[str, Iterable[Any]]],
    resolutions: Mapping[str, Mapping[str, Any]],
    roots_for: Callable[[str], Sequence[str]],
    client: httpx.Client,
    *,
    auto: bool,
    stop_event: threading.Event | None,
    may_start: Callable[[], str | None],
    write_event: Callable[..., None],
    now: Callable[[], str],
    clock: Callable[[], float],
) -> DownloadsStage:
    """Plan a download for every FOUND missing or broken model, keep the plan in
    ``state/``, and with ``auto`` fetch the trusted tasks.

    Takes the settings (tokens, limits, byte budget), the state folder, the needs
    (``(workflow path, its ModelNeeds)`` pairs) and resolutions (:func:`resolution_documents`)
    of this cycle, the folder roots (``ModelInventory.roots_for``), the HTTP
    client, the stop event (a SIGTERM keeps the part for the next cycle), ``may_start``
    (the guards, asked before each file), where structured progress lines go, and clocks.

    Raises:
        OSError: the plan cannot be written.
    """
    plan = build_plan(
        wanted_models(needs),
        resolutions,
        roots_for,
        token_services(settings.civitai.base_url, settings.huggingface.base_url),
    )
    save_plan(state_dir, plan)
    if not auto:
        return DownloadsStage(plan)
    trusted = [task for task in plan.tasks if task.trusted]
    if not trusted:
        return DownloadsStage(plan, DownloadRun())
    downloader = build_downloader(
        settings, client, stop_event=stop_event, on_progress=ProgressLines(write_event, clock)
    )
    run = run_downloads(
        trusted,
        downloader,
        log_path(state_dir),
        now,
        trigger="auto",
        may_start=may_start,
    )
    return DownloadsStage(plan, run)
