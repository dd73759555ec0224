"""Which of one node's values name model files, and the embedded metadata that goes with them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from watchman.comfy.folders import canonical_folder
from watchman.comfy.loaders import (
    LoaderSpec,
    embedding_names,
    generic_value_names_file,
    loader_spec,
    table_value_names_file,
)
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.workflow_model import EmbeddedModel, ModelReference


def base_name_key(value: str) -> str:
    """Return the comparison key of a model value: its base name, lower-cased, with
    ``\\`` and ``/`` alike."""
    return value.strip().replace("\\", "/").rsplit("/", 1)[-1].lower()


def _best_match(
    reference: ModelReference, candidates: Sequence[EmbeddedModel]
) -> EmbeddedModel | None:
    matching = [
        model for model in candidates if base_name_key(model.name) == base_name_key(reference.value)
    ]
    if not matching:
        return None
    for model in matching:
        if model.directory and canonical_folder(model.directory) == reference.folder:
            return model
    return matching[0]


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
    for reference in references:
        match = _best_match(reference, own_models.get(reference.node_id, ())) or _best_match(
            reference, all_models
        )
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
    return tuple(attached), tuple(errors)


def _generic_rule_applies(spec: LoaderSpec | None, input_name: str | None) -> bool:
    """The generic rule covers unknown nodes, and positions of a table loader that its
    widget list does not name (a newer pack version); never a table node without files."""
    if spec is None:
        return True
    return bool(spec.model_inputs) and (input_name is None or input_name not in spec.widgets)


def references_for_node(
    node_id: str,
    node_type: str,
    values: Sequence[tuple[str | None, object]],
    bypassed: bool,
    muted: bool,
) -> tuple[ModelReference, ...]:
    """Return the model references among one node's input values.

    Takes the node's id and type, its values as (input name or None, value) pairs, and
    its state. Known loader inputs get the table's folder; for a node type the table does
    not know (and for positions of a table node its widget list does not cover), a
    one-line string with a model extension is a reference of unknown folder;
    ``embedding:name`` tokens in any string give ``embeddings`` references. Frontend-only
    nodes (notes, primitives, reroutes) give nothing.
    """
    if is_frontend_only(node_type):
        return ()
    spec = loader_spec(node_type)
    found: dict[tuple[str | None, str], ModelReference] = {}

    def add(input_name: str | None, value: str, folder: str | None) -> None:
        key = (input_name, value)
        if key not in found:
            found[key] = ModelReference(
                node_id=node_id,
                node_type=node_type,
                input=input_name,
                value=value,
                folder=folder,
                bypassed=bypassed,
                muted=muted,
                embedded=None,
            )

    for input_name, value in values:
        if not isinstance(value, str):
            continue
        if spec is not None and input_name is not None and input_name in spec.model_inputs:
            if table_value_names_file(spec, input_name, value):
                add(input_name, value, canonical_folder(spec.model_inputs[input_name]))
        elif _generic_rule_applies(spec, input_name) and generic_value_names_file(value):
            add(input_name, value, None)
        for embedding in embedding_names(value):
            add(input_name, embedding, "embeddings")
    return tuple(found.values())
