"""The ``comfywatchman`` command: parses flags, calls the core, renders with rich.

Nothing here decides anything about ComfyUI, workflows or resolution; it only turns
arguments into calls and results into tables or JSON. The invocation (global options,
consoles, errors as one sentence and an exit status, ``ExitStatus``; a traceback only
with ``--debug``) is :mod:`watchman.commands.invocation`; what the three contract flags do
is :mod:`watchman.commands.actions`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

from watchman import __version__
from watchman.commands.actions import list_intake_action, run_cycle_action, scheduler_action
from watchman.commands.invocation import (
    Invocation,
    comfyui_root_if_any,
    configure_logging_early,
    environment_of,
    fail_usage,
    handled_errors,
    parse_backends,
    print_json,
    subcommand_invocation,
    terminal_log_handler,
    write_text,
)
from watchman.environment import Environment
from watchman.exit_status import ExitStatus
from watchman.printable import printable
from watchman.state.logs import configure_logging

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


CONFIG_HELP = "The TOML config file (else COMFYWATCHMAN_CONFIG, else the user's file)."
ROOT_HELP = "The ComfyUI install folder (else COMFYUI_ROOT, else comfyui.root, else detected)."


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
    environment = environment_of(context)
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
        fail_usage(invocation, f"{' and '.join(actions)} cannot be combined; choose one.")
    if force and not run_cycle:
        fail_usage(invocation, "--force goes with --run-cycle only.")
    if (progress is not None or quiet) and not run_cycle:
        fail_usage(invocation, "--progress, --no-progress and --quiet go with --run-cycle only.")
    if actions and context.invoked_subcommand is not None:
        fail_usage(
            invocation,
            f"{actions[0]} cannot be combined with the {context.invoked_subcommand} command.",
        )
    if context.invoked_subcommand is not None:
        configure_logging_early(invocation)
        return
    if not actions:
        given = [
            name
            for name in context.params
            if getattr(context.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
        ]
        if given:
            # `comfywatchman --limit 3`: options with nothing to do are a mistake, not help.
            fail_usage(
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
            handler=None if scheduler else terminal_log_handler(invocation),
            fallback_file=home.log_dir / "comfywatchman.log",
        )
        if run_cycle:
            if quiet and progress is None:
                progress = False
            raise typer.Exit(
                run_cycle_action(settings, home, invocation, json_output, force, progress, quiet)
            )
        if scheduler:
            raise typer.Exit(scheduler_action(settings, home, invocation))
        list_intake_action(invocation, home, limit, json_output)


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

    invocation, json_output = subcommand_invocation(context, json_output=json_output)
    with handled_errors(invocation):
        # Relative paths are the user's, taken from where the command was started.
        paths = [invocation.environment.cwd / path for path in paths]
        missing = [path for path in paths if not path.exists()]
        if missing:
            fail_usage(invocation, f"{missing[0]} does not exist; give workflow files or folders.")
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

    invocation, json_output = subcommand_invocation(context, config, comfyui_root, json_output)
    # The subcommand's flags are the same overrides as the global ones, nothing more.
    if backends is not None:
        invocation.backends = parse_backends(backends)
    invocation.offline = invocation.offline or offline
    with handled_errors(invocation):
        settings = invocation.settings()
        home = invocation.home(settings)
        with invocation.services(settings, home) as services:
            # The same install, known sources and resolver as the cycle's resolve stage.
            root = comfyui_root_if_any(invocation, services)
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

    invocation, json_output = subcommand_invocation(context, config, None, json_output)
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

    invocation, json_output = subcommand_invocation(context, config, None, json_output)
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
    from watchman.commands.config_view import config_view_for, render_config
    from watchman.config_docs import render_configuration_markdown, render_default_toml

    invocation, json_output = subcommand_invocation(context, config, comfyui_root, json_output)
    if default:
        write_text(
            invocation, render_configuration_markdown() if markdown else render_default_toml()
        )
        return
    with handled_errors(invocation):
        view = config_view_for(invocation, invocation.settings())
    if json_output:
        print_json(invocation, view.to_json())
        return
    write_text(invocation, "\n".join(render_config(view)) + "\n")


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
    from watchman.commands.status import (
        collect_status,
        format_duration,
        next_run_line,
        status_to_json,
    )

    invocation, json_output = subcommand_invocation(context, config, None, json_output)
    with handled_errors(invocation):
        home = invocation.home(invocation.settings())
        view = collect_status(home, limit)
    if json_output:
        print_json(invocation, status_to_json(view))
        return
    stdout = invocation.out
    stdout.print(f"home: {view.home}", markup=False, highlight=False)
    stdout.print(
        next_run_line(view, invocation.environment.clock.wall()), markup=False, highlight=False
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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: reads the process's surroundings once, here, and hands
    them to every command as an ``Environment``."""
    app(args=argv, prog_name="comfywatchman", obj=Environment.from_process())
