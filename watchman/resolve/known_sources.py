"""Known sources: the offline catalogue consulted before any remote backend.

Exact file name -> where to get it, learned from URLs embedded in workflows (the user's own
and the official ``comfyui_workflow_templates*`` packages installed beside ComfyUI) and from
an installed ComfyUI-Manager's ``model-list.json``. Files are only read as JSON, never run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from watchman.resolve.model import Candidate, SearchRequest, SearchResult, Status, result_for
from watchman.resolve.names import file_name_of, first_folder_segment

logger = logging.getLogger(__name__)

# ComfyUI-Manager's `save_path: "default"` means "the folder of this model type".
_MANAGER_TYPE_FOLDERS = {
    "checkpoint": "checkpoints",
    "checkpoints": "checkpoints",
    "unclip": "checkpoints",
    "clip": "text_encoders",
    "text_encoder": "text_encoders",
    "vae": "vae",
    "lora": "loras",
    "t2i-adapter": "controlnet",
    "t2i-style": "controlnet",
    "controlnet": "controlnet",
    "clip_vision": "clip_vision",
    "gligen": "gligen",
    "upscale": "upscale_models",
    "embedding": "embeddings",
    "embeddings": "embeddings",
    "unet": "diffusion_models",
    "diffusion_model": "diffusion_models",
    "taesd": "vae_approx",
}
_LEGACY_FOLDERS = {"clip": "text_encoders", "unet": "diffusion_models"}
TEMPLATE_SOURCE_PREFIX = "template:"
MANAGER_SOURCE = "comfyui-manager model-list.json"
_MAX_CATALOGUE_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class KnownModel:
    """One catalogue entry: an exact file name and where it is published."""

    name: str
    url: str
    folder: str | None
    sha256: str | None
    source: str


class KnownSources:
    """The offline catalogue: exact file name -> sources, in the order they were added
    (earlier additions win). Safe to read from several threads once built."""

    def __init__(self) -> None:
        self._entries: dict[str, list[KnownModel]] = {}
        self._lock = threading.Lock()
        self.comfyui_roots: set[Path] = set()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def add_model(
        self,
        name: str,
        url: str | None,
        directory: str | None = None,
        hash: str | None = None,
        hash_type: str | None = None,
        source: str = "workflow",
    ) -> bool:
        """Add one embedded model entry (``properties.models`` / ``models`` item).

        Returns:
            True when added; False for an entry without a name or an http(s) URL, or a
            repeat of a known name and URL.
        """
        file_name = file_name_of(name or "")
        if not file_name or not isinstance(url, str) or not _is_web_url(url):
            return False
        sha256 = hash.lower() if hash and _is_sha256(hash, hash_type) else None
        folder = canonical_folder(directory)
        entry = KnownModel(file_name, url.strip(), folder, sha256, source)
        key = file_name.casefold()
        with self._lock:
            entries = self._entries.setdefault(key, [])
            if any(known.url == entry.url for known in entries):
                return False
            entries.append(entry)
        return True

    def merge(self, other: KnownSources) -> None:
        """Add every entry of ``other`` after this catalogue's own entries."""
        for entry in other.entries():
            self.add_model(
                entry.name, entry.url, entry.folder, entry.sha256, "sha256", entry.source
            )
        self.comfyui_roots |= other.comfyui_roots

    def entries(self) -> Iterator[KnownModel]:
        """Yield every entry in catalogue order."""
        with self._lock:
            snapshot = [entry for entries in self._entries.values() for entry in entries]
        yield from snapshot

    def lookup(self, request: SearchRequest) -> SearchResult | None:
        """Return a FOUND result when the request's URL or its exact file name is known.

        The request's own embedded URL comes first; otherwise an entry of the request's
        folder type is preferred. Every other distinct URL is kept as a candidate.
        """
        if request.embedded_url and _is_web_url(request.embedded_url):
            sha256 = request.embedded_hash
            if sha256 and not _is_sha256(sha256, request.embedded_hash_type):
                sha256 = None
            return result_for(
                request,
                Status.FOUND,
                "workflow",
                download_url=request.embedded_url.strip(),
                sha256=sha256.lower() if sha256 else None,
                detail="The workflow names this URL for the file.",
            )
        with self._lock:
            entries = list(self._entries.get(request.file_name.casefold(), ()))
        if not entries:
            return None
        wanted = canonical_folder(request.folder)
        # The requested folder type first; then the user's own workflows before the
        # installed templates, and those before ComfyUI-Manager's list (stable otherwise).
        entries.sort(
            key=lambda entry: (0 if wanted and entry.folder == wanted else 1, _rank(entry.source))
        )
        chosen = entries[0]
        others = tuple(
            Candidate(entry.name, entry.url, entry.source, f"folder {entry.folder or 'unknown'}")
            for entry in entries[1:]
        )
        return result_for(
            request,
            Status.FOUND,
            chosen.source,
            folder=chosen.folder,
            download_url=chosen.url,
            sha256=chosen.sha256,
            candidates=others,
            detail=f"Known source {chosen.source} names this exact file.",
        )

    @classmethod
    def from_comfyui(cls, comfyui_root: Path) -> KnownSources:
        """Read the catalogues installed with a ComfyUI: template packages in its Python
        environment and ComfyUI-Manager's ``model-list.json``. Unreadable files are skipped
        with a warning."""
        catalogue = cls()
        catalogue.comfyui_roots.add(comfyui_root.resolve())
        for package in _template_packages(comfyui_root):
            for path in sorted(package.rglob("*.json")):
                catalogue.add_workflow_file(path, f"{TEMPLATE_SOURCE_PREFIX}{package.name}")
        for model_list in _manager_model_lists(comfyui_root):
            catalogue.add_model_list(model_list)
        return catalogue

    def add_workflow_file(self, path: Path, source: str) -> int:
        """Add every ``models`` entry found anywhere in a workflow JSON file.

        Returns:
            How many entries were added (0 for an unreadable or foreign file).
        """
        document = _read_json(path)
        added = 0
        for item in _models_entries(document):
            added += self.add_model(
                str(item.get("name") or ""),
                item.get("url"),
                _text(item.get("directory")),
                _text(item.get("hash")),
                _text(item.get("hash_type")),
                source,
            )
        return added

    def add_model_list(self, path: Path, source: str = MANAGER_SOURCE) -> int:
        """Add the entries of a ComfyUI-Manager ``model-list.json``.

        ``save_path`` gives the folder (its first part); ``default`` means by model type.

        Returns:
            How many entries were added.
        """
        document = _read_json(path)
        models = document.get("models") if isinstance(document, dict) else None
        added = 0
        for item in models if isinstance(models, list) else ():
            if not isinstance(item, dict):
                continue
            save_path = _text(item.get("save_path")) or "default"
            if save_path == "default":
                folder = _MANAGER_TYPE_FOLDERS.get((_text(item.get("type")) or "").lower())
            else:
                folder = first_folder_segment(save_path)
            added += self.add_model(
                _text(item.get("filename")) or "", item.get("url"), folder, source=source
            )
        return added


