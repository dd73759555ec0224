"""The master status report for a person (``master_status.md``).

Rendered from the typed :class:`~watchman.reporting.report.Report`, the same value the
JSON document is made from: summary first, then what to do, then every workflow. Written
to be read over coffee: short lines, the fix next to the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchman.reporting.report import ModelRow, NodeRow, Report

STATUS_LABELS = {
    "ready": "ready",
    "missing_nodes": "missing nodes",
    "missing_models": "missing models",
    "uncertain": "uncertain",
    "parse_error": "parse error",
}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


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


def _summary(report: Report) -> list[str]:
    summary = report.summary
    lines = [
        "# ComfyUI readiness",
        "",
        f"Generated {report.generated_at} for `{report.comfyui_root}` (cycle {report.cycle_id}).",
        "",
        "| status | workflows |",
        "| --- | ---: |",
    ]
    for status, count in summary.workflows_by_status.items():
        lines.append(f"| {STATUS_LABELS.get(status, status)} | {count} |")
    lines.append(f"| **total** | **{summary.workflows}** |")
    lines += [
        "",
        f"- Missing models: {summary.missing_models} (misplaced: {summary.misplaced_models}, "
        f"misspelled: {summary.misspelled_models}, broken: {summary.broken_models})",
        f"- Missing node types: {summary.missing_nodes}",
        f"- Uncertain (a person must decide): {summary.uncertain}",
        "- New or updated workflows in the cycle that wrote this report: "
        f"{report.intake_new_or_updated}",
        f"- Installed: {summary.models_installed} model files, "
        f"{summary.node_packs} node packs; node types from {summary.node_source}",
    ]
    if report.resolution_note:
        lines.append(f"- Resolution: {report.resolution_note}")
    return lines


def _node_sections(nodes: Mapping[str, tuple[NodeRow, tuple[str, ...]]]) -> list[str]:
    """Missing nodes grouped by what to do: install a pack (one line per pack), enable a
    disabled pack, update ComfyUI, choose among candidate packs, or look further."""
    install: dict[str, tuple[str, list[str], set[str]]] = {}
    enable: dict[str, tuple[list[str], set[str]]] = {}
    update: list[str] = []
    choose: list[str] = []
    unknown: list[str] = []
    for row, users in nodes.values():
        pack = row.pack
        status = pack.status if pack is not None else "unknown"
        node = f"`{_cell(row.need.node_type)}`"
        if pack is not None and status == "found" and pack.url:
            _, types, workflows = install.setdefault(pack.url, (pack.title or "", [], set()))
            types.append(node)
            workflows.update(users)
        elif pack is not None and status == "installed_disabled":
            types, workflows = enable.setdefault(str(pack.title), ([], set()))
            types.append(node)
            workflows.update(users)
        elif status == "outdated_comfyui":
            update.append(node)
        elif pack is not None and status == "uncertain":
            candidates = ", ".join(str(c.url or c.title) for c in pack.candidates)
            choose.append(f"| {node} | {_cell(candidates)} | {len(users)} |")
        else:
            reason = (pack.reason if pack is not None else None) or "no known pack provides it"
            unknown.append(f"| {node} | {_cell(reason)} | {len(users)} |")
    lines: list[str] = []
    if install:
        lines += ["### Install node packs", "", "| pack | node types | workflows |"]
        lines.append("| --- | --- | ---: |")
        for url, (title, types, workflows) in sorted(install.items()):
            name = f"{_cell(title)} ({url})" if title else url
            lines.append(f"| {name} | {', '.join(types)} | {len(workflows)} |")
        lines.append("")
    if enable:
        lines += ["### Enable installed packs", ""]
        for name, (types, workflows) in sorted(enable.items()):
            lines.append(
                f"- `{_cell(name)}` is installed but disabled; it provides {', '.join(types)} "
                f"({len(workflows)} workflow(s))."
            )
        lines.append("")
    if update:
        lines += [
            "### Update ComfyUI",
            "",
            f"- These core node types are newer than this ComfyUI install: {', '.join(update)}.",
            "",
        ]
    if choose:
        lines += ["### Choose a pack (several may provide these)", ""]
        lines += ["| node type | candidate packs | workflows |", "| --- | --- | ---: |"]
        lines += [*choose, ""]
    if unknown:
        lines += ["### Node types with no known pack", ""]
        lines += ["| node type | why | workflows |", "| --- | --- | ---: |", *unknown, ""]
    return lines


def _misplaced(models: list[tuple[ModelRow, tuple[str, ...]]]) -> list[str]:
    lines = ["### Move misplaced models", ""]
    for row, users in models:
        places = ", ".join(f"`{loc.folder}/{loc.relative_path}`" for loc in row.need.locations)
        lines.append(
            f"- `{_cell(row.need.reference.value)}` is expected in "
            f"`{row.need.reference.folder or '?'}` but is in {places} "
            f"({len(users)} workflow(s))."
        )
    return [*lines, ""]


def _misspelled(models: list[tuple[ModelRow, tuple[str, ...]]]) -> list[str]:
    lines = [
        "### Pick the installed file (ComfyUI accepts only its exact name)",
        "",
        "| node | value in the workflow | pick | workflows |",
        "| --- | --- | --- | ---: |",
    ]
    for row, users in models:
        reference = row.need.reference
        lines.append(
            f"| {_cell(reference.node_type)} #{_cell(reference.node_id)} | "
            f"`{_cell(reference.value)}` | `{_cell(row.need.pick)}` | {len(users)} |"
        )
    return [*lines, ""]


def _missing(models: list[tuple[ModelRow, tuple[str, ...]]]) -> list[str]:
    lines = [
        "### Get missing models",
        "",
        "| file | folder | resolution | source | size | workflows |",
        "| --- | --- | --- | --- | ---: | ---: |",
    ]
    for row, users in models:
        result = row.resolution
        status = result.status.value if result is not None else "unresolved"
        reason = result.reason if result is not None else "no backend ran"
        if reason:
            status = f"{status} ({reason})"
        source = (
            " ".join(part for part in (result.backend, result.download_url) if part)
            if result is not None
            else ""
        )
        lines.append(
            f"| `{_cell(row.need.reference.value)}` | {_cell(row.need.reference.folder or '?')} | "
            f"{_cell(status)} | {_cell(source)} | {_size(result.size if result else None)} | "
            f"{len(users)} |"
        )
        for candidate in result.candidates if result is not None else ():
            lines.append(
                f"|  ↳ candidate `{_cell(candidate.file_name)}` | | | "
                f"{_cell(candidate.url or candidate.source)} | | |"
            )
    return [*lines, ""]


def _broken(models: list[tuple[ModelRow, tuple[str, ...]]]) -> list[str]:
    lines = ["### Replace broken model files", ""]
    for row, users in models:
        where = ", ".join(f"`{loc.full_path}`" for loc in row.need.locations)
        result = row.resolution
        fix = (
            f"a planned download replaces it from {result.download_url}"
            if result is not None and result.status.value == "FOUND" and result.download_url
            else "no verified source was found: fetch it again by hand"
        )
        lines.append(
            f"- {where}: {_cell(row.need.problem)} — {_cell(fix)} ({len(users)} workflow(s))."
        )
    return [*lines, ""]


def _downloaded(report: Report) -> list[str]:
    if not report.downloaded:
        return []
    lines = ["", "## Downloaded since last report", ""]
    lines += ["| file | size | sha256 | from | workflows |", "| --- | ---: | --- | --- | ---: |"]
    for item in report.downloaded:
        lines.append(
            f"| `{_cell(item.get('target'))}` | {_size(item.get('size'))} | "
            f"{_cell(str(item.get('sha256') or '')[:12])} | {_cell(item.get('url'))} | "
            f"{len(item.get('workflows') or [])} |"
        )
    return lines


def _todo(report: Report) -> list[str]:
    lines: list[str] = ["", "## What to do", ""]
    nodes = report.unique_nodes()
    models = list(report.unique_models().values())
    broken = [w for w in report.workflows if w.status == "parse_error"]
    if not (nodes or models or broken):
        return [*lines, "Nothing: every watched workflow is ready."]
    lines += _node_sections(nodes)
    by_state = {
        state: [(row, users) for row, users in models if row.need.state == state]
        for state in ("misplaced", "misspelled", "broken", "missing")
    }
    if by_state["misplaced"]:
        lines += _misplaced(by_state["misplaced"])
    if by_state["misspelled"]:
        lines += _misspelled(by_state["misspelled"])
    if by_state["broken"]:
        lines += _broken(by_state["broken"])
    if by_state["missing"]:
        lines += _missing(by_state["missing"])
    if report.downloads:
        lines += ["### Planned downloads (manual review)", ""]
        for plan in report.downloads:
            trust = "" if plan.trusted else f" — not for --auto-download: {plan.why_not}"
            digest = f", sha256 {plan.sha256[:12]}" if plan.sha256 else ""
            lines.append(
                f"- `{_cell(plan.name)}` → `{_cell(plan.target)}` ← {_cell(plan.url)} "
                f"({_size(plan.size)}{digest}){trust}"
            )
            lines += [
                f"  - an unfinished download of another tool lies at `{_cell(left)}`: "
                "delete it once this file is in place."
                for left in plan.leftovers
            ]
        lines.append("")
    if broken:
        lines += ["### Fix unreadable workflows", ""]
        lines += [f"- `{w.path}`: {_cell(w.error)}" for w in broken]
        lines.append("")
    return lines


def _workflows(report: Report) -> list[str]:
    lines = ["", "## Workflows", "", "| workflow | source | status | models | nodes | uncertain |"]
    lines.append("| --- | --- | --- | ---: | ---: | ---: |")
    for workflow in report.workflows:
        lines.append(
            f"| `{_cell(workflow.name or workflow.path)}` | {_cell(workflow.source)} | "
            f"{STATUS_LABELS.get(workflow.status, workflow.status)} | "
            f"{len(workflow.models)} | {len(workflow.nodes)} | "
            f"{workflow.uncertain_count} |"
        )
    inactive = [w for w in report.workflows if w.bypassed_node_ids or w.muted_node_ids]
    if inactive:
        lines += ["", "### Bypassed and muted nodes (do not affect status)", ""]
        for workflow in inactive:
            extra = [row.need.reference.value for row in workflow.inactive_models] + [
                row.need.node_type for row in workflow.inactive_nodes
            ]
            note = f"; would need {', '.join(f'`{x}`' for x in extra)}" if extra else ""
            lines.append(
                f"- `{workflow.name or workflow.path}`: bypassed "
                f"{len(workflow.bypassed_node_ids)}, muted {len(workflow.muted_node_ids)}{note}"
            )
    return lines


def render_markdown(report: Report) -> str:
    """Return the Markdown page for a report."""
    sections = _summary(report) + _downloaded(report) + _todo(report) + _workflows(report)
    return "\n".join(sections) + "\n"
