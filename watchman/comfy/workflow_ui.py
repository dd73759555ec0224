"""The UI (graph) workflow format: nodes, widgets, links, subgraphs and group nodes.

A UI workflow is what the ComfyUI frontend saves: ``nodes`` (each with ``type``, ``mode``,
``widgets_values``, ``inputs``, ``properties``), ``links``, ``definitions.subgraphs`` and
``extra.groupNodes``. Subgraph instances (a node whose type is a subgraph id) and legacy
group node instances (``workflow>Name``, ``workflow/Name`` in older frontends) are
replaced by their inner nodes, whose ids become ``"outerId:innerId"``. A bypassed (mode 4)
or muted (mode 2) instance passes its state to every inner node.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from watchman.comfy.loaders import CONTROL_AFTER_GENERATE, CONTROL_VALUES, loader_spec
from watchman.comfy.model_references import attach_embedded, references_for_node
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.workflow_model import (
    EmbeddedModel,
    ModelReference,
    NodeUse,
    ParsedWorkflow,
    embedded_models_from,
    unique_models,
)

logger = logging.getLogger(__name__)

MODE_MUTED = 2
MODE_BYPASSED = 4
GROUP_NODE_PREFIXES = ("workflow>", "workflow/")
MAX_NESTING = 32
"""Deeper subgraph nesting than this is reported, not followed (a guard against cycles)."""

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def is_instance_type(node_type: str) -> bool:
    """True for a subgraph instance type (a UUID) or a legacy group-node type."""
    return bool(_UUID.match(node_type)) or node_type.startswith(GROUP_NODE_PREFIXES)


def is_ui_workflow(document: object) -> bool:
    """Return whether ``document`` is a UI-format workflow (a dict with a ``nodes`` list)."""
    return isinstance(document, dict) and isinstance(document.get("nodes"), list)


def subgraph_definitions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return every subgraph definition by id, nested definitions included.

    Takes a UI workflow; reads ``definitions.subgraphs`` at the top level and inside each
    definition. Entries without a string ``id`` are skipped. Never raises.
    """
    found: dict[str, dict[str, Any]] = {}
    pending: list[object] = [document]
    while pending:
        holder = pending.pop()
        if not isinstance(holder, dict):
            continue
        definitions = holder.get("definitions")
        subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
        for subgraph in subgraphs if isinstance(subgraphs, list) else ():
            if (
                isinstance(subgraph, dict)
                and isinstance(subgraph.get("id"), str)
                and subgraph["id"] not in found
            ):
                found[subgraph["id"]] = subgraph
                pending.append(subgraph)
    return found


def _link_origins(links: object) -> dict[object, object]:
    """Return link id -> origin node id, for list links (``[id, origin, slot, ...]``) and
    the dict links of subgraphs (``{"id", "origin_id", ...}``)."""
    origins: dict[object, object] = {}
    for link in links if isinstance(links, list) else ():
        if isinstance(link, list) and len(link) >= 2:
            origins[link[0]] = link[1]
        elif isinstance(link, dict) and "id" in link:
            origins[link["id"]] = link.get("origin_id")
    return origins


def named_widget_values(
    node_type: str, widgets_values: object, inputs: object
) -> list[tuple[str | None, object]]:
    """Return a node's widget values paired with their input names where known.

    Takes the node type, its ``widgets_values`` (a dict is already named) and its
    ``inputs``. For a table node the table's ordered widget names map positions; when the
    count does not match, the names of inputs converted to links are dropped and tried
    again; else names are zipped from the start and extra values stay unnamed. For other
    nodes the ``inputs[].widget.name`` list names positions only when its length equals
    the values'. Never raises.
    """
    if isinstance(widgets_values, dict):
        return [(str(key), value) for key, value in widgets_values.items()]
    if not isinstance(widgets_values, list):
        return []
    input_list = (
        [item for item in inputs if isinstance(item, dict)] if isinstance(inputs, list) else []
    )
    widget_inputs = [item for item in input_list if isinstance(item.get("widget"), dict)]
    spec = loader_spec(node_type)
    candidates: list[list[str]]
    if spec is not None and spec.widgets:
        linked = {
            item["widget"].get("name") for item in widget_inputs if item.get("link") is not None
        }
        candidates = [list(spec.widgets), [name for name in spec.widgets if name not in linked]]
    else:
        candidates = [[str(item["widget"].get("name")) for item in widget_inputs]]
    for names in candidates:
        if len(names) == len(widgets_values):
            return list(zip(names, widgets_values, strict=True))
    # The frontend stores a control_after_generate value after each seed-like INT widget;
    # the node's widget list does not name it, so it shifts every later position.
    kept = [
        position
        for position, value in enumerate(widgets_values)
        if not _is_control_value(widgets_values, position)
    ]
    for names in candidates:
        if names and len(names) == len(kept):
            named = dict(zip(kept, names, strict=True))
            return [
                (named.get(position, CONTROL_AFTER_GENERATE), value)
                for position, value in enumerate(widgets_values)
            ]
    # No alignment fits: name from the start for a table node (a newer version appends
    # widgets), leave an unknown node's values unnamed.
    prefix: Sequence[str] = candidates[0] if spec is not None and spec.widgets else ()
    return [
        (prefix[position] if position < len(prefix) else None, value)
        for position, value in enumerate(widgets_values)
    ]


