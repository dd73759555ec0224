"""What ``comfywatchman config`` shows: every effective value with where it came from
(default, file, environment, flag), the config file read, the tool's home and the
ComfyUI folder as detected."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from watchman.comfy.install import HOW_TO_SET_ROOT, Detection
from watchman.config import ENV_NESTED_DELIMITER, ENV_PREFIX, Settings, iter_fields
from watchman.config_loading import config_source
from watchman.config_sources import WELL_KNOWN_ENV, read_toml_file
from watchman.errors import ComfyUINotFoundError
from watchman.printable import visible

if TYPE_CHECKING:
    from watchman.commands.invocation import Invocation

# The setting a well-known variable sets -> that variable (one table, read both ways).
_VARIABLE_OF: dict[tuple[str, ...], str] = {
    setting: variable for variable, setting in WELL_KNOWN_ENV.items()
}


def _has(data: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    current: Any = data
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
    return True


@dataclass(frozen=True)
class Origin:
    """Where a value came from: ``kind`` is ``default``, ``file``, ``environment``,
    ``flag``, ``detected`` or ``platform default``; ``detail`` names the variable, file or
    rule when there is one."""

    kind: str
    detail: str | None = None

    def text(self) -> str:
        """``kind (detail)``, as the table shows it."""
        return self.kind if self.detail is None else f"{self.kind} ({self.detail})"

    def phrase(self) -> str:
        """``kind: detail``, as the header shows where the home and ComfyUI came from."""
        return self.kind if self.detail is None else f"{self.kind}: {self.detail}"

    def to_json(self) -> dict[str, str]:
        return {"from": self.kind, **({"detail": self.detail} if self.detail else {})}


def value_sources(
    settings: Settings, flags: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str]
) -> dict[tuple[str, ...], Origin]:
    """Where each setting's value came from, strongest layer first: ``flag``,
    ``environment`` (with the variable), ``file``, else ``default``.

    Raises:
        ConfigError: the config file the settings were read from cannot be read now.
    """
    path = config_source(settings)
    file_data = read_toml_file(path) if path is not None else {}
    sources: dict[tuple[str, ...], Origin] = {}
    for key, _ in iter_fields(Settings):
        variable = ENV_PREFIX + ENV_NESTED_DELIMITER.join(key).upper()
        well_known = _VARIABLE_OF.get(key)
        if _has(flags, key):
            sources[key] = Origin("flag")
        elif environ.get(variable):
            sources[key] = Origin("environment", variable)
        # The well-known variables (COMFYUI_ROOT, the tokens) are read at the environment
        # layer, above the file, as config_loading does.
        elif well_known is not None and environ.get(well_known):
            sources[key] = Origin("environment", well_known)
        elif _has(file_data, key):
            sources[key] = Origin("file")
        else:
            sources[key] = Origin("default")
    return sources


def home_origin(settings: Settings, environ: Mapping[str, str], paths_home: Origin) -> Origin:
    """Which rule of ``resolve_home`` chose the home (the same order), given where the
    ``paths.home`` setting came from."""
    if environ.get("COMFYWATCHMAN_HOME", "").strip():
        return Origin("environment", "COMFYWATCHMAN_HOME")
    if settings.paths.home is not None:
        return Origin(paths_home.kind, ", ".join(filter(None, ["paths.home", paths_home.detail])))
    if environ.get("STATE_DIRECTORY", "").strip():
        return Origin("environment", "STATE_DIRECTORY, set by systemd")
    return Origin("platform default", "the user state folder")


def comfyui_origin(
    settings: Settings,
    root_source: Origin,
    find: Callable[[], Path],
    detect: Callable[[], Detection],
) -> tuple[Path | None, Origin, str | None]:
    """The ComfyUI folder a cycle would use, where it came from, and why it cannot be
    used (None when it can).

    Takes where ``comfyui.root`` came from, ``find`` (the cycle's own lookup of a set
    root, raising ComfyUINotFoundError when it is not an install) and ``detect`` (the
    detection: every install found, first the one used, and what it could not read).
    """
    if settings.comfyui.root is not None:
        try:
            return find(), root_source, None
        except ComfyUINotFoundError as error:
            return None, root_source, str(error)
    detection = detect()
    if not detection.found:
        problem = " ".join(
            (f"No ComfyUI install was found; {HOW_TO_SET_ROOT}.", *detection.problems)
        )
        return None, Origin("detected"), problem
    root, rule = detection.found[0]
    return root, Origin("detected", rule), None


def nested(flat: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """``{("a", "b"): v}`` as ``{"a": {"b": v}}``."""
    document: dict[str, Any] = {}
    for key, value in flat.items():
        current = document
        for part in key[:-1]:
            current = current.setdefault(part, {})
        current[key[-1]] = value
    return document


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


@dataclass(frozen=True)
class ConfigView:
    """Everything ``config`` shows: the settings, each value's origin, the config file,
    the home and the ComfyUI folder with their origins."""

    settings: Settings
    sources: Mapping[tuple[str, ...], Origin]
    home: Path
    home_from: Origin
    comfyui_root: Path | None
    comfyui_from: Origin
    comfyui_problem: str | None = None
    # Where the install keeps its models, custom nodes, inputs and workflows when that
    # is not the root, and why (comfyui.base_directory, or the desktop app's layout).
    comfyui_files: Path | None = None
    comfyui_files_from: str | None = None
    # When detected: the other installs found, with the rule that found each (the first
    # found is used), and what detection could not read (a launcher's broken file).
    comfyui_also_found: tuple[tuple[Path, str], ...] = ()
    comfyui_notes: tuple[str, ...] = ()
    # The extra model paths files a launcher starts the install with (shared models).
    comfyui_launcher_model_paths: tuple[Path, ...] = ()

    def to_json(self) -> dict[str, Any]:
        path = config_source(self.settings)
        return {
            "config_file": str(path) if path is not None else None,
            "home": {"path": str(self.home), **self.home_from.to_json()},
            "comfyui_root": {
                "path": str(self.comfyui_root) if self.comfyui_root is not None else None,
                **self.comfyui_from.to_json(),
                **({"problem": self.comfyui_problem} if self.comfyui_problem else {}),
                **(
                    {"files": str(self.comfyui_files), "files_from": self.comfyui_files_from}
                    if self.comfyui_files is not None
                    else {}
                ),
                **(
                    {
                        "also_found": [
                            {"path": str(path), "detail": rule}
                            for path, rule in self.comfyui_also_found
                        ]
                    }
                    if self.comfyui_also_found
                    else {}
                ),
                **(
                    {
                        "launcher_model_paths": [
                            str(path) for path in self.comfyui_launcher_model_paths
                        ]
                    }
                    if self.comfyui_launcher_model_paths
                    else {}
                ),
                **({"notes": list(self.comfyui_notes)} if self.comfyui_notes else {}),
            },
            "settings": self.settings.model_dump(mode="json"),
            "sources": nested({key: origin.to_json() for key, origin in self.sources.items()}),
        }


def render_config(view: ConfigView) -> Iterator[str]:
    """The lines of the text view: a header (file, home, ComfyUI folder, each with where
    it came from), then each section's keys as TOML with their source as a comment."""
    path = config_source(view.settings)
    yield f"# config file: {path if path is not None else 'none (defaults and variables)'}"
    yield f"# home: {view.home} ({view.home_from.phrase()})"
    if view.comfyui_root is not None:
        yield f"# ComfyUI: {view.comfyui_root} ({view.comfyui_from.phrase()})"
        if view.comfyui_also_found:
            others = "; ".join(f"{path} ({rule})" for path, rule in view.comfyui_also_found)
            yield visible(
                f"#   used as the first install detection finds; also found: {others} "
                "(set comfyui.root to use another)"
            )
        if view.comfyui_files is not None:
            yield f"# ComfyUI's files: {view.comfyui_files} ({view.comfyui_files_from})"
        for path in view.comfyui_launcher_model_paths:
            yield visible(
                f"# ComfyUI's shared model paths: {path} (its launcher starts it with "
                "--extra-model-paths-config)"
            )
    else:
        yield f"# ComfyUI: not usable ({view.comfyui_from.phrase()}): {view.comfyui_problem}"
    for note in view.comfyui_notes:
        yield visible(f"# note: {note}")
    document = view.settings.model_dump(mode="json")
    section = None
    for key, origin in view.sources.items():
        if key[0] != section:
            section = key[0]
            yield ""
            yield f"[{section}]"
        name = ".".join(key[1:])
        yield f"{_line(name, _value(document, key))}  # {origin.text()}"


