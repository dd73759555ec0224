"""The workflow parse cache on disk (``state/workflow_cache.jsonl``): one compact line per
workflow, read and written line by line.

At 5,000 workflows the cache is tens of megabytes. Read as one JSON document it cost
about four times its size in memory while decoding (the decoder's own tree beside the
Python objects) and every parse was rebuilt from a dict of dicts. Here each workflow is
one line, ``<path as JSON> TAB <record as JSON>``, its record a positional array and its
parse one too (no key repeated per node), so:

* loading keeps each line as bytes, keyed by the path before the tab: nothing is decoded
  until the workflows stage asks for that entry (:func:`decode_entry`);
* an entry that did not change keeps its line as it was read: it is never re-encoded,
  and a cache in which no line changed is not rewritten;
* a damaged line costs that one workflow a re-read, never the rest of the cache.

The first line is a header naming the schema, the parser version (a new reader or loader
table re-parses everything) and the record layout (the parse's field names: a changed
data model re-parses everything instead of misreading positions).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import orjson

from watchman.comfy.input_files import InputFileReference
from watchman.comfy.socket_links import REACHED
from watchman.comfy.workflow_model import (
    PARSE_SCHEMA_VERSION,
    EmbeddedModel,
    ModelReference,
    NodeUse,
    ParsedWorkflow,
    fed_inputs,
    numbers_from_json,
    numbers_json,
)
from watchman.state.json_codec import dumps_line, loads_json
from watchman.state.path_lines import read_path_lines, write_path_lines

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 3: reached types written once per workflow, named by place; 4: links_whole
_NODE_FIELDS = tuple(field.name for field in fields(NodeUse))
_VALUES_AT = _NODE_FIELDS.index("widgets")
"""Where a packed node's kept values begin: widgets, named and linked, in that order."""
_LINKS_AT = _NODE_FIELDS.index("open_inputs")
"""Where a packed node's link facts begin: open inputs, given inputs and the place of its
reached types in the workflow's table, in that order, then the names of its numbers and
of its nulls known by name, and its fed inputs, each left out at the end when empty (most
nodes have none)."""
_REFERENCE_FIELDS = tuple(field.name for field in fields(ModelReference))
_EMBEDDED_FIELDS = tuple(field.name for field in fields(EmbeddedModel))
_INPUT_FILE_FIELDS = tuple(field.name for field in fields(InputFileReference))
RECORD_LAYOUT = hashlib.sha256(
    repr(
        (
            PARSE_SCHEMA_VERSION,
            _NODE_FIELDS,
            _REFERENCE_FIELDS,
            _EMBEDDED_FIELDS,
            _INPUT_FILE_FIELDS,
        )
    ).encode()
).hexdigest()[:12]
"""Names the positions of a packed parse; another data model reads nothing back."""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """What the cache remembers of one workflow file: its source label, its stamps when
    it was last hashed (size, mtime, POSIX ctime, and when that scan started), its sha256,
    and the parse (packed, see :func:`unpack_parse`) or the error that stopped it;
    ``failure`` names the exception a reader failed with unexpectedly."""

    source: str
    size: int
    mtime_ns: int
    ctime_ns: int | None
    checked_ns: int
    sha256: str
    parsed: list[Any] | None
    error: str | None
    failure: str | None = None


def header(parser_version: str) -> bytes:
    """The first line of a cache written for ``parser_version``."""
    return _dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "parser_version": parser_version,
            "layout": RECORD_LAYOUT,
        }
    )


def encode_entry(path: str, entry: CacheEntry) -> bytes:
    """Return the cache line of ``entry`` for the file ``path`` (newline included)."""
    record = [
        entry.source,
        entry.size,
        entry.mtime_ns,
        entry.ctime_ns,
        entry.checked_ns,
        entry.sha256,
        entry.parsed,
        entry.error,
        entry.failure,
    ]
    # JSON escapes control characters inside strings, so the first tab ends the path.
    return _dumps(path)[:-1] + b"\t" + _dumps(record)


