"""The layers the settings are merged from below the CLI flags: the TOML file's tables and
the ``COMFYWATCHMAN_<SECTION>__<KEY>`` variables of the environment handed over.

Each layer is a plain nested mapping, ``{section: {key: value}}``; ``load_settings``
(``watchman/config_loading.py``) merges them, weakest first, and the settings model
(``watchman/config.py``) validates the result once. A variable's value is text, which the
model converts like any other value, except where the key holds a list or a table: there
the text must be JSON. A whole section may be given as one JSON table
(``COMFYWATCHMAN_SCHEDULE='{"interval_minutes": 30}'``); a variable naming one key of it
wins over that table. Names are matched without regard to case, and variables that name
no section (``COMFYWATCHMAN_HOME``, ``COMFYWATCHMAN_CONFIG``) are not settings.

The file's path (``--config``, ``COMFYWATCHMAN_CONFIG``, the user's ``config.toml``) and
its reading are here too, and the well-known variables read at the environment layer.
Nothing here imports pydantic: the settings memo (``watchman/settings_memo.py``) digests
the same sources without validating them.

This is what pydantic-settings did for the tool, in the few lines the tool needs: its
import alone cost ~0.2 s of every start of a process (issue 14), more than the rest of an
unchanged cycle's own work.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from watchman.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from pydantic import BaseModel

ENV_PREFIX = "COMFYWATCHMAN_"
ENV_NESTED_DELIMITER = "__"
CONFIG_FILE_NAME = "config.toml"

WELL_KNOWN_ENV: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "COMFYUI_ROOT": ("comfyui", "root"),
        "CIVITAI_API_TOKEN": ("civitai", "api_token"),
        "HF_TOKEN": ("huggingface", "token"),
    }
)
"""Well-known variables read at the environment layer, below their COMFYWATCHMAN_
spelling: variable -> (section, key). ``config --show-origin`` reads the same table."""


def config_file_path(
    explicit: Path | None, environ: Mapping[str, str], config_dir: Path | None = None
) -> Path | None:
    """Return the config file to read.

    Args:
        explicit: the ``--config`` flag, if given.
        environ: the environment (``COMFYWATCHMAN_CONFIG`` is read from it).
        config_dir: the user's config folder (``Environment.user_config_dir``); None
            looks for no user file at all.

    Returns:
        The explicit file, else the one ``COMFYWATCHMAN_CONFIG`` names (both must exist
        when read), else ``config.toml`` in ``config_dir`` if it exists, else None.
    """
    if explicit is not None:
        return explicit
    from_env = environ.get(f"{ENV_PREFIX}CONFIG")
    if from_env:
        return Path(from_env)
    if config_dir is None:
        return None
    candidate = config_dir / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def read_toml_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file.

    Raises:
        ConfigError: the file is missing, unreadable or not valid TOML.
    """
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"Config file {path} does not exist; create it (see config/default.toml) "
            "or point --config / COMFYWATCHMAN_CONFIG elsewhere."
        ) from None
    except OSError as error:
        raise ConfigError(f"Config file {path} cannot be read: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"Config file {path} is not valid TOML: {error}.") from None
    except RecursionError:
        # tomllib reads nested arrays and inline tables recursively.
        raise ConfigError(
            f"Config file {path} nests arrays or tables too deeply to be read; fix it."
        ) from None


def merged(weaker: Mapping[str, Any], stronger: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``weaker`` with ``stronger`` laid over it: tables are merged key by key, any
    other value of ``stronger`` replaces the one below it."""
    result = dict(weaker)
    for key, value in stronger.items():
        below = result.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            result[key] = merged(below, value)
        else:
            result[key] = value
    return result


def variables_layer(environ: Mapping[str, str], model: type[BaseModel]) -> dict[str, Any]:
    """Return the settings the ``COMFYWATCHMAN_*`` variables of ``environ`` give, as
    ``{section: {key: value}}`` for ``model`` (the settings model).

    Raises:
        ConfigError: a variable for a list or a table does not hold JSON; the message
            names the variable and the form expected.
    """
    whole_sections: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    prefix = ENV_PREFIX.lower()
    for name, value in environ.items():
        lowered = name.lower()
        if not lowered.startswith(prefix):
            continue
        parts = lowered[len(prefix) :].split(ENV_NESTED_DELIMITER)
        if parts[0] not in model.model_fields or not all(parts):
            continue  # not a setting: COMFYWATCHMAN_HOME, COMFYWATCHMAN_CONFIG, ...
        annotation = _annotation(model, parts)
        text: Any = _json(name, value) if _holds_list_or_table(annotation) else value
        if len(parts) == 1:
            whole_sections[parts[0]] = text
            continue
        nested: Any = text
        for part in reversed(parts[1:]):
            nested = {part: nested}
        keys = merged(keys, {parts[0]: nested})
    return merged(whole_sections, keys)


def _annotation(model: type[BaseModel], parts: list[str]) -> Any:
    """The declared type of the setting ``parts`` names (None: no such setting)."""
    current: Any = model
    for part in parts:
        fields = getattr(current, "model_fields", None)
        if not isinstance(fields, Mapping) or part not in fields:
            return None
        current = fields[part].annotation
    return current


def _holds_list_or_table(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_holds_list_or_table(member) for member in get_args(annotation))
    if origin in (list, dict, tuple, set, frozenset):
        return True
    # A settings section (a model: it has fields) is a table; pydantic itself is not
    # imported here, so that reading the sources stays cheap (settings_memo.py).
    return isinstance(annotation, type) and (
        hasattr(annotation, "model_fields") or issubclass(annotation, (list, dict))
    )


def _json(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        raise ConfigError(
            f"Variable {name} holds a list or table, which must be written as JSON, "
            f'e.g. \'["qwen", "civitai"]\' (got {value!r}).'
        ) from None
