"""The installed node classes: ComfyUI's core and every custom node pack, enabled or
disabled, with the loaders learned from their source, and the inventory's cache document
(``custom_nodes_cache.json``).

The inventory is built by :func:`watchman.stages.inventory.node_scan.scan_node_inventory`,
which reads the install statically (custom node code is never imported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any, Literal, cast

from watchman.comfy.frontend_words import Words, named_in_scripts
from watchman.comfy.loader_source import LearnedLoader
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.pack_node_types import ConditionalTypes
from watchman.comfy.static_sockets import StaticSockets, sockets_from_json, sockets_json
from watchman.errors import StateError

CACHE_SCHEMA_VERSION = 4  # 3: sockets of a pack's own type, and its scripts' words; 4: link types

SamplerListsValue = tuple[tuple[str, tuple[str, ...]], ...]
"""The sampler and scheduler lists as sorted ``(key, sorted choices)`` pairs: frozen and
equal for equal files (keys as :data:`watchman.comfy.sampler_lists.SharedLists`)."""

# A cached pack lacking any of these was read by an older reader: it is read again.
_PACK_READ_KEYS = (
    "loaders",
    "frontend_nodes",
    "changes_sampler_lists",
    "patched_classes",
    "sockets",
    "frontend_words",
)

PackKind = Literal["folder", "file"]


@dataclass(frozen=True)
class NodePack:
    """One installed custom node pack, enabled or disabled."""

    name: str
    path: str
    kind: PackKind
    enabled: bool
    git_remote: str | None
    git_commit: str | None
    version: str | None
    node_classes: tuple[str, ...]
    signature: str = ""
    loaders: tuple[LearnedLoader, ...] = ()
    # Node types its JavaScript registers in the frontend alone (KJNodes' SetNode):
    # never sent to the server, so no /object_info lists them (frontend_nodes.py).
    frontend_nodes: tuple[str, ...] = ()
    # Node types registered only when another pack's folder is installed (MultiGPU's
    # wrappers of GGUF or WanVideoWrapper nodes): ((folder names, node types), ...).
    conditional_nodes: ConditionalTypes = ()
    # The Comfy registry id of a folder installed from the registry (no git checkout; a
    # .tracking file and pyproject.toml's [project] name, as ComfyUI-Manager tells one):
    # comfy-cli updates it, not git.
    registry_id: str | None = None
    # Whether its source may change ComfyUI's sampler or scheduler lists (RES4LYF adds
    # samplers at import): then the install's lists are not known offline.
    changes_sampler_lists: bool = False
    # Class names its source patches (``nodes.KSampler.INPUT_TYPES = ...``): a loader of
    # that node type, ComfyUI's or another pack's, may not run as its source says.
    patched_classes: tuple[str, ...] = ()
    # The socket rules its classes' source writes, by node type (comfy/pack_sockets):
    # the offline check of required inputs left open.
    sockets: StaticSockets = ()
    # The capital words its scripts write (a type one names may be a custom widget),
    # None when its scripts could not all be read (comfy/frontend_words).
    frontend_words: Words = ()

    @property
    def git_checkout(self) -> bool:
        """Whether the pack is a git checkout whose facts were read (its remote or its
        commit): one ``git pull`` can update."""
        return self.git_remote is not None or self.git_commit is not None

    def installed_folder_key(self) -> str | None:
        """The pack's folder name as MultiGPU compares installed folders (lower case,
        letters and digits only), or None for a single-file pack or one kept in
        ``custom_nodes/.disabled``."""
        where = PurePath(self.path)
        if self.kind != "folder" or where.parent.name == ".disabled":
            return None
        return folder_key(where.name)


@dataclass(frozen=True)
class NodeInventory:
    """Core node classes plus every pack found under ``custom_nodes``."""

    core_nodes: frozenset[str]
    packs: tuple[NodePack, ...]
    core_signature: str = ""
    core_loaders: tuple[LearnedLoader, ...] = ()
    # The lists comfy/samplers.py writes, as sorted (key, choices) pairs (sampler_lists.py).
    sampler_lists: SamplerListsValue = ()
    # The socket rules the core's source writes, by node type (comfy/pack_sockets).
    core_sockets: StaticSockets = ()
    # The paths of enabled packs ComfyUI failed to import at its last start (its log, read
    # each cycle: never cached); their node types do not exist for it.
    import_failed: frozenset[str] = frozenset()
    _by_class: Mapping[str, tuple[NodePack, ...]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )
    # The packs' folder names as MultiGPU compares them (NodePack.installed_folder_key).
    _folders: frozenset[str | None] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=frozenset
    )

    def __post_init__(self) -> None:
        index: dict[str, list[NodePack]] = {}
        folders = frozenset(pack.installed_folder_key() for pack in self.packs)
        object.__setattr__(self, "_folders", folders)
        for pack in self.packs:
            for node_class in (*pack.node_classes, *pack.frontend_nodes):
                index.setdefault(node_class, []).append(pack)
            for names, types in pack.conditional_nodes:
                if any(folder_key(name) in folders for name in names):
                    for node_class in types:
                        index.setdefault(node_class, []).append(pack)
        object.__setattr__(self, "_by_class", {k: tuple(v) for k, v in index.items()})

    def enabled_classes(self) -> frozenset[str]:
        """Return the node types ComfyUI would load: core plus enabled packs, but for
        those it failed to import at its last start."""
        classes = set(self.core_nodes)
        for pack in self.packs:
            if self.loads(pack):
                classes.update(pack.node_classes)
                classes.update(pack.frontend_nodes)
                classes.update(self.conditional_classes(pack))
        return frozenset(classes)

    def conditional_classes(self, pack: NodePack) -> frozenset[str]:
        """The node types ``pack`` registers because another pack's folder is there."""
        return frozenset(
            node_class
            for names, types in pack.conditional_nodes
            if any(folder_key(name) in self._folders for name in names)
            for node_class in types
        )

    def frontend_classes(self) -> frozenset[str]:
        """Return the node types the loaded packs register in the frontend alone: a live
        server's ``/object_info`` never lists them, yet ComfyUI's page has them."""
        return frozenset(
            node_type
            for pack in self.packs
            if self.loads(pack)
            for node_type in pack.frontend_nodes
        )

    def loads(self, pack: NodePack) -> bool:
        """Whether ComfyUI loads ``pack``: it is enabled and did not fail to import."""
        return pack.enabled and pack.path not in self.import_failed

    def learned_loaders(self) -> tuple[LearnedLoader, ...]:
        """Return the loaders read from the install's source, earlier ones winning for a
        node type defined twice: the core first (ComfyUI never lets a pack replace a core
        node type: it skips the names the core registered), then the enabled packs (what
        ComfyUI runs), then disabled packs (their folders still describe a workflow that
        uses them).

        A pack's loader keeps its widget layout (the offline check of list values) only
        when ComfyUI surely runs that class: its pack is enabled, the core does not define
        the node type, and no other enabled pack registers it (the last one ComfyUI loads
        would win). No loader keeps its layout when an enabled pack patches a class of
        its node type's name (``nodes.CLIPLoader.INPUT_TYPES = ...``)."""
        registered, patched = self._enabled_registrations()
        core = set(self.core_nodes)

        def runs(loader: LearnedLoader, enabled: bool) -> LearnedLoader:
            sure = enabled and loader.node_type not in core
            if loader.layout and not (sure and registered.get(loader.node_type, 0) <= 1):
                return replace(loader, layout=())
            return loader

        def unpatched(loader: LearnedLoader) -> LearnedLoader:
            # A pack patching another's (or ComfyUI's) class: its list is not read.
            if loader.layout and loader.node_type in patched:
                return replace(loader, layout=())
            return loader

        enabled = [
            runs(loader, True) for pack in self.packs if pack.enabled for loader in pack.loaders
        ]
        disabled = [
            runs(loader, False)
            for pack in self.packs
            if not pack.enabled
            for loader in pack.loaders
        ]
        return tuple(unpatched(loader) for loader in (*self.core_loaders, *enabled, *disabled))

    def _enabled_registrations(self) -> tuple[dict[str, int], set[str]]:
        """Return how many enabled packs register each node type, and the class names
        enabled packs patch."""
        registered: dict[str, int] = {}
        patched: set[str] = set()
        for pack in self.packs:
            if pack.enabled:
                for node_type in set(pack.node_classes):
                    registered[node_type] = registered.get(node_type, 0) + 1
                patched.update(pack.patched_classes)
        return registered, patched

    def static_sockets(self) -> dict[str, SocketRules]:
        """Return the socket rules ComfyUI surely runs, by node type, as the source
        writes them: the core's, then those of enabled packs it loads for node types the
        core does not define and no other enabled pack registers. None of a node type an
        enabled pack patches (``nodes.SaveImage.INPUT_TYPES = ...``), since what it
        runs is not what the source says. Disabled packs' node types are not installed."""
        registered, patched = self._enabled_registrations()
        found = {
            node_type: rules for node_type, rules in self.core_sockets if node_type not in patched
        }
        for pack in self.packs:
            if not self.loads(pack):
                continue
            for node_type, rules in pack.sockets:
                if (
                    node_type not in self.core_nodes
                    and node_type not in found
                    and registered.get(node_type, 0) <= 1
                    and node_type not in patched
                ):
                    found.setdefault(node_type, rules)
        return found

    def listed_sockets(self) -> dict[str, frozenset[str]]:
        """Return, per node type of :meth:`static_sockets`, its required inputs of a type
        every frontend lists in a saved node, where it has any: those of ComfyUI's own
        data types (``SocketRules.listed``), and those of a pack's own data type that no
        enabled pack's script names, so none may make it a widget (none at all when one
        pack's scripts are not known: :mod:`watchman.comfy.frontend_words`)."""
        named = named_in_scripts(pack.frontend_words for pack in self.packs if pack.enabled)
        found = {}
        for node_type, rules in self.static_sockets().items():
            listed = rules.listed
            if rules.typed and named is not None:
                sockets = {name for name, kind in rules.typed if kind not in named}
                listed = listed | sockets if sockets else listed
            if listed:
                found[node_type] = listed
        return found

    def checked_sampler_lists(self) -> dict[str, frozenset[str]]:
        """Return the sampler and scheduler lists ComfyUI validates against, as
        ``comfy/samplers.py`` writes them, or none when an enabled pack may change them
        (one that failed to import too: it may have changed them before it failed)."""
        if any(pack.enabled and pack.changes_sampler_lists for pack in self.packs):
            return {}
        return {key: frozenset(choices) for key, choices in self.sampler_lists}

    def packs_defining(self, node_type: str) -> tuple[NodePack, ...]:
        """Return every pack, enabled or disabled, that declares ``node_type``."""
        return self._by_class.get(node_type, ())

    def to_cache_document(self) -> dict[str, Any]:
        """Return the ``custom_nodes_cache.json`` document; equal trees give equal documents."""
        return {
            "schema_version": CACHE_SCHEMA_VERSION,
            "core_node_count": len(self.core_nodes),
            "core_nodes": sorted(self.core_nodes),
            "core_signature": self.core_signature,
            "core_loaders": [loader.to_json() for loader in self.core_loaders],
            "sampler_lists": {key: list(choices) for key, choices in self.sampler_lists},
            "core_sockets": sockets_json(self.core_sockets),
            "packs": [
                {
                    "name": pack.name,
                    "path": pack.path,
                    "kind": pack.kind,
                    "enabled": pack.enabled,
                    "git_remote": pack.git_remote,
                    "git_commit": pack.git_commit,
                    "version": pack.version,
                    "node_classes": list(pack.node_classes),
                    "signature": pack.signature,
                    "loaders": [loader.to_json() for loader in pack.loaders],
                    "frontend_nodes": list(pack.frontend_nodes),
                    "conditional_nodes": [
                        [list(names), list(types)] for names, types in pack.conditional_nodes
                    ],
                    "registry_id": pack.registry_id,
                    "changes_sampler_lists": pack.changes_sampler_lists,
                    "patched_classes": list(pack.patched_classes),
                    "sockets": sockets_json(pack.sockets),
                    "frontend_words": (
                        None if pack.frontend_words is None else list(pack.frontend_words)
                    ),
                }
                for pack in self.packs
            ],
        }

    @classmethod
    def from_cache_document(cls, document: Mapping[str, Any]) -> NodeInventory:
        """Rebuild an inventory from ``to_cache_document`` output.

        Raises:
            StateError: the document is of another schema or malformed.
        """
        if document.get("schema_version") != CACHE_SCHEMA_VERSION:
            raise StateError(
                f"Node inventory cache has schema_version {document.get('schema_version')!r}, "
                f"expected {CACHE_SCHEMA_VERSION}; it will be rebuilt."
            )
        try:
            packs = tuple(
                NodePack(
                    name=str(item["name"]),
                    path=str(item["path"]),
                    kind=_pack_kind(item["kind"]),
                    enabled=bool(item["enabled"]),
                    git_remote=_optional_text(item.get("git_remote")),
                    git_commit=_optional_text(item.get("git_commit")),
                    version=_optional_text(item.get("version")),
                    node_classes=tuple(str(name) for name in item["node_classes"]),
                    # A cache written before loaders (or frontend nodes, or node types
                    # followed across modules) were read has no such key: an empty
                    # signature makes the next scan read the pack again.
                    signature=(
                        str(item.get("signature", ""))
                        if all(key in item for key in _PACK_READ_KEYS)
                        else ""
                    ),
                    loaders=tuple(LearnedLoader.from_json(x) for x in item.get("loaders", ())),
                    frontend_nodes=tuple(str(name) for name in item.get("frontend_nodes", ())),
                    conditional_nodes=tuple(
                        (tuple(str(n) for n in names), tuple(str(t) for t in types))
                        for names, types in item.get("conditional_nodes", ())
                    ),
                    registry_id=_optional_text(item.get("registry_id")),
                    changes_sampler_lists=item.get("changes_sampler_lists") is True,
                    patched_classes=tuple(str(n) for n in item.get("patched_classes", ())),
                    sockets=sockets_from_json(item.get("sockets", {})),
                    frontend_words=_cached_words(item.get("frontend_words")),
                )
                for item in document["packs"]
            )
            core = frozenset(str(name) for name in document["core_nodes"])
            core_loaders = tuple(
                LearnedLoader.from_json(x) for x in document.get("core_loaders", ())
            )
            sampler_lists = _cached_sampler_lists(document.get("sampler_lists"))
            core_sockets = sockets_from_json(document.get("core_sockets", {}))
        except (KeyError, TypeError, ValueError) as error:
            raise StateError(
                f"Node inventory cache is malformed ({error!r}); it will be rebuilt."
            ) from None
        core_signature = str(document.get("core_signature", ""))
        return cls(
            core_nodes=core,
            packs=packs,
            core_signature=(
                core_signature
                if "core_loaders" in document
                and "core_sockets" in document
                and sampler_lists is not None
                else ""
            ),
            core_loaders=core_loaders,
            core_sockets=core_sockets,
            sampler_lists=sampler_lists or (),
        )


def _cached_words(value: object) -> Words:
    """A pack's cached script words (None: not known). Raises TypeError when malformed."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        raise TypeError("a pack's script words are not a list of texts")
    return tuple(value)


def _cached_sampler_lists(value: object) -> SamplerListsValue | None:
    """The cached sampler lists, or None when absent or malformed (the core is read again)."""
    if not isinstance(value, dict):
        return None
    pairs = []
    for key, choices in value.items():
        if not (isinstance(choices, list) and all(isinstance(c, str) for c in choices)):
            return None
        pairs.append((str(key), tuple(sorted(choices))))
    return tuple(sorted(pairs))


def folder_key(name: str) -> str:
    """``ComfyUI-GGUF`` -> ``comfyuigguf``: a folder name as MultiGPU's
    ``check_module_exists`` compares it."""
    return "".join(char for char in name.lower() if char.isalnum())


def _pack_kind(value: object) -> PackKind:
    if value not in ("folder", "file"):
        raise ValueError(f"pack kind {value!r}")
    return cast(PackKind, value)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)
