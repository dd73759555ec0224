"""The one place that wires the outside world: built once per command from settings and
the environment, handed to the cycle, the scheduler and ``resolve``.

``Services`` holds one HTTP client (its User-Agent names the tool and version), the
gateways over it (retries, deadlines, size caps, the stop event), the ComfyUI server
client, the node-map source, and what builds the resolver with the known sources found in
the install. Whether to stay offline and which backends to ask are read here, from the
settings, and nowhere else: command-line flags only override settings (see
``with_overrides``), so a flag and a config key can never disagree.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from watchman import __version__
from watchman.comfy.install import InstallLayout, install_layout, locate_comfyui_root
from watchman.environment import Environment
from watchman.errors import ConfigError
from watchman.home import Home

if TYPE_CHECKING:
    # The HTTP stack and the resolver are imported when first used (see Services): a
    # cycle whose inputs did not change, started fresh by cron, never needs them.
    import httpx

    from watchman.config import Settings
    from watchman.remote.comfyui_server import ComfyUIServer
    from watchman.remote.node_map import NodeMapSource
    from watchman.resolve import KnownSources, Resolver

USER_AGENT = f"comfywatchman/{__version__}"


def with_overrides(
    settings: Settings, *, offline: bool | None = None, backends: Sequence[str] | None = None
) -> Settings:
    """Return ``settings`` with ``search.offline`` / ``search.backend_order`` replaced when
    given, validated as the settings model validates them (for callers holding loaded
    settings; the CLI passes its flags to ``load_settings`` instead).

    Raises:
        ConfigError: a backend name is not one the settings model knows.
    """
    update: dict[str, Any] = {}
    if offline is not None:
        update["offline"] = offline
    if backends is not None:
        update["backend_order"] = list(backends)
    if not update:
        return settings
    # Imported here: a cycle that stops at its fingerprint never validates settings.
    from pydantic import ValidationError

    from watchman.config import SearchSettings

    try:
        search = SearchSettings.model_validate({**settings.search.model_dump(), **update})
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(
            f"search.{'.'.join(str(part) for part in first['loc'])} is wrong "
            f"(got {first.get('input')!r}): {first['msg']}."
        ) from None
    copied = settings.model_copy(update={"search": search})
    copied._config_source = settings._config_source
    return copied


@dataclass
class Services:
    """What a command talks to the outside with. Close it (or use ``with``) when done.

    The HTTP client, the ComfyUI server client and the node-map source are made when first
    used, so a command or a cycle that never goes out never imports the HTTP stack.

    Attributes:
        settings: the settings every service was built from.
        environment: the process's surroundings.
        home: the tool's home.
        stop_event: set it (SIGTERM, SIGINT) to end every request under way.
        given_client: an HTTP client to use instead of making one (not closed here).
    """

    settings: Settings
    environment: Environment
    home: Home
    stop_event: threading.Event
    given_client: httpx.Client | None = None
    _known: dict[Path, KnownSources] = field(default_factory=dict)

    @cached_property
    def client(self) -> httpx.Client:
        """The one HTTP client of the process (its User-Agent names the tool)."""
        from watchman.remote.transport import new_client

        if self.given_client is not None:
            return self.given_client
        return new_client(headers={"User-Agent": USER_AGENT})

    @cached_property
    def comfyui_server(self) -> ComfyUIServer | None:
        """The ComfyUI server client; None when ``comfyui.use_server`` is off."""
        comfyui = self.settings.comfyui
        if not comfyui.use_server:
            return None
        from watchman.remote.comfyui_server import ComfyUIServer, server_gateway

        return ComfyUIServer(
            server_gateway(
                self.client,
                comfyui.timeout_seconds,
                self.stop_event,
                comfyui.answer_timeout_seconds,
            ),
            comfyui.url,
            comfyui.timeout_seconds,
            comfyui.answer_timeout_seconds,
        )

    @cached_property
    def node_map(self) -> NodeMapSource:
        """The source of ComfyUI-Manager's extension-node-map (never fetched offline)."""
        from watchman.remote.gateway import HttpGateway
        from watchman.remote.http_options import HttpOptions
        from watchman.remote.node_map import NodeMapSource

        search = self.settings.search
        gateway = (
            None
            if search.offline
            else HttpGateway(
                self.client,
                HttpOptions(
                    timeout_seconds=search.timeout_seconds,
                    max_retries=search.max_retries,
                    per_host_concurrency=search.per_host_concurrency,
                ),
                stop_event=self.stop_event,
            )
        )
        return NodeMapSource(
            gateway=gateway,
            url=self.settings.nodes.extension_node_map_url,
            ttl_hours=self.settings.nodes.extension_node_map_ttl_hours,
            state_path=self.home.extension_node_map,
            clock=self.environment.clock,
        )

    @property
    def offline(self) -> bool:
        """Ask no remote service: the one place this is decided (``search.offline``)."""
        return self.settings.search.offline

    @property
    def backend_order(self) -> tuple[str, ...]:
        """The remote backends, in order (``search.backend_order``, validated on load)."""
        return tuple(self.settings.search.backend_order)

    def find_comfyui_root(self, explicit: Path | None = None) -> Path:
        """Return the ComfyUI install: ``explicit``, else ``comfyui.root``, else detected
        from the environment (comfy-cli's config, common folders, the desktop app, then
        the installs launchers list; ``comfy/install.py``).

        Raises:
            ComfyUINotFoundError: no install there, or none found; the message says how
                to set it.
        """
        return self.locate_comfyui_root(explicit)[0]

    def locate_comfyui_root(self, explicit: Path | None = None) -> tuple[Path, str]:
        """Return the ComfyUI install as :meth:`find_comfyui_root` does, with how it was
        chosen (``set``, or ``detected: <rule>`` naming the other installs found).

        Raises:
            ComfyUINotFoundError: no install there, or none found; the message says how
                to set it.
        """
        environment = self.environment
        return locate_comfyui_root(
            explicit or self.settings.comfyui.root,
            environment.environ,
            environment.home_dir,
            cwd=environment.cwd,
            platform=environment.platform,
        )

    def base_directory(self, comfyui_root: Path) -> Path:
        """Return where the install at ``comfyui_root`` keeps models/, custom_nodes/,
        input/ and user/: ``comfyui.base_directory`` (ComfyUI's ``--base-directory``),
        else the desktop app's folder for its code inside the app, else the root.

        Raises:
            ComfyUINotFoundError: the configured base directory does not exist.
        """
        return self.install_layout(comfyui_root).base

    def install_layout(self, comfyui_root: Path) -> InstallLayout:
        """Return where the install at ``comfyui_root`` keeps its files and which extra
        model paths files it reads (``comfy/install.py``).

        Raises:
            ComfyUINotFoundError: the configured base directory does not exist.
        """
        environment = self.environment
        return install_layout(
            comfyui_root,
            self.settings.comfyui.base_directory,
            self.settings.comfyui.extra_model_paths,
            environment.environ,
            environment.home_dir,
            environment.platform,
        )

    def install_sources(self, comfyui_root: Path) -> KnownSources:
        """The known sources installed with ComfyUI (ComfyUI-Manager's model list, the
        workflow template packages), read once per root for the life of these services."""
        from watchman.resolve import KnownSources

        key = comfyui_root.resolve()
        if key not in self._known:
            base = self.base_directory(comfyui_root)
            self._known[key] = KnownSources.from_comfyui(comfyui_root, base)
        return self._known[key]

    def resolver(
        self, comfyui_root: Path | None, more_sources: KnownSources | None = None
    ) -> Resolver:
        """Build the resolver: the install's known sources, then ``more_sources`` (URLs
        embedded in the workflows seen), then the backends in ``backend_order`` over this
        client, unless offline. Close it (or use ``with``); the client stays open.
        The cycle's resolve stage and ``comfywatchman resolve`` both get theirs here."""
        from watchman.resolve import KnownSources, build_resolver

        known = KnownSources()
        if comfyui_root is not None:
            known.merge(self.install_sources(comfyui_root))
        if more_sources is not None:
            known.merge(more_sources)
        return build_resolver(
            self.settings,
            self.home,
            known_sources=known,
            offline=self.offline,
            backend_order=self.backend_order,
            client=self.client,
            stop_event=self.stop_event,
            wall=self.environment.clock.wall,
            monotonic=self.environment.clock.monotonic,
        )

    def new_run(self) -> None:
        """Start a cycle afresh: forget the hosts the long-lived gateways marked down
        (only those made already: the others have marked nothing)."""
        made = self.__dict__
        server = made.get("comfyui_server")
        if server is not None:
            server.gateway.new_run()
        node_map = made.get("node_map")
        if node_map is not None and node_map.gateway is not None:
            node_map.gateway.new_run()

    def close(self) -> None:
        """Close the HTTP client, when these services made it (and made it at all)."""
        client = self.__dict__.get("client")
        if client is not None and self.given_client is None:
            client.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def build_services(
    settings: Settings,
    environment: Environment,
    home: Home,
    *,
    stop_event: threading.Event | None = None,
    client: httpx.Client | None = None,
) -> Services:
    """Wire every outside service from the settings and the environment.

    Args:
        settings: the loaded settings, flags already applied.
        environment: the process's surroundings (clock, variables, folders).
        home: the tool's home (caches and the kept node map live there).
        stop_event: the event a signal handler sets; one is made when not given.
        client: an HTTP client to use instead of making one (not closed by ``close``).

    Returns:
        The services; nothing is contacted (or imported) yet.
    """
    return Services(
        settings=settings,
        environment=environment,
        home=home,
        stop_event=stop_event or threading.Event(),
        given_client=client,
    )
