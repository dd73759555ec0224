"""Render the settings model as the sample TOML file and the configuration reference.

``config/default.toml`` and ``docs/configuration.md`` are generated from the field
descriptions in ``watchman.config``; a test keeps them equal to these renderings, so the
docs cannot drift from the code. Regenerate with ``comfywatchman config --default``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from watchman.config import ENV_NESTED_DELIMITER, ENV_PREFIX, Settings
from watchman.config_sources import WELL_KNOWN_ENV

# The setting a well-known variable sets -> that variable: the loader's one table, so the
# documents name exactly the variables that are read.
_WELL_KNOWN_VARIABLES = {setting: variable for variable, setting in WELL_KNOWN_ENV.items()}
_HEADER = """\
# comfywatchman configuration: every key with its default.
#
# Copy the keys you want to change into your own config file: --config PATH, else
# COMFYWATCHMAN_CONFIG, else the user config file (~/.config/comfywatchman/config.toml
# on Linux, %APPDATA%\\comfywatchman\\config.toml on Windows, ~/Library/Application
# Support/comfywatchman/config.toml on macOS).
# Layers, weakest first: these defaults, the file, COMFYWATCHMAN_<SECTION>__<KEY>
# environment variables, command-line flags.
# Keys shown commented out are unset by default.
#
# Generated from watchman/config.py by `comfywatchman config --default`; a test keeps it equal.
"""


def _toml_value(value: Any) -> str:
    """Format one value the way it would appear after ``key = `` in TOML."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Path):
        value = value.as_posix()
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, dict):
        inner = ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items())
        return "{ " + inner + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _sections(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], list[tuple[str, FieldInfo]]]]:
    """Return ``(section path, leaf fields)`` for every table of the model, in order."""
    leaves: list[tuple[str, FieldInfo]] = []
    nested: list[tuple[tuple[str, ...], list[tuple[str, FieldInfo]]]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.extend(_sections(annotation, (*prefix, name)))
        else:
            leaves.append((name, info))
    own = [(prefix, leaves)] if prefix and leaves else []
    return own + nested


def _pure_defaults() -> dict[str, Any]:
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in Settings.model_fields.items()
    }


def _default_of(defaults: dict[str, Any], path: tuple[str, ...], name: str) -> Any:
    current: Any = defaults[path[0]]
    for part in path[1:]:
        current = getattr(current, part)
    return getattr(current, name)


def env_variable(path: tuple[str, ...], name: str) -> str:
    """Return the ``COMFYWATCHMAN_*`` variable that sets one key."""
    return (ENV_PREFIX + ENV_NESTED_DELIMITER.join((*path, name))).upper()


def render_default_toml() -> str:
    """Return the text of ``config/default.toml``: every key, its default and its doc."""
    defaults = _pure_defaults()
    lines = [_HEADER]
    for path, fields in _sections(Settings):
        lines.append(f"[{'.'.join(path)}]")
        for name, info in fields:
            for line in textwrap.wrap(info.description or "", width=88):
                lines.append(f"# {line}")
            lines.append(f"# Environment: {env_variable(path, name)}")
            value = _default_of(defaults, path, name)
            if value is None:
                lines.append(f"# {name} =")
            else:
                lines.append(f"{name} = {_toml_value(value)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_configuration_markdown() -> str:
    """Return the text of ``docs/configuration.md``: a table per section."""
    defaults = _pure_defaults()
    out = [
        "# Configuration",
        "",
        "Every key, its default, the environment variable that sets it, and what it does.",
        "Layers, weakest first: defaults, the TOML file (`--config PATH`, else",
        "`COMFYWATCHMAN_CONFIG`, else the user config file), `COMFYWATCHMAN_*` variables,",
        "command-line flags. A wrong value stops the command with exit status 2 and one",
        "sentence naming the key and where the value came from.",
        "",
        "The home folder is `COMFYWATCHMAN_HOME`, else `paths.home`, else systemd's",
        "`STATE_DIRECTORY`, else the user state folder (`~/.local/state/comfywatchman` on",
        "Linux, `%LOCALAPPDATA%\\comfywatchman` on Windows, `~/Library/Application",
        "Support/comfywatchman` on macOS); never the current folder, so a cycle started by",
        "cron finds what the service wrote. The user config file is `config.toml` in",
        "`$XDG_CONFIG_HOME/comfywatchman` (`~/.config/comfywatchman`) on Linux,",
        "`%APPDATA%\\comfywatchman` on Windows, `~/Library/Application Support/comfywatchman`",
        "on macOS. `COMFYUI_ROOT`, `CIVITAI_API_TOKEN` and `HF_TOKEN` are read too, below",
        "their `COMFYWATCHMAN_*` spelling. In a variable, a list or a table is written as",
        'JSON, e.g. `COMFYWATCHMAN_SEARCH__BACKEND_ORDER=\'["civitai", "qwen"]\'`.',
        "",
        "This page is generated from `watchman/config.py`; a test keeps it equal.",
    ]
    for path, fields in _sections(Settings):
        out += ["", f"## [{'.'.join(path)}]", "", "| key | default | environment | meaning |"]
        out.append("| --- | --- | --- | --- |")
        for name, info in fields:
            value = _default_of(defaults, path, name)
            shown = "unset" if value is None else f"`{_toml_value(value)}`"
            variable = f"`{env_variable(path, name)}`"
            well_known = _WELL_KNOWN_VARIABLES.get((path[0], name)) if len(path) == 1 else None
            if well_known:
                variable += f", `{well_known}`"
            description = (info.description or "").replace("|", "\\|")
            out.append(f"| `{name}` | {shown} | {variable} | {description} |")
    return "\n".join(out) + "\n"
