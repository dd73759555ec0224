"""Which option of ``comfywatchman`` means something in which mode: the one table.

A mode is one of the three contract flags (``--run-cycle``, ``--scheduler``,
``--list-intake``) or a command (``scan``, ``status``, ...) with the options given before
it. An option given where it does nothing is a usage error (exit 2) saying so in one
sentence, never silently ignored: ``--offline --list-intake`` would otherwise read as if
the listing had been made offline. The check (:func:`misuse`) and the ``With ...:``
opening of each option's help (:func:`option_help`) are both derived from
:data:`OPTION_MODES`, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

RUN_CYCLE = "--run-cycle"
SCHEDULER = "--scheduler"
LIST_INTAKE = "--list-intake"
MODE_FLAGS = (RUN_CYCLE, SCHEDULER, LIST_INTAKE)
"""The contract flags, each a mode of its own (one at a time)."""

COMMANDS = ("scan", "resolve", "downloads", "download", "config", "status")
"""The commands beside the contract flags, in the order ``--help`` lists them."""

ALL_MODES = frozenset((*MODE_FLAGS, *COMMANDS))

# `config` shows the effective settings with where each came from, a flag included: every
# flag that sets a setting means something before it.
_SET_SETTINGS = frozenset((RUN_CYCLE, SCHEDULER, "resolve", "config"))

OPTION_MODES: Mapping[str, frozenset[str]] = {
    # Only a cycle started by hand has guards to override, a progress display and a summary.
    "--force": frozenset((RUN_CYCLE,)),
    "--progress": frozenset((RUN_CYCLE,)),
    "--quiet": frozenset((RUN_CYCLE,)),
    # `status` has its own --limit, after the command.
    "--limit": frozenset((LIST_INTAKE,)),
    # The scheduler prints no data: it logs.
    "--json": ALL_MODES - {SCHEDULER},
    # `scan` reads no settings (no state, no network).
    "--config": ALL_MODES - {"scan"},
    # Only what finds the install or asks a backend: the intake log, the plan, the
    # downloads and the cycle records do not depend on them.
    "--comfyui-root": _SET_SETTINGS,
    "--backends": _SET_SETTINGS,
    "--offline": _SET_SETTINGS,
    # Only a cycle plans downloads; `download` runs the ones you name, whatever this says.
    "--auto-download": frozenset((RUN_CYCLE, SCHEDULER, "config")),
    "--debug": ALL_MODES,
}
"""For each option of the command itself (before any command), the modes in which it
means something. Every such option but the mode flags, ``--help`` and ``--version`` has a
row (a test keeps it so)."""

CANCELLING: tuple[tuple[str, str, str], ...] = (
    ("--offline", "--backends", "--offline asks no backend"),
    ("--offline", "--auto-download", "--offline downloads nothing"),
    ("--quiet", "--progress", "--quiet shows no progress"),
    # --progress --json still writes progress lines to stderr; --no-progress would hide a
    # bar that --json never shows.
    ("--json", "--no-progress", "--json shows no progress bar"),
)
"""Pairs of options of which the first makes the second do nothing, and why, in a few
words; an option is named by its row or by one spelling of it (``--no-progress``)."""


def _one_of(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def goes_with(option: str) -> str:
    """Where ``option`` (a row of :data:`OPTION_MODES`) means something, in words:
    ``--run-cycle, --scheduler or before the resolve or config command``."""
    modes = OPTION_MODES[option]
    places = [flag for flag in MODE_FLAGS if flag in modes]
    commands = [name for name in COMMANDS if name in modes]
    if len(commands) == len(COMMANDS):
        places.append("before any command")
    elif commands:
        places.append(f"before the {_one_of(commands)} command")
    return _one_of(places)


def option_help(option: str, text: str) -> str:
    """The help of ``option``: ``text`` opened by where it means something, unless that is
    everywhere."""
    if OPTION_MODES[option] == ALL_MODES:
        return text
    if text[:2].istitle():  # "The ..." reads "the ..." after the colon; "ComfyUI" stays
        text = text[0].lower() + text[1:]
    return f"With {goes_with(option)}: {text}"


def misuse(
    mode: str,
    given: Iterable[tuple[str, str]],
    command_options: Iterable[str] = (),
) -> str | None:
    """The usage error for the first option that does nothing in ``mode``, else None.

    Args:
        mode: a contract flag or a command name.
        given: ``(row, typed)`` for each option given: its row in :data:`OPTION_MODES`
            and the spelling typed (``--no-progress`` for the row ``--progress``).
        command_options: the options ``mode``'s command takes after its name (for the
            hint to move an option there).

    Returns:
        One sentence naming the option and the mode, or None when every option means
        something there.
    """
    given = list(given)
    for row, typed in given:
        if mode in OPTION_MODES[row]:
            continue
        if mode in COMMANDS:
            where = f"before the {mode} command"
            if typed in set(command_options):
                return (
                    f"{typed} does nothing {where}; put it after the command "
                    f"(comfywatchman {mode} {typed} ...)."
                )
        else:
            where = f"with {mode}"
        return f"{typed} does nothing {where}; it goes with {goes_with(row)}."
    typed_names = {row: typed for row, typed in given}
    return cancelled(typed_names)


def cancelled(given: Mapping[str, str]) -> str | None:
    """The usage error for two options given together of which one cancels the other
    (:data:`CANCELLING`), else None. ``given`` maps each row to the spelling typed."""
    typed = {spelling: row for row, spelling in given.items()}
    for first, second, why in CANCELLING:
        if first in given and (second in given or second in typed):
            shown = given.get(second, second)
            return f"{shown} does nothing with {given[first]} ({why}); choose one."
    return None
