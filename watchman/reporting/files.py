"""Writing the report: ``master_status.json`` and ``master_status.md``, replaced as one set,
only when something but their timestamps changed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from watchman.printable import printable
from watchman.reporting.document import SCHEMA_VERSION, report_json, same_stable_part
from watchman.reporting.markdown import render_markdown
from watchman.reporting.report import Report
from watchman.state.safe_files import dumps_json, read_json_state, write_file_set


class Unread:
    """The previous report was not read by the caller: ``write_report`` reads it."""


UNREAD = Unread()


def write_report(
    json_path: Path,
    markdown_path: Path,
    report: Report,
    *,
    previous: Mapping[str, Any] | Unread | None = UNREAD,
) -> bool:
    """Write the report's JSON and Markdown as one set when anything but its timestamps
    changed since the last written JSON, or when the Markdown is not of that JSON's cycle;
    return True if written. ``previous`` is that JSON as ``read_json_state`` gave it, when
    the caller has read it already (a 5,000-workflow report is not read twice).

    Raises:
        OSError: a file cannot be written (the previous set stays whole).
    """
    document = report_json(report)
    if isinstance(previous, Unread):
        previous = read_json_state(json_path, SCHEMA_VERSION)
    if (
        previous is not None
        and same_stable_part(previous, document)
        and _markdown_is_of_cycle(markdown_path, str(previous.get("cycle_id")))
    ):
        return False
    # A file name that is not UTF-8 (lone surrogates) must not make the page unwritable.
    markdown = printable(render_markdown(report))
    write_file_set(
        [(markdown_path, markdown.encode("utf-8")), (json_path, dumps_json(document))],
        tag=report.cycle_id,
    )
    return True


def _markdown_is_of_cycle(path: Path, cycle_id: str) -> bool:
    try:
        return f"(cycle {cycle_id})" in path.read_text("utf-8", errors="replace")
    except OSError:
        return False
