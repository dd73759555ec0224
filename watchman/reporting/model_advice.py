"""The advice about missing model files: one action per model key (the ``mv`` that puts
a misplaced file where its loader looks, the name to pick, a broken file to replace,
``comfywatchman download NAME`` for a planned download, or a file to get, find or
decide about), and one per node whose prompt's ``embedding:`` names nothing (the text to
fix). A model folder a loader takes by name (Florence2's ``models/LLM/<name>``) gets
where it goes and, when its repository is likely known, the ``huggingface-cli download``
that fetches it, uncertain.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePath

from watchman.comfy.folders import target_dir
from watchman.comfy.model_key import ModelKey, value_parts
from watchman.reporting.action import (
    Action,
    display_name,
    display_names,
    relative_to_root,
    shell_quote,
    workflow_names,
)
from watchman.reporting.report import ModelRow, Report
from watchman.resolve import Status
from watchman.resolve.model_folders import folder_source
from watchman.stages.inventory.models import ModelFile
from watchman.stages.model_reference_needs import named_in_prompt
from watchman.stages.needs_model import ModelNeed


def model_actions(report: Report) -> list[Action]:
    """One action per model key: move, pick the listed name, replace a broken file,
    download a planned file, or get/decide about a missing one."""
    # Both sides keyed by the one ModelKey rule, as the plan itself keys its tasks.
    planned = {ModelKey.of(plan.folder, plan.relative): plan for plan in report.downloads}
    refused = {item.key: item.reason for item in report.not_planned}
    where = _Relative(PurePath(report.comfyui_root))
    actions: list[Action] = []
    by_path = display_names(report)
    for row, users in report.unique_models().values():
        need = row.need
        if need.state == "nameless":
            continue  # one action per node instead (prompt_actions): each text to fix
        reference = need.reference
        names = workflow_names(by_path, users)
        value = reference.value
        # The need's own key when the workflow names the folder (it is made by the same
        # rule); else the folder the resolution found.
        key = (
            need.key
            if reference.folder
            else ModelKey.of(row.resolution.folder if row.resolution else None, value)
        )
        plan = planned.get(key)
        if reference.lookup == "folder" and need.to_fetch:
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
                command=f"comfywatchman download {shell_quote(plan.name)}" if plan else None,
            )
        elif plan is not None:
            action = Action(
                "download",
                f"Download {plan.file_name} into {target_dir(plan.folder)}"
                f" ({_size(plan.size)}, from {plan.source or 'its source'}).",
                names,
                command=f"comfywatchman download {shell_quote(plan.name)}",
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
    first = shell_quote(where.model_file(need.locations[0]))
    command = f"mkdir -p {shell_quote(target)} && mv {first} {shell_quote(target)}/"
    installed = need.places
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
        more_candidates=need.more_locations,
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
        """``relative_to_root(found.full_path, root)``."""
        relative = found.relative_path
        # Parts pathlib would fold, split or re-anchor take the long way.
        if not _PLAIN_RELATIVE.fullmatch(relative):
            return relative_to_root(found.full_path, self.root)
        if found.root not in self._roots:
            try:
                self._roots[found.root] = PurePath(found.root).relative_to(self.root).as_posix()
            except ValueError:
                self._roots[found.root] = None
        folder = self._roots[found.root]
        if folder is None:
            return relative_to_root(found.full_path, self.root)
        return relative if folder == "." else f"{folder}/{relative}"

    def model_folder(self, folder: str, subfolder: str) -> str:
        """``relative_to_root(root / target_dir(folder) [/ subfolder], root)``."""
        key = (folder, subfolder)
        if key not in self._targets:
            target = self.root / target_dir(folder)
            if subfolder:
                target = target / subfolder
            self._targets[key] = relative_to_root(target, self.root)
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
    elif result is not None and result.reason == "offline":
        why = "no known source names it, and offline no backend was asked"
    elif result is not None and result.reason == "no backend ran":
        why = "no known source names it, and search.backend_order names no backend"
    elif result is not None and result.status is Status.NOT_FOUND:
        why = "no source has it"
    elif result is None:
        why = "no backend ran"
    return Action("find_model", f"Find {name} ({where}) by hand: {why}.", names)
