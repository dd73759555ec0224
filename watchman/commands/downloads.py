"""``comfywatchman downloads`` and ``comfywatchman download``: the plan, reviewed and run.

``downloads`` lists what the last cycle planned (``state/download_plan.json``);
``download NAME… | --all`` fetches the chosen tasks, with rich progress bars (per file and
in total, speed and time left) when a person watches, structured progress lines in
``log/structured.log`` otherwise. SIGTERM or SIGINT stop at the next chunk and keep the
part for the next run. Exit 0 when every chosen file is in place, 1 when one failed, 130
or 143 when stopped by SIGINT or SIGTERM.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from watchman.clocks import Clock, utc_iso
from watchman.commands.stopping import stop_on_signals
from watchman.config import Settings
from watchman.errors import DownloadError
from watchman.exit_status import ExitStatus
from watchman.home import Home
from watchman.printable import visible
from watchman.remote import download_task as remote
from watchman.remote.transport import new_client
from watchman.stages.download_plan import DownloadPlan, PlannedDownload, load_plan
from watchman.stages.downloads import (
    DownloadRun,
    ProgressLines,
    build_downloader,
    run_downloads,
)
from watchman.state.download_log import log_path
from watchman.state.structured_log import StructuredLog


def show_plan(home: Home, console: Console, as_json: bool) -> dict[str, Any] | None:
    """Print the planned downloads as a table, or return them as a JSON document."""
    plan = load_plan(home.state_dir)
    if as_json:
        return plan.to_json()
    if not plan.tasks:
        console.print(
            "No planned downloads. Run a cycle (comfywatchman --run-cycle) to plan them.",
            markup=False,
            highlight=False,
        )
    else:
        _print_tasks(plan, console)
    # Shown even when nothing is planned: a refused name is what the person must fix.
    for item in plan.not_planned:
        console.print(
            f"not planned: {visible(item.key)}: {visible(item.reason)}",
            markup=False,
            highlight=False,
        )
    return None


def _print_tasks(plan: DownloadPlan, console: Console) -> None:
    """Print the planned tasks as a table, then each URL and leftover."""
    table = Table(title="Planned downloads (review, then: comfywatchman download NAME)")
    # The name is what the person types after `download`: it keeps its width and the
    # other columns fold first, as far as they can (their headers and the borders take
    # ~86 columns; below that rich shares the width as it would).
    longest = max((len(visible(task.name)) for task in plan.tasks), default=4)
    room = min(longest, console.width - 86)
    table.add_column("name", overflow="fold", min_width=room if room > 0 else None)
    for column in ("size", "sha256", "source", "token", "auto", "workflows"):
        table.add_column(column, overflow="fold")
    for task in plan.tasks:
        table.add_row(
            escape(
                visible(task.name)
                + (f" (replaces a broken file: {visible(task.replaces)})" if task.replaces else "")
            ),
            _size(task.size),
            (task.sha256 or "?")[:12],
            escape(visible(task.source or "?")),
            task.token or "-",
            "yes" if task.trusted else escape(f"no: {visible(task.why_not or '')}"),
            str(len(task.workflows)),
        )
    console.print(table)
    for task in plan.tasks:
        console.print(f"{visible(task.name)}: {visible(task.url)}", markup=False, highlight=False)
    for task in plan.tasks:
        for leftover in task.leftovers:
            console.print(
                f"{visible(task.name)}: another tool left an unfinished download at "
                f"{visible(str(leftover))}; "
                "delete it once this file is in place.",
                markup=False,
                highlight=False,
            )


def run_download(
    settings: Settings,
    home: Home,
    names: Sequence[str],
    *,
    run_all: bool,
    console: Console,
    interactive: bool,
    clock: Clock,
    client: httpx.Client | None = None,
) -> tuple[int, DownloadRun | None]:
    """Fetch the tasks ``names`` designate (or all with ``run_all``); return the exit
    status and what happened. ``clock`` dates the download log and paces progress lines.

    Raises:
        DownloadError: a name designates no planned download (``unknown_name``), or
            neither names nor ``--all`` were given.
    """
    plan = load_plan(home.state_dir)
    if not names and not run_all:
        raise DownloadError("Name the downloads to run, or pass --all.", "unknown_name")
    tasks = plan.tasks if run_all else plan.select(names)
    if not tasks:
        console.print("Nothing to download.", markup=False, highlight=False)
        return int(ExitStatus.SUCCESS), DownloadRun()
    home.ensure()
    stop = threading.Event()
    with stop_on_signals(stop) as caught, _client(client) as http:

        def now() -> str:
            return utc_iso(clock.wall())

        if interactive:
            run = _run_with_bars(settings, home, tasks, http, stop, now)
        else:
            lines = ProgressLines(
                StructuredLog(home.structured_log, clock.wall).write, clock.monotonic
            )
            downloader = build_downloader(settings, http, stop_event=stop, on_progress=lines)
            run = run_downloads(
                tasks, downloader, log_path(home.state_dir), now, trigger="download"
            )
    for task, result in run.results:
        line = f"{visible(task.name)}: {result.outcome}"
        if result.detail:
            line += f" ({visible(result.detail)})"
        console.print(line, markup=False, highlight=False)
    if caught.exit_status is not None:
        return caught.exit_status, run
    if run.failed:
        return int(ExitStatus.CYCLE_FAILED), run
    return int(ExitStatus.SUCCESS), run


def _run_with_bars(
    settings: Settings,
    home: Home,
    tasks: Sequence[PlannedDownload],
    client: httpx.Client,
    stop: threading.Event,
    now: Callable[[], str],
) -> DownloadRun:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bars:
        known = [task.size for task in tasks]
        total_bar = bars.add_task(
            "all files", total=sum(s for s in known if s) if all(known) else None
        )
        current: dict[str, TaskID] = {}
        finished_bytes = [0]

        def on_start(task: PlannedDownload) -> None:
            current["bar"] = bars.add_task(task.name, total=task.size)

        def on_progress(progress: remote.Progress) -> None:
            bar = current.get("bar")
            if bar is None:
                return
            bars.update(bar, completed=progress.done, total=progress.total)
            bars.update(total_bar, completed=finished_bytes[0] + progress.done)
            if progress.finished:
                finished_bytes[0] += progress.done

        downloader = build_downloader(settings, client, stop_event=stop, on_progress=on_progress)
        return run_downloads(
            tasks,
            downloader,
            log_path(home.state_dir),
            now,
            trigger="download",
            on_start=on_start,
        )


@contextlib.contextmanager
def _client(client: httpx.Client | None) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    with new_client() as own:  # a stop wakes a blocked read on this transport
        yield own


def _size(size: int | None) -> str:
    if size is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
