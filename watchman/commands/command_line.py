"""The glue between typer and an invocation: the error boundary a command runs inside, the
invocation a command's context carries, and the options a subcommand adds.

Kept apart from :mod:`watchman.commands.invocation` so that a cron ``--run-cycle``, parsed
without typer (:mod:`watchman.commands.quick_cycle`), never imports it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import typer

from watchman.commands.invocation import (
    Invocation,
    configure_logging_early,
    parse_backends,
    say_error,
)
from watchman.commands.usage import cancelled
from watchman.environment import Environment
from watchman.exit_status import ExitStatus
from watchman.printable import visible

# --debug after a command: the same as before it.
DEBUG_AFTER = typer.Option(False, "--debug", help="Log at DEBUG and show tracebacks.")


@contextlib.contextmanager
def handled_errors(invocation: Invocation) -> Iterator[None]:
    """Turn every error but the command line's own ways out into one sentence on stderr
    and the matching exit status (:func:`say_error`); with ``--debug``, the traceback."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
        raise  # the command line's own ways out (exit statuses, usage errors)
    except Exception as error:
        if invocation.debug:
            raise
        raise typer.Exit(say_error(invocation, error)) from None


def environment_of(context: typer.Context) -> Environment:
    """The environment ``main()`` handed over (as the context object); else the process's
    own, read here, at the entry (``app`` invoked directly, as by click's test runner)."""
    given = context.find_object(Environment)
    return given if given is not None else Environment.from_process()


def invocation_of(context: typer.Context) -> Invocation:
    found = context.find_object(Invocation)
    return found if found is not None else Invocation(environment_of(context))


def fail_usage(invocation: Invocation, message: str) -> NoReturn:
    invocation.err.print(f"comfywatchman: {visible(message)}", markup=False, highlight=False)
    raise typer.Exit(int(ExitStatus.USAGE))


def subcommand_invocation(
    context: typer.Context,
    config: Path | None = None,
    comfyui_root: Path | None = None,
    json_output: bool = False,
    debug: bool = False,
    *,
    backends: str | None = None,
    offline: bool = False,
    auto_download: bool = False,
) -> tuple[Invocation, bool]:
    """The invocation with the options given after the subcommand added (paths taken
    from where the command was started; the setting flags the same overrides as before
    the command), and whether JSON was asked for, before or after the subcommand.

    Raises:
        typer.Exit: (usage) one setting flag, before or after, cancels another.
    """
    invocation = invocation_of(context)
    if debug and not invocation.debug:
        invocation.debug = True
        configure_logging_early(invocation)
    cwd = invocation.environment.cwd
    if config is not None:
        invocation.config_path = cwd / config
    if comfyui_root is not None:
        invocation.comfyui_root = cwd / comfyui_root
    if backends is not None:
        invocation.backends = parse_backends(backends)
    invocation.offline = invocation.offline or offline
    if auto_download:
        invocation.overrides.setdefault("downloads", {})["auto_download"] = True
    problem = cancelled({flag: flag for flag in invocation.setting_flags()})
    if problem is not None:
        fail_usage(invocation, problem)
    return invocation, json_output or invocation.json_output
