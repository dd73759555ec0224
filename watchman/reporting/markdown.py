"""The master status report for a person (``master_status.md``).

Rendered from the JSON document alone: summary first, then what to do, then every
workflow. Written to be read over coffee: short lines, the fix next to the problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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


def _summary(document: Mapping[str, Any]) -> list[str]:
    summary = document["summary"]
    lines = [
        "# ComfyUI readiness",
        "",
        f"Generated {document['generated_at']} for `{document['comfyui_root']}` "
        f"(cycle {document['cycle_id']}).",
        "",
        "| status | workflows |",
        "| --- | ---: |",
    ]
    for status, count in summary["workflows_by_status"].items():
        lines.append(f"| {STATUS_LABELS.get(status, status)} | {count} |")
    lines.append(f"| **total** | **{summary['workflows']}** |")
    lines += [
        "",
        f"- Missing models: {summary['missing_models']} (misplaced: {summary['misplaced_models']}, "
        f"misspelled: {summary.get('misspelled_models', 0)})",
        f"- Missing node types: {summary['missing_nodes']}",
        f"- Uncertain (a person must decide): {summary['uncertain']}",
        "- New or updated workflows in the cycle that wrote this report: "
        f"{document.get('cycle', {}).get('intake_new_or_updated', 0)}",
        f"- Installed: {summary['models_installed']} model files, "
        f"{summary['node_packs']} node packs; node types from {summary['node_source']}",
    ]
    if document.get("resolution_note"):
        lines.append(f"- Resolution: {document['resolution_note']}")
    return lines


def _unique(
    workflows: Sequence[Mapping[str, Any]], field: str, key: str
) -> dict[str, tuple[Mapping[str, Any], list[str]]]:
    found: dict[str, tuple[Mapping[str, Any], list[str]]] = {}
    for workflow in workflows:
        for item in workflow.get(field, []):
            identity = str(item[key])
            _, users = found.setdefault(identity, (item, []))
            users.append(workflow["path"])
    return found


def _node_sections(
    nodes: Mapping[str, tuple[Mapping[str, Any], list[str]]],
) -> list[str]:
    """Missing nodes grouped by what to do: install a pack (one line per pack), enable a
    disabled pack, update ComfyUI, choose among candidate packs, or look further."""
    install: dict[str, tuple[str, list[str], set[str]]] = {}
    enable: dict[str, tuple[list[str], set[str]]] = {}
    update: list[str] = []
    choose: list[str] = []
    unknown: list[str] = []
    for item, users in nodes.values():
        pack = item.get("pack") or {}
        status = pack.get("status", "unknown")
        node = f"`{_cell(item['node_type'])}`"
        if status == "found" and pack.get("url"):
            title = str(pack.get("title") or "")
            _, types, workflows = install.setdefault(str(pack["url"]), (title, [], set()))
            types.append(node)
            workflows.update(users)
        elif status == "installed_disabled":
            types, workflows = enable.setdefault(str(pack.get("title")), ([], set()))
            types.append(node)
            workflows.update(users)
        elif status == "outdated_comfyui":
            update.append(node)
        elif status == "uncertain":
            candidates = ", ".join(
                str(c.get("url") or c.get("title")) for c in pack.get("candidates") or []
            )
            choose.append(f"| {node} | {_cell(candidates)} | {len(users)} |")
        else:
            reason = pack.get("reason") or "no known pack provides it"
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


def _todo(document: Mapping[str, Any]) -> list[str]:
    workflows = document["workflows"]
    lines: list[str] = ["", "## What to do", ""]
    nodes = _unique(workflows, "missing_nodes", "node_type")
    models = _unique(workflows, "missing_models", "key")
    broken = [w for w in workflows if w["status"] == "parse_error"]
    if not (nodes or models or broken):
        return [*lines, "Nothing: every watched workflow is ready."]
    lines += _node_sections(nodes)
    misplaced = [(i, u) for i, u in models.values() if i["state"] == "misplaced"]
    if misplaced:
        lines += ["### Move misplaced models", ""]
        for item, users in misplaced:
            places = ", ".join(
                f"`{loc['folder']}/{loc['path']}`" for loc in item.get("locations", [])
            )
            lines.append(
                f"- `{_cell(item['value'])}` is expected in `{item.get('folder') or '?'}` "
                f"but is in {places} ({len(users)} workflow(s))."
            )
        lines.append("")
    misspelled = [(i, u) for i, u in models.values() if i["state"] == "misspelled"]
    if misspelled:
        lines += [
            "### Pick the installed file (ComfyUI accepts only its exact name)",
            "",
            "| node | value in the workflow | pick | workflows |",
            "| --- | --- | --- | ---: |",
        ]
        for item, users in misspelled:
            lines.append(
                f"| {_cell(item['node_type'])} #{_cell(item['node_id'])} | "
                f"`{_cell(item['value'])}` | `{_cell(item.get('pick'))}` | {len(users)} |"
            )
        lines.append("")
    missing = [(i, u) for i, u in models.values() if i["state"] == "missing"]
    if missing:
        lines += [
            "### Get missing models",
            "",
            "| file | folder | resolution | source | size | workflows |",
            "| --- | --- | --- | --- | ---: | ---: |",
        ]
        for item, users in missing:
            resolution = item.get("resolution") or {}
            status = str(resolution.get("status", "unresolved"))
            if resolution.get("reason"):
                status = f"{status} ({resolution['reason']})"
            source = " ".join(
                str(part)
                for part in (resolution.get("backend"), resolution.get("download_url"))
                if part
            )
            lines.append(
                f"| `{_cell(item['value'])}` | {_cell(item.get('folder') or '?')} | "
                f"{_cell(status)} | {_cell(source)} | {_size(resolution.get('size'))} | "
                f"{len(users)} |"
            )
            for candidate in resolution.get("candidates") or []:
                lines.append(
                    f"|  ↳ candidate `{_cell(candidate.get('file_name'))}` | | | "
                    f"{_cell(candidate.get('url') or candidate.get('source'))} | | |"
                )
        lines.append("")
    if document.get("downloads"):
        lines += ["### Planned downloads (manual review)", ""]
        for plan in document["downloads"]:
            trust = "" if plan.get("trusted") else " — unverified size and hash"
            lines.append(
                f"- `{plan['target']}` ← {plan['url']} ({_size(plan.get('size'))}"
                f"{', sha256 ' + str(plan['sha256'])[:12] if plan.get('sha256') else ''}){trust}"
            )
        lines.append("")
    if broken:
        lines += ["### Fix unreadable workflows", ""]
        lines += [f"- `{w['path']}`: {_cell(w.get('error'))}" for w in broken]
        lines.append("")
    return lines


def _workflows(document: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Workflows", "", "| workflow | source | status | models | nodes | uncertain |"]
    lines.append("| --- | --- | --- | ---: | ---: | ---: |")
    for workflow in document["workflows"]:
        name = workflow.get("name") or workflow["path"]
        lines.append(
            f"| `{_cell(name)}` | {_cell(workflow['source'])} | "
            f"{STATUS_LABELS.get(workflow['status'], workflow['status'])} | "
            f"{len(workflow['missing_models'])} | {len(workflow['missing_nodes'])} | "
            f"{workflow.get('uncertain_count', 0)} |"
        )
    inactive = [
        w
        for w in document["workflows"]
        if (w.get("inactive") or {}).get("bypassed_node_ids")
        or (w.get("inactive") or {}).get("muted_node_ids")
    ]
    if inactive:
        lines += ["", "### Bypassed and muted nodes (do not affect status)", ""]
        for workflow in inactive:
            info = workflow["inactive"]
            extra = [m["value"] for m in info.get("missing_models", [])] + [
                n["node_type"] for n in info.get("missing_nodes", [])
            ]
            note = f"; would need {', '.join(f'`{x}`' for x in extra)}" if extra else ""
            name = workflow.get("name") or workflow["path"]
            lines.append(
                f"- `{name}`: bypassed {len(info['bypassed_node_ids'])}, "
                f"muted {len(info['muted_node_ids'])}{note}"
            )
    return lines


def render_markdown(document: Mapping[str, Any]) -> str:
    """Return the Markdown page for a master status document."""
    return "\n".join(_summary(document) + _todo(document) + _workflows(document)) + "\n"