def _is_control_value(values: list[object], position: int) -> bool:
    value = values[position]
    previous = values[position - 1] if position > 0 else None
    return (
        isinstance(value, str)
        and value in CONTROL_VALUES
        and isinstance(previous, int)
        and not isinstance(previous, bool)
    )


def _linked_from_real_node(
    node: dict[str, Any], origins: dict[object, object], level_types: dict[object, str]
) -> set[str]:
    """Return the widget input names fed by a link from a real node of the same graph:
    their widget value is a stale copy, the source node provides the value."""
    names = set()
    for item in node.get("inputs") or ():
        if not isinstance(item, dict) or not isinstance(item.get("widget"), dict):
            continue
        origin = origins.get(item.get("link")) if item.get("link") is not None else None
        origin_type = level_types.get(origin)
        if origin_type is not None and not is_frontend_only(origin_type):
            names.add(str(item["widget"].get("name")))
    return names


@dataclass
class _Walk:
    """Accumulates what a walk over the graph finds (mutable only inside this module)."""

    definitions: dict[str, dict[str, Any]]
    group_nodes: dict[str, Any]
    nodes: list[NodeUse] = field(default_factory=list)
    references: list[ModelReference] = field(default_factory=list)
    own_models: dict[str, tuple[EmbeddedModel, ...]] = field(default_factory=dict)
    all_models: list[EmbeddedModel] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    undefined: list[NodeUse] = field(default_factory=list)

    def undefined_instance(
        self, node: dict[str, Any], node_id: str, node_type: str, bypassed: bool, muted: bool
    ) -> None:
        self.undefined.append(_node_use(node, node_id, node_type, bypassed, muted))

    def graph(
        self,
        nodes: object,
        links: object,
        prefix: str,
        outer_bypassed: bool,
        outer_muted: bool,
        stack: tuple[str, ...],
    ) -> None:
        node_list = (
            [node for node in nodes if isinstance(node, dict)] if isinstance(nodes, list) else []
        )
        origins = _link_origins(links)
        level_types = {node.get("id"): str(node.get("type")) for node in node_list}
        for node in node_list:
            self.node(node, prefix, outer_bypassed, outer_muted, stack, origins, level_types)

    def node(
        self,
        node: dict[str, Any],
        prefix: str,
        outer_bypassed: bool,
        outer_muted: bool,
        stack: tuple[str, ...],
        origins: dict[object, object],
        level_types: dict[object, str],
    ) -> None:
        node_id = f"{prefix}{node.get('id')}"
        node_type = node.get("type")
        if not isinstance(node_type, str) or not node_type:
            self.errors.append(f"Node {node_id} has no type and is ignored.")
            return
        mode = node.get("mode")
        bypassed = outer_bypassed or mode == MODE_BYPASSED
        muted = outer_muted or mode == MODE_MUTED
        properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        assert isinstance(properties, dict)
        models = embedded_models_from(properties.get("models"))
        if models:
            self.own_models[node_id] = models
            self.all_models.extend(models)

        if node_type in self.definitions:
            if node_type in stack or len(stack) >= MAX_NESTING:
                self.errors.append(
                    f"Node {node_id} instantiates subgraph {node_type} inside itself; "
                    "the nesting is not followed."
                )
                return
            subgraph = self.definitions[node_type]
            self.graph(
                subgraph.get("nodes"),
                subgraph.get("links"),
                f"{node_id}:",
                bypassed,
                muted,
                (*stack, node_type),
            )
            return
        if node_type.startswith(GROUP_NODE_PREFIXES):
            self.group_instance(node, node_id, node_type, bypassed, muted, stack)
            return
        if _UUID.match(node_type):
            self.errors.append(
                f"Node {node_id} uses subgraph {node_type}, which the workflow does not define."
            )
            self.undefined_instance(node, node_id, node_type, bypassed, muted)
            return
        if is_frontend_only(node_type):
            return
        self.nodes.append(_node_use(node, node_id, node_type, bypassed, muted))
        stale = _linked_from_real_node(node, origins, level_types)
        values = [
            (name, value)
            for name, value in named_widget_values(
                node_type, node.get("widgets_values"), node.get("inputs")
            )
            if name is None or name not in stale
        ]
        self.references.extend(references_for_node(node_id, node_type, values, bypassed, muted))

    def group_instance(
        self,
        node: dict[str, Any],
        node_id: str,
        node_type: str,
        bypassed: bool,
        muted: bool,
        stack: tuple[str, ...],
    ) -> None:
        group_name = node_type.split(">", 1)[1] if ">" in node_type else node_type.split("/", 1)[1]
        definition = self.group_nodes.get(group_name)
        if not isinstance(definition, dict) or node_type in stack:
            self.errors.append(
                f"Node {node_id} is group node {group_name!r}, which the workflow does not define."
            )
            self.undefined_instance(node, node_id, node_type, bypassed, muted)
            return
        inner = [item for item in definition.get("nodes") or () if isinstance(item, dict)]
        # The instance holds the live widget values: the inner nodes' values in order.
        counts = [
            len(item["widgets_values"]) if isinstance(item.get("widgets_values"), list) else 0
            for item in inner
        ]
        instance_values = node.get("widgets_values")
        use_instance = isinstance(instance_values, list) and sum(counts) == len(instance_values)
        expanded = []
        start = 0
        for position, (item, count) in enumerate(zip(inner, counts, strict=True)):
            copy = dict(item)
            copy["id"] = item.get("index", position)
            if use_instance and isinstance(instance_values, list) and count:
                copy["widgets_values"] = instance_values[start : start + count]
            start += count
            expanded.append(copy)
        self.graph(
            expanded, definition.get("links"), f"{node_id}:", bypassed, muted, (*stack, node_type)
        )


