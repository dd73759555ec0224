"""The downloads stage: make the plan (:mod:`watchman.stages.download_plan`), keep it in
``state/``, and run the tasks chosen.

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

from watchman.comfy.model_key import ModelKey
from watchman.config import Settings
from watchman.remote.download_task import DownloadLimits, DownloadResult, Progress
from watchman.remote.downloader import Downloader
from watchman.remote.gateway import HttpGateway
from watchman.remote.origins import credentials_key
from watchman.resolve import SearchResult
from watchman.stages.download_plan import (
    DownloadPlan,
    PlannedDownload,
    build_plan,
    save_plan,
    token_services,
    wanted_models,
)
from watchman.stages.needs_model import ModelNeed
from watchman.state.download_log import (
    DownloadRecord,
    append_download,
    log_path,
)

logger = logging.getLogger(__name__)

GB = 1_000_000_000
MB = 1_000_000


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


def downloads_stage(
    settings: Settings,
    state_dir: Path,
    needs: Iterable[tuple[str, Iterable[ModelNeed]]],
    resolutions: Mapping[ModelKey, SearchResult],
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
    (``(workflow path, its ModelNeeds)`` pairs) and resolutions (by model key) of this
    cycle, the folder roots (``ModelInventory.roots_for``), the HTTP
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
