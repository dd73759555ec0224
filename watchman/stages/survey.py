"""The inventory stage whole: what a full cycle reads of the machine before any workflow.

In this order, since each step uses the one before: the watched folders, the install's
extra_model_paths files (read once), the fingerprint's stamps of every input tree (taken
before anything is read, so a change made meanwhile shows next time), the installed
models and node packs, ComfyUI's input folder, and the health of each new or changed
model file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchman.stages.fingerprint import CycleFingerprint, stamp_inputs
from watchman.stages.input_needs import InputFolder, observe_input_folder
from watchman.stages.inventory.model_health import ModelHealth, check_model_health, load_verdicts
from watchman.stages.inventory.stock import Stock, read_extra_paths, take_stock
from watchman.stages.watched_folders import WatchedFolder, watched_folders, workflow_suffixes

if TYPE_CHECKING:
    from watchman.home import Home
    from watchman.services import Services
    from watchman.stages.cache_failures import CacheFailures


@dataclass(frozen=True)
class Survey:
    """What the inventory stage found.

    ``folders``: the watched workflow folders, absolute. ``stock``: the models and node
    packs with the listings the walk used. ``input_folder``: ComfyUI's input folder, None
    when input files are not checked; ``inputs``: that folder as observed. ``health``:
    the verdict on each model file. ``folders_listed``: directories listed anew.
    """

    folders: tuple[WatchedFolder, ...]
    stock: Stock
    input_folder: Path | None
    inputs: InputFolder | None
    health: ModelHealth
    folders_listed: int

    def figures(self, fingerprint_paths: int) -> dict[str, Any]:
        """The stage's figures for its line in the structured log."""
        return {
            "models": self.stock.models.count,
            "node_packs": len(self.stock.nodes.packs),
            "folders_listed": self.folders_listed,
            "full_restat": self.stock.tree.restat,
            "fingerprint_paths": fingerprint_paths,
            "model_files_checked": self.health.opened,
            "broken_models": len(self.health.broken),
        }


def survey_install(
    home: Home,
    root: Path,
    services: Services,
    cycle_fingerprint: CycleFingerprint,
    stop_event: threading.Event | None,
    caches: CacheFailures,
) -> Survey:
    """Take stock of the install at ``root`` for one full cycle.

    Takes the home (caches, verdicts), the wired services (settings, environment), the
    cycle's fingerprint (filled with every stamp taken here), the stop event (looked at
    between files) and where a cache that cannot be written is said.

    Returns:
        The survey; the fingerprint has the stamps of every tree it read.

    Raises:
        CycleInterrupted: a stop was asked for.
        OSError, WatchmanError: the install cannot be read at all.
    """
    settings, environment = services.settings, services.environment
    now_ns = cycle_fingerprint.now_ns
    restat_interval_ns = int(settings.comfyui.full_restat_hours * 3600e9)
    # Read once for the fingerprint's stamps, the model walk and the node scan.
    layout = services.install_layout(root)
    extra_paths = read_extra_paths(root, layout, environment)
    # ComfyUI's user/ and input/ are in its base directory (--base-directory, or the
    # desktop app's folder), by default the root.
    base = layout.base
    folders = watched_folders(
        [(f.path, f.source) for f in settings.workflows.folders], base, environment.home_dir
    )
    input_tree = stamp_inputs(
        home,
        services,
        root,
        [folder.path for folder in folders],
        workflow_suffixes(settings.workflows.include_images),
        cycle_fingerprint,
        restat_interval_ns,
        extra_paths,
        caches,
    )
    stock = take_stock(
        settings,
        home,
        root,
        environment,
        now_ns,
        extra_paths,
        stop_event,
        import_failures=cycle_fingerprint.import_failures,
    )
    model_roots = [root for roots in stock.models.roots.values() for root in roots]
    model_roots.append(str(extra_paths.data_root / "models"))
    cycle_fingerprint.add_models(stock.tree, restat_interval_ns, model_roots)
    input_folder = cycle_fingerprint.input_folder(
        settings, base, environment.home_dir, layout.input_directory
    )
    inputs = observe_input_folder(input_folder, now_ns) if input_folder else None
    if inputs is not None:
        cycle_fingerprint.add_input_links(inputs.linked_files)
    health = check_model_health(stock.models, load_verdicts(home.state_dir), stop_event=stop_event)
    return Survey(
        folders=folders,
        stock=stock,
        input_folder=input_folder,
        inputs=inputs,
        health=health,
        folders_listed=stock.tree.listed + input_tree.listed,
    )
