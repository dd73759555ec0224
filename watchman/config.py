"""The one settings model: defaults, the TOML file, ``COMFYWATCHMAN_*`` variables, CLI flags.

Layers, weakest first: the defaults declared here, a TOML file (``--config PATH``, else
``COMFYWATCHMAN_CONFIG``, else ``config.toml`` in the user config folder), environment
variables ``COMFYWATCHMAN_<SECTION>__<KEY>``, then command-line flags. A few well-known
variables are read as well, at the environment layer: ``COMFYUI_ROOT``,
``CIVITAI_API_TOKEN`` and ``HF_TOKEN``.

The variables are read from the mapping the caller hands over (the ``Environment`` made in
``main()``), never from ``os.environ``: two loads with different environments never see
each other's, and the process's own environment is never changed.

The descriptions below are the documentation: ``config/default.toml`` and
``docs/configuration.md`` are rendered from them (``comfywatchman config --default``) and a
test keeps both equal to this model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from watchman.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ENV_PREFIX = "COMFYWATCHMAN_"
ENV_NESTED_DELIMITER = "__"
CONFIG_FILE_NAME = "config.toml"

BackendName = Literal["qwen", "civitai", "huggingface"]
# The one list of backend names: the settings model checks --backends, variables and the
# file against it alike.
KNOWN_BACKENDS: tuple[str, ...] = get_args(BackendName)
# The flag behind each setting a command-line flag overrides, to name it in an error.
FLAG_FOR_SETTING: dict[tuple[str, str], str] = {
    ("search", "backend_order"): "--backends",
    ("search", "offline"): "--offline",
    ("comfyui", "root"): "--comfyui-root",
}


class _Section(BaseModel):
    """A config section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class PathsSettings(_Section):
    home: Path | None = Field(
        default=None,
        description=(
            "The tool's home: state/, output/ and log/ live under it. "
            "COMFYWATCHMAN_HOME wins over this key. Unset: systemd's STATE_DIRECTORY "
            "when set, else the user state folder (~/.local/state/comfywatchman on Linux, "
            "%LOCALAPPDATA%\\comfywatchman on Windows, ~/Library/Application Support/"
            "comfywatchman on macOS); never the current folder."
        ),
    )


class ComfyUISettings(_Section):
    root: Path | None = Field(
        default=None,
        description=(
            "The ComfyUI install (the folder holding main.py, nodes.py and comfy/). "
            "Also read from COMFYUI_ROOT. Unset: detected from comfy-cli's config.ini, "
            "then common folders."
        ),
    )
    extra_model_paths: list[Path] = Field(
        default_factory=list,
        description=(
            "More extra_model_paths.yaml files to read, besides the one next to ComfyUI's main.py."
        ),
    )
    url: str = Field(
        default="http://127.0.0.1:8188",
        description=(
            "A running ComfyUI server. When it answers, its /object_info is the truth "
            "for installed node types; otherwise the static inventory is used."
        ),
    )
    use_server: bool = Field(
        default=True, description="Ask the ComfyUI server at `url` for /object_info."
    )
    timeout_seconds: float = Field(
        default=2.0, gt=0, description="How long to wait for the ComfyUI server."
    )
    full_restat_hours: float = Field(
        default=24,
        ge=0,
        description=(
            "Hours between full re-stats of the model, node and workflow folders. Between "
            "them a folder whose own timestamp is unchanged keeps its previous listing, so a "
            "model file rewritten in place (same name) is seen at the next full re-stat. "
            "0: list every folder every cycle (for file systems whose folder timestamps "
            "cannot be trusted)."
        ),
    )


class WatchedFolder(_Section):
    path: Path = Field(description="A folder of workflows, searched recursively.")
    source: str = Field(min_length=1, description="A label recorded in the intake log and report.")


class WorkflowsSettings(_Section):
    folders: list[WatchedFolder] = Field(
        default_factory=lambda: [
            WatchedFolder(path=Path("user/default/workflows"), source="comfyui")
        ],
        description=(
            "Watched workflow folders, each with a source label. A relative path is "
            "taken from the ComfyUI root."
        ),
    )
    include_images: bool = Field(
        default=True,
        description="Also read workflows embedded in .png and .webp files.",
    )
    full_rehash_hours: float = Field(
        default=24,
        ge=0,
        description=(
            "Hours between cycles that hash every workflow file again, even one whose size "
            "and mtime are unchanged (catches cp -p / rsync -t edits); 0 never does."
        ),
    )


