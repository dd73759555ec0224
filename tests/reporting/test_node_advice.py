"""The actions about missing node types: an installed pack is enabled, updated, or both,
never installed again."""

from __future__ import annotations

import shlex

from tests.reporting.reports import pack, parsed, report_of
from watchman.reporting.action import Action
from watchman.reporting.markdown import render_markdown
from watchman.reporting.node_advice import node_actions, raw_file_url


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


FILE_URL = "https://raw.githubusercontent.com/someone/nodes/main/ratio.py"


def _single(status: str, path: str | None, url: str | None = FILE_URL) -> Action:
    packs = {"New": pack(status, title="ratio", path=path, url=url, single_file=True)}
    [action] = node_actions(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    return action


def test_a_single_file_pack_is_replaced_not_pulled() -> None:
    action = _single("outdated_pack", "/comfy/custom_nodes/ratio.py")
    assert action.kind == "update_pack" and action.command is None
    assert action.title == (
        "Update the installed pack ratio: this version does not provide New; the workflow "
        "was made with a newer one. It is a single file, not a git checkout: replace "
        f"custom_nodes/ratio.py with a newer version of it from {FILE_URL}."
    )


def test_a_single_file_pack_of_unknown_origin_is_replaced_from_where_it_came_from() -> None:
    action = _single("outdated_pack", "/comfy/custom_nodes/ratio.py", url=None)
    assert action.command is None
    assert action.title.endswith(
        "replace custom_nodes/ratio.py with a newer version of it from where it came from."
    )


def test_a_disabled_single_file_pack_is_replaced_under_its_enabled_name() -> None:
    action = _single("disabled_outdated_pack", "/comfy/custom_nodes/ratio.py.disabled")
    assert action.kind == "enable_update_pack" and action.command is None
    assert "pull" not in action.title
    assert action.title.endswith(
        "It is a single file, not a git checkout: replace custom_nodes/ratio.py.disabled "
        f"with a newer version of it from {FILE_URL}, saved as custom_nodes/ratio.py."
    )
    text = render_markdown(
        report_of(
            {"/w/a.json": parsed([], ("New",))},
            packs={"New": pack("disabled_outdated_pack", title="ratio", single_file=True)},
        )
    )
    assert "git -C" not in text and "a newer version of it from where it came from" in text


def _install(url: str) -> Action:
    packs = {"Ratio": pack("found", title="SDXL sizing", url=url)}
    [action] = node_actions(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    return action


def test_a_single_file_pack_is_downloaded_into_custom_nodes_not_cloned() -> None:
    action = _install(FILE_URL)
    assert action.kind == "install_pack"
    assert shlex.split(str(action.command)) == [
        *("curl", "-fL", "-o", "custom_nodes/ratio.py", FILE_URL)
    ]
    assert action.title == (
        "Install the node pack SDXL sizing (Ratio). It is a single Python file, not a git "
        f"repository: download it from {FILE_URL} into custom_nodes as ratio.py."
    )


def test_a_single_file_is_saved_under_the_name_its_url_ends_in_as_written() -> None:
    # ComfyUI-Manager saves the file under the URL's last part as written; the node
    # packs stage recognises the installed file by that name.
    url = "https://github.com/someone/nodes/raw/refs/heads/main/Load%20Model%20GPUs.py?x=1"
    action = _install(url)
    assert shlex.split(str(action.command)) == [
        *("curl", "-fL", "-o", "custom_nodes/Load%20Model%20GPUs.py", url)
    ]


def test_a_single_file_over_plain_http_gets_no_command_but_the_sentence() -> None:
    url = "http://example.invalid/nodes/ratio.py"
    action = _install(url)
    assert action.command is None
    assert action.title.endswith(f"download it from {url} into custom_nodes as ratio.py.")


def test_a_repository_is_still_cloned() -> None:
    for url in ("https://github.com/someone/ratio.py", "https://github.com/someone/nodes.git"):
        assert str(_install(url).command).startswith("git clone ")


def _installed(status: str, path: str, **fields: object) -> Action:
    url = "https://github.com/kijai/kj"
    packs = {"New": pack(status, title="KJNodes", url=url, path=path, **fields)}
    [action] = node_actions(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    return action


def test_a_registry_install_is_updated_by_comfy_cli_not_git() -> None:
    fields = {"without_git": True, "registry_id": "comfyui-kjnodes"}
    action = _installed("outdated_pack", "/comfy/custom_nodes/kj", **fields)
    assert action.command == "comfy node update comfyui-kjnodes"
    assert action.title.endswith(
        "It was installed from the Comfy registry, not with git: comfy-cli updates it."
    )
    both = _installed("disabled_outdated_pack", "/comfy/custom_nodes/.disabled/kj", **fields)
    assert both.command == "mv custom_nodes/.disabled/kj custom_nodes/kj && " + action.command


def test_a_folder_without_git_is_replaced_from_its_url_without_a_command() -> None:
    action = _installed("outdated_pack", "/comfy/custom_nodes/kj", without_git=True)
    assert action.command is None
    assert action.title.endswith(
        "It is a folder without git (a copy, or installed from a zip): replace "
        "custom_nodes/kj with a newer version of it from https://github.com/kijai/kj."
    )
    both = _installed("disabled_outdated_pack", "/comfy/custom_nodes/kj.disabled", without_git=True)
    assert both.command is None and "pull" not in both.title
    assert both.title.endswith("github.com/kijai/kj, saved as custom_nodes/kj.")


def test_a_github_blob_page_is_fetched_as_its_raw_file_not_as_html() -> None:
    page = "https://github.com/someone/tools/blob/main/nodes/ratio.py"
    assert raw_file_url(page) == "https://github.com/someone/tools/raw/main/nodes/ratio.py"
    raw = "https://raw.githubusercontent.com/someone/tools/main/ratio.py"
    assert raw_file_url(raw) == raw
    assert raw_file_url("https://github.com/someone/blob") == "https://github.com/someone/blob"
