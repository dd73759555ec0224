"""What a person should do, read off a report: pure functions of the typed
:class:`~watchman.reporting.report.Report`, so the Markdown and the JSON say the same
things.

Each action (:class:`~watchman.reporting.action.Action`) names the workflows it unblocks
and, where one exists, a command to copy: for missing node types, the pack to install or
enable (:mod:`watchman.reporting.node_advice`); for missing model files, the file to
move, rename, replace, download or find, and the prompt text to fix
(:mod:`watchman.reporting.model_advice`); for workflows that cannot be read, the file to
fix; for list values the running ComfyUI does not offer, the value to pick again
(:mod:`watchman.reporting.value_advice`); for numbers outside their range, the values
to set (:mod:`watchman.reporting.range_advice`); for links whose source's type the
input does not take, the links to reconnect (:mod:`watchman.reporting.link_type_advice`);
for required inputs nothing feeds, the nodes to connect, and for a workflow with no
active output, the output to add or enable (:mod:`watchman.reporting.link_advice`). A
backend that could not answer gets one line with its remedy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watchman.reporting.action import Action, display_name
from watchman.reporting.input_advice import input_actions
from watchman.reporting.link_advice import link_actions, output_actions
from watchman.reporting.link_type_advice import link_type_actions
from watchman.reporting.model_advice import model_actions, prompt_actions
from watchman.reporting.node_advice import node_actions
from watchman.reporting.range_advice import range_actions
from watchman.reporting.report import Report
from watchman.reporting.type_advice import type_actions
from watchman.reporting.value_advice import value_actions


@dataclass(frozen=True)
class BackendProblem:
    """A backend that could not answer this cycle, with the remedy in one line."""

    backend: str
    reason: str
    models: int
    remedy: str

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "reason": self.reason,
            "models": self.models,
            "remedy": self.remedy,
        }


def backend_problems(report: Report, backend_urls: Mapping[str, str]) -> list[BackendProblem]:
    """One line per backend that failed on some lookup (``backend: reason`` errors of
    the resolutions), with the remedy."""
    seen: dict[tuple[str, str], set[str]] = {}
    for key, (row, _) in report.unique_models().items():
        result = row.resolution
        if result is None:
            continue
        for error in result.errors:
            backend, _, reason = error.partition(":")
            reason = reason.strip().split()[0] if reason.strip() else "error"
            if reason == "interrupted":
                continue
            seen.setdefault((backend.strip(), reason), set()).add(key.text)
    problems = []
    for (backend, reason), keys in sorted(seen.items()):
        problems.append(
            BackendProblem(backend, reason, len(keys), _remedy(backend, reason, backend_urls))
        )
    return problems


def _remedy(backend: str, reason: str, urls: Mapping[str, str]) -> str:
    url = urls.get(backend, "its URL")
    drop = f"or drop {backend} from search.backend_order"
    if reason in ("unreachable", "host_down", "timeout"):
        if backend == "qwen":
            return f"start Ollama (or your OpenAI-compatible server) at {url}, {drop}"
        return f"check the network to {url}, {drop}"
    if reason in ("auth", "auth_required", "unauthorized", "forbidden", "gated"):
        token = {"civitai": "CIVITAI_API_TOKEN", "huggingface": "HF_TOKEN"}.get(backend)
        return f"set {token}, {drop}" if token else f"check its credentials, {drop}"
    if reason in ("rate_limited", "rate_limit"):
        return "wait: it asked for fewer requests; the next cycle tries again"
    return f"see log/structured.log for {backend} at {url}, {drop}"


def actions(report: Report) -> list[Action]:
    """Everything to do, most certain first: packs, models, then items to decide, then
    unreadable workflows."""
    found = node_actions(report) + model_actions(report) + prompt_actions(report)
    found += input_actions(report) + value_actions(report) + range_actions(report)
    found += type_actions(report)
    found += link_type_actions(report) + link_actions(report) + output_actions(report)
    found += [
        Action(
            "fix_workflow",
            f"Fix or replace {display_name(entry)}: "
            f"{(entry.error or 'it cannot be read').replace(entry.path, display_name(entry))}",
            (display_name(entry),),
        )
        for entry in report.workflows
        if entry.status == "parse_error"
    ]
    return sorted(found, key=lambda action: (action.uncertain is not None, -len(action.unblocks)))
