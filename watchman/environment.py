"""The process's surroundings, read once in ``main()`` and handed down.

Everything the tool learns from outside its arguments comes through one frozen
``Environment``: the environment variables, the user's home folder, the working folder,
the clocks, the output streams, whether a person is watching, and the per-user folders the
platform designates for configuration and state. Nothing below ``main()`` reads
``os.environ``, ``Path.home()``, ``Path.cwd()`` or the wall clock itself, so a test (or a
second invocation in the same process) builds its own ``Environment`` and sees nothing of
the machine it runs on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TextIO

from watchman.clocks import Clock, SystemClock

APP_NAME = "comfywatchman"


@dataclass(frozen=True)
class UserFolders:
    """The per-user folders the platform designates for this tool.

    ``config``: where ``config.toml`` is looked for when no other file is named.
    ``state``: the default home (``state/``, ``output/``, ``log/`` live under it).
    """

    config: Path
    state: Path


def user_folders(environ: Mapping[str, str], home_dir: Path, platform: str) -> UserFolders:
    """Return the platform's per-user folders for this tool, computed from ``environ``.

    The rules are platformdirs' (a test keeps them equal on the platform it runs on), read
    from the mapping given rather than the process's environment:

    - Linux and other Unixes: ``$XDG_CONFIG_HOME`` (else ``~/.config``) and
      ``$XDG_STATE_HOME`` (else ``~/.local/state``), each plus ``comfywatchman``;
    - macOS: ``~/Library/Application Support/comfywatchman`` for both;
    - Windows: ``%APPDATA%`` (roaming) for the config, ``%LOCALAPPDATA%`` for the state,
      each plus ``comfywatchman``.

    Args:
        environ: the environment variables.
        home_dir: the user's home folder.
        platform: a ``sys.platform`` value.

    Returns:
        The two folders (not created).
    """
    if platform == "win32":
        roaming = environ.get("APPDATA", "").strip()
        local = environ.get("LOCALAPPDATA", "").strip()
        config_base = Path(roaming) if roaming else home_dir / "AppData" / "Roaming"
        state_base = Path(local) if local else home_dir / "AppData" / "Local"
        return UserFolders(config_base / APP_NAME, state_base / APP_NAME)
    if platform == "darwin":
        support = home_dir / "Library" / "Application Support" / APP_NAME
        return UserFolders(support, support)
    config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    state_home = environ.get("XDG_STATE_HOME", "").strip()
    return UserFolders(
        (Path(config_home) if config_home else home_dir / ".config") / APP_NAME,
        (Path(state_home) if state_home else home_dir / ".local" / "state") / APP_NAME,
    )


def expand_user(path: Path, home_dir: Path) -> Path:
    """Return ``path`` with a leading ``~`` (alone or followed by a separator) replaced by
    ``home_dir``; other paths unchanged. ``~user`` forms are left as they are."""
    text = str(path)
    if text == "~":
        return home_dir
    if text.startswith(("~/", "~\\")):
        return home_dir / text[2:]
    return path


@dataclass(frozen=True)
class Environment:
    """What the process was started with. Made once in ``main()``; never changed.

    Attributes:
        environ: the environment variables (a read-only copy).
        home_dir: the user's home folder (``~``).
        cwd: the folder the process was started in; relative paths given on the command
            line are taken from it. Never the tool's home.
        clock: the clocks the guards, the scheduler and the records read.
        stdout, stderr: where output and messages go; ``stderr`` is None under
            ``pythonw.exe`` (Windows Task Scheduler), where there is none.
        interactive: a person is watching (stderr is a terminal): show progress.
        platform: a ``sys.platform`` value.
        folders: the per-user config and state folders (see ``user_folders``).
    """

    environ: Mapping[str, str]
    home_dir: Path
    cwd: Path
    clock: Clock = field(default_factory=SystemClock)
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    interactive: bool = False
    platform: str = sys.platform
    folders: UserFolders | None = None

    def __post_init__(self) -> None:
        # A frozen copy: a caller mutating its dict afterwards changes nothing here.
        object.__setattr__(self, "environ", MappingProxyType(dict(self.environ)))
        if self.folders is None:
            object.__setattr__(
                self, "folders", user_folders(self.environ, self.home_dir, self.platform)
            )

    @property
    def user_config_dir(self) -> Path:
        """The folder of the user's ``config.toml``."""
        assert self.folders is not None  # set in __post_init__
        return self.folders.config

    @property
    def user_state_dir(self) -> Path:
        """The default home when neither a variable nor the config names one."""
        assert self.folders is not None  # set in __post_init__
        return self.folders.state

    @classmethod
    def from_process(cls) -> Environment:
        """Read the real process's surroundings. Only ``main()`` (and the CLI's entry when
        no environment was handed to it) calls this.

        The per-user folders come from platformdirs, which asks the operating system where
        it can (the Windows known-folder API) rather than trusting variables alone.
        """
        import platformdirs

        environ = dict(os.environ)
        stderr = sys.stderr
        return cls(
            environ=environ,
            home_dir=Path.home(),
            cwd=Path.cwd(),
            clock=SystemClock(),
            stdout=sys.stdout,
            stderr=stderr,
            interactive=_is_terminal(stderr),
            platform=sys.platform,
            folders=UserFolders(
                config=platformdirs.user_config_path(APP_NAME, appauthor=False, roaming=True),
                state=platformdirs.user_state_path(APP_NAME, appauthor=False),
            ),
        )


def _is_terminal(stream: TextIO | None) -> bool:
    if stream is None:
        return False
    try:
        return stream.isatty()
    except (OSError, ValueError):  # a closed or detached stream
        return False