class ScheduleSettings(_Section):
    interval_minutes: float = Field(
        default=120, gt=0, description="Minutes between cycles under --scheduler."
    )
    min_vram_gb: float = Field(
        default=4.0,
        ge=0,
        description="Free GPU memory (GiB) a cycle needs; less means a render is running.",
    )
    require_gpu: bool = Field(
        default=False,
        description="Skip cycles when no NVIDIA GPU or driver is found (default: pass).",
    )
    gpus: list[int] = Field(
        default_factory=list,
        description=(
            "GPU indices (as nvidia-smi numbers them) the VRAM guard checks: each listed "
            "GPU must have min_vram_gb free. Empty: one GPU with enough free memory suffices."
        ),
    )
    boot_grace_minutes: float = Field(
        default=10, ge=0, description="No cycle within this many minutes of boot."
    )
    resume_grace_minutes: float = Field(
        default=5,
        ge=0,
        description="No cycle within this many minutes of a resume from suspend.",
    )
    retry_after_skip_minutes: float = Field(
        default=10,
        gt=0,
        description="A cycle skipped by a guard is retried this soon, not a full interval later.",
    )
    jitter_seconds: float = Field(
        default=0, ge=0, description="Random delay added to each scheduled run."
    )


class CacheTTLSettings(_Section):
    found_hours: float = Field(default=720, ge=0, description="Keep a FOUND result this long.")
    uncertain_hours: float = Field(
        default=24, ge=0, description="Keep an UNCERTAIN result this long."
    )
    not_found_hours: float = Field(
        default=24, ge=0, description="Keep a NOT_FOUND result this long."
    )
    error_minutes: float = Field(
        default=30,
        ge=0,
        description="Keep an ERROR result this long; doubled on each repeat, up to the cap.",
    )
    error_max_hours: float = Field(
        default=24,
        ge=0,
        description=(
            "The cap on the growing ERROR time-to-live, and on how long a server's "
            "Retry-After keeps an ERROR cached."
        ),
    )


class SearchSettings(_Section):
    backend_order: list[BackendName] = Field(
        default_factory=lambda: list[BackendName](["qwen", "civitai"]),
        description=(
            "Remote backends tried in order after the known sources, until one finds "
            "the file: qwen, civitai, huggingface. --backends overrides it for one run."
        ),
    )
    offline: bool = Field(
        default=False, description="Use only known sources; never ask a remote backend."
    )
    timeout_seconds: float = Field(
        default=20, gt=0, description="Timeout of one HTTP request to a backend."
    )
    max_retries: int = Field(
        default=3, ge=0, description="Retries on 429, 5xx and timeouts, with backoff."
    )
    per_host_concurrency: int = Field(
        default=2, ge=1, description="Requests in flight to one host at a time."
    )
    max_parallel_models: int = Field(
        default=4, ge=1, description="Missing models resolved at the same time."
    )
    cache_ttl: CacheTTLSettings = Field(default_factory=CacheTTLSettings)


class CivitaiSettings(_Section):
    base_url: str = Field(default="https://civitai.com", description="Civitai or a mirror.")
    api_token: SecretStr | None = Field(
        default=None,
        description="API token; CIVITAI_API_TOKEN is read when unset. Never logged.",
    )
    max_search_terms: int = Field(
        default=4, ge=1, description="Search terms derived from one file name, at most."
    )


class HuggingFaceSettings(_Section):
    base_url: str = Field(
        default="https://huggingface.co", description="The Hugging Face Hub or a mirror."
    )
    token: SecretStr | None = Field(
        default=None, description="Access token; HF_TOKEN is read when unset. Never logged."
    )
    max_repos: int = Field(
        default=5, ge=1, description="Candidate repositories listed per search, at most."
    )


class QwenSettings(_Section):
    base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        description="An OpenAI-compatible chat API (Ollama, vLLM, llama.cpp, DashScope).",
    )
    model: str = Field(default="qwen3:8b", description="The model name to ask.")
    api_key: SecretStr | None = Field(
        default=None, description="Bearer key, when the server wants one. Never logged."
    )
    timeout_seconds: float = Field(
        default=60, gt=0, description="How long one chat answer may take."
    )
    connect_timeout_seconds: float = Field(
        default=3, gt=0, description="How long to wait for the server to accept a connection."
    )
    max_tool_calls: int = Field(
        default=6, ge=0, description="Tool calls Qwen may make for one model, at most."
    )


class NodesSettings(_Section):
    extension_node_map_url: str = Field(
        default=(
            "https://raw.githubusercontent.com/Comfy-Org/ComfyUI-Manager/main/"
            "extension-node-map.json"
        ),
        description=(
            "Where to fetch ComfyUI-Manager's extension-node-map.json when no "
            "ComfyUI-Manager is installed."
        ),
    )
    extension_node_map_ttl_hours: float = Field(
        default=24, ge=0, description="How long a fetched extension-node-map.json is kept."
    )


