"""The ``comfywatchman`` command: parses flags, calls the core, renders with rich.

Nothing here decides anything about ComfyUI, workflows or resolution; it only turns
arguments into calls and results into tables or JSON. Every error the core raises on
purpose becomes one sentence on stderr and an exit status (``ExitStatus``); a traceback
appears only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

from watchman import __version__
from watchman.config import Settings, load_settings
from watchman.environment import Environment
from watchman.errors import (
    ComfyUINotFoundError,
    ConfigError,
    LockHeldError,
    WatchmanError,
)
from watchman.exit_status import ExitStatus
from watchman.home import Home, resolve_home
from watchman.printable import printable
from watchman.state.cycle_state import CycleSummary
from watchman.state.logs import configure_logging

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from watchman.clocks import Clock
    from watchman.commands.config_view import ConfigView
    from watchman.cycle import CycleResult
    from watchman.services import Services

_PLACEHOLDER = re.compile(r" <[^<>\n]*>|[{}]")


class PlainHelpCommand(TyperCommand):
    """A command whose help shows names a person reads (``PATH...``), not typer's type
    placeholders (``<list[Path]>``, ``{paths}``)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super().format_help(ctx, formatter)
        formatter.buffer[:] = [_PLACEHOLDER.sub("", piece) for piece in formatter.buffer]


