"""The workflow data model: what reading a workflow yields, frozen and serialisable.

Nothing here reads files or knows a format; the readers (``workflow_ui``, ``workflow_api``,
``image_metadata``) build these values and ``workflow`` picks the reader.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from watchman.comfy.input_files import InputFileReference
from watchman.comfy.model_key import NodeLookup
from watchman.comfy.number_ranges import EXACT_INTEGERS
from watchman.comfy.value_pool import ValuePool
from watchman.comfy.widget_values import (
    number_count,
    number_value,
    packed_numbers,
    unpacked_numbers,
)
from watchman.errors import StateError

PARSE_SCHEMA_VERSION = 8
"""Version of ``ParsedWorkflow.to_json``; a cache entry of another version is re-parsed."""


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
    ``value`` is the file name as written (for a URL, an absolute path or a ``<lora:...>``
    tag, the file name in it, the full text kept in ``written_as``); ``folder`` is the
    canonical ComfyUI folder type or None when unknown; ``embedded`` is the matching
    embedded metadata (a URL value is its own), if any; ``inferred`` says the folder
    comes from the input's name alone, on a node no loader table knows; ``lookup`` says
    how the node finds the file (:data:`~watchman.comfy.model_key.NodeLookup`): through
    ComfyUI's exact list, or by name itself (LoRA tags and entries).
    """

    node_id: str
    node_type: str
    input: str | None
    value: str
    folder: str | None
    bypassed: bool
    muted: bool
    embedded: EmbeddedModel | None
    inferred: bool = False
    written_as: str | None = None
    lookup: NodeLookup = "list"


FedInput = tuple[str, str, str, int, str]
"""An input a link feeds: its name, the source node's id and type, the source's slot, and
the type a UI node saved for the input ("" in an API prompt, which saves none)."""

FED_INPUTS: ValuePool[FedInput] = ValuePool(16_384)
FED_LISTS: ValuePool[tuple[FedInput, ...]] = ValuePool(8_192)
"""The fed inputs, and a node's tuple of them, shared: a collection's nodes repeat the
same links (a sampler fed by its loader), and a parse keeps them for every linked node."""


def shared_fed(found: Iterable[FedInput]) -> tuple[FedInput, ...]:
    """Return ``found`` as one tuple, each record and the tuple shared with equal ones."""
    return FED_LISTS.shared(tuple(FED_INPUTS.shared(record) for record in found))


@dataclass(frozen=True, slots=True)
class NodeUse:
    """One real node of the workflow, with its state and the pack ids it records.

    ``widgets``, ``named`` and ``linked`` keep what a live server's input lists are
    checked against (:mod:`watchman.comfy.widget_values`): the UI's ``widgets_values``
    list in compact form, values known by input name (an API prompt's, a dict of widget
    values, a subgraph instance's), and the widget inputs a link feeds.

    ``open_inputs``, ``given`` and ``reaches`` keep what tells a required input left
    unconnected (:mod:`watchman.comfy.socket_links`): a UI node's socket inputs nothing
    feeds; an API node's every input name (None for a UI node, whose saved ``inputs``
    say which are open); and, for a node that may lack an input, the node types its
    outputs reach, its own included.

    ``numbered`` names the inputs whose value, known by name, is a number: their values
    are kept in the workflow's ``numbers`` (:attr:`ParsedWorkflow.numbers`), after those
    of the node's ``widgets`` list. ``nulls`` names those whose value, known by name, is
    null (:func:`~watchman.comfy.widget_values.named_nulls`).
    ``fed_by`` holds, per input a link surely feeds from a running node (see
    :mod:`watchman.comfy.link_sources`), the input's name, that node's id and type, and
    the output slot the link leaves from, and the input's type as saved: what ComfyUI
    compares the types of.
    """

    node_id: str
    node_type: str
    bypassed: bool
    muted: bool
    cnr_id: str | None
    aux_id: str | None
    version: str | None
    widgets: tuple[str | int, ...] = ()
    named: tuple[tuple[str, str], ...] = ()
    linked: tuple[str, ...] = ()
    open_inputs: tuple[str, ...] = ()
    given: tuple[str, ...] | None = None
    reaches: tuple[str, ...] = ()
    numbered: tuple[str, ...] = ()
    nulls: tuple[str, ...] = ()
    fed_by: tuple[FedInput, ...] = ()


def fed_inputs(data: object) -> tuple[FedInput, ...]:
    """Return the :data:`FedInput` records of their JSON form (lists of five), interned.

    Raises:
        TypeError: a record has another shape.
    """
    if not isinstance(data, (list, tuple)):
        raise TypeError("fed inputs are not a list")
    found: list[FedInput] = []
    for item in data:
        if not (isinstance(item, (list, tuple)) and len(item) == 5):
            raise TypeError("a fed input is not a list of five")
        name, source_id, source_type, slot, saved = item
        texts = (name, source_id, source_type, saved)
        if not (all(type(text) is str for text in texts) and type(slot) is int):
            raise TypeError("a fed input's fields are of other types")
        found.append(
            (
                sys.intern(name),
                sys.intern(source_id),
                sys.intern(source_type),
                slot,
                sys.intern(saved),
            )
        )
    return shared_fed(found)


def _fields(record: NodeUse | EmbeddedModel | InputFileReference) -> dict[str, Any]:
    # dataclasses.asdict deep-copies every value (a quarter of a cold cycle's parse time
    # at 5,000 workflows); these records hold only strings, booleans and None.
    return {name: getattr(record, name) for name in record.__slots__}


_NODE_VALUES = (
    "widgets", "named", "linked", "open_inputs", "reaches", "numbered", "nulls", "fed_by",
)  # fmt: skip


