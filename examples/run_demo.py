"""Run one comfywatchman cycle on a copy of the bundled demo ComfyUI tree.

``make demo`` calls this. The demo tree is copied first, so the repository stays clean;
the cycle runs offline (known sources only), so it needs no network and no GPU.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def prepare(target: Path) -> Path:
    """Copy the demo trees into ``target`` and write a config for them; return its path."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(HERE / "demo-comfyui", target / "ComfyUI", symlinks=True)
    shutil.copytree(HERE / "demo-extra-models", target / "demo-extra-models", symlinks=True)
    config = target / "comfywatchman.toml"
    config.write_text(
        "\n".join(
            [
                "# Written by examples/run_demo.py for the demo tree.",
                "[paths]",
                f'home = "{(target / "home").as_posix()}"',
                "[comfyui]",
                f'root = "{(target / "ComfyUI").as_posix()}"',
                "use_server = false",
                "[schedule]",
                "# The demo runs right after boot on CI machines: no grace periods.",
                "boot_grace_minutes = 0",
                "resume_grace_minutes = 0",
                "min_vram_gb = 0",
                "[search]",
                "offline = true",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", type=Path, default=Path(".demo"))
    arguments = parser.parse_args()
    target = arguments.target.resolve()
    config = prepare(target)
    command = [sys.executable, "-m", "watchman", "--config", str(config), "--run-cycle"]
    print("$ comfywatchman --config", config, "--run-cycle", flush=True)
    status = subprocess.call(command)
    if status != 0:
        return status
    report = target / "home" / "output" / "reports" / "status" / "master_status.md"
    print(f"\nThe report is at {report}\n")
    text = report.read_text(encoding="utf-8")
    # The summary, what changed and what to do; the lists after them stay in the file.
    todo_end = text.find("\n## ", text.find("## What to do") + 1)
    print(text[: todo_end if todo_end > 0 else None].rstrip())
    print(f"\n(The whole report, with every missing model and workflow, is in {report}.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
