"""The tool's home folder and the files under it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchman.environment import Environment, expand_user

if TYPE_CHECKING:
    from watchman.config import Settings


@dataclass(frozen=True)
class Home:
    """Where comfywatchman keeps its state, reports and logs. Paths only; no I/O."""

    root: Path

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def model_cache(self) -> Path:
        return self.state_dir / "model_cache.json"

    @property
    def custom_nodes_cache(self) -> Path:
        return self.state_dir / "custom_nodes_cache.json"

    @property
    def intake_log(self) -> Path:
        return self.state_dir / "intake_log.jsonl"

    @property
    def cycle_state(self) -> Path:
        return self.state_dir / "cycle_state.json"

    @property
    def workflow_cache(self) -> Path:
        """The workflow parse cache, one line per workflow (watchman.stages.workflow_cache)."""
        return self.state_dir / "workflow_cache.jsonl"

    @property
    def listing_cache(self) -> Path:
        """The directory listings reused while a folder's stamp holds (issue 14)."""
        return self.state_dir / "listing_cache.json"

    @property
    def input_listing_cache(self) -> Path:
        """The listings of the workflow, node pack and ComfyUI node folders (issue 14)."""
        return self.state_dir / "listing_inputs.json"

    @property
    def fingerprint(self) -> Path:
        """The small digest of a cycle's inputs that lets an unchanged cycle stop early."""
        return self.state_dir / "cycle_fingerprint.json"

    @property
    def resolution_cache(self) -> Path:
        return self.state_dir / "resolution_cache.json"

    @property
    def extension_node_map(self) -> Path:
        return self.state_dir / "extension-node-map.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "cycle.lock"

    @property
    def report_dir(self) -> Path:
        return self.output_dir / "reports" / "status"

    @property
    def report_json(self) -> Path:
        return self.report_dir / "master_status.json"

    @property
    def report_markdown(self) -> Path:
        return self.report_dir / "master_status.md"

    @property
    def structured_log(self) -> Path:
        return self.log_dir / "structured.log"

    def ensure(self) -> None:
        """Create the state, output and log folders.

        Raises:
            OSError: a folder cannot be created.
        """
        for folder in (self.state_dir, self.report_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)


def resolve_home(settings: Settings, environment: Environment) -> Home:
    """Return the tool's home; the same whichever folder the process was started in.

    Order: ``COMFYWATCHMAN_HOME``; ``paths.home`` from the settings; systemd's
    ``STATE_DIRECTORY`` (the first, when the unit lists several); the platform's user state
    folder (``Environment.user_state_dir``). Never the current folder: a ``--run-cycle``
    from cron must find the state the service wrote. A relative path is taken from the
    folder the process was started in, ``~`` from the user's home.

    Args:
        settings: the loaded settings.
        environment: the process's surroundings.

    Returns:
        The home (not created; ``Home.ensure`` creates it).
    """
    return home_for(settings.paths.home, environment)


def home_for(configured: Path | None, environment: Environment) -> Home:
    """Return the home :func:`resolve_home` chooses when ``paths.home`` is ``configured``
    (None: not set)."""
    environ = environment.environ
    chosen: Path
    from_env = environ.get("COMFYWATCHMAN_HOME", "").strip()
    systemd = environ.get("STATE_DIRECTORY", "").split(":")[0].strip()
    if from_env:
        chosen = Path(from_env)
    elif configured is not None:
        chosen = configured
    elif systemd:
        chosen = Path(systemd)
    else:
        chosen = environment.user_state_dir
    chosen = expand_user(chosen, environment.home_dir)
    return Home(chosen if chosen.is_absolute() else environment.cwd / chosen)