def _node_fields(node: NodeUse) -> dict[str, Any]:
    # The value fields only when set: most nodes have none, and the cache stays small.
    fields = _fields(node)
    for name in _NODE_VALUES:
        if not fields[name]:
            del fields[name]
    if fields["given"] is None:
        del fields["given"]
    return fields


def _node_from_json(data: dict[str, Any]) -> NodeUse:
    # JSON gives lists where the record holds tuples (equal records, hashable values).
    return NodeUse(
        **{
            **data,
            "widgets": tuple(data.get("widgets", ())),
            "named": tuple((str(name), str(value)) for name, value in data.get("named", ())),
            "linked": tuple(data.get("linked", ())),
            "open_inputs": tuple(data.get("open_inputs", ())),
            "given": tuple(data["given"]) if data.get("given") is not None else None,
            "reaches": tuple(data.get("reaches", ())),
            "numbered": tuple(data.get("numbered", ())),
            "nulls": tuple(data.get("nulls", ())),
            "fed_by": fed_inputs(data.get("fed_by", [])),
        }
    )


def _reference_fields(reference: ModelReference) -> dict[str, Any]:
    fields = {name: getattr(reference, name) for name in reference.__slots__}
    if reference.embedded is not None:
        fields["embedded"] = _fields(reference.embedded)
    return fields


@dataclass(frozen=True, slots=True)
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
    # Files named in ComfyUI's input (or output, temp) folder: LoadImage's image...
    input_files: tuple[InputFileReference, ...] = ()
    # The nodes' numbers, node by node as ``nodes`` lists them: the values of each one's
    # NUMBER widget positions, then of its ``numbered`` inputs, as one run of doubles
    # (:func:`~watchman.comfy.widget_values.packed_numbers`; see :meth:`node_numbers`).
    numbers: bytes = b""
    # Whether ``fed_by`` holds every link between running nodes ComfyUI would receive
    # (:mod:`watchman.comfy.link_sources`): then what an output needs follows from them
    # alone. False wherever a link may reach ComfyUI by a way not recorded (a bypassed
    # node, a subgraph's edge, a virtual node other than a primitive, a link in doubt),
    # and for API prompts, whose nodes keep what they reach themselves.
    links_whole: bool = False

    def node_numbers(self) -> list[tuple[float, ...]]:
        """Return each node's numbers, as ``nodes`` lists them (a node the numbers do
        not reach, in a parse whose numbers are short, has none). Never raises."""
        try:
            values = unpacked_numbers(self.numbers)
        except ValueError:
            values = ()
        found: list[tuple[float, ...]] = []
        at = 0
        for node in self.nodes:
            count = number_count(node.widgets) + len(node.numbered)
            found.append(values[at : at + count] if at + count <= len(values) else ())
            at += count
        return found

    def gist(self) -> ParsedWorkflow:
        """Return this parse with only what is asked of it once its needs are assessed:
        its format, its findings and the models it embeds (no nodes, references or
        numbers, which are most of a parse's memory)."""
        return ParsedWorkflow(
            format=self.format,
            nodes=(),
            model_refs=(),
            embedded_models=self.embedded_models,
            subgraph_ids=frozenset(),
            errors=self.errors,
        )

    @property
    def node_types(self) -> tuple[str, ...]:
        """The node types used, sorted and unique (instance types never among them)."""
        return tuple(sorted({node.node_type for node in self.nodes}))

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict that :meth:`from_json` turns back into an equal object."""
        return {
            "schema_version": PARSE_SCHEMA_VERSION,
            "format": self.format,
            "nodes": [_node_fields(node) for node in self.nodes],
            "model_refs": [_reference_fields(reference) for reference in self.model_refs],
            "embedded_models": [_fields(model) for model in self.embedded_models],
            "subgraph_ids": sorted(self.subgraph_ids),
            "errors": list(self.errors),
            "undefined_instances": [_node_fields(node) for node in self.undefined_instances],
            "input_files": [_fields(reference) for reference in self.input_files],
            "numbers": numbers_json(self.numbers),
            "links_whole": self.links_whole,
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
                nodes=tuple(_node_from_json(node) for node in data["nodes"]),
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
                    _node_from_json(node) for node in data.get("undefined_instances", ())
                ),
                input_files=tuple(
                    InputFileReference(**reference) for reference in data.get("input_files", ())
                ),
                numbers=numbers_from_json(data.get("numbers", [])),
                links_whole=data.get("links_whole", False) is True,
            )
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise StateError(f"The cached workflow parse is malformed ({error}).") from error


def numbers_json(packed: bytes) -> list[int | float]:
    """Return kept numbers as a JSON list (an integral one as an integer: shorter; not
    -0.0, which would come back as 0.0)."""
    return [
        int(number)
        if number.is_integer() and abs(number) < EXACT_INTEGERS and math.copysign(1, number) > 0
        else number
        for number in unpacked_numbers(packed)
    ]


def numbers_from_json(data: object) -> bytes:
    """Return the numbers :func:`numbers_json` wrote, packed again.

    Raises:
        ValueError: ``data`` is not a list of finite numbers.
    """
    if not isinstance(data, list):
        raise ValueError("kept numbers are not a list")
    numbers = [number_value(item) for item in data]
    if any(number is None for number in numbers):
        raise ValueError("a kept number is not a finite number")
    return packed_numbers([number for number in numbers if number is not None])


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


def unique_models(models: Iterable[EmbeddedModel]) -> tuple[EmbeddedModel, ...]:
    """Return ``models`` without repeats, first occurrence first."""
    return tuple(dict.fromkeys(models))
