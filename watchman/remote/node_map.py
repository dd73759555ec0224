"""Where ComfyUI-Manager's ``extension-node-map.json`` comes from: the install, the copy
kept in the tool's state folder, or a fetch through the gateway.

``watchman.comfy.node_map`` reads and answers from a map; this module finds one. Order:
an installed ComfyUI-Manager (its own copy is the one that matches what it would
install); the copy at ``state/extension-node-map.json`` while younger than its time to
live; a fresh fetch of the configured URL (through the gateway: retries, a deadline, a
size cap, a User-Agent, a stop on SIGTERM), saved atomically; a stale copy as the last
resort. Every failure is a logged warning, never the cycle's end: without a map, missing
nodes are simply not mapped to packs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import orjson

from watchman.clocks import Clock
from watchman.comfy.node_map import ExtensionNodeMap, installed_map_paths
from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.state.safe_files import atomic_write_bytes

logger = logging.getLogger(__name__)

# The real map is about 2 MiB; leave room for growth and refuse anything absurd.
MAX_MAP_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class NodeMapSource:
    """Loads the freshest trustworthy extension-node-map.

    Attributes:
        gateway: the HTTP path for the fetch; None when offline (no fetch at all).
        url: where to fetch the map from.
        ttl_hours: how long a fetched copy is fresh.
        state_path: where the fetched copy is kept (``Home.extension_node_map``).
        clock: the wall clock that dates the kept copy.
    """

    gateway: HttpGateway | None
    url: str
    ttl_hours: float
    state_path: Path
    clock: Clock

    def load(self, comfyui_root: Path, base: Path | None = None) -> ExtensionNodeMap | None:
        """Return the map for ``comfyui_root`` (``base``: its base directory, where its
        ``custom_nodes`` is; None: the root), or None when no source gave one.

        Never raises: each failure is logged and the next source is tried.
        """
        for path in installed_map_paths(comfyui_root, base):
            loaded = read_map(path)
            if loaded is not None:
                return loaded
        age = _age_seconds(self.state_path, self.clock.wall())
        if age is not None and age < self.ttl_hours * 3600:
            loaded = read_map(self.state_path)
            if loaded is not None:
                return loaded
        if self.gateway is not None:
            fetched = self._fetch()
            if fetched is not None:
                return fetched
        if age is not None:
            loaded = read_map(self.state_path)
            if loaded is not None:
                logger.warning(
                    "Using a stale extension-node-map (%s, %.0f hours old).",
                    self.state_path,
                    age / 3600,
                )
                return loaded
        logger.warning(
            "No extension-node-map is available; missing nodes cannot be mapped to packs."
        )
        return None

    def _fetch(self) -> ExtensionNodeMap | None:
        assert self.gateway is not None  # checked by the caller
        try:
            response = self.gateway.get_json(self.url, max_bytes=MAX_MAP_BYTES)
        except BackendError as error:
            logger.warning("Cannot fetch the extension-node-map from %s: %s", self.url, error)
            return None
        document = response.data
        if not isinstance(document, dict) or not document:
            logger.warning("The extension-node-map from %s is empty or not an object.", self.url)
            return None
        try:
            atomic_write_bytes(self.state_path, orjson.dumps(document))
        except OSError as error:
            # The map is still usable this cycle; only the kept copy is lost.
            logger.warning("Cannot save the extension-node-map to %s (%s).", self.state_path, error)
        return ExtensionNodeMap.from_document(document, source=self.url)


def read_map(path: Path) -> ExtensionNodeMap | None:
    """Read a map file; None (with a warning) when it is unreadable, not JSON or empty."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        logger.warning("Cannot read extension-node-map %s (%s); skipping it.", path, error)
        return None
    if not isinstance(document, dict) or not document:
        logger.warning("Extension-node-map %s is empty or not an object; skipping it.", path)
        return None
    return ExtensionNodeMap.from_document(document, source=str(path))


def _age_seconds(path: Path, now: float) -> float | None:
    try:
        return max(0.0, now - path.stat().st_mtime)
    except OSError:
        return None
