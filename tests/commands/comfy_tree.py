"""A minimal ComfyUI install and a config file for tests that run a real process: guards
that always pass, no ComfyUI server, state in a home of the test's own."""

from __future__ import annotations

from pathlib import Path

from watchman.home import Home


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
