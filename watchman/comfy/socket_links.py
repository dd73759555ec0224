"""Which socket inputs of a node nothing feeds, and which node types its outputs reach:
what tells a required input left unconnected (ComfyUI's ``Required input is missing``)
from one that is fed.

The frontend turns the graph into the prompt it queues. A muted node is left out, and so
is every input it feeds. A bypassed node hands each of its outputs the input of the same
type (none, or one not linked: the input it feeds is left out). A reroute hands on what
enters it. ComfyUI then checks, for every output node and each node it needs, that every
required input is given, and refuses that output otherwise. Which inputs are required and
which node types are outputs is the install's to say (a live server's ``/object_info``:
:mod:`watchman.stages.socket_needs`); what is read here is what the workflow says:

- per UI node, its socket inputs (an ``inputs`` entry without a ``widget``: a widget's
  value is sent whether or not it has a socket) that nothing reaches, as far as the file
  shows: no link, a chain of reroutes that starts nowhere, a muted source, a bypassed
  source with no linked input of that type; and the required inputs of a data type its
  install's source writes (``MODEL``, ``IMAGE``...: every frontend lists those) that its
  ``inputs`` lack (:func:`absent_sockets`). A link whose ends the file does not show
  (a link id absent from ``links``, a source id no node has, a subgraph's input) counts
  as fed, save a link from a subgraph's input whose instance leaves that input open
  itself: the check never calls an input open on evidence it lacks;
- per node that has such an input (every node of an API prompt, whose absent inputs the
  definitions tell), the node types its outputs reach, its own included, through
  bypassed nodes and reroutes but not through muted ones; inside a subgraph, what reaches
  the subgraph's outputs reaches what its instance's outputs reach.

Every field is a stranger's, and the work is linear in the level's nodes and links.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from watchman.comfy.value_pool import ValuePool
from watchman.comfy.workflow_graph import (
    MODE_BYPASSED,
    MODE_MUTED,
    PASS_THROUGH_NODES,
    link_ends,
    scalar_key,
)

MAX_PASSED_THROUGH = 64
"""Bypassed sources followed back for one input; a longer chain counts as fed."""

MAX_REACHED_TYPES = 64
"""Node types kept of what one node reaches; past this, the first in sorted order."""

REACHED: ValuePool[tuple[str, ...]] = ValuePool(8_192)
"""The reached types' tuples, shared: most nodes of a collection reach one of a few sets
(a sampler, a decoder, a save), and a parse keeps one per node a link feeds."""

BROADCASTING_MARK = "Everywhere"
"""In the type of a node that feeds unconnected inputs as the prompt is queued
(cg-use-everywhere's ``Anything Everywhere``, ``Prompts Everywhere``, ``Seed
Everywhere``...): in a workflow holding one, an open input is not judged."""

SUBGRAPH_OUTPUT_NODE = -20
"""The id links inside a subgraph end at when they go to the subgraph's outputs."""

BEYOND = "\0beyond"
"""Stands, among a subgraph's reached types, for what its instance reaches outside
(:func:`beyond`): the same definition serves every instance."""

NodeKey = object
"""A node id as the file writes it (a JSON scalar)."""

TypeOf = Callable[[NodeKey], "str | None"]
"""node id -> the type it adds to what a node reaches (None: it adds none: muted,
bypassed, frontend-only, an instance, or absent)."""


def broadcasts(node_type: str) -> bool:
    """Return whether ``node_type`` feeds unconnected inputs itself (see
    :data:`BROADCASTING_MARK`)."""
    return BROADCASTING_MARK in node_type


