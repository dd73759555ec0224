"""The flat exception hierarchy of comfywatchman.

Every error the core raises on purpose is a ``WatchmanError``; its message is one plain
sentence that says what went wrong and what to do next. The CLI prints that sentence and
maps the class to an exit status; a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import errno
import os


class WatchmanError(Exception):
    """Base class of every error comfywatchman raises on purpose."""


class CycleInterrupted(WatchmanError):
    """A stop was requested (SIGINT, SIGTERM): the cycle ends where it stands, at a stage
    boundary or in a long walk, with nothing half-written."""


class ConfigError(WatchmanError):
    """A configuration value is wrong, or a config file cannot be read."""


class ComfyUINotFoundError(WatchmanError):
    """No ComfyUI install could be found or the given folder is not one."""


class LauncherFileError(WatchmanError):
    """A launcher's file (its list of installs, its settings) exists but cannot be used.
    Detection keeps the sentence as that launcher's problem and goes on."""


class LockHeldError(WatchmanError):
    """Another cycle holds the run lock."""


class StateError(WatchmanError):
    """A state file could not be read or written."""


class WorkflowError(WatchmanError):
    """A workflow file could not be read or is not a workflow."""


class ImageWithoutWorkflowError(WorkflowError):
    """An image, video or audio file carries no workflow at all: an ordinary picture or
    clip, not a problem."""


class BackendError(WatchmanError):
    """A remote service could not answer; ``reason`` is a short machine-readable code.

    Reason codes: ``unreachable``, ``timeout``, ``rate_limited``, ``auth_required``,
    ``gated``, ``bad_response``, ``server_error``, ``not_found``; from the gateway also
    ``host_down`` (marked down earlier in the run), ``too_large`` (over the size cap) and
    ``interrupted`` (a stop was asked for).
    """

    def __init__(self, message: str, reason: str = "bad_response") -> None:
        super().__init__(message)
        self.reason = reason


class DownloadError(WatchmanError):
    """A download could not be done or verified; ``reason`` is a short code.

    Reason codes: ``unsafe_target``, ``insecure_url``, ``busy``, ``no_space``,
    ``auth_required``, ``not_a_model``, ``not_found``, ``http_error``, ``server_error``,
    ``unreachable``, ``size_mismatch``, ``hash_mismatch``, ``truncated``, ``too_many_redirects``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class FileTooLargeError(OSError):
    """A file is larger than a limit allows, so it was not read (or not read whole).

    An ``OSError`` rather than a ``WatchmanError``: every per-item boundary that turns an
    unreadable file into that item's warning handles an oversized one the same way.
    ``strerror`` says the size and the limit; ``size`` and ``limit`` are kept.
    """

    def __init__(self, path: str | os.PathLike[str], size: int, limit: int) -> None:
        super().__init__(
            errno.EFBIG, f"{size} bytes is over the {limit}-byte limit", os.fspath(path)
        )
        self.size = size
        self.limit = limit
