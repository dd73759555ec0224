"""The advice about files workflows name in ComfyUI's input folder and that are not there
(:mod:`watchman.stages.input_needs`): one action per file name, to decide.

Such a file is nearly always the workflow's author's own picture, video or sound; nothing
can fetch it. The person either puts that very file in the input folder or picks one of
theirs in the node, so every action is marked to decide, and says which nodes.
"""

from __future__ import annotations

from pathlib import PurePath

from watchman.printable import shortened
from watchman.reporting.action import (
    Action,
    display_names,
    relative_to_root,
    shell_quote,
    workflow_names,
)
from watchman.reporting.report import Report
from watchman.stages.input_needs import InputState

MAX_NODES_NAMED = 8
"""Nodes a title names; more are counted."""


def input_actions(report: Report) -> list[Action]:
    """One action per (file name, state) the workflows lack in the input folder, naming
    the node types and inputs that ask for it and the workflows it unblocks."""
    by_path = display_names(report)
    grouped: dict[tuple[str, InputState], tuple[dict[str, None], dict[str, None]]] = {}
    root = PurePath(report.comfyui_root)
    for entry in report.workflows:
        for need in entry.inputs:
            reference = need.reference
            nodes, paths = grouped.setdefault((reference.value, need.state), ({}, {}))
            nodes[f"{reference.node_type} ({reference.input})"] = None
            paths[entry.path] = None
    found = []
    for (value, state), (nodes, paths) in grouped.items():
        named = list(nodes)[:MAX_NODES_NAMED]
        more = len(nodes) - len(named)
        where = ", ".join(named) + (f" and {more} more" if more else "")
        shown = shortened(value)
        if state == "outside":
            title = (
                f"Check {shown}: a {where} node names it outside ComfyUI's input folder; "
                "ComfyUI loads it only if that path exists on its machine. Pick a file of "
                "yours in the node, or put it in the input folder and pick it there."
            )
            why = "the path is outside the input folder and is not checked"
        else:
            beside = [report.inputs_beside.get((path, value)) for path in paths]
            sources = list(dict.fromkeys(source for source in beside if source))
            if sources and report.input_folder:
                found.append(
                    _copy(value, where, sources, report.input_folder, root, by_path, paths)
                )
                continue
            title = (
                f"Provide {shown} in ComfyUI's input folder, or pick a file of yours in "
                f"the {where} node: ComfyUI refuses the workflow while it names a file "
                "that is not there."
            )
            why = "the workflow names its author's file; only you can provide or replace it"
        found.append(Action("provide_input", title, workflow_names(by_path, paths), uncertain=why))
    return found


def _copy(
    value: str,
    where: str,
    sources: list[str],
    input_folder: str,
    root: PurePath,
    by_path: dict[str, str],
    paths: dict[str, None],
) -> Action:
    """The copy of a file found beside its workflow into the input folder: still to
    decide (a file of the same name is likely, not proven, the one meant; two different
    workflows' files of one name are two candidates)."""
    source = relative_to_root(sources[0], root)
    target = relative_to_root(PurePath(input_folder) / value, root)
    folder = relative_to_root(PurePath(input_folder, value).parent, root)
    many = len(sources) > 1
    return Action(
        "copy_input",
        f"Copy {shortened(value)} into ComfyUI's input folder from beside the workflow, "
        f"for the {where} node (or pick a file of yours there): ComfyUI refuses the "
        "workflow while it names a file that is not there.",
        workflow_names(by_path, paths),
        command=f"mkdir -p {shell_quote(folder)} && cp {shell_quote(source)} {shell_quote(target)}",
        uncertain=(
            f"the folders of {len(sources)} workflows each hold a file of this name"
            if many
            else "a file of the same name beside the workflow is likely the one it means"
        ),
        candidates=tuple(relative_to_root(item, root) for item in sources) if many else (),
    )
