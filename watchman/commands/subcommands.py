"""The commands beside the three contract flags: ``scan``, ``resolve``, ``downloads``,
``download``, ``config`` and ``status``.

Each parses its own flags, calls the core and renders the answer (a rich table, or JSON
with ``--json``); :mod:`watchman.commands.cli` registers them on the app. The modules
that do the work are imported inside each command, so a command pays only for its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from watchman.commands.command_line import (
    DEBUG_AFTER,
    fail_usage,
    subcommand_invocation,
)
from watchman.commands.invocation import (
    BACKENDS_HELP,
    CONFIG_HELP,
    OFFLINE_HELP,
    ROOT_HELP,
    comfyui_root_if_any,
    print_json,
    write_text,
)
from watchman.exit_status import ExitStatus
from watchman.printable import visible


def scan_command(
    context: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Workflow files or folders (searched recursively)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print one JSON array, an object per file."
    ),
    no_images: bool = typer.Option(
        False, "--no-images", help="Skip images, videos, audio and 3D models (read only .json)."
    ),
    debug: bool = DEBUG_AFTER,
) -> None:
    """Read workflows and list their node types and model references (no state, no network).

    Exit 0 every file was read, 1 a file could not be read or parsed (listed with its
    error), 2 a path does not exist or bad usage.
    """
    from watchman.commands.scan import scan_entry_to_json, scan_paths

    invocation, json_output = subcommand_invocation(context, json_output=json_output, debug=debug)
    # Relative paths are the user's, taken from where the command was started.
    paths = [invocation.environment.cwd / path for path in paths]
    missing = [path for path in paths if not path.exists()]
    if missing:
        fail_usage(invocation, f"{missing[0]} does not exist; give workflow files or folders.")
    entries = scan_paths(paths, include_images=not no_images)
    # A file that could not be read or parsed means the scan could not do what was asked.
    failed = any(e.parsed is None for e in entries)
    status = int(ExitStatus.CYCLE_FAILED if failed else ExitStatus.SUCCESS)
    if json_output:
        print_json(invocation, [scan_entry_to_json(entry) for entry in entries])
        raise typer.Exit(status)
    # rich only once there is a table to draw (as in every command here).
    from rich.markup import escape
    from rich.table import Table

    folders = [path for path in paths if path.is_dir()]
    table = Table(title=f"{len(entries)} workflow file(s)")
    for column in ("file", "format", "nodes", "files named", "problems"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        parsed = entry.parsed
        references = (
            "\n".join(
                [
                    # A prompt's embedding: naming nothing has no value: show it as written.
                    f"{visible(ref.value or ref.written_as or '')} [{ref.folder or '?'}]"
                    f"{' (bypassed)' if ref.bypassed else ''}"
                    for ref in parsed.model_refs
                ]
                + [
                    # A picture or video the workflow's author used, in an input folder.
                    f"{visible(file.value)} [{file.folder}]"
                    f"{' (bypassed)' if file.bypassed or file.muted else ''}"
                    for file in parsed.input_files
                ]
            )
            if parsed
            else ""
        )
        table.add_row(
            escape(visible(_shown_path(entry.path, folders))),
            entry.format or "-",
            str(len(parsed.node_types)) if parsed else "-",
            escape(references),
            escape("\n".join(visible(error) for error in entry.errors)),
        )
    if len(folders) == 1:
        table.caption = escape(f"paths under {visible(str(folders[0]))}")
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
    backends: str | None = typer.Option(None, "--backends", metavar="LIST", help=BACKENDS_HELP),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
    comfyui_root: Path | None = typer.Option(
        None, "--comfyui-root", metavar="PATH", help=ROOT_HELP
    ),
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    debug: bool = DEBUG_AFTER,
) -> None:
    """Find where to get one model file: known sources first, then the backends in order.

    Exit 0 the lookup was made (FOUND, UNCERTAIN or NOT_FOUND), 1 it ended in ERROR (a
    source could not be asked), 2 bad config or usage.
    """
    from watchman.resolve import SearchRequest
    from watchman.stages.resolve import resolve_one

    invocation, json_output = subcommand_invocation(
        context, config, comfyui_root, json_output, debug, backends=backends, offline=offline
    )
    settings = invocation.settings()
    home = invocation.home(settings)
    with invocation.services(settings, home) as services:
        # The same install, known sources and resolver as the cycle's resolve stage.
        root = comfyui_root_if_any(invocation, services)
        result = resolve_one(services, root, SearchRequest(name, folder or None))
    if json_output:
        print_json(invocation, result.to_json())
        raise typer.Exit(_resolve_status(result))
    from rich.markup import escape
    from rich.table import Table

    stdout = invocation.out
    table = Table(title=f"Resolution of {escape(visible(result.file_name))}", show_header=False)
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
            table.add_row(label, escape(visible(str(value))))
    stdout.print(table)
    for candidate in result.candidates:
        stdout.print(
            visible(
                f"candidate: {candidate.file_name} ({candidate.source}) "
                f"{candidate.url or '(no verified URL)'} {candidate.note or ''}".rstrip()
            ),
            markup=False,
            highlight=False,
        )
    raise typer.Exit(_resolve_status(result))


def _resolve_status(result: Any) -> int:
    """1 when the lookup ended in ERROR (a source could not be asked), else 0."""
    from watchman.resolve import Status

    return int(ExitStatus.CYCLE_FAILED if result.status is Status.ERROR else ExitStatus.SUCCESS)


def downloads_command(
    context: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
    debug: bool = DEBUG_AFTER,
) -> None:
    """List the planned downloads of the last cycle, for review."""
    from watchman.commands.downloads import show_plan

    invocation, json_output = subcommand_invocation(context, config, None, json_output, debug)
    settings = invocation.settings()
    document = show_plan(invocation.home(settings), invocation.out, json_output)
    if document is not None:
        print_json(invocation, document)


def download_command(
    context: typer.Context,
    names: list[str] = typer.Argument(
        None, metavar="NAME", help="Planned downloads to run (see `downloads`)."
    ),
    run_all: bool = typer.Option(False, "--all", help="Run every planned download."),
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
    debug: bool = DEBUG_AFTER,
) -> None:
    """Download planned files after review: verified, resumable, renamed into place."""
    from watchman.commands.downloads import run_download

    invocation, json_output = subcommand_invocation(context, config, None, json_output, debug)
    if names and run_all:
        # --all would run every planned download, not only those named.
        fail_usage(invocation, "download takes names or --all, not both; choose one.")
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
    backends: str | None = typer.Option(None, "--backends", metavar="LIST", help=BACKENDS_HELP),
    offline: bool = typer.Option(False, "--offline", help=OFFLINE_HELP),
    auto_download: bool = typer.Option(
        False, "--auto-download", help="Download trusted planned files in each cycle."
    ),
    debug: bool = DEBUG_AFTER,
) -> None:
    """Show the effective settings (secrets masked), each with where it came from (default,
    file, environment, flag), and the home and ComfyUI folder a cycle would use with where
    each came from (flag, environment, file, detected, platform default); or, with
    --default, the documented defaults."""
    from watchman.commands.config_view import config_view_for, render_config
    from watchman.config_docs import render_configuration_markdown, render_default_toml

    invocation, json_output = subcommand_invocation(
        context,
        config,
        comfyui_root,
        json_output,
        debug,
        backends=backends,
        offline=offline,
        auto_download=auto_download,
    )
    # Options with nothing to do are a usage error, as everywhere else.
    if markdown and not default:
        fail_usage(invocation, "--markdown goes with --default only.")
    if default and json_output:
        fail_usage(invocation, "--default prints TOML (or Markdown); --json goes without it.")
    if default and invocation.setting_flags():
        # The defaults are the same whatever file or flag would change the settings.
        fail_usage(
            invocation,
            f"{invocation.setting_flags()[0]} does nothing with config --default, which "
            "prints the defaults; give it without --default to see its effect.",
        )
    if default:
        write_text(
            invocation, render_configuration_markdown() if markdown else render_default_toml()
        )
        return
    view = config_view_for(invocation, invocation.settings())
    if json_output:
        print_json(invocation, view.to_json())
        return
    write_text(invocation, "\n".join(render_config(view)) + "\n")


def status_command(
    context: typer.Context,
    limit: int = typer.Option(
        10, "--limit", min=1, metavar="N", help="How many recent cycles to show."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the status as JSON."),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=CONFIG_HELP),
    debug: bool = DEBUG_AFTER,
) -> None:
    """Show the last cycles, the next scheduled run and the summary of the last report."""
    from watchman.commands.status import (
        collect_status,
        format_duration,
        next_run_line,
        status_to_json,
    )

    invocation, json_output = subcommand_invocation(context, config, None, json_output, debug)
    home = invocation.home(invocation.settings())
    view = collect_status(home, limit)
    if json_output:
        print_json(invocation, status_to_json(view))
        return
    from rich.markup import escape
    from rich.table import Table

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
                escape(visible(record.reason or "")),
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
            # Each line made visible on its own: a name in a stranger's workflow may hold
            # control characters, the line breaks between counts are ours.
            shown = "\n".join(escape(visible(line)) for line in _summary_lines(value))
            summary.add_row(escape(visible(str(key))), shown)
        stdout.print(summary)
    elif view.report_problem:
        stdout.print(f"Last report: {visible(view.report_problem)}.", markup=False, highlight=False)
    else:
        stdout.print("No report written yet.", markup=False)


def _summary_lines(value: object) -> list[str]:
    """Return one report summary value as a person reads it: a count per kind, one per
    line (``ready: 358``), the largest first; a list joined; anything else as text."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: (-_count(item[1]), str(item[0])))
        return [f"{key}: {', '.join(_summary_lines(inner))}" for key, inner in items] or ["none"]
    if isinstance(value, list):
        return [", ".join(line for item in value for line in _summary_lines(item)) or "none"]
    return [str(value)]


def _count(value: object) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
