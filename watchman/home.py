"""The tool's home folder and the files under it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
        return self.state_dir / "workflow_cache.json"

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


def resolve_home(settings: Settings, environ: Mapping[str, str] | None = None) -> Home:
    """Return the home: ``COMFYWATCHMAN_HOME``, else ``paths.home``, else the current folder."""
    environ = os.environ if environ is None else environ
    from_env = environ.get("COMFYWATCHMAN_HOME")
    if from_env:
        return Home(Path(from_env).expanduser().absolute())
    if settings.paths.home is not None:
        return Home(settings.paths.home.expanduser().absolute())
    return Home(Path.cwd())
