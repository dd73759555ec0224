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

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from watchman.config import ENV_NESTED_DELIMITER, ENV_PREFIX, Settings
from watchman.config_sources import (
    WELL_KNOWN_ENV,
    config_file_path,
    merged,
    read_toml_file,
    variables_layer,
)
from watchman.errors import ConfigError

# The flag behind each setting a command-line flag overrides, to name it in an error.
FLAG_FOR_SETTING: dict[tuple[str, str], str] = {
    ("search", "backend_order"): "--backends",
    ("search", "offline"): "--offline",
    ("comfyui", "root"): "--comfyui-root",
}


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
