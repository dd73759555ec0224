"""The API (prompt) workflow format: ``{id: {"class_type": ..., "inputs": {...}}}``.

This is what ComfyUI's ``/prompt`` endpoint takes and what "Save (API)" writes. Inputs are
named; a value that is a ``[node_id, slot]`` list is a link, not a value. The format has
no node modes (bypassed and muted nodes are dropped before export), no subgraphs and no
embedded model metadata.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from typing import Any

from watchman.comfy.input_files import InputFileReference, references_for_inputs
from watchman.comfy.link_sources import api_fed_inputs
from watchman.comfy.loader_lookup import LoaderTable, default_table
from watchman.comfy.model_references import location_findings, references_for_node
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.socket_links import NodeKey, reached_types
from watchman.comfy.widget_values import named_nulls, named_numbers, named_texts, packed_numbers
from watchman.comfy.workflow_limits import (
    MAX_EXPANDED_NODES,
    MAX_MODEL_REFERENCES,
    check_reference_names,
    embedding_tokens,
    too_many_references,
)
from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
from watchman.errors import WorkflowError

logger = logging.getLogger(__name__)


def _is_node(entry: object) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("class_type"), str)


def is_api_prompt(document: object) -> bool:
    """Return whether ``document`` is an API prompt: a non-empty dict whose values are all
    nodes with a string ``class_type``."""
    return (
        isinstance(document, dict)
        and bool(document)
        and all(_is_node(entry) for entry in document.values())
    )


def _is_link(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], (str, int))
        and isinstance(value[1], int)
    )


def parse_api_prompt(
    document: dict[str, Any],
    file_format: str = "api",
    table: LoaderTable | None = None,
    name: str = "The workflow",
) -> ParsedWorkflow:
    """Return the ParsedWorkflow of an API-format prompt.

    Takes the decoded prompt (already unwrapped), the format to record, the loader table
    (None: the bundled one) and a name for messages. Linked inputs are skipped; every
    other input is named. Raises WorkflowError (naming the limit) only past
    ``MAX_EXPANDED_NODES`` nodes or ``MAX_MODEL_REFERENCES`` references, the limits of
    the UI format.
    """
    if len(document) > MAX_EXPANDED_NODES:
        raise WorkflowError(
            f"{name} is over a limit: it has more than {MAX_EXPANDED_NODES} nodes "
            "(MAX_EXPANDED_NODES)."
        )
    nodes: list[NodeUse] = []
    numbers: list[float] = []
    references: list[ModelReference] = []
    files: list[InputFileReference] = []
    targets: dict[NodeKey, list[NodeKey]] = {}
    for raw_id, entry in document.items():
        node_id = str(raw_id)
        node_type = entry["class_type"]
        if is_frontend_only(node_type):
            continue
        inputs = entry.get("inputs")
        pairs = [
            (str(name), value)
            for name, value in (inputs.items() if isinstance(inputs, dict) else ())
        ]
        values = [(name, value) for name, value in pairs if not _is_link(value)]
        for _, value in pairs:
            if _is_link(value):
                targets.setdefault(str(value[0]), []).append(node_id)
        numbered, node_numbers = named_numbers(values)
        numbers.extend(node_numbers)
        nodes.append(
            NodeUse(
                node_id=node_id,
                node_type=node_type,
                bypassed=False,
                muted=False,
                cnr_id=None,
                aux_id=None,
                version=None,
                named=named_texts(values),
                numbered=numbered,
                nulls=named_nulls(values),
                linked=tuple(sorted(sys.intern(name) for name, value in pairs if _is_link(value))),
                # A link from a node the prompt lacks gives nothing: ComfyUI fails
                # validating it.
                given=tuple(
                    sorted(
                        sys.intern(name)
                        for name, value in pairs
                        if not _is_link(value) or str(value[0]) in document
                    )
                ),
                fed_by=api_fed_inputs(dict(pairs), document),
            )
        )
        named = (table or default_table()).input_files(node_type)
        if named:
            files.extend(
                references_for_inputs(node_id, node_type, named, dict(values), False, False)
            )
        if len(references) + embedding_tokens(values) > MAX_MODEL_REFERENCES:
            raise too_many_references(name)
        found = references_for_node(node_id, node_type, values, False, False, table)
        check_reference_names(name, found)
        references.extend(found)
        if len(references) > MAX_MODEL_REFERENCES:
            raise too_many_references(name)
    return ParsedWorkflow(
        format=file_format,
        nodes=_with_reaches(nodes, document, targets),
        model_refs=tuple(references),
        embedded_models=(),
        subgraph_ids=frozenset(),
        errors=location_findings(references),
        input_files=tuple(files),
        numbers=packed_numbers(numbers),
    )


def _with_reaches(
    nodes: list[NodeUse], document: dict[str, Any], targets: dict[NodeKey, list[NodeKey]]
) -> tuple[NodeUse, ...]:
    """``nodes`` each with the node types its outputs reach: any of them may lack an
    input its definition requires (:mod:`watchman.comfy.socket_links`)."""

    def type_of(node_id: NodeKey) -> str | None:
        entry = document.get(str(node_id))
        node_type = entry.get("class_type") if isinstance(entry, dict) else None
        if not isinstance(node_type, str) or is_frontend_only(node_type):
            return None
        return node_type

    def passable(node_id: NodeKey) -> bool:
        return str(node_id) in document

    memo: dict[NodeKey, tuple[str, ...]] = {}
    return tuple(
        replace(node, reaches=reached_types(node.node_id, targets, type_of, passable, memo))
        for node in nodes
    )