def decode_entry(line: bytes) -> CacheEntry:
    """Return the entry of one cache line.

    Raises:
        ValueError, TypeError: the line is damaged or of another shape.
    """
    _, _, record = line.partition(b"\t")
    source, size, mtime_ns, ctime_ns, checked_ns, sha256, parsed, error, failure = loads_json(
        record
    )
    if not (isinstance(size, int) and isinstance(mtime_ns, int) and isinstance(checked_ns, int)):
        raise TypeError("stamps are not integers")
    if not (ctime_ns is None or isinstance(ctime_ns, int)):
        raise TypeError("the ctime is not an integer")
    if not (parsed is None or isinstance(parsed, list)):
        raise TypeError("the parse is not a list")
    return CacheEntry(
        str(source),
        size,
        mtime_ns,
        ctime_ns,
        checked_ns,
        str(sha256),
        parsed,
        None if error is None else str(error),
        None if failure is None else str(failure),
    )


def pack_parse(parsed: ParsedWorkflow) -> list[Any]:
    """Return ``parsed`` as positional JSON-ready lists (see :func:`unpack_parse`)."""
    # Each distinct set of reached types is written once, in the workflow's table, and a
    # node names its place there: a node a link feeds keeps what its outputs reach, and
    # written per node those sets were half of the cache (34 MB of 5,000 workflows).
    reached: dict[tuple[str, ...], int] = {}
    nodes = [_pack_node(node, reached) for node in parsed.nodes]
    undefined = [_pack_node(node, reached) for node in parsed.undefined_instances]
    return [
        parsed.format,
        nodes,
        [pack_reference(reference) for reference in parsed.model_refs],
        [[getattr(model, name) for name in _EMBEDDED_FIELDS] for model in parsed.embedded_models],
        sorted(parsed.subgraph_ids),
        list(parsed.errors),
        undefined,
        [[getattr(file, name) for name in _INPUT_FILE_FIELDS] for file in parsed.input_files],
        [list(types) for types in reached],
        numbers_json(parsed.numbers),
        parsed.links_whole,
    ]


def _pack_node(node: NodeUse, reached: dict[tuple[str, ...], int]) -> list[Any]:
    # Lists, as JSON gives them back: a packed parse compares equal to its decoded line.
    head = [getattr(node, name) for name in _NODE_FIELDS[:_VALUES_AT]]
    packed = [*head, list(node.widgets), [list(pair) for pair in node.named], list(node.linked)]
    tail = [
        list(node.open_inputs),
        list(node.given) if node.given is not None else None,
        reached.setdefault(node.reaches, len(reached)) if node.reaches else [],
        list(node.numbered),
        list(node.nulls),
        [list(fed) for fed in node.fed_by],
    ]
    while tail and (tail[-1] is None or tail[-1] == []):  # a place of 0 is kept
        tail.pop()
    return packed + tail


def pack_reference(reference: ModelReference) -> list[Any]:
    """Return ``reference`` as a positional JSON-ready list (see :func:`unpack_reference`)."""
    values = [getattr(reference, name) for name in _REFERENCE_FIELDS]
    embedded = reference.embedded
    if embedded is not None:
        values[_REFERENCE_FIELDS.index("embedded")] = [
            getattr(embedded, name) for name in _EMBEDDED_FIELDS
        ]
    return values


_EMBEDDED_AT = _REFERENCE_FIELDS.index("embedded")
_WRITTEN_AS_AT = _REFERENCE_FIELDS.index("written_as")


def _interned(value: Any) -> Any:
    # Thousands of workflows repeat the same node ids, types, pack ids, versions, inputs,
    # folders and model names: one string each instead of one per use (~15 MB at 5,000).
    return sys.intern(value) if type(value) is str else value


Records = dict[tuple[Any, ...], NodeUse]
"""The nodes unpacked so far in one scan, by their packed values: thousands of workflows
repeat the same node (id, type, state, pack, version), and an equal record is one frozen
object, built and interned once (see :func:`unpack_parse`)."""


