"""What a person should do, read off a report: pure functions of the typed
:class:`~watchman.reporting.report.Report`, so the Markdown and the JSON say the same
things.

Each action names the workflows it unblocks and, where one exists, a command to copy:
``comfy node install <id>`` for a pack of the Comfy registry, a ``git clone`` (what
ComfyUI-Manager's "Install via Git URL" does) otherwise, the rename that enables a
disabled pack, the ``mv`` that puts a misplaced file where its loader looks, and
``comfywatchman download NAME`` for a planned download. A prompt whose ``embedding:``
names nothing gets its own action per node: the text to fix. A model folder a loader
takes by name (Florence2's ``models/LLM/<name>``) gets where it goes and, when its
repository is likely known, the ``huggingface-cli download`` that fetches it, uncertain.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePath, PurePosixPath
from typing import Any

from watchman.comfy.folders import target_dir
from watchman.comfy.model_key import ModelKey, value_parts
from watchman.reporting.report import ModelRow, NodeRow, Report, WorkflowEntry
from watchman.resolve import Status
from watchman.resolve.model_folders import folder_source
from watchman.stages.inventory.models import ModelFile
from watchman.stages.model_needs import named_in_prompt
from watchman.stages.needs import ModelNeed

CORE_PACK_IDS = frozenset({"comfy-core", "comfyui", "comfy_core"})


@dataclass(frozen=True)
class Action:
    """One thing to do: a short sentence, the workflows it unblocks, the command to copy
    (None: none exists), and for an uncertain item what is uncertain and its candidates."""

    kind: str
    title: str
    unblocks: tuple[str, ...]
    command: str | None = None
    uncertain: str | None = None
    candidates: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "unblocks": list(self.unblocks),
            "command": self.command,
            "uncertain": self.uncertain,
            "candidates": list(self.candidates),
        }


def display_name(entry: WorkflowEntry) -> str:
    """The workflow as a person knows it: its path inside its watched folder."""
    return entry.name or entry.path


def _q(text: str) -> str:
    return shlex.quote(text)


def _rel(path: PurePath | str, root: PurePath) -> str:
    """``path`` relative to the ComfyUI folder (commands run from there), else whole."""
    path = PurePath(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _display_names(report: Report) -> dict[str, str]:
    """Each workflow's display name by path, built once per list of actions (one per
    action made it quadratic: minutes at 5,000 workflows)."""
    return {entry.path: display_name(entry) for entry in report.workflows}


def _names(by_path: Mapping[str, str], paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(by_path.get(path, path) for path in paths)


def node_actions(report: Report) -> list[Action]:
    """One action per pack to install or enable (grouping its node types), one per node
    type to decide about."""
    install: dict[str, tuple[str, str | None, list[str], list[str]]] = {}
    actions: list[Action] = []
    root = PurePath(report.comfyui_root)
    by_path = _display_names(report)
    for row, users in report.unique_nodes().values():
        pack = row.pack
        status = pack.status if pack is not None else "unknown"
        node = row.need.node_type
        names = _names(by_path, users)
        if pack is not None and status == "found" and (pack.url or _registry_id(row)):
            key = _registry_id(row) or str(pack.url)
            title, url, types, workflows = install.setdefault(
                key, (pack.title or key, pack.url, [], [])
            )
            types.append(node)
            workflows.extend(name for name in names if name not in workflows)
        elif pack is not None and status == "installed_disabled":
            actions.append(_enable(pack.title or "?", pack.path, node, names, root))
        elif pack is not None and status == "import_failed":
            actions.append(
                Action(
                    "fix_pack_import",
                    f"Fix the installed pack {pack.title or '?'}: ComfyUI failed to import "
                    f"it when it last started, so {node} does not exist. Its start-up log "
                    "(user/comfyui.log) says why, most often a Python package the pack "
                    "needs (its requirements.txt, installed with ComfyUI's Python); then "
                    "restart ComfyUI.",
                    names,
                )
            )
        elif status == "outdated_comfyui":
            actions.append(
                Action(
                    "update_comfyui",
                    f"Update ComfyUI: {node} is newer than this install.",
                    names,
                    command="git pull",
                )
            )
        elif pack is not None and status == "uncertain":
            candidates = tuple(str(c.url or c.title) for c in pack.candidates)
            actions.append(
                Action(
                    "choose_pack",
                    f"Choose the pack that provides {node}.",
                    names,
                    uncertain=pack.reason
                    or f"{len(candidates)} packs may provide {node}; none is certain",
                    candidates=candidates,
                )
            )
        else:
            reason = (pack.reason if pack is not None else None) or "no known pack provides it"
            actions.append(
                Action(
                    "find_node",
                    f"Find the pack that provides {node}: {reason}.",
                    names,
                    uncertain=reason,
                )
            )
    for key, (title, url, types, workflows) in sorted(install.items()):
        registry = key if key != str(url) else None
        if registry is not None:
            command = f"comfy node install {_q(registry)}"
        else:
            folder = PurePosixPath(str(url).rstrip("/")).name.removesuffix(".git")
            command = f"git clone {_q(str(url))} {_q('custom_nodes/' + folder)}"
        actions.append(
            Action(
                "install_pack",
                f"Install the node pack {title} ({', '.join(sorted(types))}).",
                tuple(workflows),
                command=command,
            )
        )
    return actions


REGISTRY_PAGE = "https://registry.comfy.org/nodes/"


def _registry_id(row: NodeRow) -> str | None:
    """The pack's Comfy registry id: the workflow's ``cnr_id``, or the id in a registry
    page URL; None for a pack known only by its git URL."""
    cnr_id = row.need.cnr_id
    if cnr_id and cnr_id.lower() not in CORE_PACK_IDS:
        return cnr_id
    url = row.pack.url if row.pack is not None else None
    if url and url.startswith(REGISTRY_PAGE):
        return url[len(REGISTRY_PAGE) :].strip("/").split("/")[0] or None
    return None


def _enable(
    name: str, path: str | None, node: str, names: tuple[str, ...], root: PurePath
) -> Action:
    command = None
    if path:
        where = PurePath(path)
        if where.name.endswith(".disabled"):
            enabled = where.with_name(where.name[: -len(".disabled")])
        elif where.parent.name == ".disabled":
            enabled = where.parent.parent / where.name
        else:
            enabled = None
        if enabled is not None:
            command = f"mv {_q(_rel(where, root))} {_q(_rel(enabled, root))}"
    return Action(
        "enable_pack",
        f"Enable the installed pack {name} (it provides {node}).",
        names,
        command=command,
    )


def model_actions(report: Report) -> list[Action]:
    """One action per model key: move, pick the listed name, replace a broken file,
    download a planned file, or get/decide about a missing one."""
    # Both sides keyed by the one ModelKey rule, as the plan itself keys its tasks.
    planned = {ModelKey.of(plan.folder, plan.relative): plan for plan in report.downloads}
    refused = {item.key: item.reason for item in report.not_planned}
    where = _Relative(PurePath(report.comfyui_root))
    actions: list[Action] = []
    by_path = _display_names(report)
    for row, users in report.unique_models().values():
        need = row.need
        if need.state == "nameless":
            continue  # one action per node instead (prompt_actions): each text to fix
        reference = need.reference
        names = _names(by_path, users)
        value = reference.value
        # The need's own key when the workflow names the folder (it is made by the same
        # rule); else the folder the resolution found.
        key = (
            need.key
            if reference.folder
            else ModelKey.of(row.resolution.folder if row.resolution else None, value)
        )
        plan = planned.get(key)
        if reference.lookup == "folder" and need.state in ("missing", "broken"):
            action = _folder(row, names)
        elif need.state == "misplaced":
            action = _move(row, where, names)
        elif need.state == "misspelled":
            if need.rewrite is not None:
                wording = f"In the {reference.node_type} node's text, {_rewrite(need)}"
            elif named_in_prompt(reference):
                wording = (
                    f"In the {reference.node_type} node's text, write embedding:{need.pick} "
                    f"instead of embedding:{value}."
                )
            else:
                wording = f"In the {reference.node_type} node, pick {need.pick} instead of {value}."
            action = Action("pick_name", wording, names)
        elif need.state == "broken":
            action = Action(
                "replace_broken",
                f"Replace the broken file {value}: {need.problem or 'it is not a model'}.",
                names,
                command=f"comfywatchman download {_q(plan.name)}" if plan else None,
            )
        elif plan is not None:
            action = Action(
                "download",
                f"Download {plan.file_name} into {target_dir(plan.folder)}"
                f" ({_size(plan.size)}, from {plan.source or 'its source'}).",
                names,
                command=f"comfywatchman download {_q(plan.name)}",
            )
        else:
            action = _missing(row, names, refused.get(key.text))
        if need.rewrite is not None and need.state != "misspelled":
            # The file the writer meant is to get first; the prompt is wrong either way.
            action = replace(
                action,
                title=f"{action.title} Then, in the {reference.node_type} node's text, "
                f"{_rewrite(need)}",
            )
        actions.append(action)
    return actions


def prompt_actions(report: Report) -> list[Action]:
    """One action per node whose prompt has an ``embedding:`` naming nothing: which
    workflow, which node, and what to write instead. Such tokens share one model key, so
    they are not grouped as models are: each is a text to fix in its own node."""
    found: list[Action] = []
    for entry in report.workflows:
        for row in entry.models:
            reference = row.need.reference
            if row.need.state != "nameless":
                continue
            where = f"node {reference.node_id} ({reference.node_type})"
            if reference.value:
                title = (
                    f"Fix the text of {where}: embedding:{reference.value} names no "
                    "embedding, so ComfyUI renders without one (it skips it with a "
                    "warning). Remove it, or write the embedding's file name right after "
                    "embedding:."
                )
            else:
                title = (
                    f"Fix the text of {where}: it has embedding: with no name after it, "
                    "and ComfyUI stops with an error when it encodes that text. Remove "
                    "the bare embedding:, or write the embedding's file name right after "
                    "it (embedding:name)."
                )
            found.append(Action("fix_prompt", title, (display_name(entry),)))
    return found


def _rewrite(need: ModelNeed) -> str:
    """How to write a prompt embedding whose weight is outside parentheses."""
    written = need.reference.written_as or f"embedding:{need.reference.value}"
    return (
        f"write {need.rewrite} instead of {written} (ComfyUI reads a weight outside "
        "parentheses as part of the name)."
    )


def _size(size: int | None) -> str:
    if not size or size <= 0:
        return "size unknown"
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return "size unknown"


def _move(row: ModelRow, where: _Relative, names: tuple[str, ...]) -> Action:
    need = row.need
    reference = need.reference
    parts = value_parts(reference.value)
    title = f"Move {parts.file_name} into {target_dir(reference.folder or '?')}."
    if not need.locations or reference.folder is None:
        return Action("move_file", title, names)
    target = where.model_folder(reference.folder, parts.subfolder)
    command = f"mkdir -p {_q(target)} && mv {_q(where.model_file(need.locations[0]))} {_q(target)}/"
    installed = len(need.locations) + need.more_locations
    if installed == 1:
        return Action("move_file", title, names, command=command)
    # Several files bear the name: which one the workflow means is the person's call.
    return Action(
        "move_file",
        title,
        names,
        command=command,
        uncertain=f"{installed:,} files of this name are installed elsewhere; the command "
        "moves the first: check it is the one the workflow means",
        candidates=tuple(where.model_file(found) for found in need.locations),
    )


class _Relative:
    """``_rel`` of model files and model folders against one ComfyUI folder, each root
    and target folder worked out once (pathlib's parsing of 9,000 misplaced files' paths,
    twice each, was most of a cold cycle's report)."""

    def __init__(self, root: PurePath) -> None:
        self.root = root
        self._roots: dict[str, str | None] = {}
        self._targets: dict[tuple[str, str], str] = {}

    def model_file(self, found: ModelFile) -> str:
        """``_rel(found.full_path, root)``."""
        relative = found.relative_path
        # Parts pathlib would fold, split or re-anchor take the long way.
        if not _PLAIN_RELATIVE.fullmatch(relative):
            return _rel(found.full_path, self.root)
        if found.root not in self._roots:
            try:
                self._roots[found.root] = PurePath(found.root).relative_to(self.root).as_posix()
            except ValueError:
                self._roots[found.root] = None
        folder = self._roots[found.root]
        if folder is None:
            return _rel(found.full_path, self.root)
        return relative if folder == "." else f"{folder}/{relative}"

    def model_folder(self, folder: str, subfolder: str) -> str:
        """``_rel(root / target_dir(folder) [/ subfolder], root)``."""
        key = (folder, subfolder)
        if key not in self._targets:
            target = self.root / target_dir(folder)
            if subfolder:
                target = target / subfolder
            self._targets[key] = _rel(target, self.root)
        return self._targets[key]


# Path parts that are neither empty nor ".", without a backslash or a colon (a separator
# or a drive on Windows): joined with "/", they are what pathlib makes of them.
_PLAIN_RELATIVE = re.compile(r"(?!\.?(?:/|$))[^/\\:]+(?:/(?!\.?(?:/|$))[^/\\:]+)*")


def _folder(row: ModelRow, names: tuple[str, ...]) -> Action:
    """Get (or fill) a model folder a loader takes by name: where it goes, and the
    repository it likely comes from with the command that fetches it when one is known
    (uncertain: no listing confirmed it). Never a planned download."""
    need = row.need
    reference = need.reference
    folder = reference.folder or "?"
    name = reference.value.strip()
    where = f"{target_dir(folder)}/{name}"
    if need.state == "broken":
        title = f"Fill the model folder {where}: {need.problem or 'it holds no model'}."
    else:
        title = (
            f"Get the model folder {where} ({folder}): the loader takes a whole folder "
            "(a downloaded model repository), not one file; nothing fetches it automatically."
        )
    source = folder_source(reference.folder, name)
    if source is None:
        return Action("get_folder", title, names)
    result = row.resolution
    return Action(
        "get_folder",
        title,
        names,
        command=source.command(folder, name),
        uncertain=(result.reason if result is not None and result.reason else None)
        or f"likely {source.repo} ({source.source}); no file listing confirmed it",
        candidates=(f"{source.repo} ({source.source})",),
    )


def _missing(row: ModelRow, names: tuple[str, ...], not_planned: str | None = None) -> Action:
    need = row.need
    reference = need.reference
    result = row.resolution
    name = value_parts(reference.value).file_name
    where = target_dir(reference.folder) if reference.folder else "an unknown folder"
    candidates = (
        tuple(
            f"{candidate.file_name} ({candidate.url or candidate.source})"
            for candidate in result.candidates
        )
        if result is not None
        else ()
    )
    if reference.folder is None:
        return Action(
            "decide_model",
            f"Is {reference.value} a model file?",
            names,
            uncertain=f"{reference.node_type} is not a known loader, so its value "
            "may not name a model file",
            candidates=candidates,
        )
    if result is not None and result.status is Status.UNCERTAIN:
        return Action(
            "choose_model",
            f"Choose the file for {name} ({where}).",
            names,
            uncertain=result.reason or "candidates exist, none is the exact file",
            candidates=candidates,
        )
    if result is not None and result.status is Status.FOUND and result.download_url:
        # Found, but not downloadable as the workflow names it (a name Windows cannot
        # hold, plain http, no folder root): the person fetches it, knowing why.
        why_not = f" (not planned for download: {not_planned})" if not_planned else ""
        return Action(
            "get_model", f"Get {name} into {where}: {result.download_url}{why_not}", names
        )
    why = "no source knows it"
    if result is not None and result.reason in ("deferred", "interrupted"):
        # Not a verdict: the search did not reach it this cycle; the next one does.
        return Action(
            "find_model",
            f"Wait for the next cycle to search for {name} ({where}): "
            + (
                "this cycle's search budget was spent"
                if result.reason == "deferred"
                else "this cycle was stopped"
            )
            + ", or find it by hand.",
            names,
        )
    if result is not None and result.status is Status.ERROR:
        why = "no source could be asked (see the backends above)"
    elif result is not None and result.status is Status.NOT_FOUND:
        why = "no source has it"
    elif result is None:
        why = "no backend ran"
    return Action("find_model", f"Find {name} ({where}) by hand: {why}.", names)


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