def _node_use(
    node: dict[str, Any], node_id: str, node_type: str, bypassed: bool, muted: bool
) -> NodeUse:
    properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    assert isinstance(properties, dict)
    return NodeUse(
        node_id=node_id,
        node_type=node_type,
        bypassed=bypassed,
        muted=muted,
        cnr_id=_string(properties.get("cnr_id")),
        aux_id=_string(properties.get("aux_id")),
        version=_string(properties.get("ver")),
    )


def _string(value: object) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
        return str(value)
    return None


def parse_ui_workflow(document: dict[str, Any], file_format: str = "ui") -> ParsedWorkflow:
    """Return the ParsedWorkflow of a UI-format workflow.

    Takes the decoded document and the format to record. Undefined subgraphs and group
    nodes, nodes without a type and contradicting embedded directories become entries of
    ``errors``; nothing in the document makes it raise.
    """
    extra = document.get("extra") if isinstance(document.get("extra"), dict) else {}
    assert isinstance(extra, dict)
    group_nodes = extra.get("groupNodes") if isinstance(extra.get("groupNodes"), dict) else {}
    assert isinstance(group_nodes, dict)
    walk = _Walk(definitions=subgraph_definitions(document), group_nodes=group_nodes)
    walk.all_models.extend(embedded_models_from(document.get("models")))
    walk.graph(document.get("nodes"), document.get("links"), "", False, False, ())
    references, attach_errors = attach_embedded(walk.references, walk.own_models, walk.all_models)
    return ParsedWorkflow(
        format=file_format,
        nodes=tuple(walk.nodes),
        model_refs=references,
        embedded_models=unique_models(walk.all_models),
        subgraph_ids=frozenset(walk.definitions),
        errors=tuple(walk.errors) + attach_errors,
        undefined_instances=tuple(walk.undefined),
    )
