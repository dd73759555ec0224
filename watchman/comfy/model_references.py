"""Which of one node's values name model files, and the embedded metadata that goes with them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from watchman.comfy.folders import canonical_folder, folder_type, is_model_file_name
from watchman.comfy.input_inference import (
    generic_value_names_file,
    inferred_folder,
    names_file,
    table_value_names_file,
)
from watchman.comfy.loader_lookup import LoaderTable, loader_spec
from watchman.comfy.loaders import LoaderSpec
from watchman.comfy.model_key import ModelKey, NodeLookup
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.prompt_tokens import IDENTIFIER, read_embedding_tokens
from watchman.comfy.value_forms import (
    is_lora_list,
    location_of,
    lora_list_entries,
    lora_tag_names,
    power_lora_entry,
    reads_lora_tags,
)
from watchman.comfy.workflow_limits import MAX_MODEL_REFERENCES
from watchman.comfy.workflow_model import EmbeddedModel, ModelReference


def base_name_key(value: str) -> str:
    """Return the comparison key of a model value: the file name of its :class:`ModelKey`
    (separators, ``./`` and case by ModelKey's rules), blanks around it trimmed."""
    return ModelKey.of(None, value.strip()).file_name


class _EntriesByName:
    """Embedded entries indexed for :func:`attach_embedded`: per base name the first entry,
    and the first entry of each (canonical) directory. One lookup per reference, so a
    stranger's thousands of entries of one name in as many directories cost their number,
    not their number times the references (2,000 of each took 12 s)."""

    def __init__(self, models: Iterable[EmbeddedModel]) -> None:
        self.first: dict[str, EmbeddedModel] = {}
        self.in_folder: dict[tuple[str, str], EmbeddedModel] = {}
        for model in models:
            name = base_name_key(model.name)
            self.first.setdefault(name, model)
            if model.directory:
                self.in_folder.setdefault((name, canonical_folder(model.directory)), model)

    def best_match(self, reference: ModelReference) -> EmbeddedModel | None:
        """The entry of the reference's base name in the reference's folder, else the first
        of that name; None when no entry has the name."""
        name = base_name_key(reference.value)
        if reference.folder is not None:
            found = self.in_folder.get((name, reference.folder))
            if found is not None:
                return found
        return self.first.get(name)


def attach_embedded(
    references: Iterable[ModelReference],
    own_models: dict[str, tuple[EmbeddedModel, ...]],
    all_models: Sequence[EmbeddedModel],
) -> tuple[tuple[ModelReference, ...], tuple[str, ...]]:
    """Attach embedded metadata to each reference and check its directory.

    Takes the references, each node's own ``properties.models`` by node id, and every
    embedded entry of the workflow. A reference takes its own node's entry with the same
    base name first, else any entry of the workflow with that name. When the entry's
    directory contradicts the loader's folder, an error is recorded and the loader's
    folder is kept; when the loader's folder is unknown, the entry's directory is used.
    Returns the new references and the error strings.
    """
    attached: list[ModelReference] = []
    errors: list[str] = []
    # Indexed, so attaching is linear: a scan of every entry per reference was
    # references x entries (hours for a hostile file with many of both).
    everywhere = _EntriesByName(all_models)
    own_indexes: dict[str, _EntriesByName] = {}
    for reference in references:
        own = own_models.get(reference.node_id)
        match = None
        if own:
            if reference.node_id not in own_indexes:
                own_indexes[reference.node_id] = _EntriesByName(own)
            match = own_indexes[reference.node_id].best_match(reference)
        match = match or everywhere.best_match(reference)
        if match is None:
            attached.append(reference)
            continue
        folder = reference.folder
        if match.directory:
            directory = canonical_folder(match.directory)
            if folder is None:
                folder = directory
            elif directory != folder:
                errors.append(
                    f"Node {reference.node_id} ({reference.node_type}) reads "
                    f"{reference.value!r} from {folder!r} but the embedded model entry says "
                    f"directory {match.directory!r}; the loader's folder is used."
                )
        attached.append(replace(reference, folder=folder, embedded=match))
    return tuple(attached), tuple(errors) + location_findings(attached)


def _generic_rule_applies(spec: LoaderSpec | None, input_name: str | None) -> bool:
    """The generic rule covers unknown nodes, and positions of a table loader that its
    widget list does not name (a newer pack version); never a table node without files."""
    if spec is None:
        return True
    return bool(spec.model_inputs) and (input_name is None or input_name not in spec.widgets)


class _NodeReferences:
    """Collects one node's references, each (input, value) once."""

    def __init__(self, node_id: str, node_type: str, bypassed: bool, muted: bool) -> None:
        self.node_id = node_id
        self.node_type = node_type
        self.bypassed = bypassed
        self.muted = muted
        self.found: dict[tuple[str | None, str], ModelReference] = {}
        # The values found in "loras", so a tag or list entry is checked against them in
        # constant time (a scan of found made 20,000 tags in one text cost 8 s).
        self.lora_values: set[str] = set()

    def add(
        self,
        input_name: str | None,
        value: str,
        folder: str | None,
        *,
        inferred: bool = False,
        written_as: str | None = None,
        url: str | None = None,
        lookup: NodeLookup = "list",
    ) -> None:
        key = (input_name, value)
        if key in self.found:
            return
        embedded = None
        if url is not None:
            embedded = EmbeddedModel(
                name=value, url=url, directory=folder, hash=None, hash_type=None
            )
        self.found[key] = ModelReference(
            node_id=self.node_id,
            node_type=self.node_type,
            input=input_name,
            value=value,
            folder=folder,
            bypassed=self.bypassed,
            muted=self.muted,
            embedded=embedded,
            inferred=inferred,
            written_as=written_as,
            lookup=lookup,
        )
        if folder == "loras":
            self.lora_values.add(value)

    @property
    def full(self) -> bool:
        """Past ``MAX_MODEL_REFERENCES``: the workflow is refused whatever else the node
        names, so its remaining entries are not read (a list of a million LoRA entries
        took 9 s to turn into references only to be refused)."""
        return len(self.found) > MAX_MODEL_REFERENCES

    def add_lora(self, input_name: str | None, name: str, written_as: str | None) -> None:
        # A LoRA named by a tag or a list entry: one reference per name for the node, which
        # looks the file up by name itself (no ComfyUI list checks it).
        if name in self.lora_values:
            return
        self.add(input_name, name, "loras", written_as=written_as, lookup="by_name")


_NAME_END = re.compile(r"\.\w{1,16}[\s/\\]*$")
"""Finds at least every string whose file name the generic rule or input inference can
take: an extension at its end, then at most blanks and separators. Word characters, not
ASCII letters: the Kelvin sign lower-cases into a ``k``, and ``.ckpt`` has one."""


def could_name_models(node_type: str, raw_values: object, table: LoaderTable | None = None) -> bool:
    """Return False when :func:`references_for_node` surely finds nothing in these values.

    Takes the node type, its raw widget values (a list, or a dict of named values) and the
    loader table. Every rule of ``references_for_node`` needs a mark in a value before it
    can find a file there (a table loader's inputs aside, which are always looked at): an
    extension at its end (before trailing blanks or separators) or a URL, ``embedding:``,
    a ``<lora:`` tag on a node that reads tags, a Power Lora entry (a dict) or a LoRA list.
    False when no value has one: most nodes of a workflow (samplers, prompts, image
    nodes), answered without naming their values. True means "look": it may still find
    nothing. Never raises.
    """
    spec = loader_spec(node_type, table)
    if spec is not None and spec.model_inputs:
        return True
    generic = spec is None  # the generic rule and input-name inference read any string
    tags = reads_lora_tags(node_type)
    values: Iterable[object]
    if isinstance(raw_values, dict):
        values = raw_values.values()
    elif isinstance(raw_values, list):
        values = raw_values
    else:
        return False  # no values: named_widget_values gives none either
    for value in values:
        if isinstance(value, str):
            if (
                (generic and ("://" in value or _NAME_END.search(value)))
                or (tags and "<" in value)
                or IDENTIFIER in value  # read_embedding_tokens needs it, in this case
            ):
                return True
        elif isinstance(value, dict) or (tags and isinstance(value, list)):
            return True
    return False


def references_for_node(
    node_id: str,
    node_type: str,
    values: Sequence[tuple[str | None, object]],
    bypassed: bool,
    muted: bool,
    table: LoaderTable | None = None,
) -> tuple[ModelReference, ...]:
    """Return the model references among one node's input values.

    Takes the node's id and type, its values as (input name or None, value) pairs (a
    value may be a dict or a list: Power Lora Loader and LoRA Manager entries), its
    state, and the loader table (default: hand-written and bundled). Known loader inputs
    get the table's folder; on a node no table knows, an input name that ComfyUI's own
    loaders tie to a folder (``ckpt_name``, ``lora_name``, ...) gives that folder, marked
    ``inferred``; else a one-line string with a model extension is a reference of unknown
    folder. A URL or absolute path counts by its file name (the URL kept as embedded
    metadata). ``<lora:...>`` tags count on nodes that read them; ``embedding:name``
    tokens in any string give ``embeddings`` references (one of empty value, written as
    ``embedding:``, for tokens naming nothing). Frontend-only nodes give nothing.
    """
    if is_frontend_only(node_type):
        return ()
    spec = loader_spec(node_type, table)
    node = _NodeReferences(node_id, node_type, bypassed, muted)
    tags = reads_lora_tags(node_type)
    has_lora_list = tags and any(is_lora_list(value) for _, value in values)
    for input_name, value in values:
        if isinstance(value, dict):
            lora = power_lora_entry(value)
            if lora is not None:
                node.add_lora(input_name, lora, None)
            continue
        if isinstance(value, list):
            if tags:
                for name in lora_list_entries(value):
                    node.add_lora(input_name, name, None)
                    if node.full:
                        break
            continue
        if not isinstance(value, str):
            continue
        _string_value(node, spec, input_name, value)
        if tags and not has_lora_list:
            # LoRA Manager applies its list, not the text that mirrors it.
            for name in lora_tag_names(value):
                node.add_lora(input_name, name, f"<lora:{name}>")
                if node.full:
                    break
        for token in read_embedding_tokens(value):
            # The name as ComfyUI tries it first; the needs try its retry themselves. A
            # token naming nothing is a reference of no name (ComfyUI fails on it).
            written_as = IDENTIFIER if token.names_nothing else None
            node.add(input_name, token.name, "embeddings", written_as=written_as)
    return tuple(node.found.values())


def _string_value(
    node: _NodeReferences, spec: LoaderSpec | None, input_name: str | None, value: str
) -> None:
    location = location_of(value)
    name = location.file_name if location is not None else value
    written_as = value if location is not None else None
    url = value.strip() if location is not None and location.kind == "url" else None
    if spec is not None and input_name is not None and input_name in spec.model_inputs:
        folder = canonical_folder(spec.model_inputs[input_name])
        if table_value_names_file(spec, input_name, name) and _holds_models(
            spec, folder, name, input_name
        ):
            # A folder entry names a model folder, which the loader lists by name.
            lookup: NodeLookup = "folder" if input_name in spec.folder_entries else "list"
            node.add(input_name, name, folder, written_as=written_as, url=url, lookup=lookup)
        return
    if not _generic_rule_applies(spec, input_name):
        return
    inferred = inferred_folder(node.node_type, input_name)
    if inferred is not None and names_file(name):
        node.add(input_name, name, inferred, inferred=True, written_as=written_as, url=url)
    elif generic_value_names_file(name) and (location is None or location.kind == "path"):
        # A URL on an input nothing knows may be anything the node downloads itself.
        node.add(input_name, name, None, written_as=written_as)


def _holds_models(spec: LoaderSpec, folder: str, name: str, input_name: str) -> bool:
    """A folder a pack registers for its own files (KJNodes' fonts) is listed the same way
    as a model folder: from learned and bundled specs, a value in a folder ComfyUI does
    not know counts only when it is a model file. A folder name there never counts: the
    pack's folder may lie outside the models folders (Inspire's prompt folders), where the
    inventory does not look."""
    if input_name in spec.folder_entries:
        return spec.origin == "table" or folder_type(folder) is not None
    return spec.origin == "table" or folder_type(folder) is not None or is_model_file_name(name)


def location_findings(references: Iterable[ModelReference]) -> tuple[str, ...]:
    """Return one finding per reference written as an absolute path: the path is the
    author's machine, the file is looked for by its name like any other."""
    findings = []
    for reference in references:
        written = reference.written_as
        if written is None or location_of(written) is None or "://" in written:
            continue
        findings.append(
            f"Node {reference.node_id} ({reference.node_type}) names {written!r}, a path "
            f"on the machine the workflow was made on; {reference.value!r} is looked for "
            "in the models folders instead."
        )
    return tuple(dict.fromkeys(findings))
