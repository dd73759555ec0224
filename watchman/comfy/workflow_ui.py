"""The UI (graph) workflow format: nodes, widgets, links, subgraphs and group nodes.

A UI workflow is what the ComfyUI frontend saves: ``nodes`` (each with ``type``, ``mode``,
``widgets_values``, ``inputs``, ``properties``), ``links``, ``definitions.subgraphs`` and
``extra.groupNodes``. Subgraph instances (a node whose type is a subgraph id) and legacy
group node instances (``workflow>Name``, ``workflow/Name`` in older frontends) are
replaced by their inner nodes, whose ids become ``"outerId:innerId"``. A bypassed (mode 4)
or muted (mode 2) instance passes its state to every inner node.

The document is a stranger's: every field is checked for its JSON type as it is read, and
the work is bounded. Expansion is iterative (no recursion), nests at most ``MAX_NESTING``
levels, and stops with an error naming the limit past ``MAX_EXPANDED_NODES`` nodes or
``MAX_NODE_VALUES`` values read, so a small file whose subgraphs fan out cannot run for
minutes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from watchman.comfy.loader_lookup import LoaderTable, loader_spec
from watchman.comfy.loaders import CONTROL_AFTER_GENERATE, CONTROL_VALUES
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
from watchman.errors import WorkflowError
from watchman.printable import shortened

logger = logging.getLogger(__name__)

MODE_MUTED = 2
MODE_BYPASSED = 4
GROUP_NODE_PREFIXES = ("workflow>", "workflow/")
MAX_NESTING = 32
"""Deeper subgraph or group-node nesting than this is reported, not followed."""
MAX_EXPANDED_NODES = 50_000
"""Nodes a workflow may expand to, inner nodes of every instance counted; past it the
workflow is a parse error naming this limit (large real workflows have a few thousand)."""
MAX_MODEL_REFERENCES = 50_000
"""Model references a workflow may make (embedding tokens in prompts included); past it
the workflow is a parse error naming this limit."""
MAX_NODE_VALUES = 5_000_000
"""Widget values, inputs and embedded model entries read over all expanded nodes (a string
costs one more per KiB); past it the workflow is a parse error naming this limit."""
MAX_ID_CHARS = 64
"""A node id that is not a number or text of at most this length is named by position."""
MAX_FINDINGS = 200
"""Findings kept per workflow; further ones are counted in one last finding."""

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


def _scalar_key(value: object) -> object:
    """Return ``value`` when it can be a link or node id (a JSON scalar), else None."""
    return value if isinstance(value, (str, int, float)) or value is None else None


def _link_origins(links: object) -> dict[object, object]:
    """Return link id -> origin node id, for list links (``[id, origin, slot, ...]``) and
    the dict links of subgraphs (``{"id", "origin_id", ...}``). Links whose ids are not
    JSON scalars are skipped."""
    origins: dict[object, object] = {}
    for link in links if isinstance(links, list) else ():
        if isinstance(link, list) and len(link) >= 2:
            key, origin = _scalar_key(link[0]), _scalar_key(link[1])
        elif isinstance(link, dict):
            key, origin = _scalar_key(link.get("id")), _scalar_key(link.get("origin_id"))
        else:
            continue
        if key is not None:
            origins[key] = origin
    return origins


def _widget_name(item: dict[str, Any]) -> str | None:
    """Return the widget name of one ``inputs`` entry (text or a number), else None."""
    widget = item.get("widget")
    name = widget.get("name") if isinstance(widget, dict) else None
    if isinstance(name, str):
        return name
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        return str(name)
    return None


def named_widget_values(
    node_type: str, widgets_values: object, inputs: object, table: LoaderTable | None = None
) -> list[tuple[str | None, object]]:
    """Return a node's widget values paired with their input names where known.

    Takes the node type, its ``widgets_values`` (a dict is already named) and its
    ``inputs``. For a table node the table's ordered widget names map positions; when the
    count does not match, the names of inputs converted to links are dropped and tried
    again; else names are zipped from the start and extra values stay unnamed. For other
    nodes the ``inputs[].widget.name`` list names positions only when its length equals
    the values'. A name that is not text stays unnamed. Never raises.
    """
    if isinstance(widgets_values, dict):
        return [(str(key), value) for key, value in widgets_values.items()]
    if not isinstance(widgets_values, list):
        return []
    input_list = (
        [item for item in inputs if isinstance(item, dict)] if isinstance(inputs, list) else []
    )
    widget_inputs = [item for item in input_list if isinstance(item.get("widget"), dict)]
    spec = loader_spec(node_type, table)
    candidates: list[list[str | None]]
    if spec is not None and spec.widgets:
        linked = {_widget_name(item) for item in widget_inputs if item.get("link") is not None}
        candidates = [list(spec.widgets), [name for name in spec.widgets if name not in linked]]
    else:
        candidates = [[_widget_name(item) for item in widget_inputs]]
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
    prefix: Sequence[str | None] = candidates[0] if spec is not None and spec.widgets else ()
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
    inputs = node.get("inputs")
    for item in inputs if isinstance(inputs, list) else ():
        if not isinstance(item, dict):
            continue
        name = _widget_name(item)
        link = _scalar_key(item.get("link"))
        if name is None or link is None:
            continue
        origin_type = level_types.get(origins.get(link))
        if origin_type is not None and not is_frontend_only(origin_type):
            names.add(name)
    return names


def _node_id(raw: object, position: int) -> str:
    """Return a node's id as text: a number or short text as written, else ``#position``."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, str) and 0 < len(raw) <= MAX_ID_CHARS:
        return raw
    return f"#{position}"


