"""A minimal ComfyUI install and a config file for tests that run a real process: guards
that always pass, no ComfyUI server, state in a home of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from watchman.home import Home

REPO = Path(__file__).resolve().parents[2]


def minimal_install(root: Path) -> Path:
    """Write the files that make ``root`` a ComfyUI install with one loader; return it."""
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("")
    (root / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {'CheckpointLoaderSimple': 1}\n")
    return root


def write_config(path: Path, home: Home, root: Path, *more: str) -> Path:
    """Write a config for ``root`` with state in ``home`` and ``more`` TOML lines after."""
    path.write_text(
        "\n".join(
            [
                "[paths]",
                f'home = "{home.root.as_posix()}"',
                "[comfyui]",
                f'root = "{root.as_posix()}"',
                "use_server = false",
                "[schedule]",
                "boot_grace_minutes = 0",
                "resume_grace_minutes = 0",
                "min_vram_gb = 0",
                *more,
                "",
            ]
        )
    )
    return path


def age_tree(folder: Path, seconds: int = 60) -> None:
    """Move every time under ``folder`` ``seconds`` back: stamps taken within the file
    system's granularity of a change are not trusted, so a cycle after this one may stop
    at its fingerprint."""
    for parent, _, files in os.walk(folder):
        for name in [*files, "."]:
            path = os.path.join(parent, name)
            stat = os.stat(path)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 10**9))


def child_environment(*python_path: Path) -> dict[str, str]:
    """This process's environment for a ``python -m watchman`` child: no
    ``COMFYWATCHMAN_*`` variable of the person running the tests, the project (after
    ``python_path``, e.g. a fault hook) importable."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("COMFYWATCHMAN")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [*map(str, python_path), str(REPO), os.environ.get("PYTHONPATH")])
    )
    return environment


def start_run_cycle(config: Path, cwd: Path, environment: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``python -m watchman --config CONFIG --run-cycle`` with its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "watchman", "--config", str(config), "--run-cycle"],
        env=environment,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
