"""Writing the report: ``master_status.json`` and ``master_status.md``, replaced as one set,
only when something but their timestamps changed.

The JSON is written item by item while its stable part is hashed
(:mod:`watchman.reporting.stream`); when the digest is that of the report before (kept in
its index, :mod:`watchman.reporting.previous`) and the Markdown beside it is of its
cycle, the new files are dropped before they are put in place. Neither report is ever
held whole in memory.
"""

from __future__ import annotations

from pathlib import Path

from watchman.reporting.advice import actions, backend_problems
from watchman.reporting.document import document_parts
from watchman.reporting.markdown import write_markdown
from watchman.reporting.previous import PreviousReport, index_of_report, read_previous_report
from watchman.reporting.report import Report
from watchman.reporting.report_index import save_index
from watchman.reporting.stream import stable_digest, write_document
from watchman.state.file_sets import PendingFileSet


def write_report(
    json_path: Path,
    markdown_path: Path,
    report: Report,
    *,
    index: Path,
    previous: PreviousReport | None = None,
) -> bool:
    """Write the report's JSON and Markdown as one set when anything but its timestamps
    changed since the last written JSON, or when the Markdown is not of that JSON's cycle;
    return True if written. Afterwards the index at ``index`` describes the pair on disk.
    ``previous`` is what :func:`read_previous_report` gave for these paths, when the caller
    has read it already (the changes of ``report`` were told against it).

    Raises:
        OSError: a file cannot be written (the previous set stays whole).
    """
    if previous is None:
        previous = read_previous_report(json_path, markdown_path, index)
    todo = actions(report)
    problems = backend_problems(report, report.backend_urls)
    parts = document_parts(report, todo, problems)
    with PendingFileSet(json_path.parent, report.cycle_id) as pending:
        try:
            written = write_document(pending.open(json_path), parts)
        except OSError:
            # A full disk must not fail a cycle whose report did not change (nothing
            # needed writing before the report was streamed).
            if previous.markdown_current and stable_digest(parts) == previous.stable_digest:
                return False
            raise
        if previous.markdown_current and written.stable_digest == previous.stable_digest:
            pending.discard()
            if previous.index is not None:
                save_index(index, previous.index)
            return False
        markdown = write_markdown(pending.open(markdown_path), report, todo, problems)
        # The JSON is put in place last: once it is new, so is the page beside it.
        pending.commit(order=(markdown_path, json_path))
    save_index(
        index,
        index_of_report(
            written.sha256,
            markdown,
            written.stable_digest,
            report.cycle_id,
            report.generated_at,
            report.workflows,
            parts["summary"],
        ),
    )
    return True