@dataclass
class LevelLinks:
    """What one UI graph level says about its links, read once per level: its node types
    by id (every node it has), its muted and bypassed nodes by id, and, made on first use
    (most levels never need them), its links' source slots and each node's targets; with
    the memo of reached types a walk fills, its legacy reroute nodes by id (the link id
    their one input lists, None when it lists none or the id is a reroute's twice) and
    the memo of what enters their chains (:meth:`through_reroutes`)."""

    types: Mapping[NodeKey, str]
    inactive: dict[NodeKey, Mapping[str, Any]]
    links: object
    reached: dict[NodeKey, tuple[str, ...]] = field(default_factory=dict)
    reroutes: dict[NodeKey, object] = field(default_factory=dict)
    _origin_slots: dict[NodeKey, object] | None = None
    _targets: dict[NodeKey, list[NodeKey]] | None = None
    _ends: dict[NodeKey, tuple[NodeKey, object, NodeKey, object] | None] | None = None
    _entering: dict[NodeKey, tuple[NodeKey, object] | None] = field(default_factory=dict)

    @property
    def origin_slots(self) -> dict[NodeKey, object]:
        """link id -> the slot of its source it leaves from, as written."""
        if self._origin_slots is None:
            self._read_links()
        assert self._origin_slots is not None
        return self._origin_slots

    @property
    def targets(self) -> dict[NodeKey, list[NodeKey]]:
        """node id -> the nodes its links go to."""
        if self._targets is None:
            self._read_links()
        assert self._targets is not None
        return self._targets

    @property
    def ends(self) -> dict[NodeKey, tuple[NodeKey, object, NodeKey, object] | None]:
        """link id -> its source node, the slot it leaves from, its target node and the
        slot it goes to (slots as written); None for an id the level holds twice."""
        if self._ends is None:
            self._read_links()
        assert self._ends is not None
        return self._ends

    def _read_links(self) -> None:
        origin_slots: dict[NodeKey, object] = {}
        targets: dict[NodeKey, list[NodeKey]] = {}
        ends: dict[NodeKey, tuple[NodeKey, object, NodeKey, object] | None] = {}
        for key, origin, slot, target, target_slot in link_ends(self.links):
            key, origin, target = scalar_key(key), scalar_key(origin), scalar_key(target)
            if key is not None:
                origin_slots[key] = slot
                ends[key] = None if key in ends else (origin, slot, target, target_slot)
            if origin is not None and target is not None:
                targets.setdefault(origin, []).append(target)
        self._origin_slots, self._targets, self._ends = origin_slots, targets, ends

    def through_reroutes(self, reroute: NodeKey, slot: object) -> tuple[NodeKey, object] | None:
        """Return the source node and slot (as written) of the link entering the chain of
        legacy reroutes a link leaving ``reroute`` from ``slot`` comes through: what the
        frontend sends in its stead, ``[source id, source slot]``.

        Takes a node id of :attr:`reroutes` and the slot the link leaves it from. Returns
        None when that slot is not 0 (a reroute's one output: the frontend finds no input
        to follow and sends nothing), or the chain loops, starts nowhere (a reroute
        whose input lists no link, or one the level lacks or holds twice), passes a
        bypassed reroute (the frontend's bypass rules are not judged here) or a link
        that goes elsewhere than the reroute listing it or leaves a reroute from another
        slot than 0. A muted reroute is followed, as the frontend does: it runs nothing
        either way. The source may be any node id, the subgraph's input node included:
        the caller judges it as the source of a direct link. Each reroute is resolved
        once per level (linear in its reroutes). Never raises.
        """
        if not _is_first(slot):
            return None
        chain: list[NodeKey] = []
        on_chain: set[NodeKey] = set()
        current = reroute
        answer: tuple[NodeKey, object] | None = None
        while True:
            if current in self._entering:
                answer = self._entering[current]
                break
            if current in on_chain:
                break  # a loop: nothing enters it
            chain.append(current)
            on_chain.add(current)
            node = self.inactive.get(current)
            if node is not None and node.get("mode") == MODE_BYPASSED:
                break
            ends = self.ends.get(self.reroutes.get(current))
            if ends is None:
                break
            origin, origin_slot, target, target_slot = ends
            if target != current or not _is_first(target_slot):
                break
            if origin not in self.reroutes:
                answer = (origin, origin_slot)
                break
            if not _is_first(origin_slot):
                break
            current = origin
        # Every reroute walked leads to the same answer: the next link ending there stops
        # at once, so a level's chains cost their reroutes once.
        for walked in chain:
            self._entering[walked] = answer
        return answer


def level_links(
    nodes: Iterable[Mapping[str, Any]], links: object, types: Mapping[NodeKey, str]
) -> LevelLinks:
    """Return the :class:`LevelLinks` of one level: its ``nodes`` (dicts), ``links``
    (list or dict links, as ``workflow_graph.link_ends`` reads them) and its node types by
    id. Never raises."""
    inactive: dict[NodeKey, Mapping[str, Any]] = {}
    reroutes: dict[NodeKey, object] = {}
    for node in nodes:
        if node.get("mode") in (MODE_MUTED, MODE_BYPASSED):
            node_id = scalar_key(node.get("id"))
            if node_id is not None:
                inactive.setdefault(node_id, node)
        node_type = node.get("type")
        if isinstance(node_type, str) and node_type in PASS_THROUGH_NODES:
            node_id = scalar_key(node.get("id"))
            if node_id is not None:
                # Two reroutes of one id: which one a link leaves is unsure.
                reroutes[node_id] = None if node_id in reroutes else _first_link(node)
    return LevelLinks(types, inactive, links, reroutes=reroutes)


