"""On a terminal, ``--run-cycle`` draws a progress bar: each stage's label as it starts,
the counts of the resolve stage ("Resolving missing models: 3 of 4"), and at the end no
bar left behind, the cursor shown again, then the summary. Run under a pseudo-terminal,
as a person at a prompt would run it, on the demo tree."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.demo_tree import prepare_demo

REPO = Path(__file__).resolve().parents[2]
WAIT_LIMIT = 120.0  # seconds; a bound against hangs, never a speed requirement
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def run_on_a_terminal(*arguments: str, cwd: Path) -> tuple[int, str]:
    """Run ``python -m watchman ARGUMENTS`` with stdin, stdout and stderr on one
    pseudo-terminal of 100 columns; return its exit status and everything it drew."""
    import fcntl
    import pty
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("COMFYWATCHMAN")
    }
    environment.update(TERM="xterm-256color", PYTHONPATH=str(REPO))
    environment.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "watchman", *arguments],
        stdin=child,
        stdout=child,
        stderr=child,
        env=environment,
        cwd=cwd,
        close_fds=True,
    )
    os.close(child)
    drawn = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], WAIT_LIMIT)
            if not ready:
                break  # hung: the assertions below say so
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(main)
        try:
            process.wait(timeout=WAIT_LIMIT)
        finally:
            if process.poll() is None:
                process.kill()
    return process.returncode, drawn.decode("utf-8", errors="replace")


def frames(drawn: str) -> list[str]:
    """The lines and redrawn bar frames a person saw, without colours and cursor moves."""
    return [part.strip() for part in re.split(r"\r\n|\r|\n", ANSI.sub("", drawn)) if part.strip()]


def test_a_cycle_on_a_terminal_draws_its_stages_and_counts_and_ends_cleanly(
    tmp_path: Path,
) -> None:
    config = prepare_demo(tmp_path / "demo")
    status, drawn = run_on_a_terminal("--config", str(config), "--run-cycle", cwd=tmp_path)
    seen = frames(drawn)
    assert status == 0, seen
    labels = " | ".join(seen)
    for label in ("Taking stock of installed models", "Reading the watched workflows"):
        assert label in labels
    # The demo has 4 missing models to resolve: each count is drawn, in order.
    counts = [int(found) for found in re.findall(r"Resolving missing models: (\d+) of 4", labels)]
    assert counts and sorted(set(counts)) == [1, 2, 3, 4]
    # A stage without counts never shows the previous stage's total.
    assert not [frame for frame in seen if "Writing the report" in frame and " of " in frame]
    # The bar is cleared and the cursor shown again before the summary is printed.
    assert drawn.count("\x1b[?25l") == drawn.count("\x1b[?25h") >= 1
    after_bar = frames(drawn[drawn.rindex("\x1b[?25h") :])
    assert after_bar[0] == "comfywatchman cycle"
    assert not any("━" in frame and "…" in frame for frame in after_bar)


def test_no_progress_draws_no_bar_on_a_terminal(tmp_path: Path) -> None:
    config = prepare_demo(tmp_path / "demo")
    status, drawn = run_on_a_terminal(
        "--config", str(config), "--run-cycle", "--no-progress", cwd=tmp_path
    )
    seen = frames(drawn)
    assert status == 0, seen
    assert "comfywatchman cycle" in seen
    assert not [frame for frame in seen if "Resolving missing models" in frame]
    assert "\x1b[?25l" not in drawn  # the cursor was never hidden for a bar