class DownloadsSettings(_Section):
    auto_download: bool = Field(
        default=False,
        description=(
            "Download trusted planned files in each cycle: FOUND by exact name, folder "
            "agreed, a sha256 or size to verify. Off: the report lists them for review "
            "and `comfywatchman download` fetches them. --auto-download turns it on for one run."
        ),
    )
    max_gb_per_cycle: float = Field(
        default=0,
        ge=0,
        description=(
            "GB one cycle may download; a file the budget cuts resumes next cycle. 0: no limit."
        ),
    )
    bandwidth_mb_per_second: float = Field(
        default=0, ge=0, description="Download speed cap in MB/s. 0: no cap."
    )
    free_space_margin_gb: float = Field(
        default=2,
        ge=0,
        description="Space a download must leave free on the models disk, in GB.",
    )


class MetricsSettings(_Section):
    textfile: Path | None = Field(
        default=None,
        description="Also write per-cycle metrics here, in node_exporter textfile format.",
    )


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of the console and log/structured.log."
    )


class Settings(BaseSettings):
    """Every setting of comfywatchman, grouped by section."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        validate_default=True,
    )

    paths: PathsSettings = Field(default_factory=PathsSettings)
    comfyui: ComfyUISettings = Field(default_factory=ComfyUISettings)
    workflows: WorkflowsSettings = Field(default_factory=WorkflowsSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    civitai: CivitaiSettings = Field(default_factory=CivitaiSettings)
    huggingface: HuggingFaceSettings = Field(default_factory=HuggingFaceSettings)
    qwen: QwenSettings = Field(default_factory=QwenSettings)
    nodes: NodesSettings = Field(default_factory=NodesSettings)
    downloads: DownloadsSettings = Field(default_factory=DownloadsSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    _config_source: Path | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Strongest first: CLI flags (init), environment, then the TOML file. The
        # environment is the mapping handed to load_settings, never os.environ.
        return (init_settings, _MappingEnvSource(settings_cls), _TomlSource(settings_cls))


# The TOML data and the environment of the load in progress. Context variables rather
# than class attributes so that two loads (tests, threads) never see each other's.
_current_toml: ContextVar[dict[str, Any] | None] = ContextVar("_current_toml", default=None)
_current_environ: ContextVar[Mapping[str, str] | None] = ContextVar(
    "_current_environ", default=None
)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the load's mapping, not os.environ.

    Outside ``load_settings`` (``Settings()`` in a test) the mapping is empty: the
    settings model never reads the process's environment on its own.
    """

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _current_environ.get() or {}
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in environ.items()
            if not (self.env_ignore_empty and value == "")
        }


class _TomlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return (_current_toml.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_current_toml.get() or {})


# Well-known variables read at the environment layer, below their COMFYWATCHMAN_ spelling.
_WELL_KNOWN_ENV: dict[str, tuple[str, str]] = {
    "COMFYUI_ROOT": ("comfyui", "root"),
    "CIVITAI_API_TOKEN": ("civitai", "api_token"),
    "HF_TOKEN": ("huggingface", "token"),
}


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
    for variable, (section, key) in _WELL_KNOWN_ENV.items():
        value = environ.get(variable)
        prefixed = f"{ENV_PREFIX}{section}{ENV_NESTED_DELIMITER}{key}".upper()
        if not value or key in init.get(section, {}) or _env_has(environ, prefixed):
            continue
        init.setdefault(section, {})[key] = value
        well_known_used[(section, key)] = variable

    toml_token = _current_toml.set(toml_data)
    environ_token = _current_environ.set(environ)
    try:
        settings = Settings(**init)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(
            _describe_validation_error(error, path, toml_data, init, well_known_used, environ)
        ) from None
    except SettingsError as error:
        raise ConfigError(_describe_settings_error(error, environ)) from None
    finally:
        _current_environ.reset(environ_token)
        _current_toml.reset(toml_token)
    settings._config_source = path
    return settings


def _describe_settings_error(error: SettingsError, environ: Mapping[str, str]) -> str:
    """Name the variable whose list or table value is not JSON (pydantic-settings does not)."""
    for name, value in environ.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or ENV_NESTED_DELIMITER not in upper:
            continue
        try:
            json.loads(value)
        except ValueError:
            parts = upper[len(ENV_PREFIX) :].lower().split(ENV_NESTED_DELIMITER)
            if _is_complex_field(parts):
                return (
                    f"Variable {name} holds a list or table, which must be written as JSON, "
                    f'e.g. \'["qwen", "civitai"]\' (got {value!r}).'
                )
    return f"A COMFYWATCHMAN_ variable cannot be read: {error}."


def _is_complex_field(parts: list[str]) -> bool:
    model: Any = Settings
    for part in parts:
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return False
        model = fields[part].annotation
    origin = getattr(model, "__origin__", None)
    return origin in (list, dict) or (isinstance(model, type) and issubclass(model, BaseModel))


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


def iter_fields(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield ``(key path, field info)`` for every leaf setting, in declaration order."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from iter_fields(annotation, (*prefix, name))
        else:
            yield (*prefix, name), info


def config_source(settings: Settings) -> Path | None:
    """Return the config file the settings were loaded from, or None."""
    return settings._config_source
