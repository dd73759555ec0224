"""Looking a node type's loader spec up: the hand-written table, then the specs learned
from the installed packs' source, then the bundled table generated from packs' sources.

``LoaderTable`` holds one install's sources in order of trust and follows wrappers;
``loader_table`` builds it for an install, ``default_table`` when no install is known.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from types import MappingProxyType
from typing import Any

from watchman.comfy.folders import canonical_folder, folder_type
from watchman.comfy.input_files import KNOWN_INPUT_FILES, FileInputs
from watchman.comfy.loader_source import LearnedLoader
from watchman.comfy.loaders import LOADERS, LoaderSpec
from watchman.comfy.validated_inputs import ANY_INPUT
from watchman.comfy.widget_layout import Layout, with_shared_lists

logger = logging.getLogger(__name__)


# --- specs learned from packs' source, and the generated table of them ---------------

BUNDLED_TABLE = "bundled_loaders.json"
"""The generated table in ``watchman/comfy/data`` (see ``tools/build_loader_table.py``)."""

MAX_WRAP_DEPTH = 8
MAX_KEPT_ANSWERS = 20_000
"""Lookups a table remembers (installs know a few thousand node types)."""


def placement_folder(folder: str) -> str:
    """Return the folder type a file listed under ``folder`` is placed in.

    Takes a folder type as a pack names it. Types that only re-list another type's
    directories (ComfyUI-GGUF's ``unet_gguf`` over ``diffusion_models``) give that type,
    since it is where a file goes and where the inventory looks. Never raises.
    """
    canonical = canonical_folder(folder)
    known = folder_type(canonical)
    if known is not None and known.shares_dirs_with:
        return known.shares_dirs_with[0]
    return canonical


def learned_spec(loader: LearnedLoader, origin: str) -> LoaderSpec:
    """Return the LoaderSpec of a learned loader (without following ``wraps``): each model
    input reads from the placement folder of the first folder type it lists; an input
    reading a type whose entries are folders (``diffusers``), or one the pack lists as
    folders (``loader.folder_inputs``: Florence2's ``models/LLM`` sub-folders), takes
    folder entries, whose names carry no extension, as the core ``DiffusersLoader`` does."""
    inputs = {
        name: placement_folder(folders[0]) for name, folders in loader.model_inputs if folders
    }
    return LoaderSpec(
        widgets=loader.widgets,
        model_inputs=MappingProxyType(inputs),
        folder_entries=frozenset(
            name
            for name, folder in inputs.items()
            if _holds_folders(folder) or name in loader.folder_inputs
        ),
        origin=origin,
    )


def _holds_folders(folder: str) -> bool:
    kind = folder_type(folder)
    return kind is not None and kind.holds_folders


@dataclass(frozen=True)
class LoaderTable:
    """Every source of loader specs, looked up in order of trust.

    The hand-written :data:`LOADERS` first (checked against real workflows' widget
    names), then specs learned from the installed packs' source, then the bundled table
    generated from packs' sources. A learned or bundled node that wraps another node type
    (MultiGPU's ``UNETLoaderMultiGPU`` around ``UNETLoader``) takes that type's inputs.
    """

    learned: Mapping[str, LearnedLoader]
    bundled: Mapping[str, LearnedLoader]
    # Node types several packs of the bundled table define: each pack's repository
    # ("owner/name") with its entry, so a node that names its pack gets that pack's.
    variants: Mapping[str, tuple[tuple[str, LearnedLoader], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Per node type, its required inputs of a type every frontend lists in a saved node
    # (SocketRules.listed, from the install's source): one a saved node lacks is open.
    listed_sockets: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Answers by node type: a reader asks for every node, and a learned spec is built
    # afresh from its loader on each miss. The sources are frozen, so an answer never goes
    # stale; node types are a stranger's text, so at most MAX_KEPT_ANSWERS are kept.
    _answers: dict[str, LoaderSpec | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _for_packs: dict[tuple[str, str], LoaderTable] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def for_pack(self, node_type: str, cnr_id: str | None, aux_id: str | None) -> LoaderTable:
        """Return the table to read one node with: this one, unless the bundled table
        holds several packs' entries for ``node_type``, no surer source knows it, and the
        node names one of those packs (``aux_id`` "owner/name" as its repository, or
        ``cnr_id`` as the repository's name): then a table whose entry is that pack's.
        Two packs define ``DiffusersPipelineLoader``: ComfyUI-Diffusers' takes a
        checkpoint file, MV-Adapter's a Hugging Face repository it downloads itself."""
        options = self.variants.get(node_type)
        if not options or node_type in LOADERS or node_type in self.learned:
            return self
        named = {text.strip().lower() for text in (cnr_id, aux_id) if text}
        if not named:
            return self
        for repository, loader in options:
            if (
                repository.lower() not in named
                and repository.rsplit("/", 1)[-1].lower() not in named
            ):
                continue
            if loader is self.bundled.get(node_type):
                return self
            key = (node_type, repository)
            table = self._for_packs.get(key)
            if table is None:
                # The pack's entry over the others; kept (the keys come from the table's
                # own duplicates, a few dozen, not from the workflows' text).
                table = replace(self, bundled=ChainMap({node_type: loader}, dict(self.bundled)))
                self._for_packs[key] = table
            return table
        return self

    def spec(self, node_type: str) -> LoaderSpec | None:
        """Return the spec for ``node_type``, or None when no source knows it."""
        answers = self._answers
        if node_type in answers:
            return answers[node_type]
        found = self._spec(node_type, 0)
        if len(answers) < MAX_KEPT_ANSWERS:
            answers[node_type] = found
        return found

    def input_files(self, node_type: str) -> FileInputs:
        """Return the inputs of ``node_type`` that name a file in ComfyUI's input folder,
        each with its position among the node's widgets (-1: not known for sure, read by
        name only): what an installed pack's or the bundled table's validation says,
        else the known facts (:data:`~watchman.comfy.input_files.KNOWN_INPUT_FILES`)."""
        for source in (self.learned, self.bundled):
            loader = source.get(node_type)
            if loader is not None and loader.input_files:
                # Only the first widget's position is sure: an upload button or a
                # control_after_generate value the frontend adds would shift later ones.
                return tuple(
                    (name, 0 if loader.widgets[:1] == (name,) else -1)
                    for name in loader.input_files
                )
        return KNOWN_INPUT_FILES.get(node_type, ())

    def layout(self, node_type: str) -> Layout | None:
        """Return the widget slots an installed pack's (or the bundled table's) source
        writes for ``node_type`` with a list's choices in it
        (:mod:`watchman.comfy.static_layout`), or None: the offline check's layout."""
        for source in (self.learned, self.bundled):
            loader = source.get(node_type)
            if loader is not None and loader.layout:
                return loader.layout
        return None

    def validates(self, node_type: str, input_name: str) -> bool:
        """Whether ``node_type``'s own validation method (``VALIDATE_INPUTS``, v3
        ``validate_inputs``) takes ``input_name``, by name or as ``**kwargs``, as an
        installed pack's or the bundled table's source says: ComfyUI then leaves the
        check of that input's list to it."""
        for loader in (self.learned.get(node_type), self.bundled.get(node_type)):
            if loader is not None and (
                input_name in loader.validated or ANY_INPUT in loader.validated
            ):
                return True
        return False

    def _spec(self, node_type: str, depth: int) -> LoaderSpec | None:
        table = LOADERS.get(node_type)
        if table is not None:
            return table
        for origin, source in (("learned", self.learned), ("bundled", self.bundled)):
            loader = source.get(node_type)
            if loader is None:
                continue
            if (
                (loader.input_files or loader.validated or loader.layout)
                and not loader.model_inputs
                and loader.wraps is None
            ):
                # Known only for its input files, its own validation or its lists: as to
                # model files, the node stays unknown (its inputs' names may still say
                # which folder they read).
                continue
            if loader.model_inputs or loader.wraps is None:
                return learned_spec(loader, origin)
            if depth < MAX_WRAP_DEPTH and loader.wraps != node_type:
                inner = self._spec(loader.wraps, depth + 1)
                if inner is not None:
                    # The wrapper's widgets are the wrapped node's plus its own (a device
                    # choice), which the frontend stores after them.
                    return LoaderSpec(
                        widgets=inner.widgets,
                        model_inputs=inner.model_inputs,
                        folder_entries=inner.folder_entries,
                        origin=origin,
                    )
        return None

    @property
    def digest(self) -> str:
        """A short digest of everything the table knows that a parse reads, for parse
        caches: not the layouts and validated inputs (:attr:`checks_digest`), which only
        the needs read, so a pack's new list choice does not make every workflow parse
        again."""
        text = repr(
            (
                sorted(LOADERS.items()),
                sorted((k, _parse_part(v)) for k, v in self.learned.items() if _parsed_by(v)),
                sorted((k, _parse_part(v)) for k, v in self.bundled.items() if _parsed_by(v)),
                sorted(
                    (k, [(repository, v.to_json()) for repository, v in options])
                    for k, options in self.variants.items()
                ),
                sorted((k, sorted(v)) for k, v in self.listed_sockets.items()),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def checks_digest(self) -> str:
        """A short digest of the layouts and validated inputs the table knows, which the
        check of list values reads (part of the needs cache's context)."""
        text = repr(
            sorted(
                (k, v.to_json().get("layout"), v.validated)
                for source in (self.learned, self.bundled)
                for k, v in source.items()
                if v.layout or v.validated
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _parsed_by(loader: LearnedLoader) -> bool:
    # As spec() reads the table: an entry known only for its input files, validation or
    # lists says nothing of model files (its input files are part of it, kept).
    return bool(loader.model_inputs or loader.input_files or loader.wraps is not None) or not (
        loader.validated or loader.layout
    )


def _parse_part(loader: LearnedLoader) -> dict[str, object]:
    document = loader.to_json()
    document.pop("layout", None)
    document.pop("validated", None)
    return document


def loader_table(
    learned: Iterable[LearnedLoader] = (),
    sampler_lists: Mapping[str, frozenset[str]] | None = None,
    listed_sockets: Mapping[str, frozenset[str]] | None = None,
) -> LoaderTable:
    """Return the table for an install: the learned loaders (earlier ones win for a node
    type defined twice) over the bundled table. ``sampler_lists`` are the install's
    sampler and scheduler lists (:mod:`watchman.comfy.sampler_lists`; none: their inputs
    are not checked), given to the layouts whose lists are those. ``listed_sockets``
    are the required inputs a saved node of each type lists
    (:meth:`~watchman.stages.inventory.nodes.NodeInventory.listed_sockets`).

    Of a node type two packs define (a fork beside its original), which one ComfyUI runs
    depends on the order it loads them in: the kept entry then has no layout when theirs
    differ (its list values are not checked offline), and its validation takes the inputs
    either's does."""
    known: dict[str, LearnedLoader] = {}
    lists = sampler_lists or {}
    for loader in learned:
        if loader.layout:
            loader = replace(loader, layout=with_shared_lists(loader.layout, lists))
        kept = known.setdefault(loader.node_type, loader)
        if kept is not loader and (kept.layout != loader.layout or loader.validated):
            validated = tuple(dict.fromkeys((*kept.validated, *loader.validated)))
            layout = kept.layout if kept.layout == loader.layout else ()
            known[loader.node_type] = replace(kept, layout=layout, validated=validated)
    return LoaderTable(
        learned=MappingProxyType(known),
        bundled=bundled_loaders(),
        variants=bundled_variants(),
        listed_sockets=MappingProxyType(dict(listed_sockets or {})),
    )


@functools.cache
def bundled_loaders() -> Mapping[str, LearnedLoader]:
    """Return the bundled table's loaders by node type (read once).

    An absent or damaged table (a broken install) gives an empty mapping and a warning:
    the hand table and inference still work.
    """
    return MappingProxyType(parse_bundled_table(_bundled_document()))


@functools.cache
def bundled_variants() -> Mapping[str, tuple[tuple[str, LearnedLoader], ...]]:
    """Return, for each node type several packs of the bundled table define, each pack's
    repository ("owner/name") with its entry (read once; empty when the table cannot be
    read)."""
    return MappingProxyType(parse_bundled_variants(_bundled_document()))


@functools.cache
def _bundled_document() -> object:
    """The bundled table's decoded document, read once; None (and a warning) when it
    cannot be read."""
    try:
        text = (resources.files("watchman.comfy") / "data" / BUNDLED_TABLE).read_text("utf-8")
        return json.loads(text)
    except (OSError, ValueError) as error:
        logger.warning("The bundled loader table cannot be read (%s); it is not used.", error)
        return None


def _bundled_entries(document: object) -> Iterator[tuple[dict[str, Any], LearnedLoader]]:
    """Yield each well-formed entry of a bundled table document with its loader;
    malformed entries are skipped."""
    entries = document.get("entries") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        try:
            loader = LearnedLoader.from_json(
                {**entry, "model_inputs": entry.get("inputs"), "source": entry.get("pack")}
            )
        except ValueError:
            continue
        yield entry, loader


def parse_bundled_variants(document: object) -> dict[str, tuple[tuple[str, LearnedLoader], ...]]:
    """Return the node types of a bundled table document that several packs define, each
    with every pack's repository path ("owner/name", from its GitHub URL) and entry."""
    found: dict[str, list[tuple[str, LearnedLoader]]] = {}
    for entry, loader in _bundled_entries(document):
        repository = entry.get("repository")
        if not isinstance(repository, str):
            continue
        path = "/".join(repository.rstrip("/").removesuffix(".git").split("/")[-2:])
        found.setdefault(loader.node_type, []).append((path, loader))
    return {node_type: tuple(options) for node_type, options in found.items() if len(options) > 1}


def parse_bundled_table(document: object) -> dict[str, LearnedLoader]:
    """Return the loaders of a bundled table document by node type; malformed entries
    are skipped. The first entry of a node type wins (packs are sorted by name)."""
    loaders: dict[str, LearnedLoader] = {}
    for _, loader in _bundled_entries(document):
        loaders.setdefault(loader.node_type, loader)
    return loaders


DEFAULT_TABLE_LEARNED: Mapping[str, LearnedLoader] = MappingProxyType({})


def default_table() -> LoaderTable:
    """Return the table when no install is known: hand-written plus bundled.

    A new table each time, never one kept for the process: its remembered answers hold
    node type texts of the workflows read, and objects kept across cycles pin the pages
    they sit on, so the scheduler could not hand a cycle's memory back (+12 MiB idle).
    """
    return LoaderTable(
        learned=DEFAULT_TABLE_LEARNED, bundled=bundled_loaders(), variants=bundled_variants()
    )


def loader_spec(node_type: str, table: LoaderTable | None = None) -> LoaderSpec | None:
    """Return the spec for ``node_type`` from ``table`` (default: the hand-written and the
    bundled tables), or None when nothing knows it."""
    return (table or default_table()).spec(node_type)
