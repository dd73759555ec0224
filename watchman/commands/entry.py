"""The ``comfywatchman`` console script and ``python -m watchman``: the process's
surroundings are read once, here, and the arguments go to the cron cycle's quick start
(:mod:`watchman.commands.quick_cycle`) when they are its own, else to the full command line
(:mod:`watchman.commands.cli`, typer), which is imported only then."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from watchman.environment import Environment


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command ``argv`` (None: the process's arguments) names; exits the process
    with its status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    environment = Environment.from_process()
    from watchman.commands.quick_cycle import quick_run_cycle

    status = quick_run_cycle(arguments, environment)
    if status is not None:
        raise SystemExit(status)
    from watchman.commands.cli import run_app

    run_app(arguments, environment)
