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

import re
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from watchman import __version__
from watchman.commands.actions import list_intake_action, run_cycle_action, scheduler_action
from watchman.commands.command_line import (
    environment_of,
    fail_usage,
    handled_errors,
    invocation_of,
)
from watchman.commands.invocation import (
    CONFIG_HELP,
    ROOT_HELP,
    Invocation,
    configure_command_logging,
    configure_logging_early,
    parse_backends,
)
from watchman.commands.subcommands import (
    config_command,
    download_command,
    downloads_command,
    resolve_command,
    scan_command,
    status_command,
)
from watchman.commands.usage import (
    LIST_INTAKE,
    MODE_FLAGS,
    RUN_CYCLE,
    SCHEDULER,
    misuse,
    option_help,
)
from watchman.environment import Environment
from watchman.exit_status import ExitStatus

# Before a command, these two say where they mean something (the table in usage.py).
_CONFIG_HELP_HERE = option_help("--config", CONFIG_HELP)
_ROOT_HELP_HERE = option_help("--comfyui-root", ROOT_HELP)
_PLACEHOLDER = re.compile(r" <[^<>\n]*>|[{}]")


class Subcommand(TyperCommand):
    """A command beside the contract flags: its help shows names a person reads
    (``PATH...``), not typer's type placeholders (``<list[Path]>``, ``{paths}``), and all
    of its run is inside the one error boundary (:func:`handled_errors`: one sentence and
    an exit status; the traceback only with ``--debug``, given before or after it)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super().format_help(ctx, formatter)
        formatter.buffer[:] = [_PLACEHOLDER.sub("", piece) for piece in formatter.buffer]

    def invoke(self, ctx: Any) -> Any:
        # The command's own --debug sets invocation.debug as it starts; the boundary reads
        # it when an error reaches it.
        with handled_errors(invocation_of(ctx)):
            return super().invoke(ctx)


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
        raise typer.Exit(int(ExitStatus.SUCCESS))


def usage_problem(context: typer.Context) -> str | None:
    """What is wrong with the options of the command line parsed into ``context`` (the
    command's own; a command's options are its own to check), in one sentence, or None.

    Two modes at once, a mode with a command, options with no mode, and any option where
    it does nothing (``watchman.commands.usage.OPTION_MODES``) are wrong; no option at
    all is a request for help.
    """
    params = context.params
    flags = {RUN_CYCLE: "run_cycle", SCHEDULER: "scheduler", LIST_INTAKE: "list_intake"}
    actions = [flag for flag, name in flags.items() if params.get(name)]
    if len(actions) > 1:
        return f"{' and '.join(actions)} cannot be combined; choose one."
    subcommand = context.invoked_subcommand
    if actions and subcommand is not None:
        return f"{actions[0]} cannot be combined with the {subcommand} command."
    given = _options_given(context)
    if not actions and subcommand is None:
        # `comfywatchman --limit 3`: options with nothing to do are a mistake, not help.
        return (
            "nothing to do: add --run-cycle, --scheduler, --list-intake or a command "
            "(see comfywatchman --help)."
            if given
            else None
        )
    mode = actions[0] if actions else str(subcommand)
    return misuse(mode, given, _options_of(context.command, mode))


def _options_given(context: typer.Context) -> list[tuple[str, str]]:
    """``(row, typed)`` for each option of the command itself given on the command line
    (the mode flags aside): its row in ``OPTION_MODES`` (its first name) and how it was
    spelled (``--no-progress``, ``--quiet`` for ``-q``)."""
    given = []
    for parameter in context.command.params:
        name = parameter.name or ""
        source = getattr(context.get_parameter_source(name), "name", "DEFAULT")
        if source == "DEFAULT" or parameter.opts[0] in MODE_FLAGS:
            continue
        row = parameter.opts[0]
        value = context.params.get(name)
        negative = getattr(parameter, "secondary_opts", None)
        given.append((row, negative[0] if negative and value is False else row))
    return given


def _options_of(group: Any, name: str) -> list[str]:
    """The options the command ``name`` takes after it (none for a mode flag)."""
    command = getattr(group, "commands", {}).get(name)
    return [] if command is None else [o for p in command.params for o in p.opts]


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
        help=option_help(
            "--force", "run now whatever the awake and VRAM guards say (the run lock still holds)."
        ),
    ),
    progress: bool | None = typer.Option(
        None,
        "--progress/--no-progress",
        help=option_help(
            "--progress",
            "--progress also writes the progress lines to stderr when no terminal is "
            "attached (they always go to log/structured.log then, one JSON line per step); "
            "--no-progress hides the progress bar on a terminal.",
        ),
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help=option_help(
            "--quiet",
            "print only warnings and errors (no summary, no progress), for cron, which "
            "mails whatever a job prints.",
        ),
    ),
    scheduler: bool = typer.Option(
        False, "--scheduler", help="Run cycles forever at the configured interval."
    ),
    list_intake: bool = typer.Option(
        False, "--list-intake", help="Show the newest intake log entries, newest first."
    ),
    limit: int = typer.Option(
        20, "--limit", min=1, metavar="N", help=option_help("--limit", "how many entries to show.")
    ),
    json_output: bool = typer.Option(
        False, "--json", help=option_help("--json", "print data as JSON.")
    ),
    config: Path | None = typer.Option(None, "--config", metavar="PATH", help=_CONFIG_HELP_HERE),
    comfyui_root: Path | None = typer.Option(
        None, "--comfyui-root", metavar="PATH", help=_ROOT_HELP_HERE
    ),
    backends: str | None = typer.Option(
        None,
        "--backends",
        metavar="LIST",
        help=option_help("--backends", "the backend order, e.g. qwen,civitai,huggingface."),
    ),
    offline: bool = typer.Option(
        False,
        "--offline",
        help=option_help("--offline", "never ask a remote backend; use known sources only."),
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Log at DEBUG and show tracebacks (before or after any command).",
    ),
    auto_download: bool = typer.Option(
        False,
        "--auto-download",
        help=option_help(
            "--auto-download",
            "fetch trusted planned downloads (FOUND by exact name, folder agreed, sha256 "
            "or size known); see docs/downloads.md.",
        ),
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
    # One boundary over all of it, the check of the options included: a bug anywhere is
    # one sentence, its traceback only with --debug.
    with handled_errors(invocation):
        problem = usage_problem(context)
        if problem is not None:
            fail_usage(invocation, problem)
        if context.invoked_subcommand is not None:
            configure_logging_early(invocation)
            return
        if not (run_cycle or scheduler or list_intake):
            invocation.out.print(context.get_help())
            raise typer.Exit(int(ExitStatus.SUCCESS))
        settings = invocation.settings()
        home = invocation.home(settings)
        configure_command_logging(invocation, settings, home, quiet=quiet, scheduler=scheduler)
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
app.command("scan", cls=Subcommand)(scan_command)
app.command("resolve", cls=Subcommand)(resolve_command)
app.command("downloads", cls=Subcommand)(downloads_command)
app.command("download", cls=Subcommand)(download_command)
app.command("config", cls=Subcommand)(config_command)
app.command("status", cls=Subcommand)(status_command)


def main(argv: list[str] | None = None) -> None:
    """Run the full command line on ``argv`` in the process's surroundings (the console
    script is :func:`watchman.commands.entry.main`, which tries the cron cycle's quick
    start first)."""
    run_app(argv, Environment.from_process())


def run_app(argv: list[str] | None, environment: Environment) -> None:
    """Run the full command line on ``argv``; ``environment`` is handed to every command."""
    app(args=argv, prog_name="comfywatchman", obj=environment)
