"""One invocation of ``comfywatchman``: its global options, the environment it runs in,
its consoles, and how its errors become one sentence and an exit status.

Shared by :mod:`watchman.commands.cli` and :mod:`watchman.commands.subcommands` (which
parse, with typer's glue in :mod:`watchman.commands.command_line`), by
:mod:`watchman.commands.quick_cycle` (a cron ``--run-cycle`` parsed without typer) and by
the actions they call. Neither typer nor pydantic is imported here: a cron cycle whose
inputs did not change needs neither (issue 14).
"""

from __future__ import annotations

import errno
import io
import json
import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from watchman.environment import Environment
from watchman.errors import (
    ComfyUINotFoundError,
    ConfigError,
    DownloadError,
    LockHeldError,
    WatchmanError,
)
from watchman.exit_status import ExitStatus
from watchman.home import Home, resolve_home
from watchman.printable import visible
from watchman.state.logs import configure_logging

if TYPE_CHECKING:
    from rich.console import Console

    from watchman.config import Settings
    from watchman.services import Services

logger = logging.getLogger(__name__)

# The help of the options every command that reads the config takes.
CONFIG_HELP = "The TOML config file (else COMFYWATCHMAN_CONFIG, else the user's file)."
ROOT_HELP = "The ComfyUI install folder (else COMFYUI_ROOT, else comfyui.root, else detected)."
OFFLINE_HELP = "Ask no remote backend; use known sources only."
BACKENDS_HELP = "The backend order, e.g. qwen,civitai,huggingface."


def console_on(stream: TextIO | None) -> Console:
    """A rich console on ``stream``, imported only when a command has something to draw."""
    from rich.console import Console

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
        return console_on(self.environment.stdout)

    @cached_property
    def err(self) -> Console:
        """The console on the environment's stderr."""
        return console_on(self.environment.stderr)

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

    def setting_flags(self) -> list[str]:
        """The options given, before or after the command, that choose or change the
        settings (``--config``, ``--comfyui-root``, ``--backends``, ``--offline``,
        ``--auto-download``), in that order."""
        given = [
            flag
            for flag, on in (
                ("--config", self.config_path is not None),
                ("--comfyui-root", self.comfyui_root is not None),
                ("--backends", self.backends is not None),
                ("--offline", self.offline),
                ("--auto-download", bool(self.overrides.get("downloads", {}).get("auto_download"))),
            )
            if on
        ]
        return given

    def settings(self) -> Settings:
        """Load the settings with this invocation's flags as the strongest layer."""
        from watchman.config_loading import load_settings

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
    # `download` with a name no planned download has, or with no name and no --all, is a
    # usage error: exit 1 would read as "a file failed".
    if isinstance(error, DownloadError) and error.reason == "unknown_name":
        return ExitStatus.USAGE
    return ExitStatus.CYCLE_FAILED


def say_error(invocation: Invocation, error: Exception) -> int:
    """Say ``error`` in one sentence on stderr and return the exit status it means: our
    own errors and file errors by their kind; anything else is a bug (one sentence and the
    way to its traceback). The callers re-raise instead when ``--debug`` was given."""
    if isinstance(error, WatchmanError):
        invocation.err.print(f"comfywatchman: {visible(str(error))}", markup=False, highlight=False)
        return int(_exit_status_for(error))
    if isinstance(error, OSError):
        where = f" ({visible(str(error.filename))})" if error.filename else ""
        invocation.err.print(
            f"comfywatchman: {error.strerror or error}{where}; {_remedy(error)}.",
            markup=False,
            highlight=False,
        )
        return int(ExitStatus.CYCLE_FAILED)
    # Last resort (a bug, not an input): one sentence and the way to the traceback.
    logger.debug("Unexpected error", exc_info=error)
    invocation.err.print(
        f"comfywatchman: unexpected {type(error).__name__}: {visible(str(error))}. This is a "
        "bug; run again with --debug for the traceback, and please report it.",
        markup=False,
        highlight=False,
    )
    return int(ExitStatus.CYCLE_FAILED)


_REMEDIES = {
    errno.ENOSPC: "free some space on that disk; nothing recorded before was lost",
    errno.EROFS: "that disk is mounted read-only; point paths.home at a writable folder",
    errno.EACCES: "check the permissions",
    errno.EPERM: "check the permissions",
    errno.ENOENT: "check the path",
}
if hasattr(errno, "EDQUOT"):  # not on Windows
    _REMEDIES[errno.EDQUOT] = "your disk quota is used up; free some space"


def _remedy(error: OSError) -> str:
    """What a person can do about a file error, by its kind."""
    return _REMEDIES.get(error.errno or 0, "check the path and permissions")


def parse_backends(value: str | None) -> list[str] | None:
    """Split ``--backends qwen,civitai`` into names. Not checked here: the list becomes the
    ``search.backend_order`` setting, and the settings model checks every name (one place
    for a flag, a variable and the config file alike)."""
    if value is None:
        return None
    return [name.strip().lower() for name in value.split(",") if name.strip()]


def comfyui_root_if_any(invocation: Invocation, services: Services) -> Path | None:
    """The ComfyUI install as the cycle finds it. A root that was set (flag, variable,
    config) must be one; when none is set and none is detected, None with a warning:
    one lookup is still useful without the install's known sources."""
    if services.settings.comfyui.root is not None:
        return services.find_comfyui_root()
    try:
        return services.find_comfyui_root()
    except ComfyUINotFoundError as error:
        invocation.err.print(
            f"comfywatchman: {visible(str(error))} Resolving without the install's known sources.",
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
    write_text(invocation, text + "\n")


def write_text(invocation: Invocation, text: str) -> None:
    stream = invocation.environment.stdout
    if stream is not None:
        stream.write(text)
        stream.flush()


def configure_command_logging(
    invocation: Invocation, settings: Settings, home: Home, *, quiet: bool, scheduler: bool
) -> None:
    """Log as a contract flag's command does: at ``logging.level`` (WARNING at most with
    ``--quiet``, DEBUG with ``--debug``); JSON lines for the scheduler, plain lines
    otherwise; a file in the home's log folder when stderr is gone."""
    level = settings.logging.level
    if quiet and logging.getLevelName(level) < logging.WARNING:
        level = "WARNING"
    configure_logging(
        "DEBUG" if invocation.debug else level,
        stream=invocation.environment.stderr,
        json_lines=None if scheduler else False,
        handler=None if scheduler else terminal_log_handler(invocation),
        fallback_file=home.log_dir / "comfywatchman.log",
    )


def configure_logging_early(invocation: Invocation) -> None:
    configure_logging(
        "DEBUG" if invocation.debug else "WARNING",
        stream=invocation.environment.stderr,
        json_lines=False,
        handler=terminal_log_handler(invocation),
    )


def terminal_log_handler(invocation: Invocation) -> logging.Handler | None:
    """A handler that shares stderr with rich's progress display, when a person watches."""
    if not invocation.environment.interactive:
        return None
    from rich.logging import RichHandler

    return RichHandler(console=invocation.err, show_time=False, show_path=False, markup=False)
