"""Loading the settings: the defaults, a TOML file, ``COMFYWATCHMAN_*`` variables, CLI flags.

Layers, weakest first: the defaults declared in ``watchman/config.py``, a TOML file
(``--config PATH``, else ``COMFYWATCHMAN_CONFIG``, else ``config.toml`` in the user config
folder), environment variables ``COMFYWATCHMAN_<SECTION>__<KEY>``, then command-line flags.
A few well-known variables are read as well, at the environment layer: ``COMFYUI_ROOT``,
``CIVITAI_API_TOKEN`` and ``HF_TOKEN``.

The variables are read from the mapping the caller hands over (the ``Environment`` made in
``main()``), never from ``os.environ``: two loads with different environments never see
each other's, and the process's own environment is never changed.

A wrong value becomes one ``ConfigError`` sentence naming the key, the layer it came from
and the form expected.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from watchman.config import ENV_NESTED_DELIMITER, ENV_PREFIX, Settings
from watchman.config_sources import merged, variables_layer
from watchman.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FILE_NAME = "config.toml"
# The flag behind each setting a command-line flag overrides, to name it in an error.
FLAG_FOR_SETTING: dict[tuple[str, str], str] = {
    ("search", "backend_order"): "--backends",
    ("search", "offline"): "--offline",
    ("comfyui", "root"): "--comfyui-root",
}

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


def load_settings(
    config_path: Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    config_dir: Path | None = None,
) -> Settings:
    """Build the settings from every layer.

    Args:
        config_path: the ``--config`` flag, if given.
        overrides: values from CLI flags, as ``{section: {key: value}}``.
        environ: the environment to read (None: no variables at all; the CLI passes
            ``Environment.environ``). ``os.environ`` is never read.
        config_dir: the user's config folder, where ``config.toml`` is looked for when
            neither ``config_path`` nor ``COMFYWATCHMAN_CONFIG`` names a file (None: no
            user file).

    Returns:
        The validated settings, with ``config_source`` telling which file was read.

    Raises:
        ConfigError: a file cannot be read or a value is wrong; the message names the
            key, where it came from and the form expected.
    """
    environ = {} if environ is None else environ
    path = config_file_path(config_path, environ, config_dir)
    toml_data = read_toml_file(path) if path is not None else {}
    init: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (overrides or {}).items()}
    well_known_used: dict[tuple[str, str], str] = {}
    for variable, (section, key) in WELL_KNOWN_ENV.items():
        value = environ.get(variable)
        prefixed = f"{ENV_PREFIX}{section}{ENV_NESTED_DELIMITER}{key}".upper()
        if not value or key in init.get(section, {}) or _env_has(environ, prefixed):
            continue
        init.setdefault(section, {})[key] = value
        well_known_used[(section, key)] = variable

    layers = merged(merged(toml_data, variables_layer(environ, Settings)), init)
    try:
        settings = Settings.model_validate(layers)
    except ValidationError as error:
        raise ConfigError(
            _describe_validation_error(error, path, toml_data, init, well_known_used, environ)
        ) from None
    settings._config_source = path
    return settings


def _env_has(environ: Mapping[str, str], name: str) -> bool:
    return any(key.upper() == name for key in environ)


def _env_name(loc: tuple[Any, ...]) -> str:
    return (ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in loc[:2])).upper()


def _dig(data: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    current: Any = data
    for part in loc:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            return False
    return True


def _describe_validation_error(
    error: ValidationError,
    path: Path | None,
    toml_data: Mapping[str, Any],
    init: Mapping[str, Any],
    well_known_used: Mapping[tuple[str, str], str],
    environ: Mapping[str, str],
) -> str:
    first = error.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(part) for part in loc)
    section_key = (str(loc[0]), str(loc[1]) if len(loc) > 1 else "")
    if section_key in well_known_used:
        origin = f"variable {well_known_used[section_key]}"
    elif _dig(init, loc[:2]):
        flag = FLAG_FOR_SETTING.get(section_key)
        origin = f"the command line ({flag})" if flag else "the command line"
    elif _env_has(environ, _env_name(loc)):
        origin = f"variable {_env_name(loc)}"
    elif path is not None and _dig(toml_data, loc):
        origin = f"file {path}"
    elif first["type"] == "extra_forbidden" and _env_has(environ, _env_name(loc[:1])):
        origin = f"variable {_env_name(loc[:1])}"
    elif path is not None and first["type"] == "extra_forbidden":
        origin = f"file {path}"
    else:
        origin = "the defaults"
    if first["type"] == "extra_forbidden":
        return (
            f"Unknown config key {key} in {origin}; remove it or fix its spelling "
            "(config/default.toml lists every key)."
        )
    given = first.get("input")
    shown = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
    return f"Config key {key} from {origin} is wrong{shown}: {first['msg']}."


def config_source(settings: Settings) -> Path | None:
    """Return the config file the settings were loaded from, or None."""
    return settings._config_source