def _first_link(node: Mapping[str, Any]) -> object:
    """The link id a reroute's one input lists (None when it lists none)."""
    inputs = node.get("inputs")
    first = inputs[0] if isinstance(inputs, list) and inputs else None
    return scalar_key(first.get("link")) if isinstance(first, dict) else None


def _is_first(slot: object) -> bool:
    """Whether ``slot`` is written as the first slot, 0 (not ``false`` or ``0.0``)."""
    return type(slot) is int and slot == 0


def open_sockets(
    node: Mapping[str, Any],
    origins: Mapping[NodeKey, NodeKey],
    subgraph_slots: Mapping[NodeKey, int],
    graph: LevelLinks,
    open_slots: frozenset[int] = frozenset(),
) -> tuple[str, ...]:
    """Return the names of the socket inputs of UI ``node`` that nothing feeds.

    Takes the node, its level's link id -> source node id with reroutes looked through
    (``workflow_graph.skip_reroutes``: None where a chain starts nowhere), the level's
    links from its subgraph's inputs (link id -> slot), the level's :class:`LevelLinks`
    and the slots of its subgraph's inputs the instance leaves open (:func:`open_slots`).
    """
    inputs = node.get("inputs")
    names: list[str] = []
    for item in inputs if isinstance(inputs, list) else ():
        if not isinstance(item, dict) or "widget" in item:
            continue
        name = item.get("name")
        if (
            isinstance(name, str)
            and name
            and not _fed(item, origins, subgraph_slots, graph, open_slots)
        ):
            names.append(sys.intern(name))
    return tuple(dict.fromkeys(names))


def absent_sockets(node: Mapping[str, Any], listed: frozenset[str]) -> tuple[str, ...]:
    """Return the names of ``listed`` (required inputs of a type every frontend lists in
    a saved node's ``inputs``) that UI ``node`` does not list, sorted: it was saved from
    another definition of its type, and the prompt gets no value for them. A node
    saving no ``inputs`` list at all is not judged."""
    inputs = node.get("inputs")
    if not isinstance(inputs, list):
        return ()
    names = {
        name
        for item in inputs
        if isinstance(item, dict) and isinstance(name := item.get("name"), str)
    }
    return tuple(sorted(name for name in listed if name not in names))


def _fed(
    item: Mapping[str, Any],
    origins: Mapping[NodeKey, NodeKey],
    subgraph_slots: Mapping[NodeKey, int],
    graph: LevelLinks,
    open_slots: frozenset[int] = frozenset(),
) -> bool:
    link = scalar_key(item.get("link"))
    socket_type = item.get("type")
    for _ in range(MAX_PASSED_THROUGH):
        if link is None:
            return False
        if link in subgraph_slots:
            return subgraph_slots[link] not in open_slots  # what the instance gives
        if link not in origins:
            return True  # a link the file does not show
        source_id = origins[link]
        if source_id is None:
            return False  # reroutes from nowhere
        source = graph.inactive.get(source_id)
        if source is None:
            return True  # a running node, or one the level does not have
        if source.get("mode") == MODE_MUTED:
            return False
        link = _passed_through(source, socket_type, graph.origin_slots.get(link))
    return True


def open_slots(
    instance: Mapping[str, Any],
    slot_by_name: Mapping[str, int],
    origins: Mapping[NodeKey, NodeKey],
    subgraph_slots: Mapping[NodeKey, int],
    graph: LevelLinks,
    around: frozenset[int] = frozenset(),
) -> frozenset[int]:
    """Return the input slots of a subgraph that its ``instance`` leaves open: the
    instance's socket inputs nothing feeds (:func:`open_sockets`, over the level the
    instance sits in, ``around`` being that level's own open slots), by the subgraph
    input of that name (``slot_by_name``)."""
    names = open_sockets(instance, origins, subgraph_slots, graph, around)
    return frozenset(slot_by_name[name] for name in names if name in slot_by_name)


def _passed_through(source: Mapping[str, Any], socket_type: object, slot: object) -> NodeKey:
    """The link a bypassed ``source`` hands on for an output of ``socket_type``: that of
    its input at the output's slot when of that type, else of its first input of that
    type (the frontend's order); None when it has none."""
    inputs = source.get("inputs")
    if not isinstance(inputs, list) or not isinstance(socket_type, str):
        return None
    order = list(range(len(inputs)))
    if isinstance(slot, int) and not isinstance(slot, bool) and 0 <= slot < len(inputs):
        order.insert(0, slot)
    for position in order:
        candidate = inputs[position]
        if isinstance(candidate, dict) and candidate.get("type") == socket_type:
            return scalar_key(candidate.get("link"))
    return None


