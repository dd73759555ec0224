"""The model inventory: every model file ComfyUI can see, and where a workflow's file is.

:class:`ModelInventory` is frozen data with indexes built once, so matching a workflow's
references costs one dictionary lookup each. It is built by walking the install's model
folders (:func:`~watchman.stages.inventory.model_scan.scan_models`), and writes itself as
``state/model_cache.json``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from watchman.comfy.folders import FOLDER_TYPES, canonical_folder
from watchman.comfy.model_key import ModelKey, fold_case
from watchman.stages.inventory.model_cache_bytes import BATCH, batch_bytes, cache_entry, indented
from watchman.stages.inventory.model_index import LookupIndex
from watchman.state.json_codec import dumps_json

CACHE_SCHEMA_VERSION = 1

PresenceState = Literal["present", "misplaced", "missing"]


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One installed model: its folder type, its path relative to the root it was found
    under (posix separators, case as on disk), that root, its size in bytes and mtime.
    For folder-type entries (``diffusers``) the size is the total of the files inside."""

    folder: str
    relative_path: str
    root: str
    size: int
    mtime: float

    @property
    def file_name(self) -> str:
        """The last component of ``relative_path``."""
        return self.relative_path.rsplit("/", 1)[-1]

    @property
    def full_path(self) -> Path:
        """The file's path on disk: ``root`` joined with ``relative_path``."""
        return Path(self.root, *self.relative_path.split("/"))


@dataclass(frozen=True)
class Presence:
    """Where a referenced model is. ``present``: in the expected folder, ``locations`` the
    matches in search order (the first is what ComfyUI loads). ``misplaced``: the same file
    name is elsewhere, ``locations`` says where. ``missing``: nowhere, no locations."""

    state: PresenceState
    locations: tuple[ModelFile, ...] = ()


