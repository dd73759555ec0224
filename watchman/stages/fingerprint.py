"""The fingerprint stage: does this cycle have work, and what stands for its inputs.

Right after the guards, :func:`check_inputs` compares the saved fingerprint
(:mod:`watchman.state.fingerprint`) with the settings, the clock and one ``stat`` per saved
path. When nothing changed it returns the last outcome and the cycle stops there: no
cache is loaded, needs, resolve and report do not run. Otherwise it returns a
:class:`CycleFingerprint` that the full cycle fills as it goes: the input trees stamped
before any stage reads them (:func:`stamp_inputs`; which paths, in
:mod:`watchman.stages.fingerprint_inputs`), the model folders as listed, the node
source, the cycle's own state files once written; :meth:`CycleFingerprint.finish` saves it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchman import __version__
from watchman.comfy.startup_log import ImportFailures, configured_logs, read_startup_logs
from watchman.errors import BackendError, ConfigError
from watchman.home import Home
from watchman.stages.cache_failures import CacheFailures, write_cache
from watchman.stages.fingerprint_inputs import PACK_FILE_SUFFIXES, InputTree, input_paths
from watchman.stages.input_needs import input_folder_path
from watchman.stages.inventory.listing import TreeListing
from watchman.stages.inventory.listing_file import load_listing, save_listing
from watchman.state import fingerprint
from watchman.state.cycle_state import CycleSummary
from watchman.state.settings_memo import settings_identity

if TYPE_CHECKING:
    # Type only: YAML is not needed to check a fingerprint, only to fill one.
    from watchman.comfy.extra_model_paths import InstallExtraPaths
    from watchman.config import Settings
    from watchman.remote.comfyui_server import ObjectInfo
    from watchman.services import Services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """What a cycle that ran all its stages hands to its record: its counts and summary,
    and the warnings its record keeps as its reason (caches it could not write)."""

    counts: Mapping[str, int]
    summary: CycleSummary
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"counts": dict(self.counts), "summary": self.summary.to_json()}


def add_listing(stamps: fingerprint.Stamps, tree: TreeListing) -> None:
    """Add every folder ``tree`` walked this cycle, with the stamp it was listed with (so
    a change after its listing shows)."""
    for path, record in tree.seen.items():
        device, inode, mtime, ctime = record.stamp
        stamps.add(path, "d", (device, inode, 0, mtime, ctime), record.is_racy())


@dataclass
class CycleFingerprint:
    """The fingerprint a full cycle builds as it goes: input stamps taken before the
    stages read, the model folders' stamps from their listings, the cycle's own state files
    after it wrote them, and what falls due when.

    Use: :meth:`observe_inputs` first, :meth:`add_models` after the model walk,
    :meth:`finish` once the cycle ran.
    """

    path: Path
    settings: str
    now_ns: int
    stamps: fingerprint.Stamps = field(default_factory=fingerprint.Stamps)
    due_at_ns: list[int] = field(default_factory=list)
    node_source: str = ""
    server_answer: str = ""  # the digest of the server's whole answer, when one was used
    import_failures: ImportFailures | None = None
    """What ComfyUI's newest start-up log said about failed imports when the inputs were
    checked (comfy/startup_log); the stock stage applies it rather than reading again."""
    server_reading: ObjectInfo | None = None
    """The live server's answer as the inputs check read it, when its content had changed:
    the needs stage takes it (:meth:`take_server_reading`) rather than asking again."""
    why: str = ""
    """Why the cycle runs in full (the inputs check's finding), for its log line."""

    def take_server_reading(self) -> ObjectInfo | None:
        """Return the server's answer the inputs check read, once (it is let go here: an
        answer of 100,000 listed files is tens of MiB)."""
        reading, self.server_reading = self.server_reading, None
        return reading

    def input_folder(
        self, settings: Settings, root: Path, home_dir: Path, launched: Path | None = None
    ) -> Path | None:
        """ComfyUI's input folder as this cycle takes it (the setting, else the one the
        newest start-up log names, else the one its launcher starts it with, ``launched``,
        else ``input/`` in ``root``: the install's base directory), None when input files
        are not checked (:func:`~watchman.stages.input_needs.input_folder_path`)."""
        if not settings.workflows.check_input_files:
            return None
        logged = self.import_failures.input_directory if self.import_failures else None
        return input_folder_path(settings.comfyui.input_folder, root, home_dir, logged, launched)

    def add_input_links(self, links: Sequence[str]) -> None:
        """Stamp the links to files in ComfyUI's input folder, following them: their
        targets can vanish while every folder stamp holds."""
        self.stamps.take(links, "f", self.now_ns)

    def observe_inputs(
        self,
        tree: TreeListing,
        roots: Sequence[InputTree],
        files: Sequence[str],
        extra_folders: Sequence[str],
    ) -> None:
        """Stamp the input trees (walked through ``tree``), single files and folders."""
        folders, stamped = input_paths(tree, roots, files)
        add_listing(self.stamps, tree)
        walked = set(tree.seen)
        self.stamps.take(
            [path for path in folders if path not in walked] + list(extra_folders),
            "d",
            self.now_ns,
        )
        self.stamps.take(stamped, "f", self.now_ns)

    def add_models(
        self, tree: TreeListing, restat_interval_ns: int, folders: Sequence[str] = ()
    ) -> None:
        """Add the model folders as listed this cycle, and when the next re-stat is due.
        ``folders``: the model roots and the ``models`` folders whose entries are folder
        types; each the walk did not list (absent, or not a root) is stamped as it is, so
        one created, or a folder type added, makes the next cycle run in full."""
        add_listing(self.stamps, tree)
        walked = set(tree.seen)
        self.stamps.take(
            [folder for folder in dict.fromkeys(folders) if folder not in walked],
            "d",
            self.now_ns,
        )
        if restat_interval_ns > 0:
            self.due_at_ns.append(tree.restat_at_ns + restat_interval_ns)
        else:
            self.due_at_ns.append(self.now_ns)  # every cycle lists everything

    def note_node_source(
        self, source: str, content_digest: str = "", answer_digest: str = ""
    ) -> None:
        """Remember what the installed node types came from (see :func:`node_source_digest`)
        and, beside a server, the digest of its whole answer (``ObjectInfo``)."""
        self.node_source = node_source_digest(source, content_digest)
        self.server_answer = answer_digest

    def finish(
        self, own_files: Sequence[Path], outcome: RunOutcome, resolution_cache: Path
    ) -> None:
        """Stamp the cycle's own state files as written, and save the fingerprint.

        Raises:
            OSError: the state folder is not writable.
        """
        self.stamps.take([str(path) for path in own_files], "f", self.now_ns, racy_counts=False)
        expiry = fingerprint.earliest_expiry_ns(resolution_cache, self.now_ns)
        due = [*self.due_at_ns, *([expiry] if expiry is not None else [])]
        fingerprint.save(
            self.path,
            self.stamps,
            self.settings,
            min(due) if due else self.now_ns,
            {
                **outcome.to_json(),
                "node_source": self.node_source,
                "server_answer": self.server_answer,
            },
        )


MAX_KEPT_ANSWER_BYTES = 32 * 1024 * 1024
"""A changed server answer up to this long, read by the inputs check, is the one the full
cycle uses (a few MB for most installs); a longer one is asked for again when needed."""

INPUTS_VERSION = 4
"""Which inputs a fingerprint stands for: bump it when :func:`cycle_input_trees` stamps
more, so a fingerprint saved before, which never stamped them, cannot pass a change off
as "unchanged" (2: ComfyUI's start-up logs, ``StartupLogs.identity`` in comfy/startup_log;
3: the packs' scripts the frontend reader reads, comfy/pack_files; 4: hidden Python files
and disabled single-file packs the node scan reads, no linked folder inside a pack)."""


def cycle_input_trees(
    comfyui_root: Path,
    watched_folders: Sequence[Path],
    workflow_suffixes: Sequence[str],
    extra_model_paths: Sequence[Path],
    custom_nodes: Sequence[Path] = (),
    input_folder: Path | None = None,
    base: Path | None = None,
) -> tuple[list[InputTree], list[str], list[str]]:
    """Return what stands for a cycle's inputs besides the model folders: the trees to
    walk (watched workflow folders, ``custom_nodes``, ComfyUI's own node folders) with the
    file suffixes to stamp in each, single files (``nodes.py``, extra_model_paths files,
    ComfyUI-Manager model lists) and single folders (the Python environments' package
    folders, where pip installs the workflow templates and a packaged Manager).
    ``custom_nodes``: the node pack folders extra_model_paths adds beside ComfyUI's own;
    ``input_folder``: ComfyUI's input folder, whose folders are stamped (a file added or
    removed changes its folder's stamp), None when input files are not checked;
    ``base``: the install's base directory, where its own ``custom_nodes`` is (None: the
    root)."""
    # Imported here: the resolver stack is not needed to check a fingerprint.
    from watchman.resolve.known_sources import _manager_model_lists, _site_packages

    root = str(comfyui_root)
    data_root = base if base is not None else comfyui_root
    trees = [InputTree(str(folder), tuple(workflow_suffixes)) for folder in watched_folders]
    own = os.path.join(data_root, "custom_nodes")
    trees.append(InputTree(own, PACK_FILE_SUFFIXES, packs=True))
    trees += [
        InputTree(str(path), PACK_FILE_SUFFIXES, packs=True)
        for path in custom_nodes
        if str(path) != own
    ]
    # Read by the node scan as its core: comfy_extras' .py files (hidden ones too), and
    # comfy_api_nodes as one pack.
    trees.append(InputTree(os.path.join(root, "comfy_extras"), (".py",), hidden_files=True))
    trees.append(InputTree(os.path.join(root, "comfy_api_nodes"), (".py",), pack=True))
    if input_folder is not None:
        trees.append(InputTree(str(input_folder), (), skip_hidden=False, skipped=frozenset()))
    files = [os.path.join(root, "nodes.py"), os.path.join(root, "extra_model_paths.yaml")]
    files.append(os.path.join(root, "comfy", "samplers.py"))  # the sampler lists
    files += [str(path) for path in extra_model_paths]
    files += [str(path) for path in _manager_model_lists(comfyui_root, base)]
    folders = [str(path) for path in _site_packages(comfyui_root, base)]
    return trees, files, folders


def check_inputs(
    services: Services, home: Home, root: Path, now_ns: int
) -> RunOutcome | CycleFingerprint:
    """Return the last outcome when none of the cycle's inputs changed since the last full
    cycle (nothing read beyond the fingerprint, nothing written), else the fingerprint the
    full cycle fills.

    Takes the wired services (settings, the live ComfyUI server if used), the home, the
    ComfyUI root and the current wall time in ns.
    """
    settings = services.settings
    home_dir = services.environment.home_dir
    # Read once, before any stage: the stock stage applies what this read found.
    startup = read_startup_logs(
        root,
        configured_logs(settings.comfyui.startup_logs, root, home_dir),
        services.base_directory(root),
    )
    inputs_digest = fingerprint.settings_digest(
        __version__,
        INPUTS_VERSION,
        settings_identity(settings),  # the same from validated settings and their memo
        str(root),
        startup.identity(),
    )
    saved = fingerprint.load(home.fingerprint)
    why = fingerprint.check(saved, inputs_digest, now_ns)
    # A live server is an input no file stamp stands for: ask it (one request).
    reading: ObjectInfo | None = None
    if why is None and saved is not None and services.comfyui_server is not None:
        unchanged, reading = _server_unchanged(services, saved.outcome)
        if not unchanged:
            why = "what the ComfyUI server offers (node types, lists, widget layouts) changed"
    if why is None and saved is not None:
        try:
            outcome = _unchanged(saved)
        except (TypeError, ValueError) as error:
            why = f"the saved outcome is unusable ({error})"
        else:
            return outcome
    return CycleFingerprint(
        home.fingerprint,
        inputs_digest,
        now_ns,
        import_failures=startup.failures,
        server_reading=reading,
        why=why or "",
    )


def stamp_inputs(
    home: Home,
    services: Services,
    root: Path,
    watched: Sequence[Path],
    workflow_suffixes: Sequence[str],
    cycle_fingerprint: CycleFingerprint,
    restat_interval_ns: int,
    extra_paths: InstallExtraPaths,
    failures: CacheFailures | None = None,
) -> TreeListing:
    """Stamp the cycle's inputs before any stage reads them, so a change made meanwhile
    shows next time; return the listing of the input trees (saved; ``failures``: where
    it is said when it cannot be, ``stages/cache_failures``). ``extra_paths``: the
    install's extra_model_paths files as this cycle read them (after its fingerprint was
    checked, so an edit since is racy and seen next time): the files and the
    ``custom_nodes`` folders they add are stamped.

    Raises:
        OSError: the listing cannot be saved and ``failures`` is None.
    """
    input_tree = TreeListing.for_cycle(
        load_listing(home.input_listing_cache),
        cycle_fingerprint.now_ns,
        restat_interval_ns,
        services.stop_event,  # a stop ends the walk of a huge tree at the next folder
    )
    try:
        custom_nodes = extra_paths.custom_nodes()
    except ConfigError:
        custom_nodes = ()  # the stock stage says why; the cycle fails and stamps nothing
    layout = services.install_layout(root)
    input_folder = cycle_fingerprint.input_folder(
        services.settings, layout.base, services.environment.home_dir, layout.input_directory
    )
    trees, files, folders = cycle_input_trees(
        root,
        watched,
        workflow_suffixes,
        extra_paths.configured,
        custom_nodes,
        input_folder,
        layout.base,
    )
    logged = cycle_fingerprint.import_failures
    if input_folder is not None and logged is not None and logged.input_directory:
        # The folder ComfyUI's start names, also while absent (a drive not mounted yet):
        # its appearance makes the next cycle look there.
        folders.append(logged.input_directory)
    cycle_fingerprint.observe_inputs(input_tree, trees, files, folders)
    listing = home.input_listing_cache
    write_cache(
        failures,
        "listing of the input folders",
        listing,
        lambda: save_listing(listing, input_tree.finish()),
        None,
    )
    return input_tree


def _server_unchanged(
    services: Services, outcome: Mapping[str, Any]
) -> tuple[bool, ObjectInfo | None]:
    """Return whether the server says what it said in the last full cycle (``outcome``),
    and its answer when it was read and says something else (the full cycle's own, so
    the server is not asked a third time).

    The whole answer's digest is looked at first (one request, hashed as it arrives). When
    it differs, the answer is read and its content compared (a second request): some packs
    draw a random default on every request, which changes the answer and nothing an
    assessment uses. A server that does not answer now is unchanged only if none did then.
    """
    server = services.comfyui_server
    assert server is not None
    try:
        if server.answer_digest() == outcome.get("server_answer"):
            return True, None
        info = server.object_info()
    except BackendError as error:
        logger.info("ComfyUI server not used (%s); using the static node inventory", error)
        return outcome.get("node_source") == "static", None
    if node_source_digest("object_info", info.content_digest) == outcome.get("node_source"):
        return True, None
    # A large answer is asked for again in the needs stage instead: kept from here, its
    # reading (about 40% of the answer's size) would sit under the model walk's and the
    # workflow parse's own peaks.
    return False, info if info.answer_bytes <= MAX_KEPT_ANSWER_BYTES else None


def node_source_digest(node_source: str, content_digest: str = "") -> str:
    """What the installed node types came from: the static inventory (its files are
    stamped) or a server's answer, by the digest of its content (``content_digest``,
    ``ObjectInfo``: the server can change at any time, and a new node type, file or
    scheduler changes it).

    Only the server's answer goes in: the packs' frontend-only node types, which join the
    installed ones beside a server, come from pack files the fingerprint stamps already;
    counted here they made every cycle beside a server run in full."""
    if node_source == "static":
        return "static"
    return fingerprint.settings_digest(node_source, content_digest)


def _unchanged(saved: fingerprint.Saved) -> RunOutcome:
    """The outcome of a cycle none of whose inputs changed: the last one stands, with no
    workflow new or updated; nothing is read beyond the fingerprint.

    Raises:
        TypeError, ValueError: the saved outcome is not what a cycle wrote.
    """
    counts = saved.outcome.get("counts", {})
    return RunOutcome(
        counts={
            **{str(name): int(value) for name, value in dict(counts).items()},
            "intake_new": 0,
            "intake_updated": 0,
        },
        summary=CycleSummary.from_json(saved.outcome.get("summary", {})).with_intake(0),
    )
