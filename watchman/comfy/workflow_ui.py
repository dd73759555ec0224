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

This module walks the graph; what one level holds (modes, instance types, definitions,
links) is read by ``workflow_graph``, which input each widget value is by
``widget_names``, which socket inputs nothing feeds by ``socket_links`` (inside a group
node, ``group_inputs``), and the limits shared with the API reader live in
``workflow_limits``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from watchman.comfy.group_inputs import GroupJudge, GroupShape, group_feeds, group_shape
from watchman.comfy.group_nodes import GROUP_NODE_PREFIXES, expand_group_instance, group_name
from watchman.comfy.input_files import (
    FileInputs,
    InputFileReference,
    references_for_inputs,
    widget_values_by_name,
)
from watchman.comfy.link_sources import ui_fed_inputs
from watchman.comfy.loader_lookup import LoaderTable, default_table
from watchman.comfy.model_references import (
    attach_embedded,
    could_name_models,
    references_for_node,
)
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.socket_links import (
    LevelLinks,
    absent_sockets,
    broadcasts,
    level_links,
    open_slots,
    open_sockets,
    reached_in,
)
from watchman.comfy.subgraph_inputs import (
    NOTHING,
    InstanceInputs,
    SubgraphShape,
    handed_down,
    input_slots,
    instance_inputs,
    subgraph_shape,
)
from watchman.comfy.widget_names import named_widget_values
from watchman.comfy.widget_values import packed_numbers, ui_values, without_texts
from watchman.comfy.workflow_graph import (
    MODE_BYPASSED,
    MODE_MUTED,
    SUBGRAPH_TYPE,
    is_instance_type,
    link_origins,
    linked_from_real_node,
    node_use,
    scalar_key,
    skip_reroutes,
    subgraph_definitions,
)
from watchman.comfy.workflow_limits import (
    MAX_EXPANDED_NODES,
    MAX_MODEL_REFERENCES,
    MAX_NODE_VALUES,
    check_reference_names,
    embedding_tokens,
    too_many_references,
    value_cost,
)
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

MAX_NESTING = 32
"""Deeper subgraph or group-node nesting than this is reported, not followed."""
MAX_ID_CHARS = 64
"""A node id that is not a number or text of at most this length is named by position."""
MAX_FINDINGS = 200
"""Findings kept per workflow; further ones are counted in one last finding."""


def is_ui_workflow(document: object) -> bool:
    """Return whether ``document`` is a UI-format workflow (a dict with a ``nodes`` list)."""
    return isinstance(document, dict) and isinstance(document.get("nodes"), list)


