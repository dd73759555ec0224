"""Which socket inputs of a legacy group node's inner nodes nothing feeds.

The frontend that made group nodes (ComfyUI's ``web/extensions/core/groupNode.js``, then
ComfyUI_frontend's ``src/extensions/core/groupNode.ts``) builds the group's inputs from
its definition (``extra.groupNodes[name]``) as the workflow loads: inner node after inner
node, in the definition's order, each socket the builder gives it
(:mod:`watchman.comfy.group_definition`) that no link *inside* the definition feeds
becomes the next input of the group, unless the definition's ``config`` hides it;
widgets converted to inputs follow, after every socket of every inner node. When the
prompt is queued, an inner socket so exposed takes what is linked to the instance's
input at that position (the position in the instance's own ``inputs``), a socket linked
inside takes its inner source (through reroutes, what enters them), and a hidden one
takes nothing. The inner outputs not linked only inside are the group's outputs, in the
same order.

What is read here is judged only where the saved workflow lines up with those rules: the
instance's inputs at the exposed positions are sockets of the inner socket's type named
as the frontend names them (the input's label or name, or that name after a node title),
the inputs after them are converted widgets, and its outputs match the shown inner
outputs in number and type. A definition the builder reads from the install's
definitions in a way the file cannot show (see ``group_definition``), or holding an
instance of a subgraph or of another group, is not judged. A socket whose inner source
is bypassed is not judged either; a muted inner source feeds nothing. Every field is a
stranger's; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from watchman.comfy.group_definition import Slot, inner_part, read_links
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.socket_links import SUBGRAPH_OUTPUT_NODE, LevelLinks, known_links, reached_in
from watchman.comfy.workflow_graph import MODE_BYPASSED, MODE_MUTED
from watchman.comfy.workflow_model import NodeUse

INSIDE, OPEN, UNSURE = -1, -2, -3
"""How an inner socket is fed, besides by the instance's input at a position (>= 0): by a
running inner node, by nothing, or not known (counted as fed)."""


@dataclass(frozen=True)
class GroupShape:
    """What every instance of one group definition needs of it, read once: per inner
    position, each socket's name and feed; per instance input position, the socket's
    type, its name and the name the frontend starts from (a custom name, the label or
    the name); per instance output position, the inner position and type it comes from;
    the inner links (position -> positions); and the inner types and the inner nodes
    muted or bypassed, by position."""

    feeds: tuple[tuple[tuple[str, int], ...], ...]
    exposed: tuple[tuple[str, str, str], ...]
    exported: tuple[tuple[int, str], ...]
    targets: Mapping[int, tuple[int, ...]]
    types: Mapping[object, str]
    inactive: dict[object, Mapping[str, Any]]


def group_shape(
    definition: Mapping[str, Any],
    is_instance: Callable[[str], bool],
    listed: Callable[[str], frozenset[str] | None],
) -> GroupShape | None:
    """Return the :class:`GroupShape` of a group definition, or None when it is not read
    surely (see the module's docstring). ``is_instance`` tells a subgraph or group type;
    ``listed`` gives the sockets every frontend lists of a node type (None: not known)."""
    nodes, config = definition.get("nodes"), definition.get("config", {})
    links = read_links(definition)
    if links is None or not isinstance(config, dict):
        return None
    assert isinstance(nodes, list)
    feeds: list[list[tuple[str, int]]] = []
    through: dict[Slot, int] = {}  # sockets fed by a reroute: the reroute's position
    exposed: list[tuple[str, str, str]] = []
    exported: list[tuple[int, str]] = []
    types: dict[object, str] = {}
    inactive: dict[object, Mapping[str, Any]] = {}
    for position, node in enumerate(nodes):
        node_type = node.get("type")
        part = inner_part(position, nodes, links, listed)
        custom = _custom(config, position)
        if part is None or custom is None or not isinstance(node_type, str):
            return None
        if is_instance(node_type):
            return None
        types[position] = node_type
        if node.get("mode") in (MODE_MUTED, MODE_BYPASSED):
            inactive[position] = node
        fed: list[tuple[str, int]] = []
        for slot, (name, kind, label) in enumerate(part.sockets):
            source = links.into.get((position, slot))
            shown = custom[0].get(name, {})
            if source is not None:
                fed.append((name, _inner_feed(nodes[source[0]])))
                if nodes[source[0]].get("type") == "Reroute":
                    through[(position, slot)] = source[0]
            elif not part.built:
                fed.append((name, UNSURE))
            elif shown.get("visible") is False:
                fed.append((name, OPEN))
            else:
                fed.append((name, len(exposed)))
                base = shown.get("name")
                exposed.append((kind, name, base if isinstance(base, str) else label))
        feeds.append(fed)
        for slot, output_type in enumerate(part.outputs if part.built else ()):
            visible = custom[1].get(str(slot), {}).get("visible")
            if not isinstance(visible, (bool, type(None))):
                return None
            if visible or (visible is None and not links.only_inside((position, slot))):
                exported.append((position, output_type))
    for (position, slot), reroute in through.items():
        feeds[position][slot] = (feeds[position][slot][0], _through(reroute, feeds, through))
    targets: dict[int, tuple[int, ...]] = {}
    for (origin, _), ends in links.out.items():
        targets[origin] = (*targets.get(origin, ()), *(target for target, _ in ends))
    frozen = tuple(tuple(fed) for fed in feeds)
    return GroupShape(frozen, tuple(exposed), tuple(exported), targets, types, inactive)


def _through(reroute: int, feeds: list[list[tuple[str, int]]], through: dict[Slot, int]) -> int:
    """The feed of what enters ``reroute``, through a chain of reroutes (a loop of them
    is not judged)."""
    for _ in range(len(feeds)):
        if (reroute, 0) not in through:
            return feeds[reroute][0][1] if feeds[reroute] else UNSURE
        reroute = through[(reroute, 0)]
    return UNSURE


@dataclass(frozen=True)
class GroupFeeds:
    """What one instance leaves its inner nodes: per inner position, the socket inputs
    nothing feeds; and the inner positions with an output the instance sends on."""

    open_inputs: tuple[tuple[str, ...], ...]
    leaving: frozenset[int]


def group_feeds(
    instance: Mapping[str, Any], shape: GroupShape, open_names: Collection[str]
) -> GroupFeeds | None:
    """Return the :class:`GroupFeeds` of ``instance``, an instance of the definition of
    ``shape`` whose socket inputs named ``open_names`` nothing feeds in the graph around
    it; None when its inputs or outputs do not line up with the definition."""
    inputs, outputs = instance.get("inputs", []), instance.get("outputs", [])
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        return None
    count = len(shape.exposed)
    if len(inputs) < count or len(outputs) != len(shape.exported):
        return None
    names: list[str] = []
    for item, (kind, name, base) in zip(inputs, shape.exposed, strict=False):
        given = item.get("name") if isinstance(item, dict) else None
        if not isinstance(given, str) or "widget" in item or item.get("type") != kind:
            return None
        # As the frontend names it: the name it starts from, or, when another input
        # took that, the socket's name after the node's title (and a count).
        if given != base and not given.endswith(f" {name}"):
            return None
        names.append(given)
    if not all(isinstance(item, dict) and "widget" in item for item in inputs[count:]):
        return None
    leaving: set[int] = set()
    for item, (position, kind) in zip(outputs, shape.exported, strict=True):
        if not isinstance(item, dict) or item.get("type") != kind:
            return None
        if isinstance(item.get("links"), list) and item["links"]:
            leaving.add(position)
    opened = tuple(
        tuple(
            name
            for name, feed in sockets
            if feed == OPEN or (feed >= 0 and names[feed] in open_names)
        )
        for sockets in shape.feeds
    )
    return GroupFeeds(opened, frozenset(leaving))


@dataclass
class GroupJudge:
    """Judges the inner nodes of one instance for the walk: ``outside`` asks what the
    instance reaches in the graph around it; ``passes`` tells a node type that runs
    nothing of its own (frontend-only, an instance)."""

    shape: GroupShape
    feeds: GroupFeeds
    outside: Callable[[], tuple[str, ...]]
    passes: Callable[[str], bool]
    _graph: LevelLinks | None = None

    def judged(self, use: NodeUse, position: int) -> NodeUse:
        """``use``, the inner node at ``position``, with its socket inputs nothing feeds
        and, when there are any, the node types its outputs reach."""
        opened = self.feeds.open_inputs[position] if position < len(self.feeds.open_inputs) else ()
        if not opened:
            return use
        if self._graph is None:
            # What leaves through a linked output of the instance reaches what the
            # instance reaches around it.
            targets: dict[object, list[object]] = {
                key: list(ends) for key, ends in self.shape.targets.items()
            }
            for key in self.feeds.leaving:
                targets.setdefault(key, []).append(SUBGRAPH_OUTPUT_NODE)
            self._graph = known_links(self.shape.types, self.shape.inactive, targets)
        reaches = reached_in(self._graph, position, self.passes, self.outside)
        return replace(use, open_inputs=opened, reaches=reaches)


def _inner_feed(source: Mapping[str, Any]) -> int:
    """How a socket linked inside from ``source`` is fed (a reroute's is what enters it,
    read after every node's)."""
    mode, source_type = source.get("mode"), source.get("type")
    if source_type == "Reroute":
        return UNSURE
    if isinstance(source_type, str) and is_frontend_only(source_type):
        return UNSURE  # a primitive feeds widgets, a note nothing
    if mode == MODE_MUTED:
        return OPEN  # left out of the prompt, and every input it feeds with it
    return UNSURE if mode == MODE_BYPASSED else INSIDE


def _custom(
    config: Mapping[str, Any], position: int
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None:
    """The definition's ``config`` of the inner node at ``position``: its inputs by name
    and its outputs by slot (each ``{"name", "visible"}``); None when malformed."""
    entry = config.get(str(position), {})
    if not isinstance(entry, dict):
        return None
    inputs, outputs = entry.get("input", {}), entry.get("output", {})
    if not isinstance(inputs, dict) or not isinstance(outputs, dict):
        return None
    if not all(isinstance(value, dict) for value in (*inputs.values(), *outputs.values())):
        return None
    return inputs, outputs


def _index(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
