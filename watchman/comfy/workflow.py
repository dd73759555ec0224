"""What a workflow needs: the frozen data model and the entry points that read one.

``parse_workflow_bytes`` sniffs JSON / PNG / WebP and hands the workflow to the UI-format
reader (``workflow_ui``) or the API-format reader (``workflow_api``). Both produce the
same ``ParsedWorkflow``: the real nodes (inner nodes of subgraphs and group nodes
included; instance nodes and frontend-only nodes left out), the model references with
their folder, the embedded model metadata, and non-fatal findings.

Nothing here runs workflow content: it is read as JSON and text only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from watchman.comfy.folders import canonical_folder
from watchman.comfy.loaders import (
    LoaderSpec,
    embedding_names,
    generic_value_names_file,
    loader_spec,
    table_value_names_file,
)
from watchman.comfy.node_kinds import is_frontend_only
from watchman.errors import ImageWithoutWorkflowError, StateError, WorkflowError

logger = logging.getLogger(__name__)

PARSE_SCHEMA_VERSION = 2
"""Version of ``ParsedWorkflow.to_json``; a cache entry of another version is re-parsed."""

MAX_WORKFLOW_BYTES = 256 * 1024 * 1024
"""A larger file is refused rather than read into memory."""


@dataclass(frozen=True, slots=True)
class EmbeddedModel:
    """A model entry a workflow carries: node ``properties.models`` or top-level ``models``."""

    name: str
    url: str | None
    directory: str | None
    hash: str | None
    hash_type: str | None


@dataclass(frozen=True, slots=True)
class ModelReference:
    """One node input whose value names a model file.

    ``node_id`` is ``"outerId:innerId"`` inside a subgraph or group node instance;
    ``value`` is exactly as written; ``folder`` is the canonical ComfyUI folder type or
    None when unknown; ``embedded`` is the matching embedded metadata, if any.
    """

    node_id: str
    node_type: str
    input: str | None
    value: str
    folder: str | None
    bypassed: bool
    muted: bool
    embedded: EmbeddedModel | None


@dataclass(frozen=True, slots=True)
class NodeUse:
    """One real node of the workflow, with its state and the pack ids it records."""

    node_id: str
    node_type: str
    bypassed: bool
    muted: bool
    cnr_id: str | None
    aux_id: str | None
    version: str | None


@dataclass(frozen=True)
class ParsedWorkflow:
    """Everything the daemon needs to know about one workflow."""

    format: str
    nodes: tuple[NodeUse, ...]
    model_refs: tuple[ModelReference, ...]
    embedded_models: tuple[EmbeddedModel, ...]
    subgraph_ids: frozenset[str]
    errors: tuple[str, ...]
    # Subgraph or group-node instances whose definition the workflow lacks: ComfyUI cannot
    # run them, so they count as missing nodes; never among ``nodes`` or ``node_types``.
    undefined_instances: tuple[NodeUse, ...] = ()

    @property
    def node_types(self) -> tuple[str, ...]:
        """The node types used, sorted and unique (instance types never among them)."""
        return tuple(sorted({node.node_type for node in self.nodes}))

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict that :meth:`from_json` turns back into an equal object."""
        return {
            "schema_version": PARSE_SCHEMA_VERSION,
            "format": self.format,
            "nodes": [asdict(node) for node in self.nodes],
            "model_refs": [asdict(reference) for reference in self.model_refs],
            "embedded_models": [asdict(model) for model in self.embedded_models],
            "subgraph_ids": sorted(self.subgraph_ids),
            "errors": list(self.errors),
            "undefined_instances": [asdict(node) for node in self.undefined_instances],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParsedWorkflow:
        """Rebuild a ParsedWorkflow from :meth:`to_json` output.

        Raises StateError when the data is of another schema version or malformed.
        """
        if not isinstance(data, dict) or data.get("schema_version") != PARSE_SCHEMA_VERSION:
            raise StateError("The cached workflow parse has another schema version.")
        try:
            return cls(
                format=str(data["format"]),
                nodes=tuple(NodeUse(**node) for node in data["nodes"]),
                model_refs=tuple(
                    ModelReference(
                        **{
                            **reference,
                            "embedded": EmbeddedModel(**reference["embedded"])
                            if reference.get("embedded")
                            else None,
                        }
                    )
                    for reference in data["model_refs"]
                ),
                embedded_models=tuple(EmbeddedModel(**model) for model in data["embedded_models"]),
                subgraph_ids=frozenset(str(item) for item in data["subgraph_ids"]),
                errors=tuple(str(item) for item in data["errors"]),
                undefined_instances=tuple(
                    NodeUse(**node) for node in data.get("undefined_instances", ())
                ),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise StateError(f"The cached workflow parse is malformed ({error}).") from error


def _text_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


def embedded_models_from(entries: object) -> tuple[EmbeddedModel, ...]:
    """Return the embedded model entries in a ``models`` list (node or top level).

    Takes any JSON value; entries without a string ``name`` are skipped. Never raises.
    """
    if not isinstance(entries, list):
        return ()
    models = []
    for entry in entries:
        if not isinstance(entry, dict) or not _text_or_none(entry.get("name")):
            continue
        models.append(
            EmbeddedModel(
                name=str(entry["name"]),
                url=_text_or_none(entry.get("url")),
                directory=_text_or_none(entry.get("directory")),
                hash=_text_or_none(entry.get("hash")),
                hash_type=_text_or_none(entry.get("hash_type")),
            )
        )
    return tuple(models)


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


def unique_models(models: Iterable[EmbeddedModel]) -> tuple[EmbeddedModel, ...]:
    """Return ``models`` without repeats, first occurrence first."""
    return tuple(dict.fromkeys(models))


def parse_workflow_json(
    document: object, name: str, file_format: str | None = None
) -> ParsedWorkflow:
    """Return the parsed workflow for an already decoded JSON document.

    Takes the document, a name for messages, and the format to record (``png``/``webp``
    when it came from an image; else ``ui`` or ``api`` is detected). Unwraps
    ``{"prompt": ...}`` and ``{"input": {"workflow": ...}}``. Raises WorkflowError when
    the document is not a workflow.
    """
    from watchman.comfy.workflow_api import is_api_prompt, parse_api_prompt
    from watchman.comfy.workflow_ui import is_ui_workflow, parse_ui_workflow

    current = document
    for _ in range(4):
        if is_ui_workflow(current):
            assert isinstance(current, dict)
            return parse_ui_workflow(current, file_format or "ui")
        if is_api_prompt(current):
            assert isinstance(current, dict)
            return parse_api_prompt(current, file_format or "api")
        if not isinstance(current, dict):
            break
        if isinstance(current.get("prompt"), dict):
            current = current["prompt"]
        elif isinstance(current.get("input"), dict) and "workflow" in current["input"]:
            current = current["input"]["workflow"]
        elif isinstance(current.get("workflow"), dict):
            current = current["workflow"]
        else:
            break
    raise WorkflowError(
        f"{name} is JSON but not a ComfyUI workflow (neither a UI graph with 'nodes' "
        "nor an API prompt of nodes with 'class_type')."
    )


def parse_workflow_bytes(data: bytes, name: str) -> ParsedWorkflow:
    """Return the parsed workflow in ``data``: JSON, or a PNG / WebP image carrying one.

    Takes the file's bytes and a name used in messages. Raises WorkflowError (one
    sentence naming ``name``) for invalid JSON, a document that is not a workflow, or an
    image without a readable workflow.
    """
    from watchman.comfy.image_metadata import image_kind, workflow_texts

    kind = image_kind(data)
    if kind is not None:
        texts = workflow_texts(data, kind, name)
        problems = []
        for key in ("workflow", "prompt"):
            if key not in texts:
                continue
            try:
                return parse_workflow_json(json.loads(texts[key]), name, kind)
            except (ValueError, WorkflowError) as error:
                problems.append(f"its {key!r} text is not a workflow ({error})")
        if not problems:
            raise ImageWithoutWorkflowError(
                f"{name} is a {kind.upper()} image with no 'workflow' or 'prompt' text in it."
            )
        detail = "; ".join(problems)
        raise WorkflowError(
            f"{name} is a {kind.upper()} image without a readable workflow: {detail}."
        )
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise WorkflowError(f"{name} is neither UTF-8 JSON nor a PNG/WebP image.") from error
    except ValueError as error:
        raise WorkflowError(f"{name} is not valid JSON ({error}).") from error
    return parse_workflow_json(document, name)


def read_workflow_file(path: Path) -> ParsedWorkflow:
    """Read and parse the workflow file at ``path`` (.json, .png or .webp).

    Raises WorkflowError when it is not a readable workflow or too large, OSError when
    it cannot be read.
    """
    size = path.stat().st_size
    if size > MAX_WORKFLOW_BYTES:
        raise WorkflowError(f"{path} is {size} bytes, larger than a workflow can be.")
    return parse_workflow_bytes(path.read_bytes(), str(path))