def unpack_parse(packed: Sequence[Any], records: Records | None = None) -> ParsedWorkflow:
    """Rebuild the ParsedWorkflow :func:`pack_parse` packed, equal to the original, with
    its short texts interned. ``records`` (one per scan) shares equal nodes between the
    workflows unpacked with it (None: nothing shared).

    Raises:
        ValueError, TypeError: the packed value has another shape.
    """
    outline = unpack_outline(packed)
    nodes, undefined, reached_table, numbers = packed[1], packed[6], packed[8], packed[9]
    records = {} if records is None else records
    reached = [REACHED.shared(tuple(map(sys.intern, types))) for types in reached_table]
    return replace(
        outline,
        nodes=tuple(_node(values, records, reached) for values in nodes),
        undefined_instances=tuple(_node(values, records, reached) for values in undefined),
        numbers=numbers_from_json(numbers),
    )


def unpack_outline(packed: Sequence[Any]) -> ParsedWorkflow:
    """Rebuild of the parse :func:`pack_parse` packed all but its nodes and numbers: its
    format, model references, embedded models, subgraph ids, findings, input files and
    whether its links are whole. That is all a workflow whose needs are kept is asked
    (:mod:`watchman.stages.needs_cache`), and the nodes are most of an unpacking's cost.

    Raises:
        ValueError, TypeError: the packed value has another shape.
    """
    (
        kind,
        nodes,
        references,
        embedded,
        subgraph_ids,
        errors,
        undefined,
        input_files,
        reached_table,
        _numbers,
        links_whole,
    ) = packed
    if type(links_whole) is not bool:
        raise TypeError("whether the links are whole is not true or false")
    if not (type(nodes) is list and type(undefined) is list and type(reached_table) is list):
        raise TypeError("a parse's nodes or reached types are not lists")
    return ParsedWorkflow(
        format=_interned(kind),
        nodes=(),
        model_refs=tuple(unpack_reference(values) for values in references),
        embedded_models=tuple(EmbeddedModel(*values) for values in embedded),
        subgraph_ids=frozenset(str(item) for item in subgraph_ids),
        errors=tuple(str(item) for item in errors),
        input_files=tuple(_input_file(values) for values in input_files),
        links_whole=links_whole,
    )


def _input_file(values: list[Any]) -> InputFileReference:
    if len(values) != len(_INPUT_FILE_FIELDS):
        raise ValueError("an input file record of another length")
    return InputFileReference(*map(_interned, values))


def _node(values: list[Any], records: Records, reached: Sequence[tuple[str, ...]]) -> NodeUse:
    if not _LINKS_AT <= len(values) <= len(_NODE_FIELDS):
        raise ValueError("a node record of another length")
    # A record met before, byte for byte and with the same reach, is that node: found by
    # its JSON text before anything is decoded (one serialisation, ~1 us, where decoding
    # and checking a node cost ~20 us; most nodes of a large collection repeat).
    seen = _seen_key(values, reached)
    if seen is not None:
        found = records.get(seen)
        if found is not None:
            return found
    node = _decoded_node(values, records, reached)
    if seen is not None:
        records[seen] = node
    return node


def _seen_key(values: list[Any], reached: Sequence[tuple[str, ...]]) -> tuple[Any, ...] | None:
    """The key a node record is known by before decoding: its JSON text and the reach its
    position in ``reached`` names (None: no such key, decode it)."""
    at = values[_LINKS_AT + 2] if len(values) > _LINKS_AT + 2 else []
    if type(at) is int and 0 <= at < len(reached):
        reaches = reached[at]
    elif at == []:
        reaches = ()
    else:
        return None  # damaged: decoding says how
    try:
        text = orjson.dumps(values)
    except orjson.JSONEncodeError:
        return None  # a value only the standard library writes (past 64 bits): decode it
    # A digest, not the text: orjson's bytes keep their 4 KiB buffer (30,000 records
    # held 116 MiB). Bytes first, so never equal to a decoded record's key.
    return (hashlib.blake2b(text, digest_size=16).digest(), reaches)