def canonical_folder(folder: str | None) -> str | None:
    """Return ComfyUI's current name of a folder type (``clip`` -> ``text_encoders``)."""
    if not folder:
        return None
    return _LEGACY_FOLDERS.get(folder, folder)


def _rank(source: str) -> int:
    if source.startswith(TEMPLATE_SOURCE_PREFIX):
        return 1
    if source.startswith(MANAGER_SOURCE):
        return 2
    return 0


def _models_entries(document: Any) -> Iterator[dict[str, Any]]:
    # Iterative, because a workflow's nesting depth is chosen by whoever wrote it.
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "models" and isinstance(value, list):
                    yield from (item for item in value if isinstance(item, dict))
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _python_environments(comfyui_root: Path) -> list[Path]:
    return [
        comfyui_root / "venv",
        comfyui_root / ".venv",
        comfyui_root / "python_embeded",
        comfyui_root.parent / "python_embeded",
        comfyui_root.parent / "venv",
        comfyui_root.parent / ".venv",
    ]


def _site_packages(comfyui_root: Path) -> list[Path]:
    found: list[Path] = []
    for environment in _python_environments(comfyui_root):
        if not environment.is_dir():
            continue
        candidates = [environment / "Lib" / "site-packages"]
        candidates += sorted(environment.glob("lib/python3*/site-packages"))
        found += [path for path in candidates if path.is_dir()]
    return found


def _template_packages(comfyui_root: Path) -> list[Path]:
    packages: list[Path] = []
    for site_packages in _site_packages(comfyui_root):
        packages += sorted(
            path
            for path in site_packages.glob("comfyui_workflow_templates*")
            if path.is_dir() and not path.name.endswith((".dist-info", ".egg-info"))
        )
    return packages


def _manager_model_lists(comfyui_root: Path) -> list[Path]:
    lists: list[Path] = []
    custom_nodes = comfyui_root / "custom_nodes"
    if custom_nodes.is_dir():
        lists += sorted(
            folder / "model-list.json"
            for folder in custom_nodes.iterdir()
            if folder.name.lower() == "comfyui-manager" and (folder / "model-list.json").is_file()
        )
    for site_packages in _site_packages(comfyui_root):
        candidate = site_packages / "comfyui_manager" / "model-list.json"
        if candidate.is_file():
            lists.append(candidate)
    return lists


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > _MAX_CATALOGUE_FILE_BYTES:
            logger.warning("Skipping %s: too large to be a workflow or model list.", path)
            return None
        return orjson.loads(path.read_bytes())
    except OSError as error:
        logger.warning("Cannot read %s: %s", path, error)
    except orjson.JSONDecodeError:
        logger.warning("Skipping %s: not valid JSON.", path)
    return None


def _is_web_url(url: str) -> bool:
    return url.strip().lower().startswith(("https://", "http://"))


def _is_sha256(value: str, hash_type: str | None) -> bool:
    if hash_type and hash_type.lower().replace("-", "") != "sha256":
        return False
    return len(value) == 64 and all(char in "0123456789abcdefABCDEF" for char in value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
