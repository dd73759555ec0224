"""What the three contract flags do: ``--run-cycle`` (one cycle, with progress, stop
handling and a summary), ``--scheduler`` (cycles at the interval until stopped) and
``--list-intake`` (the intake log's newest entries).
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, NoReturn

from watchman.commands.invocation import Invocation, print_json, write_text
from watchman.exit_status import ExitStatus
from watchman.home import Home
from watchman.printable import visible
from watchman.state.cycle_state import CycleSummary

if TYPE_CHECKING:
    from watchman.clocks import Clock
    from watchman.config import Settings
    from watchman.cycle_record import CycleResult


STOP_GRACE_SECONDS = 1.5
"""How long a cycle may take to reach a stage boundary after SIGINT or SIGTERM before the
command records it as interrupted and exits anyway (the contract is 2 s)."""


def run_cycle_action(
    settings: Settings,
    home: Home,
    invocation: Invocation,
    as_json: bool,
    force: bool,
    show_progress: bool | None = None,
    quiet: bool = False,
) -> int:
    """Run one cycle and render it. ``show_progress``: None shows the bar on a terminal;
    True also writes progress lines to stderr without one; False shows none. ``quiet``:
    no summary; only a failed or interrupted cycle is said (on stderr)."""
    from watchman.commands.progress import LineProgress, TerminalProgress
    from watchman.commands.stopping import stop_on_signals
    from watchman.cycle import STAGES, run_cycle
    from watchman.state.structured_log import StructuredLog

    environment = invocation.environment
    started_wall = environment.clock.wall()
    done = threading.Event()

    def record_and_exit(request: Any) -> None:
        _record_overdue_stop(settings, home, request, environment.clock, started_wall, done)

    stop_event = threading.Event()
    with contextlib.ExitStack() as stack:
        request = stack.enter_context(
            stop_on_signals(
                stop_event, grace_seconds=STOP_GRACE_SECONDS, on_overdue=record_and_exit
            )
        )
        services = stack.enter_context(invocation.services(settings, home, stop_event))
        progress: TerminalProgress | LineProgress
        if environment.interactive and not as_json and show_progress is not False:
            # A person is watching: the stage in hand, with counts where it has them.
            progress = stack.enter_context(TerminalProgress(invocation.err, dict(STAGES)))
        else:
            # No terminal (cron, a service, a pipe): the lines go to the structured log,
            # not stderr, so cron mails only what is wrong; --progress asks for stderr.
            progress = LineProgress(
                environment.stderr if show_progress else None,
                None
                if environment.interactive
                else StructuredLog(home.structured_log, environment.clock.wall),
                environment.clock.monotonic,
            )
        result = run_cycle(
            settings,
            home,
            trigger="run-cycle",
            services=services,
            listener=progress,
            force=force,
        )
        done.set()
    record = result.record
    if as_json:
        print_json(invocation, result.to_json())
    else:
        _render_cycle(invocation, result, quiet)
    if request.exit_status is not None:
        return request.exit_status
    return int(ExitStatus.CYCLE_FAILED if record.outcome == "failed" else ExitStatus.SUCCESS)


def _record_overdue_stop(
    settings: Settings,
    home: Home,
    request: Any,
    clock: Clock,
    started_wall: float,
    done: threading.Event,
) -> NoReturn:
    """The cycle did not reach a stage boundary in time after a signal: record it as
    interrupted (unless it has just recorded itself) and end the process at once. Every
    file is replaced atomically, so nothing is left half-written."""
    import os
    import sys
    from datetime import datetime, timezone

    from watchman.cycle_record import record_cycle
    from watchman.state.cycle_state import CycleRecord

    if not done.is_set():
        started = datetime.fromtimestamp(started_wall, timezone.utc)
        record = CycleRecord(
            cycle_id=f"{started.strftime('%Y%m%dT%H%M%S')}-stopped",
            started_at=started.isoformat(),
            duration_seconds=0.0,
            outcome="interrupted",
            reason=f"stopped by {request.signal_name} before the stage in hand ended",
            trigger="run-cycle",
        )
        with contextlib.suppress(OSError):
            record_cycle(home, settings.metrics.textfile, record, clock.wall)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"comfywatchman: stopped by {request.signal_name}.\n")
            sys.stderr.flush()
    os._exit(request.exit_status or int(ExitStatus.CYCLE_FAILED))


def _render_cycle(invocation: Invocation, result: CycleResult, quiet: bool = False) -> None:
    record = result.record
    if quiet and record.outcome in ("ran", "skipped"):
        return  # --quiet: a normal outcome prints nothing (cron mails nothing)
    if record.outcome == "skipped":
        write_text(
            invocation,
            f"Cycle skipped: {visible(record.reason or '')}. To run now anyway: "
            "comfywatchman --run-cycle --force\n",
        )
        return
    if record.outcome in ("interrupted", "failed"):
        invocation.err.print(
            f"Cycle {record.outcome}: {visible(record.reason or '')}.",
            markup=False,
            highlight=False,
        )
        return
    summary = result.summary or CycleSummary()
    lines = [
        f"{label}: {count}"
        for label, count, always in (
            ("missing models", summary.missing_models, True),
            ("misplaced models", summary.misplaced_models, True),
            ("misspelled models", summary.misspelled_models, False),
            ("broken model files", summary.broken_models, False),
            ("bare 'embedding:' in prompts", summary.nameless_embeddings, False),
            ("uncertain (a person must decide)", summary.uncertain, True),
            ("missing node types", summary.missing_nodes, True),
            ("new or updated workflows", summary.intake_new_or_updated, True),
        )
        # The rarer findings show only when there are some: each then blocks a workflow.
        if always or count
    ]
    lines += [f"report: {result.report_markdown}", f"json:   {result.report_json}"]
    if invocation.environment.interactive:
        # A person is watching: the counts by status as a table.
        from rich.table import Table

        table = Table(title="comfywatchman cycle", show_header=True)
        table.add_column("status")
        table.add_column("workflows", justify="right")
        for status, count in summary.workflows_by_status.items():
            table.add_row(status, str(count))
        invocation.out.print(table)
        for line in lines:
            invocation.out.print(line, markup=False, highlight=False)
        return
    # cron, a service, a pipe: plain lines, one fact each (greppable in a log), and the
    # command spares rich's import (a fresh process's start-up is most of what an unchanged
    # cycle costs).
    by_status = [
        f"workflows {status}: {count}" for status, count in summary.workflows_by_status.items()
    ]
    write_text(invocation, "\n".join(["comfywatchman cycle", *by_status, *lines]) + "\n")


def scheduler_action(settings: Settings, home: Home, invocation: Invocation) -> int:
    from watchman.commands.progress import LineProgress
    from watchman.commands.scheduler import run_scheduler
    from watchman.state.structured_log import StructuredLog

    clock = invocation.environment.clock
    # A service has no terminal: each cycle's progress goes to the structured log, as a
    # --run-cycle's does without one (`tail -f log/structured.log` follows it).
    progress = LineProgress(None, StructuredLog(home.structured_log, clock.wall), clock.monotonic)
    # One stop event: SIGTERM both ends the scheduler and cuts the requests under way.
    stop_event = threading.Event()
    with invocation.services(settings, home, stop_event) as services:
        return run_scheduler(
            settings,
            home,
            clock=clock,
            stop_event=stop_event,
            cycle_kwargs={
                "services": services,
                "listener": progress,
            },
        )


def _common_folder(paths: list[str]) -> str | None:
    """The folder every path is under, when there is one (an 80-column terminal then
    shows the short rest of each path); None when they share none but the root."""
    import os.path

    folders = [os.path.dirname(path) for path in paths]
    try:
        common = os.path.commonpath(folders) if folders else ""
    except ValueError:  # a mix of absolute and relative paths, or of drives
        return None
    return common if common and common != os.path.dirname(common) else None


def _relative_to(path: str, base: str | None) -> str:
    import os.path

    return os.path.relpath(path, base) if base else path


def list_intake_action(invocation: Invocation, home: Home, limit: int, as_json: bool) -> None:
    from watchman.stages.intake import list_intake

    stdout = invocation.out
    entries = list_intake(home.intake_log, limit)
    if as_json:
        print_json(invocation, [entry.to_json() for entry in entries])
        return
    if not entries:
        stdout.print(f"No workflows recorded yet in {home.intake_log}.", markup=False)
        return
    from rich.markup import escape
    from rich.table import Table

    base = _common_folder([entry.path for entry in entries])
    where = f" under {visible(base)}" if base else ""
    table = Table(title=f"Intake log (newest {len(entries)}){escape(where)}")
    for column in ("time", "event", "source", "path", "sha256"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry.time,
            entry.event,
            escape(visible(entry.source)),
            escape(visible(_relative_to(entry.path, base))),
            entry.sha256[:12],
        )
    stdout.print(table)
