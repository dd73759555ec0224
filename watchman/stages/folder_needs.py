"""The needs of loader values that name a model folder, not a file.

Some loaders list the sub-folders of a models directory and take a folder's name as their
value (``ModelReference.lookup == "folder"``): kijai's Florence2ModelLoader lists the
folders of ``models/LLM``, ELLA's T5 loader the folders under ``models/ella_encoder``
holding a ``config.json``, ACE-Step's loader the folders of
``models/TTS/ACE-Step-v1-3.5B``, ComfyUI's DiffusersLoader the folders holding a
``model_index.json``. ComfyUI checks the value against that list exactly, as it does a
file name, so the rules are a file's: the folder as listed is present; one listed only in
another spelling is misspelled (the need names the listed one); one of that name that is a
model folder of another type is misplaced; else missing. A listed folder that holds no
data at all (no file, or only empty ones) is listed, but the loader cannot load it: it is
broken.

The inventory records the model folders of the folder types that say how their loaders
list folders (``FolderType.entry_folders``). For a folder type it does not (a pack listing
the sub-folders of ``models/checkpoints``), any sub-folder of that name is present: the
inventory keeps only their lower-cased paths, so neither spelling nor emptiness can be
judged there.
"""

from __future__ import annotations

from watchman.comfy.folders import FOLDER_TYPES
from watchman.comfy.model_key import ModelKey, is_exact_spelling, listed_name
from watchman.comfy.workflow_model import ModelReference
from watchman.stages.needs_lookups import InventoryView
from watchman.stages.needs_model import ModelNeed

EMPTY_FOLDER = (
    "the folder holds no data (no file, or only empty ones): the loader lists it but "
    "cannot load a model from it; fill it or remove it and get the model again"
)
"""The problem of a listed model folder that is empty."""


def folder_need(
    reference: ModelReference, key: ModelKey, inventory: InventoryView
) -> ModelNeed | None:
    """Return the need of a reference whose value names a model folder, or None when the
    loader lists it as written and it holds data.

    Takes the reference (``lookup == "folder"``), its key and the inventory. Never raises.
    """
    folder = key.folder
    if not key.path or folder is None:
        return ModelNeed(reference, key, "missing", ())
    kind = FOLDER_TYPES.get(folder)
    if kind is None or kind.entry_folders is None:
        # Model folders not recorded for this type: any sub-folder of the name counts.
        if key.path in inventory.directories.get(folder, frozenset()):
            return None
        return _elsewhere(reference, key, inventory)
    listed = inventory.model_folders(key.path, folder)
    if not listed:
        return _elsewhere(reference, key, inventory)
    separator = inventory.separator
    exact = [e for e in listed if is_exact_spelling(reference.value, e.relative_path, separator)]
    if not exact:
        pick = listed_name(listed[0].relative_path, separator)
        return ModelNeed(reference, key, "misspelled", listed, pick=pick)
    if exact[0].size <= 0:
        # The first listed is the one the loader takes (its roots in search order).
        return ModelNeed(reference, key, "broken", (exact[0],), problem=EMPTY_FOLDER)
    return None


def _elsewhere(reference: ModelReference, key: ModelKey, inventory: InventoryView) -> ModelNeed:
    """Misplaced when a model folder of that path is recorded under another folder type,
    else missing."""
    others = tuple(e for e in inventory.model_folders(key.path) if e.folder != key.folder)
    if others:
        return ModelNeed(reference, key, "misplaced", others)
    return ModelNeed(reference, key, "missing", ())
