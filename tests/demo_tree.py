"""The demo tree ``make demo`` runs on, prepared for a test by the demo's own code
(``examples/run_demo.py``), so the demo itself stays under test."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@cache
def _run_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_demo", EXAMPLES / "run_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare_demo(target: Path, *config_lines: str) -> Path:
    """Copy the demo tree to ``target`` with its config file, append ``config_lines`` to
    that file, and return the config's path."""
    config: Path = _run_demo().prepare(target)
    if config_lines:
        with config.open("a", encoding="utf-8") as file:
            file.write("\n".join(config_lines) + "\n")
    return config
