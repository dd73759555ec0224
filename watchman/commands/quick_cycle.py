"""The cron cycle's quick start: ``comfywatchman [--config PATH] --run-cycle [--quiet]``
with no terminal, run without typer and, while its settings' sources are unchanged,
without validating them.

Cron and the service timers start a new process for every cycle, and most cycles find
that nothing changed: the process's start-up was most of what such a cycle cost, and the
command-line parser and the settings validation most of that (issue 14). This path reads
those few arguments itself, and takes the settings from their memo
(:mod:`watchman.state.settings_memo`) when it was written for exactly the same sources.
The cycle then stops at its fingerprint as any unchanged cycle does; when an input did
change, it hands back before writing anything, and the settings are validated and the
cycle run in full, as the full command line would have. Any other arguments, or a person
at a terminal (who gets the table and the progress bar), go to the full command line.
What the command prints, records and exits with is the same either way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from watchman.commands.actions import run_cycle_action
from watchman.commands.invocation import Invocation, configure_command_logging, say_error
from watchman.environment import Environment
from watchman.home import Home, resolve_home
from watchman.state.settings_memo import (
    SettingsNeeded,
    read_memo,
    read_sources,
    write_memo,
)

if TYPE_CHECKING:
    from watchman.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuickOptions:
    """The arguments this path takes: ``--config`` (None: not given) and ``--quiet``."""

    config: str | None
    quiet: bool


def quick_options(arguments: Sequence[str]) -> QuickOptions | None:
    """Return the options of ``[--config PATH] --run-cycle [--quiet | -q]`` in any order,
    each at most once; None for anything else (the full command line reads it)."""
    config: str | None = None
    seen: set[str] = set()
    position = 0
    while position < len(arguments):
        argument = arguments[position]
        name, equals, value = argument.partition("=")
        if name == "--config":
            if not equals:
                position += 1
                if position >= len(arguments):
                    return None
                value = arguments[position]
            if not value or value.startswith("-"):
                return None
            config = value
        elif argument == "-q":
            name = "--quiet"
        elif equals or argument not in ("--run-cycle", "--quiet"):
            return None
        if name in seen:
            return None
        seen.add(name)
        position += 1
    if "--run-cycle" not in seen:
        return None
    return QuickOptions(config=config, quiet="--quiet" in seen)


def quick_run_cycle(arguments: Sequence[str], environment: Environment) -> int | None:
    """Run the cycle ``arguments`` ask for on this path and return the exit status; None
    when they are not this path's (or a person is watching): the full command line then
    takes them.

    Errors are said as the full command line says them: one sentence, the same exit status.
    """
    options = quick_options(arguments)
    if options is None or environment.interactive:
        return None
    invocation = Invocation(
        environment,
        config_path=environment.cwd / options.config if options.config is not None else None,
    )
    try:
        return _run(invocation, options.quiet)
    except Exception as error:  # the one boundary, as the full command line's
        return say_error(invocation, error)


def _run(invocation: Invocation, quiet: bool) -> int:
    environment = invocation.environment
    sources = read_sources(invocation.config_path, invocation.flag_overrides(), environment)
    if sources is not None:
        view = read_memo(sources)
        # The view answers every setting the model does, under the same names and types
        # (tests/state/test_settings_memo.py compares them): the type checker is told so.
        memo_settings = cast("Settings", view)
        if view is not None and resolve_home(memo_settings, environment) == sources.home:
            try:
                return _cycle(invocation, memo_settings, sources.home, quiet)
            except SettingsNeeded as why:
                logger.debug("Validating the settings: %s.", why)
    settings = invocation.settings()
    home = invocation.home(settings)
    if sources is not None and home == sources.home:
        # Kept only where the next process will look for it. A memo that cannot be
        # written costs the next process its quick start, nothing else.
        with contextlib.suppress(OSError):
            write_memo(home, sources, settings)
    return _cycle(invocation, settings, home, quiet)


def _cycle(invocation: Invocation, settings: Settings, home: Home, quiet: bool) -> int:
    configure_command_logging(invocation, settings, home, quiet=quiet, scheduler=False)
    return run_cycle_action(
        settings,
        home,
        invocation,
        as_json=False,
        force=False,
        show_progress=False if quiet else None,
        quiet=quiet,
    )
