"""The one settings model: every setting, its default, its bounds and its description.

Sections are pydantic models (an unknown key is an error); ``Settings`` groups them. It
reads nothing on its own: merging the layers (defaults, the TOML file, ``COMFYWATCHMAN_*``
variables, CLI flags; ``watchman/config_sources.py``) is ``watchman/config_loading.py``'s
job.

The descriptions below are the documentation: ``config/default.toml`` and
``docs/configuration.md`` are rendered from them (``comfywatchman config --default``) and a
test keeps both equal to this model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from watchman.config_sources import ENV_NESTED_DELIMITER, ENV_PREFIX

__all__ = ["ENV_NESTED_DELIMITER", "ENV_PREFIX", "KNOWN_BACKENDS", "Settings", "iter_fields"]

BackendName = Literal["qwen", "civitai", "huggingface"]
# The one list of backend names: the settings model checks --backends, variables and the
# file against it alike.
KNOWN_BACKENDS: tuple[str, ...] = get_args(BackendName)


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
            "then common folders, then the ComfyUI desktop app's installation, then the "
            "installs ComfyUI Desktop 2.0 (its primary one first), Stability Matrix (its "
            "selected ComfyUI package first) and Pinokio list; the first found is used, and "
            "`config` names the others."
        ),
    )
    base_directory: Path | None = Field(
        default=None,
        description=(
            "The folder ComfyUI is started with --base-directory: its models/, "
            "custom_nodes/, input/ and user/ (the workflows, ComfyUI-Manager's log) are "
            "there, not beside main.py. Nix's ComfyUI package defaults to "
            "~/.local/share/comfyui. A relative path is taken from the ComfyUI root; a "
            "leading ~ is your home folder. Unset: for ComfyUI inside the desktop app, the "
            "folder the app keeps your files in (its extra_models_config.yaml is read "
            "too); else the ComfyUI root itself."
        ),
    )
    extra_model_paths: list[Path] = Field(
        default_factory=list,
        description=(
            "More extra_model_paths.yaml files to read, besides the one next to ComfyUI's "
            "main.py and the one a launcher starts it with (the desktop app's "
            "extra_models_config.yaml, ComfyUI Desktop 2.0's shared_model_paths.yaml), "
            "which are read without being named here. A leading ~ is your home folder."
        ),
    )
    startup_logs: list[Path] = Field(
        default_factory=list,
        description=(
            "More files holding ComfyUI's start-up output (for example one written by "
            "`python main.py 2>&1 | tee comfy-out.txt`), read besides the log ComfyUI-Manager "
            "keeps in user/ to learn which node packs failed to import. A relative path is "
            "taken from the ComfyUI root."
        ),
    )
    input_folder: Path | None = Field(
        default=None,
        description=(
            "ComfyUI's input folder, where LoadImage and other loaders look for the files a "
            "workflow names. A relative path is taken from the base directory (the ComfyUI "
            "root unless comfyui.base_directory says otherwise). Unset: the folder "
            "ComfyUI's newest start-up log says it was given (--input-directory, as the "
            "desktop app starts it) when that folder exists, else the one its launcher "
            "starts it with (ComfyUI Desktop 2.0's shared input folder), else input/ in the "
            "base directory."
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
        default=2.0, gt=0, description="How long to wait to connect to the ComfyUI server."
    )
    answer_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How long a running ComfyUI may take to start its /object_info answer, and "
            "then each read of it. ComfyUI builds the whole answer first, listing every "
            "model file for each loader input: seconds at 100,000 files. A whole answer "
            "may take twice this."
        ),
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


class WatchedFolderSettings(_Section):
    """One watched workflow folder as configured: its path and its source label.

    Written as ``{ path = "...", source = "..." }``; the label may be left out (it is then
    the folder's own name), and a bare path string stands for ``{ path = "..." }``.
    """

    path: Path = Field(description="A folder of workflows, searched recursively.")
    source: str = Field(
        min_length=1,
        description=(
            "A label recorded in the intake log and report; default: the folder's own name."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _label_from_the_path(cls, value: Any) -> Any:
        # People write the folder they mean and expect it to be watched; the label exists
        # for the intake log and can be the folder's name until they pick another.
        if isinstance(value, (str, Path)):
            value = {"path": value}
        if isinstance(value, dict) and "source" not in value and "path" in value:
            path = str(value["path"]).rstrip("/\\")
            label = path.replace("\\", "/").rsplit("/", 1)[-1] or path or "watched"
            value = {**value, "source": label}
        return value


class WorkflowsSettings(_Section):
    folders: list[WatchedFolderSettings] = Field(
        default_factory=lambda: [
            WatchedFolderSettings(path=Path("user/default/workflows"), source="comfyui")
        ],
        description=(
            "Watched workflow folders, each with a source label (default: the folder's "
            "name; a bare path string is also accepted). A relative path is taken from the "
            "base directory: the ComfyUI root unless comfyui.base_directory says otherwise."
        ),
    )
    include_images: bool = Field(
        default=True,
        description=(
            "Also read workflows embedded in images (.png, .webp, .avif, .svg), videos "
            "(.mp4, .mov, .m4v, .webm, .mkv), audio (.flac, .mp3, .opus, .ogg) and 3D "
            "models (.glb)."
        ),
    )
    check_input_files: bool = Field(
        default=True,
        description=(
            "Check the files workflows name in ComfyUI's input folder (LoadImage's image, "
            "LoadAudio's audio, Video Helper Suite's video...): ComfyUI refuses a workflow "
            "whose file is not there, so it is `uncertain` until the person provides the "
            "file or picks one of theirs. false: such files are not checked."
        ),
    )
    check_list_values: bool = Field(
        default=True,
        description=(
            "Check list values (a CLIP type, a scheduler, a mode) against the lists the "
            "install offers, a running ComfyUI's (`comfyui.use_server`) or those its nodes' "
            "source writes: ComfyUI refuses a value not in its list, so the workflow is "
            "`uncertain` until the person picks another. false: list values are not checked."
        ),
    )
    check_value_ranges: bool = Field(
        default=True,
        description=(
            "Check number values (a size, a strength, a seed) against the min and max the "
            "install allows, a running ComfyUI's (`comfyui.use_server`) or those its nodes' "
            "source writes: ComfyUI refuses a value outside them, so the workflow is "
            "`uncertain` until the person changes it. false: ranges are not checked."
        ),
    )
    check_value_types: bool = Field(
        default=True,
        description=(
            "Check that values of number inputs are numbers ComfyUI can read (a text such "
            "as `auto`, or `1.5` where a whole number goes, is not), by the input types "
            "the install declares, a running ComfyUI's (`comfyui.use_server`) or its "
            "nodes' source's: ComfyUI refuses such a value (`invalid_input_type`), so the "
            "workflow is `uncertain` until the person changes it. false: not checked."
        ),
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
    max_models_per_cycle: int = Field(
        default=500,
        ge=0,
        description=(
            "Missing models one cycle may ask the remote backends about, those more "
            "workflows need first; the others wait for the next cycle. Known sources and "
            "cached answers do not count. 0: no limit."
        ),
    )
    max_minutes_per_cycle: float = Field(
        default=30,
        ge=0,
        description=(
            "Minutes one cycle may spend asking the remote backends; models not asked by "
            "then wait for the next cycle. 0: no limit."
        ),
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
        default="INFO",
        description=(
            "Level of the log messages on stderr (the journal under systemd; "
            "log/comfywatchman.log when there is no stderr, as under pythonw.exe). "
            "log/structured.log records every stage and cycle whatever the level."
        ),
    )
    structured_log_max_mb: float = Field(
        default=16.0,
        ge=0,
        description=(
            "At the start of a cycle, log/structured.log larger than this many MB is "
            "renamed structured.log.1 (the one before to .2, and so on; three are kept) "
            "and a new one begun. 0: never."
        ),
    )


class Settings(BaseModel):
    """Every setting of comfywatchman, grouped by section."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

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