def _value_cost(values: object) -> int:
    """The budget one list or dict of node values costs: one per value, one more per KiB
    of text."""
    if isinstance(values, dict):
        values = list(values.values())
    if not isinstance(values, list):
        return 0
    return len(values) + sum(len(value) >> 10 for value in values if isinstance(value, str))


@dataclass
class _Level:
    """One graph level being walked: its nodes, their link origins and types, and the
    state every node of the level inherits."""

    nodes: list[dict[str, Any]]
    origins: dict[object, object]
    types: dict[object, str]
    prefix: str
    bypassed: bool
    muted: bool
    stack: tuple[str, ...]
    position: int = 0


@dataclass
class _Walk:
    """Accumulates what a walk over the graph finds (mutable only inside this module)."""

    name: str
    definitions: dict[str, dict[str, Any]]
    group_nodes: dict[str, Any]
    nodes: list[NodeUse] = field(default_factory=list)
    references: list[ModelReference] = field(default_factory=list)
    own_models: dict[str, tuple[EmbeddedModel, ...]] = field(default_factory=dict)
    all_models: list[EmbeddedModel] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    undefined: list[NodeUse] = field(default_factory=list)
    expanded: int = 0
    values_read: int = 0
    table: LoaderTable | None = None
    findings_dropped: int = 0
    # Link origins and node types per graph definition, computed once however many
    # instances there are (keyed by the id of the definition's object, alive all walk).
    _levels: dict[int, tuple[list[dict[str, Any]], dict[object, object], dict[object, str]]] = (
        field(default_factory=dict)
    )

    def finding(self, message: str) -> None:
        if len(self.errors) < MAX_FINDINGS:
            self.errors.append(message)
        else:
            self.findings_dropped += 1

    def spend(self, nodes: int, values: int) -> None:
        """Count work against the budgets; raises WorkflowError naming the broken limit."""
        self.expanded += nodes
        self.values_read += values
        if self.expanded > MAX_EXPANDED_NODES:
            raise WorkflowError(
                f"{self.name} is over a limit: its subgraphs and group nodes expand to more "
                f"than {MAX_EXPANDED_NODES} nodes (MAX_EXPANDED_NODES)."
            )
        if self.values_read > MAX_NODE_VALUES:
            raise WorkflowError(
                f"{self.name} is over a limit: its nodes hold more than {MAX_NODE_VALUES} "
                "values once subgraphs and group nodes are expanded (MAX_NODE_VALUES)."
            )

    def undefined_instance(
        self, node: dict[str, Any], node_id: str, node_type: str, bypassed: bool, muted: bool
    ) -> None:
        self.undefined.append(_node_use(node, node_id, node_type, bypassed, muted))

    def level(
        self,
        key: object,
        nodes: object,
        links: object,
        prefix: str,
        bypassed: bool,
        muted: bool,
        stack: tuple[str, ...],
    ) -> _Level:
        """Return the walk state of one graph level; ``key`` identifies a reusable
        definition (None: compute afresh)."""
        cached = self._levels.get(id(key)) if key is not None else None
        if cached is None:
            node_list = (
                [node for node in nodes if isinstance(node, dict)]
                if isinstance(nodes, list)
                else []
            )
            types = {}
            for node in node_list:
                raw_id, raw_type = _scalar_key(node.get("id")), node.get("type")
                if raw_id is not None and isinstance(raw_type, str):
                    types[raw_id] = raw_type
            cached = (node_list, _link_origins(links), types)
            if key is not None:
                self._levels[id(key)] = cached
        node_list, origins, types = cached
        return _Level(node_list, origins, types, prefix, bypassed, muted, stack)

    def run(self, top: _Level) -> None:
        """Walk ``top`` and every instance inside it, depth first, without recursion."""
        levels = [top]
        while levels:
            level = levels[-1]
            if level.position >= len(level.nodes):
                levels.pop()
                continue
            position = level.position
            level.position += 1
            inner = self.node(level.nodes[position], position, level)
            if inner is not None:
                levels.append(inner)

    def node(self, node: dict[str, Any], position: int, level: _Level) -> _Level | None:
        """Record one node; return the level of its inner nodes when it is an instance."""
        widgets = node.get("widgets_values")
        inputs = node.get("inputs")
        properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        assert isinstance(properties, dict)
        raw_models = properties.get("models")
        self.spend(1, _value_cost(widgets) + _value_cost(inputs) + _value_cost(raw_models))
        node_id = f"{level.prefix}{_node_id(node.get('id'), position)}"
        node_type = node.get("type")
        if not isinstance(node_type, str) or not node_type:
            self.finding(f"Node {node_id} has no type and is ignored.")
            return None
        mode = node.get("mode")
        bypassed = level.bypassed or mode == MODE_BYPASSED
        muted = level.muted or mode == MODE_MUTED
        models = embedded_models_from(raw_models)
        if models:
            self.own_models[node_id] = models
            self.all_models.extend(models)

        if node_type in self.definitions:
            if node_type in level.stack or len(level.stack) >= MAX_NESTING:
                self.finding(
                    f"Node {node_id} instantiates subgraph {node_type} inside itself or "
                    f"deeper than {MAX_NESTING} levels (MAX_NESTING); the nesting is not "
                    "followed."
                )
                return None
            subgraph = self.definitions[node_type]
            return self.level(
                subgraph,
                subgraph.get("nodes"),
                subgraph.get("links"),
                f"{node_id}:",
                bypassed,
                muted,
                (*level.stack, node_type),
            )
        if node_type.startswith(GROUP_NODE_PREFIXES):
            return self.group_instance(node, node_id, node_type, bypassed, muted, level.stack)
        if _UUID.match(node_type):
            self.finding(
                f"Node {node_id} uses subgraph {node_type}, which the workflow does not define."
            )
            self.undefined_instance(node, node_id, node_type, bypassed, muted)
            return None
        if is_frontend_only(node_type):
            return None
        self.nodes.append(_node_use(node, node_id, node_type, bypassed, muted))
        stale = _linked_from_real_node(node, level.origins, level.types)
        values = [
            (name, value)
            for name, value in named_widget_values(node_type, widgets, inputs, self.table)
            if name is None or name not in stale
        ]
        # Every embedding token in a prompt is a reference: count them before they are
        # built, so a prompt of millions of tokens is refused, not materialised.
        if len(self.references) + embedding_tokens(values) > MAX_MODEL_REFERENCES:
            raise too_many_references(self.name)
        self.references.extend(
            references_for_node(node_id, node_type, values, bypassed, muted, self.table)
        )
        if len(self.references) > MAX_MODEL_REFERENCES:
            raise too_many_references(self.name)
        return None

    def group_instance(
        self,
        node: dict[str, Any],
        node_id: str,
        node_type: str,
        bypassed: bool,
        muted: bool,
        stack: tuple[str, ...],
    ) -> _Level | None:
        group_name = node_type.split(">", 1)[1] if ">" in node_type else node_type.split("/", 1)[1]
        definition = self.group_nodes.get(group_name)
        if not isinstance(definition, dict) or node_type in stack:
            self.finding(
                f"Node {node_id} is group node {shortened(group_name)!r}, which the workflow "
                "does not define."
            )
            self.undefined_instance(node, node_id, node_type, bypassed, muted)
            return None
        if len(stack) >= MAX_NESTING:
            self.finding(
                f"Node {node_id} is group node {shortened(group_name)!r} nested deeper than "
                f"{MAX_NESTING} levels (MAX_NESTING); it is not followed."
            )
            return None
        raw_inner = definition.get("nodes")
        inner = (
            [item for item in raw_inner if isinstance(item, dict)]
            if isinstance(raw_inner, list)
            else []
        )
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
        return self.level(
            None,
            expanded,
            definition.get("links"),
            f"{node_id}:",
            bypassed,
            muted,
            (*stack, node_type),
        )


