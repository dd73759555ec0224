"""Values ComfyUI would refuse: a list input (a CLIP type, a scheduler, a mode) whose value
the install's list does not offer. A pure stage part: data in, data out.

ComfyUI checks every list input of the nodes it runs against the list its definition
gives (``Value not in list``) and refuses the prompt's outputs that need that node, unless
the node validates its inputs itself (``VALIDATE_INPUTS``, v3 ``validate_inputs``: then
ComfyUI leaves the list to it). A value a workflow's author picked from a newer ComfyUI
or from a pack that adds choices (a scheduler) is refused by an install that lacks them.

The lists are a live server's ``/object_info`` when one answered, else those the
install's source writes (:mod:`watchman.comfy.static_layout`). Model files and
input-folder files are left to their own checks
(:mod:`watchman.stages.model_reference_needs`, :mod:`watchman.stages.input_needs`). A
UI node's values are checked only when :func:`~watchman.comfy.widget_layout.place_values`
is sure which input each holds; a value a link feeds is not the widget's.
"""

from __future__ import annotations

import difflib
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from watchman.comfy.input_files import InputFileReference
from watchman.comfy.widget_layout import Layout, place_values
from watchman.comfy.workflow_model import ModelReference, NodeUse

LayoutLookup = Callable[[str], "Layout | None"]
"""node type -> its widget slots, the live server's or its source's (None: not known)."""

ValidatesLookup = Callable[[str, str], bool]
"""(node type, input) -> whether the node's own validation takes that input's list check
over from ComfyUI."""

MAX_CLOSE_CANDIDATES = 50
"""Choices a value is compared with for near spellings, those nearest it in sorted order:
a list of every file of a folder runs to thousands, and difflib costs each one."""

MAX_COMPARED_WHOLE = 256
"""A list of at most this many choices (samplers, schedulers, modes) is compared whole: a
value misspelled in its first letter (``xuler``) sorts far from the choice it means."""

MAX_SUGGESTED = 10
"""Unlisted values of one workflow given near spellings; the others get none."""

SAMPLER_PREFIX_NODES = frozenset({"KSampler", "KSamplerAdvanced"})
"""Nodes whose ``sample_``-prefixed sampler (from early ComfyUI) the frontend renames as
it loads a workflow (``sample_euler`` becomes ``euler``)."""

CloseMemo = dict[tuple[frozenset[str], str], tuple[str, ...]]
"""(choices, value) -> its near spellings, made once per stage for all its workflows."""


@dataclass(frozen=True, slots=True)
class UnlistedValue:
    """A list input whose value the install's list does not offer: the node, the input, the
    value as written, how many choices the list has and up to three of them spelled
    nearly alike (a renamed or misspelled choice)."""

    node_id: str
    node_type: str
    input: str
    value: str
    offered: int
    closest: tuple[str, ...]


def find_unlisted_values(
    nodes: Iterable[NodeUse],
    layouts: LayoutLookup,
    validates: ValidatesLookup,
    model_refs: Iterable[ModelReference] = (),
    input_files: Iterable[InputFileReference] = (),
    memo: CloseMemo | None = None,
) -> tuple[UnlistedValue, ...]:
    """Return the values of ``nodes`` (active ones: the caller filters) the install's lists
    do not offer, in node order.

    Takes the nodes with their kept values, the layouts (the server's or the source's),
    which node types validate themselves, and the workflow's model references and input
    files (their inputs are checked elsewhere and skipped here), and the near spellings
    found so far in this stage (``memo``; None: none kept). Never raises.
    """
    memo = {} if memo is None else memo
    elsewhere = {(ref.node_id, ref.input) for ref in model_refs if ref.input is not None}
    elsewhere.update((file.node_id, file.input) for file in input_files)
    # A reference whose input is not known by name: its value, on its node.
    unnamed = {(ref.node_id, ref.value) for ref in model_refs if ref.input is None}
    found: list[UnlistedValue] = []
    for node in nodes:
        if not (node.widgets or node.named):
            continue
        layout = layouts(node.node_type)
        if not layout:
            continue
        values = _named_values(node, layout)
        for slot in layout:
            if slot.kind != "combo" or slot.name is None or not slot.choices:
                continue
            written = values.get(slot.name)
            value = _as_loaded(node.node_type, slot.name, written)
            if value is None or value in slot.choices or written in slot.choices:
                continue  # (an early ComfyUI's own list held "sample_euler")
            if validates(node.node_type, slot.name):
                continue
            if (node.node_id, slot.name) in elsewhere or (node.node_id, value) in unnamed:
                continue
            found.append(
                UnlistedValue(
                    node_id=node.node_id,
                    node_type=node.node_type,
                    input=slot.name,
                    value=value,
                    offered=len(slot.choices),
                    closest=(
                        _closest(value, slot.choices, memo) if len(found) < MAX_SUGGESTED else ()
                    ),
                )
            )
    return tuple(found)


def _as_loaded(node_type: str, input_name: str, value: str | None) -> str | None:
    """``value`` as the frontend leaves it when it loads the workflow: an early ComfyUI's
    ``sample_euler`` is ``euler`` on a KSampler."""
    if value is not None and input_name == "sampler_name" and node_type in SAMPLER_PREFIX_NODES:
        return value.removeprefix("sample_")
    return value


def _named_values(node: NodeUse, layout: Layout) -> dict[str, str]:
    """The node's list values by input: its widget list placed on the layout (nothing
    when the layout does not fit it), without the inputs a link feeds, then the values
    it has by name (an API prompt's, a subgraph instance's), which stand."""
    placed = place_values(layout, node.widgets) if node.widgets else None
    linked = set(node.linked)
    values = {name: value for name, value in (placed or {}).items() if name not in linked}
    values.update(node.named)
    return values


def _closest(value: str, choices: frozenset[str], memo: CloseMemo) -> tuple[str, ...]:
    """Up to three choices spelled nearly like ``value``, the same whatever the process's
    hash seed: compared with every choice of a short list, else with the
    :data:`MAX_CLOSE_CANDIDATES` choices around it in case-blind order (those sharing the
    longest beginning with it)."""
    key = (choices, value)
    known = memo.get(key)
    if known is not None:
        return known
    ordered = sorted(choices, key=lambda choice: (choice.casefold(), choice))
    if len(ordered) <= MAX_COMPARED_WHOLE:
        candidates = ordered
    else:
        at = bisect_left([choice.casefold() for choice in ordered], value.casefold())
        half = MAX_CLOSE_CANDIDATES // 2
        candidates = ordered[max(0, at - half) : at + half]
    found = tuple(difflib.get_close_matches(value, candidates, n=3, cutoff=0.6))
    memo[key] = found
    return found
