"""The needs stage whole: which node types the install provides, then what each watched
workflow needs of it, kept from the last cycle where nothing it depends on changed
(:mod:`watchman.stages.needs_cache`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from watchman.comfy.static_sockets import sockets_digest
from watchman.stages.inventory.stock import CacheWrites, installed_nodes
from watchman.stages.needs import InstalledNodes, NeedsResult
from watchman.stages.needs_cache import FILE_NAME, assess_with_cache, context_digest
from watchman.stages.needs_lookups import ModelChanges
from watchman.stages.workflow_entries import parser_version

if TYPE_CHECKING:
    from watchman.comfy.loader_lookup import LoaderTable
    from watchman.config import Settings
    from watchman.home import Home
    from watchman.remote.comfyui_server import ComfyUIServer, ObjectInfo
    from watchman.stages.cache_failures import CacheFailures
    from watchman.stages.input_needs import InputFolder
    from watchman.stages.inventory.model_health import ModelHealth
    from watchman.stages.inventory.models import ModelInventory
    from watchman.stages.inventory.nodes import NodeInventory
    from watchman.stages.workflows import WorkflowScan


@dataclass(frozen=True)
class Assessed:
    """The installed node types (and where they came from) and every workflow's needs."""

    installed: InstalledNodes
    needs: NeedsResult


def assess_needs(
    settings: Settings,
    home: Home,
    server: ComfyUIServer | None,
    scan: WorkflowScan,
    models: ModelInventory,
    nodes: NodeInventory,
    health: ModelHealth,
    table: LoaderTable,
    written: CacheWrites,
    inputs: InputFolder | None,
    caches: CacheFailures,
    server_reading: ObjectInfo | None = None,
) -> Assessed:
    """Assess every workflow of ``scan`` against the install.

    Takes the settings (whether list values, number ranges and types are checked), the home (the
    needs cache), the live ComfyUI server if one is used, the workflows read, the model and
    node inventories, the broken model files, the loader table the workflows were read with,
    what the caches stage wrote (the model cache stands for the models the kept needs were
    made under), ComfyUI's input folder (None: not checked), where a cache that cannot be
    written is said, and the server's answer when this cycle read it already (its inputs
    check: then the server is not asked again).

    Returns:
        The installed node types and the needs.

    Raises:
        CycleInterrupted: a stop was asked for.
    """
    check_lists = settings.workflows.check_list_values
    check_ranges = settings.workflows.check_value_ranges
    check_types = settings.workflows.check_value_types
    checks = check_lists or check_ranges or check_types
    static_sockets = nodes.static_sockets()
    installed = installed_nodes(
        server, nodes, table.layout if checks else None, static_sockets, server_reading
    )
    installed = replace(
        installed,
        layouts=installed.layouts if check_lists else None,
        ranges=installed.layouts if check_ranges else None,
        value_types=installed.layouts if check_types else None,
    )
    # A workflow whose bytes and every other input of its assessment are unchanged keeps
    # its needs from the last cycle; not when the model cache, which stands for the
    # models they were made under, could not be written.
    changes = (
        None
        if written.model_cache_before is None
        else ModelChanges(written.model_cache_before, written.changed_names)
    )
    context = (
        context_digest(
            models,
            home.model_cache,
            installed,
            health,
            f"{parser_version(table)}:{table.checks_digest if checks else 'off'}"
            f":{int(check_lists)}{int(check_ranges)}{int(check_types)}"
            f":{sockets_digest(static_sockets)}",
            changes,
            inputs,
        )
        if written.model_cache_current
        else None
    )
    needs = assess_with_cache(
        home.state_dir / FILE_NAME,
        scan,
        models,
        installed,
        health,
        context,
        inputs,
        caches,
        table.validates,
    )
    return Assessed(installed, needs)