def embedding_tokens(values: Sequence[tuple[str | None, object]]) -> int:
    """Return how many ``embedding:`` tokens (any case) the text values hold, at most."""
    return sum(value.lower().count("embedding:") for _, value in values if isinstance(value, str))


def too_many_references(name: str) -> WorkflowError:
    """The error of a workflow past ``MAX_MODEL_REFERENCES``."""
    return WorkflowError(
        f"{name} is over a limit: it names more than {MAX_MODEL_REFERENCES} model files "
        "(MAX_MODEL_REFERENCES)."
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


def parse_ui_workflow(
    document: dict[str, Any],
    file_format: str = "ui",
    name: str = "The workflow",
    table: LoaderTable | None = None,
) -> ParsedWorkflow:
    """Return the ParsedWorkflow of a UI-format workflow.

    Takes the decoded document, the format to record and a name for messages. Undefined
    subgraphs and group nodes, nodes without a type and contradicting embedded directories
    become entries of ``errors``. Raises WorkflowError (naming the limit) only when the
    workflow expands past ``MAX_EXPANDED_NODES`` nodes or ``MAX_NODE_VALUES`` values.
    """
    extra = document.get("extra") if isinstance(document.get("extra"), dict) else {}
    assert isinstance(extra, dict)
    group_nodes = extra.get("groupNodes") if isinstance(extra.get("groupNodes"), dict) else {}
    assert isinstance(group_nodes, dict)
    walk = _Walk(name=name, definitions=subgraph_definitions(document), group_nodes=group_nodes)
    walk.table = table
    top_models = document.get("models")
    walk.spend(0, _value_cost(top_models))
    walk.all_models.extend(embedded_models_from(top_models))
    walk.run(walk.level(None, document.get("nodes"), document.get("links"), "", False, False, ()))
    if walk.findings_dropped:
        walk.errors.append(
            f"{walk.findings_dropped} further findings are not listed (MAX_FINDINGS)."
        )
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
