"""The inventory stage: take stock of the installed models and node packs, keep their
caches, and learn which node types the install provides.

:func:`take_stock` walks the model folders (reusing unchanged directory listings) and the
node packs (reusing the previous node inventory for unchanged packs); :func:`write_caches`
writes ``state/model_cache.json``, ``state/custom_nodes_cache.json`` and the listing
cache only when they changed; :func:`installed_nodes` asks a live ComfyUI server when one
is configured, else uses what the packs' source says, less the packs ComfyUI's last start
failed to import (``comfy/startup_log``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from watchman.comfy.extra_model_paths import InstallExtraPaths, read_install_extra_paths
from watchman.comfy.install import InstallLayout
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.startup_log import ImportFailures
from watchman.config import Settings
from watchman.environment import Environment
from watchman.errors import BackendError, StateError
from watchman.home import Home
from watchman.remote.comfyui_server import ComfyUIServer, ObjectInfo
from watchman.stages.cache_failures import CacheFailures, write_cache
from watchman.stages.inventory.listing import TreeListing
from watchman.stages.inventory.listing_file import file_identity, load_listing, save_listing
from watchman.stages.inventory.model_scan import scan_models
from watchman.stages.inventory.models import ModelInventory
from watchman.stages.inventory.node_scan import scan_node_inventory
from watchman.stages.inventory.nodes import CACHE_SCHEMA_VERSION, NodeInventory
from watchman.stages.link_type_needs import link_types_lookup
from watchman.stages.needs import InstalledNodes
from watchman.stages.socket_needs import output_flags, source_output_flags
from watchman.stages.value_needs import LayoutLookup
from watchman.state.json_state import read_json_state, set_aside_corrupt
from watchman.state.safe_files import (
    file_sha256,
    write_chunks_if_changed,
    write_json_if_changed,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stock:
    """What is installed: the models, the node packs, and the directory listings the
    model walk used (saved with the caches)."""

    models: ModelInventory
    nodes: NodeInventory
    tree: TreeListing


@dataclass(frozen=True)
class CacheWrites:
    """Which cache files the caches stage rewrote."""

    model_cache: bool
    custom_nodes_cache: bool
    # The model cache's sha256 before it was rewritten (None: it was not, could not be
    # read, or the changed names are not known), and the case-folded names of the model
    # files changed since the listings before (see TreeListing.changed_file_names).
    model_cache_before: str | None = None
    changed_names: frozenset[str] = frozenset()
    # False when the model cache could not be written: the file then stands for the
    # models of an earlier cycle, and nothing made under it (the needs cache) is to be
    # reused in this one.
    model_cache_current: bool = True


def _previous_node_inventory(home: Home) -> NodeInventory | None:
    """The last node inventory, to reuse unchanged packs; None when absent or unusable."""
    document = read_json_state(home.custom_nodes_cache, CACHE_SCHEMA_VERSION)
    if document is None:
        return None
    try:
        return NodeInventory.from_cache_document(document)
    except StateError as error:
        # Valid JSON of the right version but the wrong shape (e.g. edited by hand).
        set_aside_corrupt(home.custom_nodes_cache, str(error))
        return None


def take_stock(
    settings: Settings,
    home: Home,
    root: Path,
    environment: Environment,
    now_ns: int,
    extra_paths: InstallExtraPaths,
    stop_event: threading.Event | None = None,
    import_failures: ImportFailures | None = None,
) -> Stock:
    """Walk the install at ``root``: its models (a full re-stat every
    ``comfyui.full_restat_hours``, else unchanged directories keep their listing) and its
    node packs. ``environment`` expands ``$VARIABLES`` and ``~`` in extra_model_paths;
    ``stop_event``, once set, ends the model walk at the next folder and the node-pack
    scan at the next pack. ``import_failures``: what ComfyUI's start-up log said when the
    cycle checked its inputs (``stages/fingerprint``), applied to the node packs.
    ``extra_paths``: the install's extra_model_paths files as the cycle read them
    (:func:`read_extra_paths`), for the model walk and the node scan.

    Raises:
        ConfigError: an extra_model_paths file is malformed or cannot be read.
        CycleInterrupted: ``stop_event`` was set during the walk.
    """
    tree = TreeListing.for_cycle(
        load_listing(home.listing_cache),
        now_ns,
        int(settings.comfyui.full_restat_hours * 3600e9),
        stop_event,
    )
    models = scan_models(
        root,
        environ=environment.environ,
        home_dir=environment.home_dir,
        tree=tree,
        extra_paths=extra_paths,
    )
    tree.finish()
    custom_nodes = extra_paths.custom_nodes()
    nodes = scan_node_inventory(root, _previous_node_inventory(home), stop_event, custom_nodes)
    return Stock(models, with_import_failures(nodes, import_failures), tree)


def read_extra_paths(
    root: Path, layout: InstallLayout, environment: Environment
) -> InstallExtraPaths:
    """The install's extra_model_paths files (ComfyUI's own, then those of ``layout``:
    ``comfyui.extra_model_paths``, the desktop app's and a launcher's), read once per
    cycle with where the install keeps its files (``Services.install_layout``): the
    fingerprint stamps them and the ``custom_nodes`` folders they add, the model walk and
    the node scan use their entries. A file that cannot be read is kept as its error,
    raised by :func:`take_stock`."""
    return read_install_extra_paths(
        root,
        layout.extra_model_paths,
        environment.environ,
        environment.home_dir,
        layout.models_root,
    )


def with_import_failures(nodes: NodeInventory, failures: ImportFailures | None) -> NodeInventory:
    """Return ``nodes`` with the enabled packs ComfyUI's last start failed to import
    (``failures``, from its log) marked so; a pack changed since that log was written
    (its folder or ``__init__.py`` newer) may import now, and is left as it is."""
    if failures is None or not failures.packs:
        return nodes
    failed = set()
    for pack in nodes.packs:
        if not pack.enabled or os.path.basename(pack.path) not in failures.packs:
            continue
        if _changed_since(pack.path, failures.written_ns):
            logger.info(
                "Pack %s failed to import at ComfyUI's last start (%s) but changed since; "
                "it is taken as loading.",
                pack.name,
                failures.log,
            )
            continue
        failed.add(pack.path)
    if failed:
        logger.warning(
            "%d node pack(s) failed to import at ComfyUI's last start (%s): %s",
            len(failed),
            failures.log,
            ", ".join(sorted(os.path.basename(path) for path in failed)),
        )
    return replace(nodes, import_failed=frozenset(failed))


def _changed_since(pack_path: str, written_ns: int) -> bool:
    for path in (pack_path, os.path.join(pack_path, "__init__.py")):
        try:
            if os.stat(path).st_mtime_ns > written_ns:
                return True
        except OSError:
            continue
    return False


def write_caches(home: Home, stock: Stock, failures: CacheFailures | None = None) -> CacheWrites:
    """Write the model and node caches when they changed, and save the listings.

    The model cache follows from the listings and the roots: when neither changed and the
    file is the one last written, it is not rebuilt only to be found equal. When it is
    rewritten, the result says what it held before and which file names changed.
    ``failures``: where a cache that cannot be written is said (``stages/cache_failures``);
    when the model cache cannot be, the listings are not saved either, so that the next
    cycle finds the files it stands for changed since the listings beside it and writes
    it, with the names changed since the cache it replaces.

    Raises:
        OSError: a cache cannot be written and ``failures`` is None.
    """
    tree = stock.tree
    roots_digest = stock.models.roots_digest()
    stale = (
        tree.changed
        or tree.meta.get("model_roots") != roots_digest
        or tree.meta.get("model_cache_file") != file_identity(home.model_cache)
    )
    # Streamed: the whole document (100,000 dicts, then 18 MB of bytes, then the old
    # file read back to compare) was the peak of a cycle that added one model.
    before = file_sha256(home.model_cache) if stale else None
    written = stale and write_cache(
        failures,
        "model cache",
        home.model_cache,
        lambda: write_chunks_if_changed(home.model_cache, stock.models.cache_chunks()),
        None,
    )
    if written is not None:
        tree.meta["model_roots"] = roots_digest
        tree.meta["model_cache_file"] = file_identity(home.model_cache)
        write_cache(
            failures,
            "listing of the model folders",
            home.listing_cache,
            lambda: save_listing(home.listing_cache, tree),
            None,
        )
    nodes_cache = write_cache(
        failures,
        "custom-nodes cache",
        home.custom_nodes_cache,
        lambda: write_json_if_changed(home.custom_nodes_cache, stock.nodes.to_cache_document()),
        False,
    )
    if written is None:
        return CacheWrites(False, nodes_cache, model_cache_current=False)
    changed = tree.changed_file_names() if written else None
    if changed is None:
        return CacheWrites(written, nodes_cache)
    return CacheWrites(True, nodes_cache, before, changed)


def installed_nodes(
    server: ComfyUIServer | None,
    nodes: NodeInventory,
    static_layouts: LayoutLookup | None = None,
    static_sockets: Mapping[str, SocketRules] | None = None,
    reading: ObjectInfo | None = None,
) -> InstalledNodes:
    """The node types the install provides: a live server's ``/object_info`` when one is
    configured (``server``) and answers (with its file lists per loader input and its
    widget layouts), else the static inventory's enabled classes, with the layouts and
    socket rules their source writes (``static_layouts``: the loader table's;
    ``static_sockets``: :meth:`NodeInventory.static_sockets`; None: not judged).
    ``reading``: the server's answer as this cycle already read it (then not asked
    again)."""
    if server is not None:
        try:
            info = reading if reading is not None else server.object_info()
        except BackendError as error:
            logger.info("ComfyUI server not used (%s); using the static node inventory.", error)
        else:
            # The packs' frontend-only nodes are on ComfyUI's page, not in /object_info.
            virtual = nodes.frontend_classes()
            node_types = frozenset(info.node_types) | virtual
            return InstalledNodes(
                node_types,
                "object_info",
                info.choices_for,
                info.layout_for,
                info.sockets_for,
                # The server flags every node type it defines: a workflow with no output
                # can be told (offline, a pack's flag may be unwritten or inherited).
                output_flags(info.sockets_for, virtual),
                link_types=link_types_lookup(info.sockets_for, static_sockets),
                content_digest=info.content_digest,
                answer_digest=info.answer_digest,
            )
    return InstalledNodes(
        nodes.enabled_classes(),
        "static",
        layouts=static_layouts,
        sockets=static_sockets.get if static_sockets is not None else None,
        # Offline, a flag is known only where the source surely writes it (or its
        # absence): a type read elsewhere, or computed, leaves the workflow unjudged.
        outputs=(
            source_output_flags(static_sockets, nodes.frontend_classes())
            if static_sockets is not None
            else None
        ),
        link_types=link_types_lookup(static_sockets.get) if static_sockets is not None else None,
    )