def config_view_for(invocation: Invocation, settings: Settings) -> ConfigView:
    """What ``config`` shows: each value's origin, and the home and ComfyUI folder a
    cycle would use, with where each came from."""
    from watchman.comfy.install import detect_comfyui_installs

    environment = invocation.environment
    sources = value_sources(settings, invocation.flag_overrides(), environment.environ)
    home = invocation.home(settings)
    detection = Detection(())
    if settings.comfyui.root is None:
        detection = detect_comfyui_installs(
            environment.environ,
            environment.home_dir,
            cwd=environment.cwd,
            platform=environment.platform,
        )
    with invocation.services(settings, home) as services:
        root, root_from, problem = comfyui_origin(
            settings, sources[("comfyui", "root")], services.find_comfyui_root, lambda: detection
        )
        files, files_from = None, None
        launcher_files: tuple[Path, ...] = ()
        if root is not None:
            try:
                layout = services.install_layout(root)
            except ComfyUINotFoundError as error:
                problem = str(error)
            else:
                launcher_files = layout.launcher_model_paths
                if layout.base != root:
                    files = layout.base
                    if settings.comfyui.base_directory is not None:
                        files_from = "comfyui.base_directory"
                    elif layout.desktop is not None:
                        files_from = f"the desktop app's {layout.desktop}"
                    else:
                        files_from = (
                            f"--base-directory in the launch arguments of {layout.launcher}"
                        )
    return ConfigView(
        settings,
        sources,
        home.root,
        home_origin(settings, environment.environ, sources[("paths", "home")]),
        root,
        root_from,
        problem,
        files,
        files_from,
        detection.found[1:],
        detection.problems if detection.found else (),
        launcher_files,
    )