@dataclass(frozen=True)
class ModelInventory:
    """The installed models of one ComfyUI install.

    ``roots`` maps each folder type to its directories in search order; ``files`` maps it to
    its files, ordered by root (search order) then relative path. Build with
    :func:`scan_models`.
    """

    roots: Mapping[str, tuple[str, ...]]
    files: Mapping[str, tuple[ModelFile, ...]]
    comfyui_root: str = ""
    # The separator in the file lists ComfyUI offers its loaders: that of the OS it runs on,
    # taken as this machine's since the inventory walks its disks.
    separator: str = field(default=os.sep, compare=False)
    # Lower-cased relative paths of the subfolders under each folder type's roots: some
    # loaders (e.g. Nunchaku's) take a model folder, not a file.
    directories: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    # The model folders of the folder types whose loaders list folders by name
    # (``FolderType.entry_folders``: Florence2's models/LLM/<name>, diffusers), each with
    # the total size of the files below it, in search order; see ``folder_entry``.
    folder_entries: Mapping[str, tuple[ModelFile, ...]] = field(default_factory=dict, compare=False)
    # The embeddings roots on a disk that ignores letter case (macOS and Windows volumes
    # usually do): ComfyUI's tokenizer opens an embedding by path there, so another case
    # finds it. Loader lists are exact strings on any disk.
    case_blind_roots: frozenset[str] = field(default=frozenset(), compare=False)
    # The lookup indexes: folded relative path, and folded file name. Each is the sorted
    # hashes of the folded texts beside the positions of their models in ``_all``: at
    # 100,000 mixed-case names, dicts of folded copies held ~25 MiB through the cycle,
    # these 4 MiB. A lookup folds its few candidates again to compare (see LookupIndex).
    _all: tuple[ModelFile, ...] = field(init=False, repr=False, compare=False)
    _by_path: LookupIndex = field(init=False, repr=False, compare=False)
    _by_name: LookupIndex = field(init=False, repr=False, compare=False)
    _root_sets: Mapping[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    # The model folders by folded relative path (few: downloaded repositories).
    _folders_by_path: Mapping[str, tuple[ModelFile, ...]] = field(
        init=False, repr=False, compare=False
    )
    # locate()'s answers by key: thousands of workflows name the same few thousand models,
    # and an inventory lives one cycle, so each distinct key is looked up once per cycle.
    _located: dict[tuple[str | None, str], Presence] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Freeze the mappings and build the lookup indexes once.
        object.__setattr__(self, "roots", MappingProxyType(dict(self.roots)))
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        every = tuple(model for folder_files in self.files.values() for model in folder_files)
        folded = [fold_case(model.relative_path) for model in every]
        object.__setattr__(self, "_all", every)
        object.__setattr__(self, "_by_path", LookupIndex.of([hash(key) for key in folded]))
        object.__setattr__(
            self, "_by_name", LookupIndex.of([hash(key.rpartition("/")[2]) for key in folded])
        )
        object.__setattr__(
            self, "_root_sets", {name: frozenset(paths) for name, paths in self.roots.items()}
        )
        object.__setattr__(self, "folder_entries", MappingProxyType(dict(self.folder_entries)))
        by_path: dict[str, list[ModelFile]] = {}
        for entries in self.folder_entries.values():
            for entry in entries:
                by_path.setdefault(fold_case(entry.relative_path), []).append(entry)
        object.__setattr__(
            self, "_folders_by_path", {key: tuple(found) for key, found in by_path.items()}
        )

    @property
    def count(self) -> int:
        """The number of installed model entries, all folders together."""
        return sum(len(folder_files) for folder_files in self.files.values())

    def roots_for(self, folder: str) -> tuple[str, ...]:
        """Return the directories of ``folder`` (legacy names mapped) in search order;
        the first is where ComfyUI-Manager would download to. Empty when unknown."""
        return self.roots.get(canonical_folder(folder), ())

    def locate(self, key: ModelKey) -> Presence:
        """Return where the model a workflow names is.

        Takes the reference's key (folder type, None when unknown, and normalised path;
        see :mod:`watchman.comfy.model_key`). Present: the folder has that relative path
        under any of its roots (a file another type listed there counts, e.g. a ``.gguf``
        found as ``unet_gguf`` under ``models/unet``); with no folder, any folder having it.
        Else misplaced when the same file name exists in another folder or subfolder, else
        missing. Embeddings may be named without extension, as prompts do. Never raises.
        """
        pair = (key.folder, key.path)  # a tuple hashes in C, a dataclass in Python
        known = self._located.get(pair)
        if known is None:
            known = self._located[pair] = self._locate(key)
        return known

    def _locate(self, key: ModelKey) -> Presence:
        path = key.path
        if not path:
            return Presence("missing")
        wanted = key.folder
        keys = _candidates(key)
        for candidate in keys:
            same_path = self._by_path.hits(self._all, candidate, _folded_path)
            if wanted is None:
                hits = same_path
            else:
                own_roots = self._root_sets.get(wanted, frozenset())
                hits = tuple(m for m in same_path if m.folder == wanted or m.root in own_roots)
            if hits:
                return Presence("present", hits)
        if wanted is None:
            if any(path in folders for folders in self.directories.values()):
                return Presence("present")
        elif path in self.directories.get(wanted, frozenset()):
            return Presence("present")  # a model that is a folder
        for candidate in keys:
            same_name = self._by_name.hits(self._all, candidate.rsplit("/", 1)[-1], _folded_name)
            if same_name:
                return Presence("misplaced", same_name)
        return Presence("missing")

    def folder_files(self, folder: str) -> tuple[ModelFile, ...]:
        """Return every file of ``folder`` (empty when unknown), in inventory order."""
        return self.files.get(folder, ())

    def holds_fewer(self, folder: str, count: int) -> bool:
        """Return whether ``folder`` holds fewer than ``count`` files."""
        return len(self.files.get(folder, ())) < count

    def model_folders(self, path: str, folder: str | None = None) -> tuple[ModelFile, ...]:
        """Return the model folders (``folder_entries``) whose relative path folds to
        ``path`` (a normalised, case-folded key path), of ``folder`` only when given, in
        search order. Never raises."""
        found = self._folders_by_path.get(path, ())
        return found if folder is None else tuple(e for e in found if e.folder == folder)

    def named(self, folder: str, *file_names: str) -> tuple[ModelFile, ...]:
        """Return the files of ``folder`` (or kept under its roots by another type) whose
        file name is one of ``file_names`` in any letter case, in any subfolder; in
        inventory order, each once. Never raises."""
        own_roots = self._root_sets.get(folder, frozenset())
        positions = sorted(
            {
                position
                for name in file_names
                for position in self._by_name.where(self._all, fold_case(name), _folded_name)
            }
        )
        return tuple(
            model
            for model in (self._all[position] for position in positions)
            if model.folder == folder or model.root in own_roots
        )

    def roots_digest(self) -> str:
        """Return a digest of the ComfyUI root and every folder type's roots: with the
        directory listings unchanged, an equal digest means an equal cache document."""
        text = repr((self.comfyui_root, sorted(self.roots.items())))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def cache_chunks(self) -> Iterator[bytes]:
        """Yield ``state/model_cache.json`` in pieces: the bytes of
        ``dumps_json(self.to_cache_document())`` (a file name that is not UTF-8 is escaped
        in its own entry only), without the 100,000 dicts of the whole document at once.
        """
        head = {"comfyui_root": self.comfyui_root}
        yield dumps_json(head)[:-3] + b",\n"  # without the closing "\n}\n"
        folders = sorted(self.files)
        if not folders:
            yield b'  "folders": {},\n'
        else:
            yield b'  "folders": {\n'
            for position, name in enumerate(folders):
                key = indented(dumps_json(name).rstrip(b"\n"), 4)
                models = self.files[name]
                if not models:
                    yield b"    " + key + b": []"
                else:
                    yield b"    " + key + b": [\n"
                    for start in range(0, len(models), BATCH):
                        batch = models[start : start + BATCH]
                        yield batch_bytes(batch) + (
                            b",\n" if start + BATCH < len(models) else b"\n"
                        )
                    yield b"    ]"
                yield b"\n" if position == len(folders) - 1 else b",\n"
            yield b"  },\n"
        tail = {
            "roots": {name: list(self.roots[name]) for name in sorted(self.roots)},
            "schema_version": CACHE_SCHEMA_VERSION,
        }
        yield dumps_json(tail)[2:]  # without the opening "{\n"

    def to_cache_document(self) -> dict[str, Any]:
        """Return the ``state/model_cache.json`` document: schema version, ComfyUI root,
        roots and files grouped by folder type, folders sorted by name. An unchanged tree
        gives an equal document, hence identical bytes when serialised the same way."""
        return {
            "schema_version": CACHE_SCHEMA_VERSION,
            "comfyui_root": self.comfyui_root,
            "roots": {name: list(self.roots[name]) for name in sorted(self.roots)},
            "folders": {
                name: [cache_entry(model) for model in self.files[name]]
                for name in sorted(self.files)
            },
        }


def _candidates(key: ModelKey) -> list[str]:
    # The name as written first, then with the extensions the loader adds itself.
    known = None if key.folder is None else FOLDER_TYPES.get(key.folder)
    return [key.path] + [
        key.path + extension for extension in (known.implied_extensions if known else ())
    ]


def located_names(key: ModelKey) -> tuple[str, ...]:
    """The case-folded file names whose files alone decide what
    :meth:`ModelInventory.locate` answers for ``key`` (with the subfolders and roots): a
    file bearing none of them, nor one of them followed by a dot and more, can never be
    among its answers, present or misplaced. Nearly always one name: that of the key's
    path, which the extensions the loader adds itself follow. Empty for an empty path."""
    if not key.path:
        return ()
    base = fold_case(key.path.rpartition("/")[2])
    known = None if key.folder is None else FOLDER_TYPES.get(key.folder)
    if known is None or known.name in _DOTTED_IMPLIED:
        return (base,)
    return tuple(sorted({fold_case(name.rpartition("/")[2]) for name in _candidates(key)}))


_DOTTED_IMPLIED = frozenset(
    kind.name
    for kind in FOLDER_TYPES.values()
    if all(ext.startswith(".") and "/" not in ext for ext in kind.implied_extensions)
)
"""The folder types whose implied extensions each begin with a dot (all, today): a name
with one of them added begins with the name and a dot."""


def _folded_path(model: ModelFile) -> str:
    return fold_case(model.relative_path)


def _folded_name(model: ModelFile) -> str:
    return fold_case(model.relative_path).rpartition("/")[2]
