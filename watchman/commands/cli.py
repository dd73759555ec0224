"""The ``comfywatchman`` command: the app, its global options and the three contract flags
(``--run-cycle``, ``--scheduler``, ``--list-intake``), and the commands registered on it.

Nothing here decides anything about ComfyUI, workflows or resolution; it only turns
arguments into calls and results into tables or JSON. The other commands (``scan``,
``resolve``, ``downloads``, ``download``, ``config``, ``status``) are
:mod:`watchman.commands.subcommands`. The invocation (global options,
consoles, errors as one sentence and an exit status, ``ExitStatus``; a traceback only
with ``--debug``) is :mod:`watchman.commands.invocation`; what the three contract flags do
is :mod:`watchman.commands.actions`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from watchman import __version__
from watchman.commands.actions import list_intake_action, run_cycle_action, scheduler_action
from watchman.commands.invocation import (
    CONFIG_HELP,
    ROOT_HELP,
    Invocation,
    configure_logging_early,
    environment_of,
    fail_usage,
    handled_errors,
    parse_backends,
    terminal_log_handler,
)
from watchman.commands.subcommands import (
    config_command,
    download_command,
    downloads_command,
    resolve_command,
    scan_command,
    status_command,
)
from watchman.environment import Environment
from watchman.exit_status import ExitStatus
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
    limit_source = getattr(context.get_parameter_source("limit"), "name", "DEFAULT")
    if limit_source != "DEFAULT" and (run_cycle or scheduler or context.invoked_subcommand):
        # `--limit 3 status` would otherwise show status's default 10 cycles, silently.
        fail_usage(invocation, "--limit goes with --list-intake, or after the status command.")
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


# The commands beside the contract flags, in the order --help lists them.
app.command("scan", cls=PlainHelpCommand)(scan_command)
app.command("resolve", cls=PlainHelpCommand)(resolve_command)
app.command("downloads", cls=PlainHelpCommand)(downloads_command)
app.command("download", cls=PlainHelpCommand)(download_command)
app.command("config", cls=PlainHelpCommand)(config_command)
app.command("status", cls=PlainHelpCommand)(status_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: reads the process's surroundings once, here, and hands
    them to every command as an ``Environment``."""
    app(args=argv, prog_name="comfywatchman", obj=Environment.from_process())
