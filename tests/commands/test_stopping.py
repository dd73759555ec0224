"""SIGINT and SIGTERM stop ``--run-cycle`` while a lookup waits on a source that never
answers: the process exits 130 or 143, the cycle is recorded as interrupted, and no
report is left half-written."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from tests.commands.comfy_tree import (
    child_environment,
    minimal_install,
    start_run_cycle,
    write_config,
)
from tests.local_http import LocalServer, QuietHandler
from watchman.home import Home
from watchman.state.cycle_state import load_cycle_state

WAIT_LIMIT = 60.0  # seconds; a bound against hangs, never a speed requirement

WORKFLOW = """{"1": {"class_type": "CheckpointLoaderSimple",
 "inputs": {"ckpt_name": "hung_model_v1.safetensors"}}}"""


class HungServer(LocalServer):
    """A server that takes every request and never answers it (until the test ends)."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.asked.set()
                server.release.wait(WAIT_LIMIT)

        super().__init__(Handler)

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        super().__exit__(*exc_info)


def _tree(tmp_path: Path, source_url: str) -> tuple[Path, Home]:
    root = minimal_install(tmp_path / "ComfyUI")
    (root / "models" / "checkpoints").mkdir(parents=True)
    workflows = root / "user" / "default" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "hung.json").write_text(WORKFLOW)
    home = Home(tmp_path / "home")
    config = write_config(
        tmp_path / "config.toml",
        home,
        root,
        "[search]",
        'backend_order = ["civitai"]',
        "max_retries = 0",
        "timeout_seconds = 300",
        "[civitai]",
        f'base_url = "{source_url}"',
    )
    return config, home


@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_cycle_waiting_on_a_hung_source_and_records_it_interrupted(
    tmp_path: Path, signal_number: int, status: int
) -> None:
    with HungServer() as server:
        config, home = _tree(tmp_path, server.url)
        environment = child_environment()
        environment["CIVITAI_API_TOKEN"] = ""
        process = start_run_cycle(config, tmp_path, environment)
        try:
            assert server.asked.wait(WAIT_LIMIT), "the cycle never asked the source"
            process.send_signal(signal_number)
            _, errors = process.communicate(timeout=WAIT_LIMIT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == status, errors
    records = load_cycle_state(home.cycle_state).records
    assert [record.outcome for record in records] == ["interrupted"], errors
    # Written whole or not at all: never a Markdown page without its JSON.
    assert home.report_markdown.exists() == home.report_json.exists()
