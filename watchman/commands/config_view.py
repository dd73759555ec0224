"""What ``comfywatchman config`` shows: every effective value with where it came from
(default, file, environment, flag), the config file read, the tool's home and the
ComfyUI folder as detected."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tomli_w

from watchman.config import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    Settings,
    config_source,
    iter_fields,
    read_toml_file,
)

WELL_KNOWN_ENV: dict[tuple[str, ...], str] = {
    ("comfyui", "root"): "COMFYUI_ROOT",
    ("civitai", "api_token"): "CIVITAI_API_TOKEN",
    ("huggingface", "token"): "HF_TOKEN",
}


def _has(data: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    current: Any = data
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
    return True


def value_sources(
    settings: Settings, flags: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str]
) -> dict[tuple[str, ...], str]:
    """Where each setting's value came from, strongest layer first: ``flag``,
    ``environment (NAME)``, ``file``, else ``default``.

    Raises:
        ConfigError: the config file the settings were read from cannot be read now.
    """
    path = config_source(settings)
    file_data = read_toml_file(path) if path is not None else {}
    sources: dict[tuple[str, ...], str] = {}
    for key, _ in iter_fields(Settings):
        variable = ENV_PREFIX + ENV_NESTED_DELIMITER.join(key).upper()
        well_known = WELL_KNOWN_ENV.get(key)
        if _has(flags, key):
            sources[key] = "flag"
        elif environ.get(variable):
            sources[key] = f"environment ({variable})"
        elif _has(file_data, key):
            sources[key] = "file"
        elif well_known is not None and environ.get(well_known):
            sources[key] = f"environment ({well_known})"
        else:
            sources[key] = "default"
    return sources


def _value(document: Mapping[str, Any], key: tuple[str, ...]) -> Any:
    current: Any = document
    for part in key:
        current = current.get(part) if isinstance(current, Mapping) else None
    return current


def _line(name: str, value: Any) -> str:
    if value is None:
        return f"# {name} is unset"
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        return f"{name} = {json.dumps(value)}"
    return tomli_w.dumps({name: value}).strip()


def render_config(
    settings: Settings,
    sources: Mapping[tuple[str, ...], str],
    home: tuple[Path, str],
    comfyui_root: tuple[Path | None, str],
) -> Iterator[str]:
    """The lines of the text view: a header (file, home, ComfyUI folder), then each
    section's keys as TOML with their source as a comment."""
    path = config_source(settings)
    yield f"# config file: {path if path is not None else 'none (defaults and variables)'}"
    yield f"# home: {home[0]} ({home[1]})"
    root, how = comfyui_root
    yield f"# ComfyUI: {root if root is not None else 'not found'} ({how})"
    document = settings.model_dump(mode="json")
    section = None
    for key in sources:
        if key[0] != section:
            section = key[0]
            yield ""
            yield f"[{section}]"
        name = ".".join(key[1:])
        yield f"{_line(name, _value(document, key))}  # {sources[key]}"
