"""The scan of a ComfyUI install's model folders into a
:class:`~watchman.stages.inventory.models.ModelInventory`.

:func:`scan_models` walks each folder type's directories in ComfyUI's search order
(``is_default`` extra paths, the default directories, the other extra paths), once per
physical directory even when several folder types share it (``unet_gguf`` and
``diffusion_models``). It follows symbolic links to files and folders, as ComfyUI's
``os.walk(followlinks=True)`` does, but never enters a folder that is already on the
current path, so a link loop ends.

Folder types scanned: every type of :data:`watchman.comfy.folders.FOLDER_TYPES` that holds
models, plus pack folders: each sub-folder of ``models/`` that no known type uses
(``models/ipadapter``, ...) and each unknown key of an extra_model_paths file. Custom node
packs register such folders with the model extensions, so
:data:`~watchman.comfy.folders.MODEL_EXTENSIONS` files count there.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from watchman.comfy.extra_model_paths import (
    ExtraModelPaths,
    InstallExtraPaths,
    read_install_extra_paths,
    search_order,
)
from watchman.comfy.folders import (
    FOLDER_TYPES,
    LEGACY_ALIASES,
    NON_MODEL_FOLDERS,
    FolderType,
    canonical_folder,
    pack_folder_type,
)
from watchman.stages.inventory.listing import TreeListing
from watchman.stages.inventory.model_walk import RootListing, walk_root
from watchman.stages.inventory.models import ModelFile, ModelInventory

logger = logging.getLogger(__name__)


def _scanned_folder_types(comfyui_root: Path, extra: ExtraModelPaths) -> list[FolderType]:
    kinds = [kind for kind in FOLDER_TYPES.values() if kind.holds_models]
    known_dirs = {d for kind in FOLDER_TYPES.values() for d in kind.default_dirs}
    taken = set(FOLDER_TYPES) | set(LEGACY_ALIASES) | NON_MODEL_FOLDERS
    try:
        with os.scandir(comfyui_root / "models") as entries:
            pack_dirs = sorted(
                entry.name
                for entry in entries
                if entry.is_dir() and f"models/{entry.name}" not in known_dirs
            )
    except OSError as error:
        logger.warning("Cannot list %s: %s", comfyui_root / "models", error)
        pack_dirs = []
    for name in pack_dirs:
        if canonical_folder(name) not in taken:
            taken.add(canonical_folder(name))
            kinds.append(pack_folder_type(name, f"models/{name}"))
    for name in extra.folders():
        if name not in taken:
            taken.add(name)
            kinds.append(pack_folder_type(name, f"models/{name}"))
    return kinds


def _folder_roots(
    kinds: Sequence[FolderType], comfyui_root: Path, extra: ExtraModelPaths
) -> dict[str, tuple[str, ...]]:
    roots: dict[str, tuple[str, ...]] = {}
    extra_by_folder = extra.by_folder()
    # Types that share another's directories come after it in the table, so it is ready.
    for kind in kinds:
        if kind.shares_dirs_with:
            base = [Path(path) for other in kind.shares_dirs_with for path in roots[other]]
        else:
            base = [Path(os.path.normpath(comfyui_root / d)) for d in kind.default_dirs]
        ordered = search_order(list(dict.fromkeys(base)), extra_by_folder.get(kind.name, ()))
        roots[kind.name] = tuple(str(path) for path in ordered)
    return roots


def disk_ignores_case(directory: str) -> bool:
    """Return whether the disk holding ``directory`` ignores letter case: the same name in
    swapped case is the same directory. False when the name has no letters or either
    cannot be looked at (then case counts, the careful answer)."""
    path = Path(directory)
    swapped = path.name.swapcase()
    if swapped == path.name:
        return False
    try:
        return os.path.samefile(path.parent / swapped, path)
    except OSError:
        return False


def scan_models(
    comfyui_root: Path,
    extra_yaml_files: Sequence[Path] = (),
    *,
    environ: Mapping[str, str],
    home_dir: Path,
    tree: TreeListing | None = None,
    extra_paths: InstallExtraPaths | None = None,
) -> ModelInventory:
    """Walk the model folders of the ComfyUI install at ``comfyui_root``.

    Takes the install's root and extra_model_paths files to read after the
    ``extra_model_paths.yaml`` next to ``main.py`` (read when present); ``environ`` and
    ``home_dir`` expand their ``$VARIABLES`` and ``~`` (the process's, from ``main()``). Missing
    directories are skipped; unreadable ones are logged and skipped. ``tree`` holds the
    previous cycle's directory listings to reuse (see
    :mod:`watchman.stages.inventory.listing`); without it every directory is listed.
    ``extra_paths``: those files as the cycle read them already (then
    ``extra_yaml_files`` is not read again).

    Raises:
        ConfigError: an extra_model_paths file is malformed or cannot be read.
    """
    if extra_paths is None:
        extra_paths = read_install_extra_paths(comfyui_root, extra_yaml_files, environ, home_dir)
    extra = extra_paths.entries()
    # ComfyUI's own models/ is in its base directory (--base-directory), by default the root.
    comfyui_root = Path(os.path.abspath(extra_paths.data_root))
    kinds = _scanned_folder_types(comfyui_root, extra)
    roots = _folder_roots(kinds, comfyui_root, extra)

    users: dict[str, list[FolderType]] = {}
    for kind in kinds:
        for root in roots[kind.name]:
            users.setdefault(root, []).append(kind)
    tree = tree if tree is not None else TreeListing()
    listings: dict[str, RootListing] = {}
    for root, kinds_here in users.items():
        accept_any = any(not k.extensions and not k.holds_folders for k in kinds_here)
        extensions = frozenset().union(*(k.extensions for k in kinds_here))
        ways = frozenset(k.entry_folders for k in kinds_here if k.entry_folders is not None)
        listings[root] = walk_root(root, None if accept_any else extensions, ways, tree)

    files: dict[str, tuple[ModelFile, ...]] = {}
    folder_entries: dict[str, tuple[ModelFile, ...]] = {}
    for kind in kinds:
        if kind.entry_folders is not None:
            entries: list[ModelFile] = []
            for root in roots[kind.name]:
                folders = listings[root].model_folders.get(kind.entry_folders, {})
                for path in sorted(folders):
                    size, mtime = folders[path]
                    entries.append(ModelFile(kind.name, path, root, size, mtime))
            folder_entries[kind.name] = tuple(entries)
        if kind.holds_folders:
            files[kind.name] = folder_entries.get(kind.name, ())
            continue
        found: list[ModelFile] = []
        name = kind.name
        for root in roots[name]:
            listing = listings[root]
            paths, sizes, mtimes = listing.paths, listing.sizes, listing.mtimes_ns
            # The mtime as directory_listing.seconds() gives it (divmod), inline.
            found.extend(
                [
                    ModelFile(
                        name,
                        paths[at],
                        root,
                        sizes[at],
                        mtimes[at] // 1_000_000_000 + mtimes[at] % 1_000_000_000 * 1e-9,
                    )
                    for at in listing.positions(kind.extensions)
                ]
            )
        files[name] = tuple(found)
    directories = {
        kind.name: frozenset().union(*(listings[root].subfolders for root in roots[kind.name]))
        for kind in kinds
    }
    inventory = ModelInventory(
        roots=roots,
        files=files,
        comfyui_root=str(comfyui_root),
        directories=directories,
        folder_entries=folder_entries,
        case_blind_roots=frozenset(
            root for root in roots.get("embeddings", ()) if disk_ignores_case(root)
        ),
    )
    logger.info("Model inventory: %d entries in %d folder types", inventory.count, len(files))
    return inventory
