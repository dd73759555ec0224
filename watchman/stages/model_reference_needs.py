"""The needs of one workflow's model references: which loader values ComfyUI would not
accept as written (missing, misplaced, misspelled, broken or nameless), and why. No I/O.

The need itself is :class:`watchman.stages.needs_model.ModelNeed`; the workflow's status
and the stage that assesses every workflow are :mod:`watchman.stages.needs`.

When a ComfyUI server answered, the file names its ``/object_info`` lists for a loader's
input are the truth: a value listed there is present, whatever the static inventory
knows (packs register folders of their own that no static table can know).

Spelling: ComfyUI refuses a loader value that is not exactly in the loader's file list
(``Value not in list``, ``validate_inputs`` in its execution.py), and that list spells each
file as ``os.path.relpath`` does on the OS ComfyUI runs on. A value that matches an
installed file only after folding case or separators (``SDXL\\x.safetensors`` on Linux,
``STYLE.SAFETENSORS`` for ``style.safetensors``) is therefore *misspelled*: the need names
the exact installed name to pick. Values of unknown inputs, which ComfyUI checks against
no list, keep the lenient match.

Embeddings named in prompt text (``embedding:name``; judged in
:mod:`watchman.stages.embedding_needs`) follow ComfyUI's tokenizer
(``load_embed`` in ``comfy/sd1_clip.py``): under every embeddings directory and each of its
subdirectories, the name as written, then with ``.safetensors``, ``.pt`` or ``.bin`` added
(:func:`watchman.comfy.model_key.embedding_targets`). A file it finds that way is present,
whatever subfolder holds it; the disk decides letter case, so one that matches only in
another case is misspelled, except on Windows, whose disks ignore case. ComfyUI skips an
embedding it cannot find with a warning and renders anyway, so a wrong "present" here
would be a ``ready`` workflow rendering something else. A token followed by no word
(``a cat, embedding:``, ``(embedding:)``) makes ComfyUI's tokenizer raise
(``_try_get_embedding`` takes the first word of nothing): the prompt cannot be encoded,
so the need is ``nameless`` and the workflow is not ready; so is a token of commas
alone (``embedding:,``), which ComfyUI skips with a warning, unless a file of that very
name exists.

Nodes that look a file up themselves (``lookup == "by_name"``: ``<lora:...>`` tags, rgthree
Power Lora Loader entries, LoRA Manager lists) follow their own rule instead
(:func:`watchman.comfy.model_key.found_by_name`): a file they find by its name, with or
without extension, in any subfolder of the folder, is present, neither misplaced nor
misspelled. One they would miss but that matches in another letter case is misspelled.

Loaders whose values name a model folder (``lookup == "folder"``: Florence2's
``models/LLM/<name>``, diffusers) follow :mod:`watchman.stages.folder_needs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from watchman.comfy.folders import FOLDER_TYPES
from watchman.comfy.loader_lookup import loader_spec
from watchman.comfy.model_key import (
    ModelKey,
    by_name_file_names,
    fold_case,
    found_by_name,
    is_exact_spelling,
    listed_name,
)
from watchman.comfy.workflow_model import ModelReference
from watchman.stages.embedding_needs import BrokenLookup, embedding_need
from watchman.stages.folder_needs import folder_need
from watchman.stages.inventory.models import ModelFile
from watchman.stages.needs_lookups import InventoryView
from watchman.stages.needs_model import ModelNeed

# (node type, input name) -> the file names the live server offers, or None.
ChoicesLookup = Callable[[str, str], "tuple[str, ...] | None"]


def _checked_against_list(reference: ModelReference) -> bool:
    """Whether ComfyUI checks this value against the loader's exact file list: any value
    of a known folder, except embeddings named in prompt text (ComfyUI looks those up by
    path, not through a list)."""
    if reference.folder is None:
        return False
    if reference.folder == "embeddings":
        spec = loader_spec(reference.node_type)
        return spec is not None and reference.input in spec.model_inputs
    return True


def named_in_prompt(reference: ModelReference) -> bool:
    """Whether ``reference`` is an ``embedding:name`` token of prompt text, which ComfyUI's
    tokenizer looks up by path (see the module's docstring), not a loader's value."""
    return reference.folder == "embeddings" and not _checked_against_list(reference)


def _server_answer(
    reference: ModelReference, key: ModelKey, choices: ChoicesLookup | None
) -> ModelNeed | Literal["listed"] | None:
    """What the live server's list says: ``listed`` when it offers the value as written,
    a misspelled need when it offers it only in another spelling, None when it does not
    know the input or the file (the static inventory decides)."""
    if choices is None or reference.input is None:
        return None
    offered = choices(reference.node_type, reference.input)
    if not offered:
        return None
    if reference.value in offered:
        return "listed"
    for choice in offered:
        if ModelKey.of(key.folder, choice).path == key.path:
            if _checked_against_list(reference):
                return ModelNeed(reference, key, "misspelled", (), pick=choice)
            return "listed"
    return None


def _spelling_need(
    reference: ModelReference, key: ModelKey, hits: tuple[ModelFile, ...], separator: str
) -> ModelNeed | None:
    """A misspelled need when ComfyUI would refuse the value for the installed file(s)
    ``hits``, else None."""
    if not hits or not _checked_against_list(reference):
        return None
    if any(is_exact_spelling(reference.value, hit.relative_path, separator) for hit in hits):
        return None
    same_path = [hit for hit in hits if fold_case(hit.relative_path) == key.path]
    if not same_path:
        return None  # found through an extension the loader adds itself
    return ModelNeed(
        reference,
        key,
        "misspelled",
        tuple(same_path),
        pick=listed_name(same_path[0].relative_path, separator),
    )


def _by_name_need(
    reference: ModelReference, key: ModelKey, inventory: InventoryView, broken: BrokenLookup | None
) -> ModelNeed | None:
    """The need of a reference whose node looks the file up by name itself: None when it
    finds a sound file, broken when the file it finds is broken, misspelled when it would
    find one only in another letter case, else what the inventory says (misplaced in
    another folder, or missing)."""
    folder = key.folder or ""
    separator = inventory.separator
    files = _by_name_candidates(reference.value, folder, inventory)
    hits = tuple(f for f in files if found_by_name(reference.value, f.relative_path, separator))
    if hits:
        problem = None if broken is None else broken(hits[0])
        if problem is None:
            return None
        return ModelNeed(reference, key, "broken", hits[:1], problem=problem)
    folded = fold_case(reference.value)
    near = tuple(f for f in files if found_by_name(folded, fold_case(f.relative_path), separator))
    if near:
        return ModelNeed(
            reference, key, "misspelled", near, pick=listed_name(near[0].relative_path, separator)
        )
    presence = inventory.locate(key)
    if presence.state == "present":
        return None  # a file of another type kept under the folder's roots
    return ModelNeed(reference, key, presence.state, presence.locations)


def _by_name_candidates(value: str, folder: str, inventory: InventoryView) -> tuple[ModelFile, ...]:
    """The files of ``folder`` a by-name lookup of ``value`` may find, in any letter case
    (:func:`watchman.comfy.model_key.by_name_file_names`), in inventory order. Testing
    every file of the folder was references x files: hours for thousands of LoRA-tag
    workflows beside 100,000 models. A folder whose files may bear any extension is
    still tested whole."""
    kind = FOLDER_TYPES.get(folder)
    if kind is None or not kind.extensions or inventory.holds_fewer(folder, _INDEXED_FROM):
        return inventory.folder_files(folder)
    wanted = by_name_file_names(value, inventory.separator, kind.extensions)
    return tuple(model for model in inventory.named(folder, *wanted) if model.folder == folder)


_INDEXED_FROM = 64
"""Below this many files a folder is tested whole (the lookups would cost more)."""


def _broken_need(
    reference: ModelReference, key: ModelKey, inventory: InventoryView, broken: BrokenLookup
) -> ModelNeed | None:
    """A broken need when the file ComfyUI would load for ``key`` is broken, else None."""
    presence = inventory.locate(key)
    if presence.state != "present" or not presence.locations:
        return None
    problem = broken(presence.locations[0])
    if problem is None:
        return None
    return ModelNeed(reference, key, "broken", presence.locations[:1], problem=problem)


KeyMemo = dict[tuple["str | None", str], ModelKey]
"""The keys of (folder, value) pairs already seen in one needs stage: thousands of
workflows name the same models, and building a key normalises a path."""


def find_model_needs(
    references: Iterable[ModelReference],
    inventory: InventoryView,
    choices: ChoicesLookup | None = None,
    broken: BrokenLookup | None = None,
    keys: KeyMemo | None = None,
) -> tuple[ModelNeed, ...]:
    """Return the references whose file is missing, misplaced, misspelled or broken, in
    workflow order.

    ``choices`` is the live server's file list per loader input, when one answered;
    ``broken`` says why an installed file cannot be the model (None: no file is broken);
    ``keys`` remembers the keys built in this stage (None: none are remembered).
    """
    needs = []
    keys = {} if keys is None else keys
    for reference in references:
        pair = (reference.folder, reference.value)
        key = keys.get(pair)
        if key is None:
            key = keys[pair] = ModelKey.of(reference.folder, reference.value)
        if named_in_prompt(reference):
            need = embedding_need(reference, key, inventory, broken)
            if need is not None:
                needs.append(need)
            continue
        if reference.lookup == "by_name":
            need = _by_name_need(reference, key, inventory, broken)
            if need is not None:
                needs.append(need)
            continue
        answer = _server_answer(reference, key, choices)
        if answer is None and reference.lookup == "folder":
            need = folder_need(reference, key, inventory)  # a model folder, not a file
            if need is not None:
                needs.append(need)
            continue
        if answer == "listed":
            # The server lists whatever file bears the name, broken or not (and any
            # folder, empty or not).
            if reference.lookup == "folder":
                damaged = folder_need(reference, key, inventory)
                damaged = damaged if damaged is not None and damaged.state == "broken" else None
            else:
                damaged = (
                    None if broken is None else _broken_need(reference, key, inventory, broken)
                )
            if damaged is not None:
                needs.append(damaged)
            continue
        if isinstance(answer, ModelNeed):
            needs.append(answer)
            continue
        presence = inventory.locate(key)
        if presence.state == "present":
            misspelled = _spelling_need(reference, key, presence.locations, inventory.separator)
            if misspelled is not None:
                needs.append(misspelled)
            elif broken is not None:
                damaged = _broken_need(reference, key, inventory, broken)
                if damaged is not None:
                    needs.append(damaged)
            continue
        needs.append(ModelNeed(reference, key, presence.state, presence.locations))
    return tuple(needs)
