"""The folder options in the launch arguments a launcher keeps for an install.

ComfyUI Desktop 2.0 keeps each install's extra arguments as one string (``launchArgs``)
and splits it as its ``parseArgs`` does (``src/main/lib/util.ts``): at blanks, with single
or double quotes grouping a part, no escapes. ComfyUI's ``comfy/cli_args.py`` then reads
``--extra-model-paths-config PATH [PATH ...]`` (``nargs='+'``, ``action='append'``: every
occurrence adds its files), ``--base-directory PATH`` and ``--input-directory PATH`` (the
last one wins); each may be written ``--option=value``. Abbreviated option names are not
read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXTRA_CONFIG_OPTION = "--extra-model-paths-config"
BASE_DIRECTORY_OPTION = "--base-directory"
INPUT_DIRECTORY_OPTION = "--input-directory"
MAX_ARGUMENT_CHARACTERS = 64 * 1024
"""The longest argument string read: a command line is a few hundred characters."""


@dataclass(frozen=True)
class FolderOptions:
    """The folder options of one command line, as written (relative paths are taken
    from the folder ComfyUI is started in): ``extra_model_paths``, in order,
    ``base_directory`` and ``input_directory`` (None: not given)."""

    extra_model_paths: tuple[str, ...] = ()
    base_directory: str | None = None
    input_directory: str | None = None


def split_launch_arguments(text: str) -> list[str]:
    """Split ``text`` into arguments as ComfyUI Desktop 2.0 does: blanks separate them,
    a quote (``'`` or ``"``) groups until the same quote, quotes are dropped, an empty
    part is no argument. A string
    longer than :data:`MAX_ARGUMENT_CHARACTERS` yields nothing. Never raises."""
    if len(text) > MAX_ARGUMENT_CHARACTERS:
        return []
    arguments: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for character in text:
        if quote is not None:
            if character == quote:
                quote = None
            else:
                current.append(character)
        elif character in ("'", '"'):
            quote = character
        elif character.isspace():
            if current:
                arguments.append("".join(current))
            current = []
        else:
            current.append(character)
    if current:
        arguments.append("".join(current))
    return arguments


def folder_options(arguments: Sequence[str]) -> FolderOptions:
    """Return the folder options among ``arguments`` (:class:`FolderOptions`), read as
    ComfyUI's argument parser reads them. Never raises."""
    extra: list[str] = []
    single: dict[str, str] = {}
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        index += 1
        name, equals, value = argument.partition("=")
        if name == EXTRA_CONFIG_OPTION:
            if equals:
                extra.append(value)
                continue
            # nargs='+': every following argument that is not an option.
            while index < len(arguments) and not arguments[index].startswith("-"):
                extra.append(arguments[index])
                index += 1
        elif name in (BASE_DIRECTORY_OPTION, INPUT_DIRECTORY_OPTION):
            if equals:
                single[name] = value
            elif index < len(arguments) and not arguments[index].startswith("-"):
                single[name] = arguments[index]
                index += 1
    return FolderOptions(
        tuple(path for path in extra if path),
        single.get(BASE_DIRECTORY_OPTION) or None,
        single.get(INPUT_DIRECTORY_OPTION) or None,
    )
