"""The master status report for a person (``master_status.md``).

Rendered from the typed :class:`~watchman.reporting.report.Report`, the same value the
JSON document is made from. Read over coffee, often on a phone: problems with the report
itself first (a watched folder that is not there), then the summary, what changed since
the previous report, and what to do, each item with the workflows it unblocks and a
command to copy. Short lines, lists rather than wide tables, no raw JSON.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

from watchman.printable import printable, visible
from watchman.reporting.action import Action, display_name
from watchman.reporting.advice import BackendProblem, actions, backend_problems
from watchman.reporting.report import ModelRow, Report, resolution_status

STATUS_LABELS = {
    "ready": "ready",
    "missing_nodes": "missing nodes",
    "missing_models": "missing models",
    "uncertain": "uncertain",
    "parse_error": "parse error",
}
MAX_LISTED = 8  # names listed (workflows on one line, candidates one a line) before "and N more"


def _cell(value: Any) -> str:
    """Text on one line, shown as written: a stranger's name or a server's note must not
    become a link, an HTML tag or a table cell of its own, nor hide what it is."""
    text = "" if value is None else str(value)
    text = visible(" ".join(text.splitlines()))
    return _ESCAPING_BACKSLASH.sub(r"\\\\", text).translate(_MARKUP_ESCAPES)


# Brackets and "<" make links, images and HTML; "|" ends a table cell.
_MARKUP_ESCAPES = str.maketrans({"[": "\\[", "]": "\\]", "<": "\\<", "|": "\\|"})
# A backslash before punctuation escapes it in Markdown: doubled, so a stranger's own
# cannot undo an escape above. Elsewhere (a Windows path) it shows as written.
_ESCAPING_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~])")


def _code(text: str) -> str:
    """Text in a code span, on one line (a line break in it would end the list item or
    open a block of its own)."""
    return "`" + visible(text).replace("`", "'") + "`"


def _found_by(found_by: str) -> str:
    """How the ComfyUI folder was chosen, after it (`` (set)``), or nothing when unsaid.
    It may name a launcher's entries: shown as a stranger's text."""
    return f" ({_cell(found_by)})" if found_by else ""


def _size(size: Any) -> str:
    if not isinstance(size, (int, float)) or size <= 0:
        return "?"
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    amount = float(size)
    for unit in units:
        if amount < 1024 or unit == units[-1]:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return "?"


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(_code(name) for name in names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def _findings(report: Report) -> list[str]:
    problems = [(folder, problem) for folder in report.watched for problem in folder.problems]
    if not problems:
        return []
    lines = ["", "## ⚠ Not everything could be watched", ""]
    lines += [f"- {_cell(problem)}" for _, problem in problems]
    lines += [
        "",
        "Workflows in those folders are not in this report. Fix the path in "
        "`workflows.folders` (see `comfywatchman config`) or the permissions.",
    ]
    return lines


def _header(report: Report) -> list[str]:
    lines = [
        "# ComfyUI readiness",
        "",
        f"Generated {report.generated_at} (cycle {report.cycle_id}).",
        "",
        f"ComfyUI: {_code(report.comfyui_root)}{_found_by(report.comfyui_found_by)}",
        "",
        "Watched folders:",
        "",
    ]
    if not report.watched:
        lines.append("- none configured (`workflows.folders`)")
    for folder in report.watched:
        state = f"{folder.files} workflow file(s)" if folder.listed else "NOT READ (see above)"
        lines.append(f"- {_code(folder.path)} ({_cell(folder.source)}): {state}")
    return lines


def _summary(report: Report) -> list[str]:
    summary = report.summary
    counts = ", ".join(
        f"{count} {STATUS_LABELS.get(status, status)}"
        for status, count in summary.workflows_by_status.items()
        if count
    )
    lines = ["", "## Summary", "", f"- {summary.workflows} workflow(s): {counts or 'none'}"]
    lines += [
        f"- Models to fix: {summary.missing_models} missing, {summary.misplaced_models} "
        f"misplaced, {summary.misspelled_models} misspelled, {summary.broken_models} broken"
        + (
            f", {summary.nameless_embeddings} embedding: naming nothing"
            if summary.nameless_embeddings
            else ""
        ),
        f"- Node types missing: {summary.missing_nodes}",
        *(
            [f"- Input files not in ComfyUI's input folder: {summary.missing_input_files}"]
            if summary.missing_input_files
            else []
        ),
        *(
            [f"- Values ComfyUI's lists do not offer: {summary.unlisted_values}"]
            if summary.unlisted_values
            else []
        ),
        *(
            [f"- Numbers outside the range ComfyUI allows: {summary.values_out_of_range}"]
            if summary.values_out_of_range
            else []
        ),
        *(
            [f"- Values ComfyUI cannot read as their inputs' type: {summary.values_of_wrong_type}"]
            if summary.values_of_wrong_type
            else []
        ),
        *(
            [f"- Links whose source's type the input does not take: {summary.mismatched_links}"]
            if summary.mismatched_links
            else []
        ),
        *(
            [f"- Nodes with required inputs nothing feeds: {summary.unlinked_inputs}"]
            if summary.unlinked_inputs
            else []
        ),
        *(
            [f"- Workflows with no output node: {summary.workflows_without_output}"]
            if summary.workflows_without_output
            else []
        ),
        f"- To decide by you: {summary.uncertain} (marked “decide” below)",
        f"- Installed: {summary.models_installed} model files, {summary.node_packs} node "
        f"packs (node types from {summary.node_source})",
    ]
    if report.resolution_note:
        lines.append(f"- Resolution: {_cell(report.resolution_note)}")
    return lines


def _changes(report: Report) -> list[str]:
    changes = report.changes
    if changes is None:
        return []
    since = (
        f"since the previous report ({changes.previous_generated_at})"
        if changes.previous_generated_at
        else "(first report)"
    )
    lines = ["", f"## What changed {since}", ""]
    if not changes.any:
        return [*lines, "- Nothing about the workflows."]
    for label, names in (
        ("New", changes.new),
        ("Updated", changes.updated),
        ("Now ready", changes.newly_ready),
        ("Now blocked", changes.newly_blocked),
        ("Gone (deleted, renamed or no longer watched)", changes.removed),
    ):
        if names:
            lines.append(f"- {label}: {_listed(names)}")
    return lines


def _action_lines(number: int, action: Action) -> list[str]:
    marker = "Decide: " if action.uncertain else ""
    lines = [f"{number}. **{marker}{_cell(action.title)}**"]
    if action.unblocks:
        lines.append(f"   Unblocks: {_listed(action.unblocks)}")
    if action.uncertain:
        lines.append(f"   Uncertain: {_cell(action.uncertain)}")
    if action.candidates:
        lines.append("   Candidates:")
        lines += [f"   - {_cell(candidate)}" for candidate in action.candidates[:MAX_LISTED]]
        # Those past the page's list and those the need did not keep (more_locations).
        more = len(action.candidates[MAX_LISTED:]) + action.more_candidates
        if more > 0:
            lines.append(f"   - and {more:,} more")
    if action.command and visible(action.command) == action.command:
        lines += ["", "   ```sh", f"   {action.command}", "   ```"]
    elif action.command:
        # A control character in a name would break the block, or run as a second line.
        lines.append("   (No command to copy: a name in it holds control characters.)")
    lines.append("")
    return lines


def _todo(report: Report, todo: Sequence[Action], problems: Sequence[BackendProblem]) -> list[str]:
    lines: list[str] = ["", "## What to do", ""]
    if not todo and not problems:
        if any(folder.problems for folder in report.watched):
            return [*lines, "Nothing in the folders that could be read; see the warning above."]
        if not report.workflows:
            return [*lines, "Nothing: no workflow was found in the watched folders."]
        return [*lines, "Nothing: every watched workflow is ready."]
    if any(action.command for action in todo):
        lines += [
            f"Run the commands from the ComfyUI folder: `cd {report.comfyui_root}`",
            "",
        ]
    for number, action in enumerate(todo, start=1):
        lines += _action_lines(number, action)
    if problems:
        lines += ["### Sources that could not be asked", ""]
        for problem in problems:
            lines.append(
                f"- {problem.backend} ({problem.reason}, {problem.models} model(s)): "
                f"{_cell(problem.remedy)}."
            )
    return lines


def _missing_models(report: Report) -> list[str]:
    rows: list[tuple[ModelRow, tuple[str, ...]]] = [
        (row, users)
        for row, users in report.unique_models().values()
        if row.need.state == "missing"
    ]
    if not rows:
        return []
    by_path = {entry.path: display_name(entry) for entry in report.workflows}
    lines = ["", "## Missing models", ""]
    for row, users in rows:
        result = row.resolution
        status = resolution_status(result)
        if result is not None and result.reason:
            status = f"{status}, {result.reason}"
        where = row.need.reference.folder or "unknown folder"
        size = f", {_size(result.size)}" if result is not None and result.size else ""
        lines.append(f"- {_code(row.need.reference.value)} ({where}{size}): {_cell(status)}")
        lines.append(f"  needed by {_listed([by_path.get(path, path) for path in users])}")
    return lines


def _downloads(report: Report) -> list[str]:
    lines: list[str] = []
    if report.downloads:
        lines += ["", "## Planned downloads (review, then run)", ""]
        for plan in report.downloads:
            trust = "" if plan.trusted else f"; not automatic: {_cell(plan.why_not)}"
            digest = f", sha256 {plan.sha256[:12]}" if plan.sha256 else ""
            lines.append(f"- {_code(plan.name)} ({_size(plan.size)}{digest}){trust}")
            lines.append(f"  from {_cell(plan.url)}")
            lines += [
                f"  an unfinished download of another tool lies at {_code(str(left))}: "
                "delete it once this file is in place."
                for left in plan.leftovers
            ]
        lines += ["", "Run them all: `comfywatchman download --all`"]
    if report.not_planned:
        lines += ["", "## Found, but not planned for download", ""]
        lines += [f"- {_code(item.key)}: {_cell(item.reason)}" for item in report.not_planned]
    if report.downloaded:
        lines += ["", "## Downloaded since last report", ""]
        for item in report.downloaded:
            lines.append(f"- {_code(item.target)} ({_size(item.size)})")
    return lines


def _workflows(report: Report) -> list[str]:
    lines = ["", "## Workflows", ""]
    for workflow in report.workflows:
        detail = []
        if workflow.models:
            detail.append(f"{len(workflow.models)} model(s)")
        if workflow.nodes:
            detail.append(f"{len(workflow.nodes)} node type(s)")
        if workflow.inputs:
            detail.append(f"{len(workflow.inputs)} input file(s)")
        if workflow.values:
            detail.append(f"{len(workflow.values)} value(s) not in list")
        if workflow.ranges:
            detail.append(f"{len(workflow.ranges)} number(s) out of range")
        if workflow.wrong_types:
            detail.append(f"{len(workflow.wrong_types)} value(s) of another type")
        if workflow.mismatched:
            detail.append(f"{len(workflow.mismatched)} link(s) of mismatched types")
        if workflow.unlinked:
            detail.append(f"{len(workflow.unlinked)} node(s) with inputs unconnected")
        if workflow.no_output is not None:
            detail.append("no output node")
        if workflow.uncertain_count:
            detail.append(f"{workflow.uncertain_count} to decide")
        extra = f" ({', '.join(detail)})" if detail else ""
        status = STATUS_LABELS.get(workflow.status, workflow.status)
        lines.append(f"- {_code(display_name(workflow))}: {status}{extra}")
    inactive = [w for w in report.workflows if w.bypassed_node_ids or w.muted_node_ids]
    if inactive:
        lines += ["", "### Bypassed and muted nodes (do not affect status)", ""]
        for workflow in inactive:
            extra_needs = [
                row.need.reference.value or row.need.reference.written_as or ""
                for row in workflow.inactive_models
            ] + [row.need.node_type for row in workflow.inactive_nodes]
            note = f"; would need {_listed(extra_needs)}" if extra_needs else ""
            lines.append(
                f"- {_code(display_name(workflow))}: bypassed "
                f"{len(workflow.bypassed_node_ids)}, muted {len(workflow.muted_node_ids)}{note}"
            )
    return lines


def render_markdown(report: Report) -> str:
    """Return the Markdown page for a report."""
    todo = actions(report)
    problems = backend_problems(report, report.backend_urls)
    return "\n".join(line for lines in sections(report, todo, problems) for line in lines) + "\n"


def sections(
    report: Report, todo: Sequence[Action], problems: Sequence[BackendProblem]
) -> Iterator[list[str]]:
    """Yield the page's sections in order, each as its lines (an empty list: the section
    has nothing to say), made one at a time. ``todo`` and ``problems`` are the report's
    ``actions`` and ``backend_problems``."""
    yield _header(report)
    yield _findings(report)
    yield _summary(report)
    yield _changes(report)
    yield _todo(report, todo, problems)
    yield _missing_models(report)
    yield _downloads(report)
    yield _workflows(report)


def write_markdown(
    handle: BinaryIO, report: Report, todo: Sequence[Action], problems: Sequence[BackendProblem]
) -> str:
    """Write the page :func:`render_markdown` returns, printable (a file name that is not
    UTF-8 escaped), one section at a time, to ``handle``; return the sha256 of the bytes.

    Raises:
        OSError: the file cannot be written.
    """
    digest = hashlib.sha256()
    for lines in sections(report, todo, problems):
        if lines:
            data = printable("\n".join(lines) + "\n").encode("utf-8")
            digest.update(data)
            handle.write(data)
    return digest.hexdigest()
