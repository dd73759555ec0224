"""The settings memo: what one set of settings sources validated to, kept for the next
cron ``--run-cycle`` so that a cycle whose inputs did not change starts without pydantic.

Cron starts a new process for every cycle, and validating the settings costs that process
~0.2 s of imports (pydantic) before anything else: more than the whole unchanged cycle
after it (issue 14). So once a cron cycle has validated them, it writes what they came to
into ``state/settings_memo.json``, with a digest of every source they came from (the
tool's version and the stamp of the module defining the settings, the config file's path
and bytes, the variables the loader reads, the flags that override settings). The next
process with the same sources reads the memo back as a read-only :class:`SettingsView`
instead of validating; any other digest, or a memo that cannot be read, and the settings
are validated again (and the memo rewritten).

Secrets (tokens, API keys) are never written: the memo keeps only a digest of them, inside
the settings' identity (:func:`settings_identity`, what the cycle fingerprint compares).
The view withholds them, and asking one for its value raises :class:`SettingsNeeded`:
the command then validates the settings and starts again, as it does when a cycle on the
view finds that its inputs changed (a full cycle may need everything).

Where the memo is looked for comes from the same sources, without validation: the home
:func:`watchman.home.home_for` gives for the ``paths.home`` the file or a variable spells
(:func:`home_of_sources`). A memo is used only where the validated settings put the home.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import orjson

from watchman import __version__
from watchman.config_sources import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    WELL_KNOWN_ENV,
    config_file_path,
)
from watchman.environment import Environment
from watchman.errors import ConfigError
from watchman.home import Home, home_for
from watchman.state.fingerprint import secrets_digest
from watchman.state.safe_files import atomic_write_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

logger = logging.getLogger(__name__)

FILE_NAME = "settings_memo.json"
SCHEMA_VERSION = 1
MAX_MEMO_BYTES = 1 << 20
"""A memo larger than this is not read (the settings come to a few KB)."""
MAX_CONFIG_BYTES = 16 << 20
"""A config file larger than this is not digested: the settings are validated instead
(and the loader says what is wrong with it)."""


class SettingsNeeded(Exception):
    """The memo cannot answer: a withheld secret was asked for, or the cycle found that
    its inputs changed and will run in full. The command validates the settings and
    starts again; nothing was recorded."""


@dataclass(frozen=True)
class Sources:
    """What the settings of one invocation come from, read without validating them.

    Attributes:
        digest: one digest of all of it, the memo's key.
        home: where the memo is looked for (the home these sources spell).
    """

    digest: str
    home: Home


def read_sources(
    config_path: Path | None,
    overrides: Mapping[str, Mapping[str, Any]],
    environment: Environment,
) -> Sources | None:
    """Digest the sources ``load_settings`` would read for this invocation.

    Args:
        config_path: the ``--config`` flag, if given (taken from where the command was
            started).
        overrides: the settings the flags set, ``{section: {key: value}}``.
        environment: the process's surroundings (variables, user folders, home, cwd).

    Returns:
        The sources, or None when they cannot be read here (a missing or unreadable file,
        text that is not TOML): validating them says what is wrong.
    """
    environ = environment.environ
    try:
        path = config_file_path(config_path, environ, environment.user_config_dir)
        data = _read_bounded(path) if path is not None else b""
    except (ConfigError, OSError, ValueError):
        return None
    try:
        table = tomllib.loads(data.decode("utf-8")) if data else {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None
    variables = sorted(
        (name, value)
        for name, value in environ.items()
        if name.upper().startswith(ENV_PREFIX) or name in WELL_KNOWN_ENV
    )
    digest = hashlib.sha256()
    for part in (
        __version__,
        _schema_stamp(),
        str(path) if path is not None else "",
        hashlib.sha256(data).hexdigest(),
        orjson.dumps(variables).decode(),
        orjson.dumps(overrides, default=str, option=orjson.OPT_SORT_KEYS).decode(),
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return Sources(digest.hexdigest(), home_for(_configured_home(table, environ), environment))


SCHEMA_SOURCE = Path(__file__).resolve().parent.parent / "config.py"
"""The module that defines the settings, their defaults and their checks."""


def _schema_stamp() -> str:
    """Return the size and mtime of :data:`SCHEMA_SOURCE`, or "" when it cannot be seen
    (an install without source files).

    The version alone would not tell a settings default or check changed in a working
    copy or an editable install, where the code moves on and the version stays: a memo
    would then hand the old value on until the config changed. One stat tells it.
    """
    try:
        stat = os.stat(SCHEMA_SOURCE)
    except OSError:
        return ""
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _read_bounded(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """Return the bytes of ``path``; raises ValueError past ``limit`` (read no further)."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path.name} is larger than {limit} bytes")
    return data


def _configured_home(table: Mapping[str, Any], environ: Mapping[str, str]) -> Path | None:
    """``paths.home`` as the sources spell it: its variable, else the file's value."""
    variable = f"{ENV_PREFIX}PATHS{ENV_NESTED_DELIMITER}HOME"
    for name, value in environ.items():
        if name.upper() == variable:
            return Path(value) if value else None
    paths = table.get("paths")
    written = paths.get("home") if isinstance(paths, Mapping) else None
    return Path(written) if isinstance(written, str) and written else None