def _decoded_node(
    values: list[Any], records: Records, reached: Sequence[tuple[str, ...]]
) -> NodeUse:
    head = values[:_VALUES_AT]
    widgets, named, linked = values[_VALUES_AT:_LINKS_AT]
    tail = [*values[_LINKS_AT:], *[[], None, [], [], [], []][len(values) - _LINKS_AT :]]
    if not (
        type(tail[0]) is list
        and (tail[2] == [] or (type(tail[2]) is int and tail[2] >= 0))
        and type(tail[3]) is list
        and type(tail[4]) is list
        and type(tail[1]) in (list, type(None))
    ):
        raise TypeError("a node's link facts are not lists")
    opened = tuple(map(sys.intern, tail[0]))
    given = tuple(map(sys.intern, tail[1])) if tail[1] is not None else None
    reaches = reached[tail[2]] if type(tail[2]) is int else ()  # IndexError: damaged
    numbered = tuple(map(sys.intern, tail[3]))
    nulls = tuple(map(sys.intern, tail[4]))
    fed_by = fed_inputs(tail[5])
    kinds = tuple(map(_interned, widgets))
    if not all(type(kind) in (str, int) for kind in kinds):
        raise TypeError("a kept widget value is neither a text nor a kind")
    pairs = tuple((sys.intern(name), sys.intern(value)) for name, value in named)
    links = tuple(sys.intern(name) for name in linked)
    # The types are part of the key: True and 1 are equal keys, not equal records.
    key = (
        *head,
        *map(type, head),
        kinds,
        tuple(map(type, kinds)),
        pairs,
        links,
        opened,
        given,
        reaches,
        numbered,
        nulls,
        fed_by,
    )
    known = records.get(key)
    if known is None:
        node_id, node_type, bypassed, muted, cnr_id, aux_id, version = map(_interned, head)
        known = records[key] = NodeUse(
            node_id,
            node_type,
            bypassed,
            muted,
            cnr_id,
            aux_id,
            version,
            kinds,
            pairs,
            links,
            opened,
            given,
            reaches,
            numbered,
            nulls,
            fed_by,
        )
    return known


def unpack_reference(values: list[Any]) -> ModelReference:
    """Rebuild the reference :func:`pack_reference` packed, its short texts interned.

    Raises:
        ValueError, TypeError: the packed value has another shape.
    """
    # Not shared as nodes are: a reference names its node, so equal ones are rare.
    if len(values) != len(_REFERENCE_FIELDS):
        raise ValueError("a reference record of another length")
    fields = list(values)  # a copy: the packed parse may be written again as it was
    for at in _INTERNED_AT:
        value = fields[at]
        if type(value) is str:
            fields[at] = sys.intern(value)
    embedded = fields[_EMBEDDED_AT]
    if embedded is not None:
        fields[_EMBEDDED_AT] = EmbeddedModel(*embedded)
    return ModelReference(*fields)


_INTERNED_AT = tuple(
    at for at, name in enumerate(_REFERENCE_FIELDS) if name not in ("written_as", "embedded")
)
"""The positions of a packed reference whose texts are interned: all but the text as
written (a whole prompt or URL, rarely repeated) and the embedded metadata."""


def load_entries(path: Path, parser_version: str) -> dict[str, bytes]:
    """Return the cache's lines by workflow path, undecoded; empty when the file is
    absent, unreadable, of another version or layout (then everything is read again).
    A line without a path is skipped (that workflow is read again)."""
    entries = read_path_lines(path, header(parser_version), "the workflow cache")
    if entries is None:
        logger.info("The workflow cache %s is of another version; re-reading.", path)
        return {}
    return entries


def save_entries(
    path: Path, parser_version: str, entries: Mapping[str, bytes], previous: Mapping[str, bytes]
) -> bool:
    """Write the cache's lines when any differs from ``previous`` (what was loaded, in
    order); return True if written.

    Raises:
        OSError: the file cannot be written.
    """
    return write_path_lines(path, header(parser_version), entries, previous)


def _dumps(value: Any) -> bytes:
    return dumps_line(value) + b"\n"
