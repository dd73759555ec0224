"""Read one workflow file the way the cycle's workflows stage does, for tests that read
files directly (the corpus, a file on disk)."""

from __future__ import annotations

from pathlib import Path

from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.printable import printable
from watchman.stages.watched_folders import read_workflow_bytes


def read_as_the_cycle_does(path: Path) -> ParsedWorkflow:
    """Return the parsed workflow at ``path``: the stage's bounded read, then the parser.

    Raises WorkflowError for an unreadable or too large workflow, OSError when the file
    cannot be read.
    """
    data = read_workflow_bytes(path, path.stat().st_size)
    return parse_workflow_bytes(data, printable(str(path)))