def settings_identity(settings: Any) -> str:
    """Return one digest of everything the settings say, secrets included as a digest of
    their own: what the cycle fingerprint compares. A :class:`SettingsView` gives the
    identity of the settings it was made from."""
    if isinstance(settings, SettingsView):
        return settings.identity
    digest = hashlib.sha256(settings.model_dump_json().encode("utf-8", "surrogatepass"))
    digest.update(b"\0" + secrets_digest(settings).encode())
    return digest.hexdigest()


def write_memo(home: Home, sources: Sources, settings: Any) -> None:
    """Keep what ``settings`` (validated from ``sources``) came to in ``home``, unless
    the memo there already says it. Settings that cannot be written as a memo (a value
    of a kind it does not know) leave no memo; the next process validates again.

    Raises:
        OSError: the state folder is not writable.
    """
    try:
        fields = _encoded(settings)
    except (TypeError, ValueError) as error:
        logger.debug("No settings memo: %s", error)
        return
    source = getattr(settings, "_config_source", None)
    document = {
        "schema_version": SCHEMA_VERSION,
        "sources": sources.digest,
        "home": str(home.root),
        "identity": settings_identity(settings),
        "config_source": None if source is None else str(source),
        "settings": fields,
    }
    data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    path = home.state_dir / FILE_NAME
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    home.state_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def read_memo(sources: Sources) -> SettingsView | None:
    """Return the settings the memo in the sources' home keeps for exactly these
    sources, or None (no memo, another digest, another home, a damaged file)."""
    path = sources.home.state_dir / FILE_NAME
    try:
        document = orjson.loads(_read_bounded(path, MAX_MEMO_BYTES))
        if (
            not isinstance(document, dict)
            or document.get("schema_version") != SCHEMA_VERSION
            or document.get("sources") != sources.digest
            or document.get("home") != str(sources.home.root)
        ):
            return None
        source = document["config_source"]
        view = _decoded(document["settings"], "settings")
        if not isinstance(view, SettingsView) or not isinstance(document["identity"], str):
            return None
        return SettingsView(
            view._values,
            "settings",
            identity=document["identity"],
            config_source=None if source is None else Path(source),
        )
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        logger.debug("The settings memo is not used: %s", error)
        return None


class WithheldSecret:
    """A secret the memo does not keep: asking for it means validating the settings."""

    __slots__ = ()

    def get_secret_value(self) -> str:
        raise SettingsNeeded("a secret setting is needed")

    def __bool__(self) -> bool:
        raise SettingsNeeded("a secret setting is needed")


class SettingsView:
    """A read-only view of validated settings, read back from the memo: each section and
    setting an attribute, as on the settings model, with paths as ``Path`` and lists as
    lists. It has no other methods; code that needs the model's own (a dump, a copy)
    runs only where the settings were validated (a full cycle, another command). A name
    the memo lacks raises :class:`SettingsNeeded`, not ``AttributeError``."""

    __slots__ = ("_config_source", "_name", "_values", "identity")

    def __init__(
        self,
        values: dict[str, Any],
        name: str,
        *,
        identity: str = "",
        config_source: Path | None = None,
    ) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "identity", identity)
        object.__setattr__(self, "_config_source", config_source)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            if name.startswith("_"):
                # Not a setting: a protocol's question (copy, pickle), answered as usual.
                raise AttributeError(name) from None
            # A setting the memo does not have: written by a version without it. The
            # settings are validated again, and the memo rewritten with it.
            raise SettingsNeeded(f"{self._name}.{name} is not in the memo") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._name} is read-only")

    def __repr__(self) -> str:
        return f"SettingsView({self._name})"


def _encoded(value: Any) -> Any:
    """The memo's form of a settings value; raises TypeError for a kind it does not know,
    ValueError for a number JSON cannot hold."""
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, Mapping):
        return {"section": {name: _encoded(getattr(value, name)) for name in fields}}
    if isinstance(value, PurePath):
        return {"path": os.fspath(value)}
    if hasattr(value, "get_secret_value"):
        return {"secret": None}
    if isinstance(value, (list, tuple)):
        return {"list": [_encoded(item) for item in value]}
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a number JSON holds")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"a setting of type {type(value).__name__} cannot be kept")


def _decoded(value: Any, name: str) -> Any:
    if not isinstance(value, dict):
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        raise TypeError(f"{name}: {type(value).__name__} is not a memo value")
    if len(value) != 1:
        raise ValueError(f"{name}: a memo value has one tag")
    ((tag, inner),) = value.items()
    if tag == "section" and isinstance(inner, dict):
        return SettingsView(
            {key: _decoded(item, f"{name}.{key}") for key, item in inner.items()}, name
        )
    if tag == "path" and isinstance(inner, str):
        return Path(inner)
    if tag == "secret":
        return WithheldSecret()
    if tag == "list" and isinstance(inner, list):
        return [_decoded(item, f"{name}[]") for item in inner]
    raise ValueError(f"{name}: unknown memo tag {tag!r}")
