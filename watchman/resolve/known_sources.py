"""Known sources: the offline catalogue consulted before any remote backend.

Exact file name -> where to get it, learned from URLs embedded in workflows (the user's own
and the official ``comfyui_workflow_templates*`` packages installed beside ComfyUI) and from
an installed ComfyUI-Manager's ``model-list.json``. Files are only read as JSON, never run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from watchman.comfy.folders import folder_type, is_model_file_name
from watchman.errors import FileTooLargeError
from watchman.regular_files import read_regular
from watchman.resolve.choose import Offer, Tie, choose
from watchman.resolve.evidence import (
    FolderClaim,
    contradiction,
    directory_claim,
    manager_claim,
)
from watchman.resolve.model import (
    Candidate,
    SearchRequest,
    SearchResult,
    Status,
    as_sha256,
    result_for,
)
from watchman.resolve.names import ascii_lower, is_web_url, name_match

logger = logging.getLogger(__name__)

TEMPLATE_SOURCE_PREFIX = "template:"
MANAGER_SOURCE = "comfyui-manager model-list.json"
_MAX_CATALOGUE_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class KnownModel:
    """One catalogue entry: a file name, where it is published, and where the catalogue
    says it belongs (folder and, for ComfyUI-Manager, the subfolder of ``save_path``)."""

    name: str
    url: str
    claim: FolderClaim
    sha256: str | None
    source: str

    @property
    def folder(self) -> str | None:
        """The folder type the entry names, or None."""
        return self.claim.folder


class KnownSources:
    """The offline catalogue: entries keyed by (folder, subfolder, file name) through their
    folder claims, looked up by the rules of ``choose``. Safe to read from several
    threads once built."""

    def __init__(self) -> None:
        self._entries: dict[str, list[KnownModel]] = {}
        # What makes an entry a repeat, in a set: a scan of the entries of its name made a
        # stranger's workflow of 6,000 same-named entries cost 6 s to catalogue.
        self._identities: set[tuple[str, FolderClaim, str]] = set()
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

        ``directory`` is the entry's folder type (a subfolder may follow: ``loras/flux``).

        Returns:
            True when added; False for an entry without a name or an http(s) URL, or a
            repeat of a known entry.
        """
        origin = "the template" if source.startswith(TEMPLATE_SOURCE_PREFIX) else "a workflow"
        return self._add(name, url, directory_claim(directory, origin), hash, hash_type, source)

    def _add(
        self,
        name: str,
        url: Any,
        claim: FolderClaim,
        hash: str | None,
        hash_type: str | None,
        source: str,
    ) -> bool:
        if not isinstance(name, str) or not isinstance(url, str) or not is_web_url(url):
            return False
        parts = name.replace("\\", "/").split("/")
        # A name with "..", "." or empty parts is not a file of a folder; never stripped
        # down to its last part, which would make it match a name it is not.
        if any(part in ("", ".", "..") for part in parts):
            return False
        file_name = parts[-1]
        if len(parts) > 1:
            if source.startswith(MANAGER_SOURCE):
                return False  # the Manager's filename is a file name, never a path
            # A workflow entry named "flux/x.safetensors" says its subfolder too.
            if claim.subfolder is None and claim.folders:
                claim = replace(claim, subfolder="/".join(parts[:-1]))
        entry = KnownModel(file_name, url.strip(), claim, as_sha256(hash, hash_type), source)
        key = ascii_lower(file_name)
        identity = (entry.url, entry.claim, entry.name)
        with self._lock:
            if identity in self._identities:
                return False
            self._identities.add(identity)
            self._entries.setdefault(key, []).append(entry)
        return True

    def merge(self, other: KnownSources) -> None:
        """Add every entry of ``other`` after this catalogue's own entries."""
        for entry in other.entries():
            self._add(entry.name, entry.url, entry.claim, entry.sha256, "sha256", entry.source)
        self.comfyui_roots |= other.comfyui_roots

    def entries(self) -> Iterator[KnownModel]:
        """Yield every entry in catalogue order."""
        with self._lock:
            snapshot = [entry for entries in self._entries.values() for entry in entries]
        yield from snapshot

    def lookup(self, request: SearchRequest) -> SearchResult | None:
        """Return what the catalogue knows of ``request``, or None when it has no entry of
        that file name.

        The workflow's own URL (embedded, or the value itself when it is a link) is FOUND
        at once: its author tied the name to that file. Otherwise the entries of this
        name are judged by ``choose``: FOUND when one file fits the loader's folder and
        the value's subfolder; UNCERTAIN (with every entry and why) when entries
        contradict the folder, or name different files.
        """
        own_url = request.source_url
        if own_url is not None:
            return result_for(
                request,
                Status.FOUND,
                "workflow",
                download_url=own_url,
                sha256=request.sha256,
                detail="The workflow names this URL for the file.",
            )
        with self._lock:
            entries = list(self._entries.get(ascii_lower(request.file_name), ()))
        if not entries:
            return self._with_implied_extension(request)
        # The user's own workflows, then the templates, then ComfyUI-Manager's list:
        # only the order candidates are shown in, never a tie-breaker between files.
        entries.sort(key=lambda entry: _rank(entry.source))
        offers = [
            Offer(
                name=entry.name,
                url=entry.url,
                source=entry.source,
                claim=entry.claim,
                sha256=entry.sha256,
                tied=Tie.CATALOGUE,
                note=f"folder {_where(entry.claim)}",
            )
            for entry in entries
        ]
        choice = choose(request, offers)
        found = choice.found
        detail = f"Known source {found.source} names this exact file." if found else ""
        return choice.result(request, found.source if found else "known sources", detail)

    def _with_implied_extension(self, request: SearchRequest) -> SearchResult | None:
        """An embedding named without extension (``embedding:easynegative``) is loaded by
        ComfyUI as the first of ``name + extension`` that exists. Entries of those names
        are candidates, never FOUND: the download would need another name than the
        workflow's, and which extension ComfyUI picks depends on what is on disk."""
        kind = folder_type(request.folder or "")
        name = request.file_name
        if kind is None or not kind.implied_extensions or is_model_file_name(name):
            return None
        candidates = []
        with self._lock:
            for extension in kind.implied_extensions:
                for entry in self._entries.get(ascii_lower(name + extension), ()):
                    if name_match(entry.name, name + extension) is None:
                        continue
                    if contradiction(entry.claim, request.folder, request.subfolder):
                        continue
                    candidates.append(
                        Candidate(
                            entry.name,
                            entry.url,
                            entry.source,
                            f"the workflow names it without extension; ComfyUI loads "
                            f"{name}{extension} (folder {_where(entry.claim)})",
                        )
                    )
        if not candidates:
            return None
        return result_for(
            request,
            Status.UNCERTAIN,
            "known sources",
            candidates=tuple(candidates),
            detail=f"{name} has no extension; known sources list {candidates[0].file_name}: "
            "save it under that name.",
        )

    @classmethod
    def from_comfyui(cls, comfyui_root: Path, base: Path | None = None) -> KnownSources:
        """Read the catalogues installed with a ComfyUI: template packages in its Python
        environment and ComfyUI-Manager's ``model-list.json`` (its ``custom_nodes`` in
        ``base``, the base directory it is started with, when given). Unreadable files are
        skipped with a warning."""
        catalogue = cls()
        catalogue.comfyui_roots.add(comfyui_root.resolve())
        for package in _template_packages(comfyui_root, base):
            for path in sorted(package.rglob("*.json")):
                catalogue.add_workflow_file(path, f"{TEMPLATE_SOURCE_PREFIX}{package.name}")
        for model_list in _manager_model_lists(comfyui_root, base):
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

        ``save_path`` gives the folder (its first part) and the subfolder (the rest);
        ``default`` means the folder of the model type.

        Returns:
            How many entries were added.
        """
        document = _read_json(path)
        models = document.get("models") if isinstance(document, dict) else None
        added = 0
        for item in models if isinstance(models, list) else ():
            if not isinstance(item, dict):
                continue
            claim = manager_claim(_text(item.get("type")), _text(item.get("save_path")))
            added += self._add(
                _text(item.get("filename")) or "", item.get("url"), claim, None, None, source
            )
        return added


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


def python_environments(comfyui_root: Path, base: Path | None = None) -> list[Path]:
    """The folders ComfyUI's Python environment may be in: beside or above its root, or
    in its base directory (the desktop app keeps its ``.venv`` there)."""
    found = [
        comfyui_root / "venv",
        comfyui_root / ".venv",
        comfyui_root / "python_embeded",
        comfyui_root.parent / "python_embeded",
        comfyui_root.parent / "venv",
        comfyui_root.parent / ".venv",
    ]
    if base is not None and base != comfyui_root:
        found += [base / "venv", base / ".venv"]
    return found


def _site_packages(comfyui_root: Path, base: Path | None = None) -> list[Path]:
    found: list[Path] = []
    for environment in python_environments(comfyui_root, base):
        if not environment.is_dir():
            continue
        candidates = [environment / "Lib" / "site-packages"]
        candidates += sorted(environment.glob("lib/python3*/site-packages"))
        found += [path for path in candidates if path.is_dir()]
    return found


def _template_packages(comfyui_root: Path, base: Path | None = None) -> list[Path]:
    packages: list[Path] = []
    for site_packages in _site_packages(comfyui_root, base):
        packages += sorted(
            path
            for path in site_packages.glob("comfyui_workflow_templates*")
            if path.is_dir() and not path.name.endswith((".dist-info", ".egg-info"))
        )
    return packages


def _manager_model_lists(comfyui_root: Path, base: Path | None = None) -> list[Path]:
    lists: list[Path] = []
    # The list is a catalogue, not an installed pack: one in the root's custom_nodes
    # (the desktop app ships ComfyUI-Manager there) counts beside the base's.
    for folder in dict.fromkeys(path for path in (base, comfyui_root) if path is not None):
        custom_nodes = folder / "custom_nodes"
        if custom_nodes.is_dir():
            lists += sorted(
                pack / "model-list.json"
                for pack in custom_nodes.iterdir()
                if pack.name.lower() == "comfyui-manager" and (pack / "model-list.json").is_file()
            )
    for site_packages in _site_packages(comfyui_root, base):
        candidate = site_packages / "comfyui_manager" / "model-list.json"
        if candidate.is_file():
            lists.append(candidate)
    return lists


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(read_regular(path, _MAX_CATALOGUE_FILE_BYTES))
    except FileTooLargeError:
        logger.warning("Skipping %s: too large to be a workflow or model list.", path)
    except OSError as error:
        logger.warning("Cannot read %s: %s.", path, error.strerror or error)
    except orjson.JSONDecodeError:
        logger.warning("Skipping %s: not valid JSON.", path)
    return None


def _where(claim: FolderClaim) -> str:
    folder = ", ".join(sorted(claim.folders)) or "unknown"
    return f"{folder}/{claim.subfolder}" if claim.subfolder else folder


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
