"""The actions about missing node types: an installed pack is enabled, updated, or both,
never installed again."""

from __future__ import annotations

import shlex

from tests.reporting.reports import pack, parsed, report_of
from watchman.reporting.markdown import render_markdown
from watchman.reporting.node_advice import node_actions


def test_a_disabled_pack_older_than_the_workflow_is_one_action_to_enable_and_update_it() -> None:
    old = pack(
        "disabled_outdated_pack",
        title="ComfyUI-KJNodes",
        path="/comfy/custom_nodes/ComfyUI-KJNodes.disabled",
    )
    packs = {"NewA": old, "NewB": old}
    [action] = node_actions(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    assert action.kind == "enable_update_pack"
    assert action.title == (
        "Enable the installed pack ComfyUI-KJNodes and update it: it is disabled, and this "
        "version does not provide NewA, NewB; the workflow was made with a newer one."
    )
    assert action.command == (
        "mv custom_nodes/ComfyUI-KJNodes.disabled custom_nodes/ComfyUI-KJNodes"
        " && git -C custom_nodes/ComfyUI-KJNodes pull"
    )
    assert action.unblocks == ("a.json",)


def test_a_pack_in_the_disabled_folder_is_moved_out_then_pulled_where_it_lands() -> None:
    old = pack(
        "disabled_outdated_pack",
        title="My Pack",
        path="/comfy/custom_nodes/.disabled/My Pack",
    )
    packs = {"New": old}
    [action] = node_actions(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    assert shlex.split(str(action.command)) == [
        *("mv", "custom_nodes/.disabled/My Pack", "custom_nodes/My Pack", "&&"),
        *("git", "-C", "custom_nodes/My Pack", "pull"),
    ]


def test_the_page_says_both_steps_and_never_to_install_the_pack() -> None:
    old = pack(
        "disabled_outdated_pack",
        title="ComfyUI-KJNodes",
        path="/comfy/custom_nodes/ComfyUI-KJNodes.disabled",
    )
    packs = {"NewA": old}
    text = render_markdown(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    assert "Enable the installed pack ComfyUI-KJNodes and update it" in text
    assert "git -C custom_nodes/ComfyUI-KJNodes pull" in text
    assert "Install the node pack" not in text


def test_without_a_folder_to_rename_the_action_has_no_command() -> None:
    packs = {"New": pack("disabled_outdated_pack", title="Gone", path=None)}
    [action] = node_actions(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    assert action.kind == "enable_update_pack" and action.command is None