def ui_type_of(graph: LevelLinks, passes: Callable[[str], bool]) -> TypeOf:
    """Return the :data:`TypeOf` of a UI level: a node's type when it runs (not muted,
    not bypassed, not a node ``passes`` says hands its input on: frontend-only nodes and
    instances)."""

    def type_of(node_id: NodeKey) -> str | None:
        if node_id == SUBGRAPH_OUTPUT_NODE:
            return BEYOND
        node_type = graph.types.get(node_id)
        if node_type is None or node_id in graph.inactive or passes(node_type):
            return None
        return node_type

    return type_of


def ui_passable(graph: LevelLinks) -> Callable[[NodeKey], bool]:
    """Return whether a UI node's outputs are followed: it is on the level and not muted
    (a muted node runs nothing, so nothing after it runs for it)."""

    def passable(node_id: NodeKey) -> bool:
        if node_id == SUBGRAPH_OUTPUT_NODE:
            return True
        if node_id not in graph.types:
            return False
        node = graph.inactive.get(node_id)
        return node is None or node.get("mode") != MODE_MUTED

    return passable


def reached_types(
    start: NodeKey,
    targets: Mapping[NodeKey, list[NodeKey]],
    type_of: TypeOf,
    passable: Callable[[NodeKey], bool],
    memo: dict[NodeKey, tuple[str, ...]],
) -> tuple[str, ...]:
    """Return the types of the nodes ``start``'s outputs reach, its own included, sorted.

    Follows ``targets`` (node -> the nodes its links go to) through each node
    ``passable`` allows, adding the type :data:`TypeOf` gives each. ``memo`` keeps each
    node's answer for the next call, so a level costs its nodes and links once. In a
    cycle (a stranger's file), a node's answer may lack what only the cycle leads back
    to. At most :data:`MAX_REACHED_TYPES` types are kept. Never recursive.
    """
    stack: list[tuple[NodeKey, bool]] = [(start, False)]
    on_path: set[NodeKey] = set()
    while stack:
        node_id, expanded = stack.pop()
        if node_id in memo:
            continue
        if expanded:
            on_path.discard(node_id)
            found: set[str] = set()
            own = type_of(node_id)
            if own is not None:
                found.add(own)
            for target in targets.get(node_id, ()):
                found.update(memo.get(target, ()))
            kept = sorted(found)[:MAX_REACHED_TYPES]
            memo[node_id] = REACHED.shared(tuple(sys.intern(name) for name in kept))
            continue
        if node_id in on_path:
            continue
        on_path.add(node_id)
        stack.append((node_id, True))
        for target in targets.get(node_id, ()):
            if target not in memo and target not in on_path and passable(target):
                stack.append((target, False))
    return memo.get(start, ())


def reached_in(
    graph: LevelLinks,
    start: NodeKey,
    passes: Callable[[str], bool],
    outside: Callable[[], tuple[str, ...]],
) -> tuple[str, ...]:
    """Return the node types the node ``start`` of the UI level ``graph`` reaches
    (:func:`reached_types` over its links, remembered in ``graph.reached``), with what
    ``outside`` gives for what leaves the level (:func:`beyond`); ``passes`` tells a
    node type that runs nothing of its own (see :func:`ui_type_of`)."""
    found = reached_types(
        start, graph.targets, ui_type_of(graph, passes), ui_passable(graph), graph.reached
    )
    return beyond(found, outside)


def known_links(
    types: Mapping[NodeKey, str],
    inactive: dict[NodeKey, Mapping[str, Any]],
    targets: dict[NodeKey, list[NodeKey]],
) -> LevelLinks:
    """Return the :class:`LevelLinks` of a level whose links are already read as node ->
    the nodes they go to (a group definition's, written in another form)."""
    return LevelLinks(types, inactive, None, _origin_slots={}, _targets=targets, _ends={})


def beyond(reached: tuple[str, ...], outside: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
    """Return ``reached`` with :data:`BEYOND` replaced by what ``outside`` gives (the
    types a subgraph's instance reaches in the graph around it), sorted, at most
    :data:`MAX_REACHED_TYPES`."""
    if BEYOND not in reached:
        return reached
    found = {name for name in reached if name != BEYOND} | set(outside())
    return tuple(sorted(found)[:MAX_REACHED_TYPES])