def _node_id(raw: object, position: int) -> str:
    """Return a node's id as text: a number or short text as written, else ``#position``."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, str) and 0 < len(raw) <= MAX_ID_CHARS:
        return raw
    return f"#{position}"


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
    # Links leaving the level's subgraph input node, by slot, and what the instance
    # being walked gives those slots (``subgraph_inputs``).
    slots: dict[object, int] = field(default_factory=dict)
    received: InstanceInputs = NOTHING
    # The level's nodes by id and its links both ways (``socket_links``); None where its
    # open inputs are not judged so: a group node's inner nodes are fed through its
    # instance's inputs, which ``group`` reads (``group_inputs``) when it can.
    links: LevelLinks | None = None
    group: GroupJudge | None = None
    # What the instance whose inner nodes these are reaches in the graph around it (the
    # top level: nothing), asked only for a node with an open input.
    outside: Callable[[], tuple[str, ...]] = lambda: ()
    # The slots of the subgraph's inputs its instance leaves open (``socket_links``).
    open_slots: frozenset[int] = frozenset()


@dataclass
class _Walk:
    """Accumulates what a walk over the graph finds (mutable only inside this module)."""

    name: str
    definitions: dict[str, dict[str, Any]]
    group_nodes: dict[str, Any]
    nodes: list[NodeUse] = field(default_factory=list)
    # The nodes' numbers, node after node (ParsedWorkflow.numbers).
    numbers: list[float] = field(default_factory=list)
    references: list[ModelReference] = field(default_factory=list)
    input_files: list[InputFileReference] = field(default_factory=list)
    own_models: dict[str, tuple[EmbeddedModel, ...]] = field(default_factory=dict)
    all_models: list[EmbeddedModel] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    undefined: list[NodeUse] = field(default_factory=list)
    expanded: int = 0
    values_read: int = 0
    table: LoaderTable | None = None
    findings_dropped: int = 0
    # A node that feeds unconnected inputs as the prompt is queued (Use Everywhere):
    # then no input is judged open.
    broadcasting: bool = False
    # Whether every link between running nodes ComfyUI would receive is in the nodes'
    # ``fed_by`` (ParsedWorkflow.links_whole): cleared by the first link in doubt.
    links_whole: bool = True
    # Link origins and node types per graph definition, computed once however many
    # instances there are (keyed by the id of the definition's object, alive all walk).
    _levels: dict[
        int,
        tuple[list[dict[str, Any]], dict[object, object], dict[object, str], dict[object, int]],
    ] = field(default_factory=dict)
    _shapes: dict[int, SubgraphShape] = field(default_factory=dict)
    _links: dict[int, LevelLinks] = field(default_factory=dict)
    _groups: dict[int, GroupShape | None] = field(default_factory=dict)

    def link_in_doubt(self) -> None:
        """A link may reach ComfyUI by a way ``fed_by`` does not record."""
        self.links_whole = False

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
        self.undefined.append(node_use(node, node_id, node_type, bypassed, muted))

    def level(
        self,
        key: object,
        nodes: object,
        links: object,
        prefix: str,
        bypassed: bool,
        muted: bool,
        stack: tuple[str, ...],
        received: InstanceInputs = NOTHING,
        judged: bool = True,
    ) -> _Level:
        """Return the walk state of one graph level; ``key`` identifies a reusable
        definition (None: compute afresh); ``received`` is what its instance gives the
        subgraph's inputs; ``judged``: whether its nodes' open inputs are read."""
        cached = self._levels.get(id(key)) if key is not None else None
        if cached is None:
            node_list = (
                [node for node in nodes if isinstance(node, dict)]
                if isinstance(nodes, list)
                else []
            )
            types = {}
            for node in node_list:
                raw_id, raw_type = scalar_key(node.get("id")), node.get("type")
                if raw_id is not None and isinstance(raw_type, str):
                    types[raw_id] = raw_type
            origins, slots = skip_reroutes(link_origins(links), input_slots(links), node_list)
            cached = (node_list, origins, types, slots)
            if key is not None:
                self._levels[id(key)] = cached
        node_list, origins, types, slots = cached
        graph = None
        if judged:
            graph = self._links.get(id(key)) if key is not None else None
            if graph is None:
                graph = level_links(node_list, links, types)
                if key is not None:
                    self._links[id(key)] = graph
        return _Level(
            node_list, origins, types, prefix, bypassed, muted, stack, 0, slots, received, graph
        )

    def instance_inputs(
        self, node: dict[str, Any], subgraph: dict[str, Any], level: _Level
    ) -> InstanceInputs:
        """What the instance ``node`` in ``level`` gives its subgraph's inputs."""
        # Read once per definition: a subgraph of many inputs instantiated thousands of
        # times must not cost inputs x instances.
        shape = self._shapes.get(id(subgraph))
        if shape is None:
            shape = self._shapes[id(subgraph)] = subgraph_shape(subgraph)
        return instance_inputs(node, shape, level.received, level.slots, level.origins, level.types)

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
        self.spend(1, value_cost(widgets) + value_cost(inputs) + value_cost(raw_models))
        # Interned: a collection repeats the same ids ("3", "12:5"), one string each.
        node_id = sys.intern(f"{level.prefix}{_node_id(node.get('id'), position)}")
        node_type = node.get("type")
        if not isinstance(node_type, str) or not node_type:
            self.finding(f"Node {node_id} has no type and is ignored.")
            return None
        if broadcasts(node_type):
            self.broadcasting = True
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
            inner = self.level(
                subgraph,
                subgraph.get("nodes"),
                subgraph.get("links"),
                f"{node_id}:",
                bypassed,
                muted,
                (*level.stack, node_type),
                self.instance_inputs(node, subgraph, level),
            )
            inner.outside = self.reached_from(scalar_key(node.get("id")), level)
            if level.links is not None and not (bypassed or muted):
                inner.open_slots = open_slots(
                    node,
                    self._shapes[id(subgraph)].slot_by_name,
                    level.origins,
                    level.slots,
                    level.links,
                    level.open_slots,
                )
            return inner
        if node_type.startswith(GROUP_NODE_PREFIXES):
            return self.group_instance(node, node_id, node_type, bypassed, muted, level)
        if SUBGRAPH_TYPE.match(node_type):
            self.finding(
                f"Node {node_id} uses subgraph {node_type}, which the workflow does not define."
            )
            self.undefined_instance(node, node_id, node_type, bypassed, muted)
            return None
        if is_frontend_only(node_type):
            return None
        # Inside a subgraph, an input linked from the subgraph's inputs takes the
        # instance's value (or a real node's outside), not the inner widget's copy.
        given, fed = handed_down(node, level.received, level.slots)
        kinds, named, linked, numbered, numbers, nulls = ui_values(node, given, fed)
        runs_linked = level.links is not None and not (bypassed or muted)
        if level.links is None and not (bypassed or muted):
            self.links_whole = False  # a level whose links are not read (a group node's)
        fed_by = (
            ui_fed_inputs(node, level.links, level.prefix, self.hands_on, self.link_in_doubt)
            if runs_linked and level.links is not None
            else ()
        )
        use = node_use(
            node, node_id, node_type, bypassed, muted, kinds, named, linked,
            numbered=numbered, nulls=nulls, fed_by=fed_by,
        )  # fmt: skip
        if runs_linked and level.links is not None:
            use = self.with_open_inputs(use, node, level, level.links)
        elif level.group is not None and not (bypassed or muted):
            use = level.group.judged(use, position)
        self.nodes.append(use)
        self.numbers.extend(numbers)
        # A node type several packs define is read by the entry of the pack it names.
        table = self.table.for_pack(node_type, use.cnr_id, use.aux_id) if self.table else None
        files = (table or default_table()).input_files(node_type)
        if files:
            self.file_references(node, node_id, node_type, files, bypassed, muted, level)
        if not given and not could_name_models(node_type, widgets, table):
            return None
        stale = linked_from_real_node(node, level.origins, level.types) | fed
        values = [
            (name, given.pop(name) if name in given else value)
            for name, value in named_widget_values(node_type, widgets, inputs, table)
            if name is None or name not in stale
        ]
        values.extend(given.items())
        # Every embedding token in a prompt is a reference: count them before they are
        # built, so a prompt of millions of tokens is refused, not materialised.
        if len(self.references) + embedding_tokens(values) > MAX_MODEL_REFERENCES:
            raise too_many_references(self.name)
        found = references_for_node(node_id, node_type, values, bypassed, muted, table)
        check_reference_names(self.name, found)
        self.references.extend(found)
        if len(self.references) > MAX_MODEL_REFERENCES:
            raise too_many_references(self.name)
        if found and use.widgets:
            # A model file's name is kept once, in its reference (a third of the parse
            # cache at 5,000 workflows was loader values kept twice).
            texts = {ref.value for ref in found} | {
                ref.written_as for ref in found if ref.written_as
            }
            self.nodes[-1] = replace(use, widgets=without_texts(use.widgets, texts))
        return None

    def with_open_inputs(
        self, use: NodeUse, node: dict[str, Any], level: _Level, graph: LevelLinks
    ) -> NodeUse:
        """``use`` with the socket inputs nothing feeds (those it lists, and the listed
        ones it lacks) and, when there are any, the node types its outputs reach
        (:mod:`watchman.comfy.socket_links`)."""
        opened = open_sockets(node, level.origins, level.slots, graph, level.open_slots)
        listed = self.table.listed_sockets.get(use.node_type) if self.table else None
        if listed:
            absent = absent_sockets(node, listed)
            if absent:
                opened = tuple(dict.fromkeys((*opened, *absent)))
        if not opened:
            # What a node reaches is kept only for an open input: kept for every linked
            # node too, the sets were a fifth of a cold cycle's peak at 5,000 workflows.
            return use
        reaches = self.reached_from(scalar_key(node.get("id")), level)()
        return replace(use, open_inputs=opened, reaches=reaches)

    def reached_from(self, node_id: object, level: _Level) -> Callable[[], tuple[str, ...]]:
        """Return what asks, once, for the node types the node ``node_id`` of ``level``
        reaches (:mod:`watchman.comfy.socket_links`); through its subgraph's outputs,
        what its instance reaches around it."""
        graph = level.links
        answer: list[tuple[str, ...]] = []

        def reached() -> tuple[str, ...]:
            if graph is None:
                return ()
            if not answer:
                answer.append(reached_in(graph, node_id, self.hands_on, level.outside))
            return answer[0]

        return reached

    def hands_on(self, node_type: str) -> bool:
        """Whether a node of ``node_type`` runs nothing of its own for what reaches it: a
        frontend-only node or an instance (whose inner nodes are judged on their own)."""
        return (
            is_frontend_only(node_type)
            or node_type in self.definitions
            or is_instance_type(node_type)
        )

    def file_references(
        self,
        node: dict[str, Any],
        node_id: str,
        node_type: str,
        files: FileInputs,
        bypassed: bool,
        muted: bool,
        level: _Level,
    ) -> None:
        """Record the files a node names in ComfyUI's input folder (LoadImage's image)."""
        given, fed = handed_down(node, level.received, level.slots)
        linked = linked_from_real_node(node, level.origins, level.types) | fed
        values = widget_values_by_name(files, node.get("widgets_values"), given, linked)
        self.input_files.extend(
            references_for_inputs(node_id, node_type, files, values, bypassed, muted)
        )

    def group_instance(
        self,
        node: dict[str, Any],
        node_id: str,
        node_type: str,
        bypassed: bool,
        muted: bool,
        level: _Level,
    ) -> _Level | None:
        """Return the level of a group node instance's inner nodes, judged for open
        inputs where the instance's level is and its definition reads surely; None (a
        finding) when it is undefined or nested too deep."""
        name, stack = group_name(node_type), level.stack
        definition = self.group_nodes.get(name)
        if not isinstance(definition, dict) or node_type in stack:
            self.finding(
                f"Node {node_id} is group node {shortened(name)!r}, which the workflow "
                "does not define."
            )
            self.undefined_instance(node, node_id, node_type, bypassed, muted)
            return None
        if len(stack) >= MAX_NESTING:
            self.finding(
                f"Node {node_id} is group node {shortened(name)!r} nested deeper than "
                f"{MAX_NESTING} levels (MAX_NESTING); it is not followed."
            )
            return None
        expanded = expand_group_instance(node, definition)
        inner = self.level(
            None,
            expanded,
            definition.get("links"),
            f"{node_id}:",
            bypassed,
            muted,
            (*stack, node_type),
            judged=False,
        )
        if level.links is not None and not (bypassed or muted):
            inner.group = self.group_judge(node, definition, level, level.links)
        return inner

    def group_judge(
        self, node: dict[str, Any], definition: dict[str, Any], level: _Level, graph: LevelLinks
    ) -> GroupJudge | None:
        """The judge of the group node instance ``node`` of ``definition`` in ``level``
        (:mod:`watchman.comfy.group_inputs`), or None where it is not read surely."""
        if id(definition) not in self._groups:
            listed = self.table.listed_sockets.get if self.table else lambda _: None
            nested = lambda kind: kind in self.definitions or is_instance_type(kind)  # noqa: E731
            self._groups[id(definition)] = group_shape(definition, nested, listed)
        shape = self._groups[id(definition)]
        if shape is None:
            return None
        opened = open_sockets(node, level.origins, level.slots, graph, level.open_slots)
        feeds = group_feeds(node, shape, opened)
        if feeds is None:
            return None
        outside = self.reached_from(scalar_key(node.get("id")), level)
        return GroupJudge(shape, feeds, outside, self.hands_on)


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
    # One table for the whole walk: its answers are remembered across the nodes.
    walk.table = table or default_table()
    top_models = document.get("models")
    walk.spend(0, value_cost(top_models))
    walk.all_models.extend(embedded_models_from(top_models))
    walk.run(walk.level(None, document.get("nodes"), document.get("links"), "", False, False, ()))
    if walk.findings_dropped:
        walk.errors.append(
            f"{walk.findings_dropped} further findings are not listed (MAX_FINDINGS)."
        )
    references, attach_errors = attach_embedded(walk.references, walk.own_models, walk.all_models)
    nodes = walk.nodes
    if walk.broadcasting:
        nodes = [replace(node, open_inputs=(), reaches=(), fed_by=()) for node in nodes]
    return ParsedWorkflow(
        format=file_format,
        nodes=tuple(nodes),
        model_refs=references,
        embedded_models=unique_models(walk.all_models),
        subgraph_ids=frozenset(walk.definitions),
        errors=tuple(walk.errors) + attach_errors,
        undefined_instances=tuple(walk.undefined),
        input_files=tuple(walk.input_files),
        numbers=packed_numbers(walk.numbers),
        # Use Everywhere feeds inputs no saved link names: the links are not all known.
        links_whole=walk.links_whole and not walk.broadcasting,
    )