app = typer.Typer(
    name="comfywatchman",
    help=(
        "Keep a ComfyUI install ready for the workflows you collect: find the models and "
        "custom nodes they need that are missing, where to get them, and report it."
    ),
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _console(stream: TextIO | None) -> Console:
    # No stream at all (pythonw.exe under Task Scheduler): output goes nowhere, quietly.
    return Console(file=stream if stream is not None else io.StringIO(), soft_wrap=True)


@dataclass
class Invocation:
    """The global options of one invocation and the environment it runs in, shared with
    subcommands."""

    environment: Environment
    config_path: Path | None = None
    comfyui_root: Path | None = None
    offline: bool = False
    backends: list[str] | None = None
    debug: bool = False
    json_output: bool = False  # --json given before a subcommand
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def out(self) -> Console:
        """The console on the environment's stdout."""
        return _console(self.environment.stdout)

    @cached_property
    def err(self) -> Console:
        """The console on the environment's stderr."""
        return _console(self.environment.stderr)

    def home(self, settings: Settings) -> Home:
        """The tool's home for these settings in this environment."""
        return resolve_home(settings, self.environment)

    def services(
        self, settings: Settings, home: Home, stop_event: threading.Event | None = None
    ) -> Services:
        """Wire the outside world once for this command (close it, or use ``with``)."""
        # Imported here: the HTTP and resolver stack is not needed to start every command.
        from watchman.services import build_services

        return build_services(settings, self.environment, home, stop_event=stop_event)

    def flag_overrides(self) -> dict[str, dict[str, Any]]:
        """The settings this invocation's flags set, as ``{section: {key: value}}``."""
        overrides: dict[str, dict[str, Any]] = {k: dict(v) for k, v in self.overrides.items()}
        if self.comfyui_root is not None:
            overrides.setdefault("comfyui", {})["root"] = self.comfyui_root
        if self.offline:
            overrides.setdefault("search", {})["offline"] = True
        if self.backends is not None:
            overrides.setdefault("search", {})["backend_order"] = self.backends
        return overrides

    def settings(self) -> Settings:
        """Load the settings with this invocation's flags as the strongest layer."""
        return load_settings(
            self.config_path,
            self.flag_overrides(),
            self.environment.environ,
            config_dir=self.environment.user_config_dir,
        )


def _exit_status_for(error: WatchmanError) -> ExitStatus:
    if isinstance(error, LockHeldError):
        return ExitStatus.LOCKED
    if isinstance(error, (ConfigError, ComfyUINotFoundError)):
        return ExitStatus.USAGE
    return ExitStatus.CYCLE_FAILED


@contextlib.contextmanager
def handled_errors(invocation: Invocation) -> Iterator[None]:
    """Turn our own errors into one sentence on stderr and the matching exit status."""
    try:
        yield
    except WatchmanError as error:
        if invocation.debug:
            raise
        invocation.err.print(f"comfywatchman: {error}", markup=False, highlight=False)
        raise typer.Exit(int(_exit_status_for(error))) from None
    except OSError as error:
        if invocation.debug:
            raise
        where = f" ({error.filename})" if error.filename else ""
        invocation.err.print(
            f"comfywatchman: {error.strerror or error}{where}; check the path and permissions.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(int(ExitStatus.CYCLE_FAILED)) from None
    except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
        raise  # the command line's own ways out (exit statuses, usage errors)
    except Exception as error:
        # Last resort (a bug, not an input): one sentence and the way to the traceback.
        if invocation.debug:
            raise
        logger.debug("Unexpected error", exc_info=True)
        invocation.err.print(
            f"comfywatchman: unexpected {type(error).__name__}: {error}. This is a bug; "
            "run again with --debug for the traceback, and please report it.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(int(ExitStatus.CYCLE_FAILED)) from None


def parse_backends(value: str | None) -> list[str] | None:
    """Split ``--backends qwen,civitai`` into names. Not checked here: the list becomes the
    ``search.backend_order`` setting, and the settings model checks every name (one place
    for a flag, a variable and the config file alike)."""
    if value is None:
        return None
    return [name.strip().lower() for name in value.split(",") if name.strip()]


def _comfyui_root_if_any(invocation: Invocation, services: Services) -> Path | None:
    """The ComfyUI install as the cycle finds it. A root that was set (flag, variable,
    config) must be one; when none is set and none is detected, None with a warning:
    one lookup is still useful without the install's known sources."""
    if services.settings.comfyui.root is not None:
        return services.find_comfyui_root()
    try:
        return services.find_comfyui_root()
    except ComfyUINotFoundError as error:
        invocation.err.print(
            f"comfywatchman: {error} Resolving without the install's known sources.",
            markup=False,
            highlight=False,
        )
        return None


def print_json(invocation: Invocation, document: Any) -> None:
    """Write a JSON document to the invocation's stdout (no colour, no wrapping)."""
    try:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        # A file name that is not UTF-8 (lone surrogates): ASCII JSON with \u escapes.
        text = json.dumps(document, indent=2)
    _write(invocation, text + "\n")


def _write(invocation: Invocation, text: str) -> None:
    stream = invocation.environment.stdout
    if stream is not None:
        stream.write(text)
        stream.flush()


def _environment(context: typer.Context) -> Environment:
    """The environment ``main()`` handed over (as the context object); else the process's
    own, read here, at the entry (``app`` invoked directly, as by click's test runner)."""
    given = context.find_object(Environment)
    return given if given is not None else Environment.from_process()


def _invocation(context: typer.Context) -> Invocation:
    found = context.find_object(Invocation)
    return found if found is not None else Invocation(_environment(context))


def _fail_usage(invocation: Invocation, message: str) -> NoReturn:
    invocation.err.print(f"comfywatchman: {message}", markup=False, highlight=False)
    raise typer.Exit(int(ExitStatus.USAGE))


CONFIG_HELP = "The TOML config file (else COMFYWATCHMAN_CONFIG, else the user's file)."
ROOT_HELP = "The ComfyUI install folder (else COMFYUI_ROOT, else comfyui.root, else detected)."


def _subcommand_invocation(
    context: typer.Context,
    config: Path | None = None,
    comfyui_root: Path | None = None,
    json_output: bool = False,
) -> tuple[Invocation, bool]:
    """The invocation with the options given after the subcommand added (paths taken
    from where the command was started), and whether JSON was asked for, before or
    after the subcommand."""
    invocation = _invocation(context)
    cwd = invocation.environment.cwd
    if config is not None:
        invocation.config_path = cwd / config
    if comfyui_root is not None:
        invocation.comfyui_root = cwd / comfyui_root
    return invocation, json_output or invocation.json_output


def _version(value: bool) -> None:
    if value:
        typer.echo(f"comfywatchman {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main_callback(
    context: typer.Context,
    run_cycle: bool = typer.Option(
        False,
        "--run-cycle",
        help="Run one guarded cycle, then exit: 0 ran or skipped by a guard, 1 failed, "
        "2 bad config or usage, 3 another cycle holds the lock, 130 stopped by SIGINT, "
        "143 stopped by SIGTERM (recorded as interrupted).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="With --run-cycle: run now whatever the awake and VRAM guards say "
        "(the run lock still holds).",
    ),
    progress: bool | None = typer.Option(
        None,
        "--progress/--no-progress",
        help="With --run-cycle: --progress also writes the progress lines to stderr when no "
        "terminal is attached (they always go to log/structured.log then, one JSON line "
        "per step); --no-progress hides the progress bar on a terminal.",
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="With --run-cycle: print only warnings and errors (no summary, no progress), "
        "for cron, which mails whatever a job prints.",
    ),
    scheduler: bool = typer.Option(
        False, "--scheduler", help="Run cycles forever at the configured interval."
    ),
    list_intake: bool = typer.Option(
        False, "--list-intake", help="Show the newest intake log entries, newest first."
    ),
    limit: int = typer.Option(
        20, "--limit", min=1, metavar="N", help="How many entries --list-intake shows."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print data as JSON."),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
    comfyui_root: Path | None = typer.Option(
        None, "--comfyui-root", metavar="PATH", help=ROOT_HELP
    ),
    backends: str | None = typer.Option(
        None,
        "--backends",
        metavar="LIST",
        help="Backend order for this run, e.g. qwen,civitai,huggingface.",
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Never ask a remote backend; use known sources only."
    ),
    debug: bool = typer.Option(False, "--debug", help="Log at DEBUG and show tracebacks."),
    auto_download: bool = typer.Option(
        False,
        "--auto-download",
        help="With --run-cycle or --scheduler: fetch trusted planned downloads (FOUND by "
        "exact name, folder agreed, sha256 or size known); see docs/downloads.md.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Keep a ComfyUI install ready for the workflows you collect."""
    environment = _environment(context)
    invocation = Invocation(
        environment,
        # Paths given on the command line are the user's, taken from where they stood.
        config_path=environment.cwd / config if config is not None else None,
        comfyui_root=environment.cwd / comfyui_root if comfyui_root is not None else None,
        offline=offline,
        backends=parse_backends(backends),
        debug=debug,
        json_output=json_output,
    )
    if auto_download:
        invocation.overrides.setdefault("downloads", {})["auto_download"] = True
    context.obj = invocation
    actions = [
        name
        for name, on in (
            ("--run-cycle", run_cycle),
            ("--scheduler", scheduler),
            ("--list-intake", list_intake),
        )
        if on
    ]
    if len(actions) > 1:
        _fail_usage(invocation, f"{' and '.join(actions)} cannot be combined; choose one.")
    if force and not run_cycle:
        _fail_usage(invocation, "--force goes with --run-cycle only.")
    if (progress is not None or quiet) and not run_cycle:
        _fail_usage(invocation, "--progress, --no-progress and --quiet go with --run-cycle only.")
    if actions and context.invoked_subcommand is not None:
        _fail_usage(
            invocation,
            f"{actions[0]} cannot be combined with the {context.invoked_subcommand} command.",
        )
    if context.invoked_subcommand is not None:
        _configure_logging_early(invocation)
        return
    if not actions:
        given = [
            name
            for name in context.params
            if getattr(context.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
        ]
        if given:
            # `comfywatchman --limit 3`: options with nothing to do are a mistake, not help.
            _fail_usage(
                invocation,
                "nothing to do: add --run-cycle, --scheduler, --list-intake or a command "
                "(see comfywatchman --help).",
            )
        invocation.out.print(context.get_help())
        raise typer.Exit(int(ExitStatus.SUCCESS))
    with handled_errors(invocation):
        settings = invocation.settings()
        home = invocation.home(settings)
        level = settings.logging.level
        if quiet and logging.getLevelName(level) < logging.WARNING:
            level = "WARNING"
        configure_logging(
            "DEBUG" if debug else level,
            stream=invocation.environment.stderr,
            json_lines=None if scheduler else False,
            handler=None if scheduler else _terminal_log_handler(invocation),
            fallback_file=home.log_dir / "comfywatchman.log",
        )
        if run_cycle:
            if quiet and progress is None:
                progress = False
            raise typer.Exit(
                _do_run_cycle(settings, home, invocation, json_output, force, progress, quiet)
            )
        if scheduler:
            raise typer.Exit(_do_scheduler(settings, home, invocation))
        _do_list_intake(invocation, home, limit, json_output)


def _configure_logging_early(invocation: Invocation) -> None:
    configure_logging(
        "DEBUG" if invocation.debug else "WARNING",
        stream=invocation.environment.stderr,
        json_lines=False,
        handler=_terminal_log_handler(invocation),
    )


def _terminal_log_handler(invocation: Invocation) -> logging.Handler | None:
    """A handler that shares stderr with rich's progress display, when a person watches."""
    if not invocation.environment.interactive:
        return None
    from rich.logging import RichHandler

    return RichHandler(console=invocation.err, show_time=False, show_path=False, markup=False)


STOP_GRACE_SECONDS = 1.5
"""How long a cycle may take to reach a stage boundary after SIGINT or SIGTERM before the
command records it as interrupted and exits anyway (the contract is 2 s)."""


def _do_run_cycle(
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
            )
        result = run_cycle(
            settings,
            home,
            trigger="run-cycle",
            services=services,
            on_stage=progress.on_stage,
            on_progress=progress.on_progress,
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

    from watchman.cycle import record_cycle
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
    stdout, stderr = invocation.out, invocation.err
    record = result.record
    if quiet and record.outcome in ("ran", "skipped"):
        return  # --quiet: a normal outcome prints nothing (cron mails nothing)
    if record.outcome == "skipped":
        stdout.print(
            f"Cycle skipped: {record.reason}. To run now anyway: comfywatchman --run-cycle --force",
            markup=False,
            highlight=False,
        )
        return
    if record.outcome == "interrupted":
        stderr.print(f"Cycle interrupted: {record.reason}.", markup=False, highlight=False)
        return
    if record.outcome == "failed":
        stderr.print(f"Cycle failed: {record.reason}.", markup=False, highlight=False)
        return
    summary = result.summary or CycleSummary()
    table = Table(title="comfywatchman cycle", show_header=True)
    table.add_column("status")
    table.add_column("workflows", justify="right")
    for status, count in summary.workflows_by_status.items():
        table.add_row(status, str(count))
    stdout.print(table)
    for label, count in (
        ("missing models", summary.missing_models),
        ("misplaced models", summary.misplaced_models),
        ("uncertain (a person must decide)", summary.uncertain),
        ("missing node types", summary.missing_nodes),
        ("new or updated workflows", summary.intake_new_or_updated),
    ):
        stdout.print(f"{label}: {count}", markup=False, highlight=False)
    stdout.print(f"report: {result.report_markdown}", markup=False, highlight=False)
    stdout.print(f"json:   {result.report_json}", markup=False, highlight=False)


def _do_scheduler(settings: Settings, home: Home, invocation: Invocation) -> int:
    from watchman.commands.progress import LineProgress
    from watchman.commands.scheduler import run_scheduler
    from watchman.state.structured_log import StructuredLog

    clock = invocation.environment.clock
    # A service has no terminal: each cycle's progress goes to the structured log, as a
    # --run-cycle's does without one (`tail -f log/structured.log` follows it).
    progress = LineProgress(None, StructuredLog(home.structured_log, clock.wall))
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
                "on_stage": progress.on_stage,
                "on_progress": progress.on_progress,
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


def _do_list_intake(invocation: Invocation, home: Home, limit: int, as_json: bool) -> None:
    from watchman.stages.intake import list_intake

    stdout = invocation.out
    entries = list_intake(home.intake_log, limit)
    if as_json:
        print_json(invocation, [entry.to_json() for entry in entries])
        return
    if not entries:
        stdout.print(f"No workflows recorded yet in {home.intake_log}.", markup=False)
        return
    base = _common_folder([entry.path for entry in entries])
    where = f" under {printable(base)}" if base else ""
    table = Table(title=f"Intake log (newest {len(entries)}){escape(where)}")
    for column in ("time", "event", "source", "path", "sha256"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry.time,
            entry.event,
            escape(printable(entry.source)),
            escape(printable(_relative_to(entry.path, base))),
            entry.sha256[:12],
        )
    stdout.print(table)


@app.command("scan", cls=PlainHelpCommand)
def scan_command(
    context: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Workflow files or folders (searched recursively)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print one JSON array, an object per file."
    ),
    no_images: bool = typer.Option(False, "--no-images", help="Skip .png and .webp files."),
) -> None:
    """Read workflows and list their node types and model references (no state, no network).

    Exit 0 every file was read, 1 a file could not be read or parsed (listed with its
    error), 2 a path does not exist.
    """
    from watchman.commands.scan import scan_entry_to_json, scan_paths

    invocation, json_output = _subcommand_invocation(context, json_output=json_output)
    with handled_errors(invocation):
        # Relative paths are the user's, taken from where the command was started.
        paths = [invocation.environment.cwd / path for path in paths]
        missing = [path for path in paths if not path.exists()]
        if missing:
            _fail_usage(invocation, f"{missing[0]} does not exist; give workflow files or folders.")
        entries = scan_paths(paths, include_images=not no_images)
    # A file that could not be read or parsed means the scan could not do what was asked.
    status = int(ExitStatus.CYCLE_FAILED) if any(e.parsed is None for e in entries) else 0
    if json_output:
        print_json(invocation, [scan_entry_to_json(entry) for entry in entries])
        raise typer.Exit(status)
    folders = [path for path in paths if path.is_dir()]
    table = Table(title=f"{len(entries)} workflow file(s)")
    for column in ("file", "format", "nodes", "model references", "problems"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        parsed = entry.parsed
        references = (
            "\n".join(
                f"{ref.value} [{ref.folder or '?'}]{' (bypassed)' if ref.bypassed else ''}"
                for ref in parsed.model_refs
            )
            if parsed
            else ""
        )
        table.add_row(
            escape(printable(_shown_path(entry.path, folders))),
            entry.format or "-",
            str(len(parsed.node_types)) if parsed else "-",
            escape(references),
            escape("\n".join(entry.errors)),
        )
    if len(folders) == 1:
        table.caption = f"paths under {printable(str(folders[0]))}"
    invocation.out.print(table)
    raise typer.Exit(status)


def _shown_path(path: Path, folders: list[Path]) -> str:
    """``path`` relative to the one folder given when it is under it (short enough for an
    80-column terminal), else whole."""
    if len(folders) == 1:
        try:
            return path.relative_to(folders[0]).as_posix()
        except ValueError:
            pass
    return str(path)


@app.command("resolve", cls=PlainHelpCommand)
def resolve_command(
    context: typer.Context,
    name: str = typer.Argument(
        ...,
        metavar="NAME",
        help="The model file as a workflow names it, e.g. SDXL\\foo.safetensors.",
    ),
    folder: str | None = typer.Option(
        None,
        "--folder",
        metavar="FOLDER",
        help="Its ComfyUI folder type: checkpoints, loras, vae, ...",
    ),
    backends: str | None = typer.Option(
        None,
        "--backends",
        metavar="LIST",
        help="Backend order for this lookup, e.g. qwen,civitai,huggingface.",
    ),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
    comfyui_root: Path | None = typer.Option(
        None, "--comfyui-root", metavar="PATH", help=ROOT_HELP
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Ask no remote backend; use known sources only."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Find where to get one model file: known sources first, then the backends in order.

    Exit 0 the lookup was made (FOUND, UNCERTAIN or NOT_FOUND), 1 it ended in ERROR (a
    source could not be asked), 2 bad config or usage.
    """
    from watchman.resolve import SearchRequest
    from watchman.stages.resolve import resolve_one

    invocation, json_output = _subcommand_invocation(context, config, comfyui_root, json_output)
    # The subcommand's flags are the same overrides as the global ones, nothing more.
    if backends is not None:
        invocation.backends = parse_backends(backends)
    invocation.offline = invocation.offline or offline
    with handled_errors(invocation):
        settings = invocation.settings()
        home = invocation.home(settings)
        with invocation.services(settings, home) as services:
            # The same install, known sources and resolver as the cycle's resolve stage.
            root = _comfyui_root_if_any(invocation, services)
            result = resolve_one(services, root, SearchRequest(name, folder or None))
    if json_output:
        print_json(invocation, result.to_json())
        raise typer.Exit(_resolve_status(result))
    stdout = invocation.out
    table = Table(title=f"Resolution of {escape(result.file_name)}", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for label, value in (
        ("status", result.status.value),
        ("backend", result.backend),
        ("folder", "/".join(part for part in (result.folder, result.subfolder) if part)),
        ("url", result.download_url),
        ("size", result.size),
        ("sha256", result.sha256),
        ("reason", result.reason),
        ("detail", result.detail),
        ("errors", ", ".join(result.errors)),
    ):
        if value not in (None, ""):
            table.add_row(label, escape(str(value)))
    stdout.print(table)
    for candidate in result.candidates:
        stdout.print(
            f"candidate: {candidate.file_name} ({candidate.source}) "
            f"{candidate.url or '(no verified URL)'} {candidate.note or ''}".rstrip(),
            markup=False,
            highlight=False,
        )
    raise typer.Exit(_resolve_status(result))


def _resolve_status(result: Any) -> int:
    """1 when the lookup ended in ERROR (a source could not be asked), else 0."""
    from watchman.resolve import Status

    return int(ExitStatus.CYCLE_FAILED) if result.status is Status.ERROR else 0


@app.command("downloads", cls=PlainHelpCommand)
def downloads_command(
    context: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
) -> None:
    """List the planned downloads of the last cycle, for review."""
    from watchman.commands.downloads import show_plan

    invocation, json_output = _subcommand_invocation(context, config, None, json_output)
    with handled_errors(invocation):
        settings = invocation.settings()
        document = show_plan(invocation.home(settings), invocation.out, json_output)
        if document is not None:
            print_json(invocation, document)


@app.command("download", cls=PlainHelpCommand)
def download_command(
    context: typer.Context,
    names: list[str] = typer.Argument(
        None, metavar="NAME", help="Planned downloads to run (see `downloads`)."
    ),
    run_all: bool = typer.Option(False, "--all", help="Run every planned download."),
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
) -> None:
    """Download planned files after review: verified, resumable, renamed into place."""
    from watchman.commands.downloads import run_download

    invocation, json_output = _subcommand_invocation(context, config, None, json_output)
    with handled_errors(invocation):
        settings = invocation.settings()
        home = invocation.home(settings)
        # The same client (and User-Agent) as every other request of the tool.
        with invocation.services(settings, home) as services:
            status, run = run_download(
                settings,
                home,
                names or [],
                run_all=run_all,
                console=invocation.err if json_output else invocation.out,
                interactive=not json_output and invocation.environment.interactive,
                clock=invocation.environment.clock,
                client=services.client,
            )
        if json_output and run is not None:
            print_json(invocation, run.to_json())
    raise typer.Exit(status)


@app.command("config", cls=PlainHelpCommand)
def config_command(
    context: typer.Context,
    default: bool = typer.Option(False, "--default", help="Print every key with its default."),
    markdown: bool = typer.Option(
        False, "--markdown", help="With --default: print the configuration reference page."
    ),
    json_output: bool = typer.Option(
        False,
        "--json",
        help="Print the settings, their sources, the home and ComfyUI folder as JSON.",
    ),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
    comfyui_root: Path | None = typer.Option(
        None, "--comfyui-root", metavar="PATH", help=ROOT_HELP
    ),
) -> None:
    """Show the effective settings (secrets masked), each with where it came from (default,
    file, environment, flag), and the home and ComfyUI folder a cycle would use with where
    each came from (flag, variable, config, detected, platform default); or, with
    --default, the documented defaults."""
    from watchman.config_docs import render_configuration_markdown, render_default_toml

    invocation, json_output = _subcommand_invocation(context, config, comfyui_root, json_output)
    if default:
        _write(invocation, render_configuration_markdown() if markdown else render_default_toml())
        return
    with handled_errors(invocation):
        view = _config_view(invocation, invocation.settings())
    if json_output:
        print_json(invocation, view.to_json())
        return
    from watchman.commands.config_view import render_config

    _write(invocation, "\n".join(render_config(view)) + "\n")


def _config_view(invocation: Invocation, settings: Settings) -> ConfigView:
    """What ``config`` shows: each value's origin, and the home and ComfyUI folder a
    cycle would use, with where each came from."""
    from watchman.comfy.install import detect_comfyui_root
    from watchman.commands.config_view import (
        ConfigView,
        comfyui_origin,
        home_origin,
        value_sources,
    )

    environment = invocation.environment
    sources = value_sources(settings, invocation.flag_overrides(), environment.environ)
    home = invocation.home(settings)
    with invocation.services(settings, home) as services:
        root, root_from, problem = comfyui_origin(
            settings,
            sources[("comfyui", "root")],
            services.find_comfyui_root,
            lambda: detect_comfyui_root(
                environment.environ,
                environment.home_dir,
                cwd=environment.cwd,
                platform=environment.platform,
            ),
        )
    return ConfigView(
        settings,
        sources,
        home.root,
        home_origin(settings, environment.environ, sources[("paths", "home")]),
        root,
        root_from,
        problem,
    )


@app.command("status", cls=PlainHelpCommand)
def status_command(
    context: typer.Context,
    limit: int = typer.Option(
        10, "--limit", min=1, metavar="N", help="How many recent cycles to show."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the status as JSON."),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
) -> None:
    """Show the last cycles, the next scheduled run and the summary of the last report."""
    from watchman.commands.status import collect_status, format_duration, status_to_json

    invocation, json_output = _subcommand_invocation(context, config, None, json_output)
    with handled_errors(invocation):
        home = invocation.home(invocation.settings())
        view = collect_status(home, limit)
    if json_output:
        print_json(invocation, status_to_json(view))
        return
    stdout = invocation.out
    stdout.print(f"home: {view.home}", markup=False, highlight=False)
    stdout.print(
        _next_run_line(view, invocation.environment.clock.wall()), markup=False, highlight=False
    )
    if view.cycles:
        table = Table(title=f"Last {len(view.cycles)} cycle(s), newest first")
        for column in ("started", "duration", "outcome", "trigger", "reason"):
            table.add_column(column, overflow="fold")
        for record in view.cycles:
            table.add_row(
                record.started_at,
                format_duration(record.duration_seconds),
                record.outcome,
                record.trigger,
                escape(record.reason or ""),
            )
        stdout.print(table)
    else:
        stdout.print(f"No cycle recorded yet in {home.cycle_state}.", markup=False)
    if view.report_summary is not None:
        report = view.report_markdown or view.report_json
        summary = Table(title=f"Last report: {escape(str(report))}")
        summary.add_column("item")
        summary.add_column("value", overflow="fold")
        for key, value in view.report_summary.items():
            shown = orjson.dumps(value).decode() if isinstance(value, (dict, list)) else str(value)
            summary.add_row(escape(str(key)), escape(shown))
        stdout.print(summary)
    elif view.report_problem:
        stdout.print(f"Last report: {view.report_problem}.", markup=False, highlight=False)
    else:
        stdout.print("No report written yet.", markup=False)


def _next_run_line(view: Any, now: float) -> str:
    """ "running now" during a cycle; a next run never shown in the past."""
    from datetime import datetime

    if view.running_since is not None:
        return f"running now: a cycle started at {view.running_since}"
    if view.next_run is None:
        return "next run: not scheduled (no --scheduler running)"
    try:
        due = datetime.fromisoformat(view.next_run.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return f"next run: {view.next_run}"
    if due <= now:
        return f"next run: due now (was planned for {view.next_run})"
    return f"next run: {view.next_run}"


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: reads the process's surroundings once, here, and hands
    them to every command as an ``Environment``."""
    app(args=argv, prog_name="comfywatchman", obj=Environment.from_process())
