"""The Markdown page: summary first, then what to do, then every workflow."""

from __future__ import annotations

import dataclasses
import shlex

from tests.reporting.reports import (
    INVENTORY,
    ROOT,
    found,
    lora,
    pack,
    parsed,
    prompt_embedding,
    report_of,
)
from watchman.comfy.node_map import PackCandidate
from watchman.reporting.action import Action
from watchman.reporting.document import report_json
from watchman.reporting.markdown import _action_lines, render_markdown
from watchman.resolve import Candidate, SearchResult, Status
from watchman.stages.inventory.models import ModelFile

DETAIL = ("loras", "loras\\detail.safetensors")
# A FOUND result names the file its listing holds (trusted only when it is the one asked).
FOUND = dataclasses.replace(
    found("https://example.invalid/d", size=3 * 1024 * 1024), file_name="detail.safetensors"
)


def test_a_found_model_becomes_one_planned_download_into_its_folder() -> None:
    report = report_of(
        {
            "/w/a.json": parsed([lora("3", "loras\\detail.safetensors")]),
            "/w/b.json": parsed([lora("3", "loras/detail.safetensors")]),
        },
        {DETAIL: FOUND},
    )
    [plan] = report.downloads
    assert plan.target.as_posix() == "models/loras/loras/detail.safetensors"
    assert plan.workflows == ("/w/a.json", "/w/b.json") and plan.trusted is True


def test_the_page_puts_the_summary_first_then_what_changed_then_what_to_do() -> None:
    text = render_markdown(
        report_of(
            {
                "/w/a.json": parsed([lora("3", "loras\\detail.safetensors")]),
                "/w/r.json": parsed([lora("1", "Style.safetensors")]),
            },
            {DETAIL: FOUND},
        )
    )
    assert (
        text.index("## Summary")
        < text.index("## What changed")
        < text.index("## What to do")
        < text.index("## Workflows")
    )
    assert "- 2 workflow(s): 1 missing models, 1 ready" in text
    assert "3.0 MiB" in text and "https://example.invalid/d" in text
    assert "comfywatchman download loras/loras/detail.safetensors" in text


def test_no_line_outside_a_command_is_wider_than_a_phone_paragraph() -> None:
    text = render_markdown(
        report_of({"/w/a.json": parsed([lora("3", "loras\\detail.safetensors")])}, {DETAIL: FOUND})
    )
    assert "{" not in text  # no raw JSON
    assert all(not line.startswith("| ") for line in text.splitlines())  # no wide tables


def test_a_ready_library_says_there_is_nothing_to_do() -> None:
    text = render_markdown(report_of({"/w/r.json": parsed([lora("1", "Style.safetensors")])}))
    assert "Nothing: every watched workflow is ready." in text


def test_table_cells_escape_pipes_from_file_names() -> None:
    searched = SearchResult(Status.NOT_FOUND, "civitai", "a|b.safetensors", "loras", reason="x")
    text = render_markdown(
        report_of(
            {"/w/a.json": parsed([lora("1", "a|b.safetensors")])},
            {("loras", "a|b.safetensors"): searched},
        )
    )
    assert "a\\|b.safetensors" in text


def test_a_misspelled_value_names_the_file_to_pick() -> None:
    text = render_markdown(report_of({"/w/a.json": parsed([lora("7", "STYLE.SAFETENSORS")])}))
    assert "In the LoraLoader node, pick Style.safetensors instead of STYLE.SAFETENSORS." in text


def test_a_prompt_embedding_in_another_case_says_how_to_write_it_in_the_text() -> None:
    text = render_markdown(
        report_of({"/w/a.json": parsed([prompt_embedding("4", "easynegative")])})
    )
    assert (
        "In the CLIPTextEncode node's text, write embedding:EasyNegative instead of "
        "embedding:easynegative." in text
    )


def test_a_prompt_embedding_weighted_outside_parentheses_says_how_to_write_it() -> None:
    text = render_markdown(
        report_of({"/w/a.json": parsed([prompt_embedding("4", "EasyNegative:1.2")])})
    )
    assert (
        "In the CLIPTextEncode node's text, write (embedding:EasyNegative:1.2) instead of "
        "embedding:EasyNegative:1.2 (ComfyUI reads a weight outside parentheses as part of "
        "the name)." in text
    )


def test_a_missing_prompt_embedding_weighted_outside_parentheses_says_so_too() -> None:
    text = render_markdown(report_of({"/w/a.json": parsed([prompt_embedding("4", "Gone:0.5")])}))
    assert "Find Gone (models/embeddings) by hand" in text
    assert (
        "Then, in the CLIPTextEncode node's text, write (embedding:Gone:0.5) instead of "
        "embedding:Gone:0.5" in text
    )


def test_a_prompt_embedding_in_a_subfolder_is_found_as_comfyui_finds_it() -> None:
    text = render_markdown(
        report_of({"/w/a.json": parsed([prompt_embedding("4", "EasyNegative")])})
    )
    assert "Nothing: every watched workflow is ready." in text


def test_missing_nodes_become_one_action_per_pack_with_its_command() -> None:
    aux = pack(url="https://example.invalid/aux.git", title="Aux")
    packs = {
        "CannyEdge": aux,
        "DepthMap": aux,
        "Switch": pack("installed_disabled", title="DemoSwitch"),
        "Toggle": pack("installed_disabled", title="DemoSwitch"),
        "NewCore": pack("outdated_comfyui"),
        "Shared": pack(
            "uncertain",
            candidates=(
                PackCandidate("https://example.invalid/a", "A"),
                PackCandidate("https://example.invalid/b", "B"),
            ),
        ),
        "Nowhere": pack("unknown", reason="no pack known"),
    }
    text = render_markdown(report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs))
    assert "Install the node pack Aux (CannyEdge, DepthMap)." in text
    assert "git clone https://example.invalid/aux.git custom_nodes/aux" in text
    assert "Enable the installed pack DemoSwitch (it provides Switch, Toggle)." in text
    assert "Update ComfyUI: NewCore" in text
    assert "**Decide: Choose the pack that provides Shared.**" in text
    assert "   - https://example.invalid/a\n   - https://example.invalid/b" in text
    assert "Find the pack that provides Nowhere: no pack known." in text
    # The two Aux types are one action, the two DemoSwitch types too.
    assert text.count("Unblocks: `a.json`") == 5


def test_a_bare_embedding_token_says_which_node_to_fix_and_how() -> None:
    report = report_of(
        {
            "/w/a.json": parsed([prompt_embedding("4", "")]),
            "/w/b.json": parsed([prompt_embedding("9", ",")]),
        }
    )
    text = render_markdown(report)
    assert (
        "Fix the text of node 4 (CLIPTextEncode): it has embedding: with no name after it, "
        "and ComfyUI stops with an error when it encodes that text. Remove the bare "
        "embedding:, or write the embedding's file name right after it (embedding:name)." in text
    )
    assert "Fix the text of node 9 (CLIPTextEncode): embedding:, names no embedding" in text
    assert "- 2 workflow(s): 2 missing models" in text
    assert "0 broken, 2 embedding: naming nothing" in text
    assert "by hand" not in text and "## Missing models" not in text


def test_a_stranger_s_names_and_a_server_s_candidates_show_as_text_on_their_own_lines() -> None:
    # A workflow's file name, a model value and a catalogue's candidate, each written to
    # make the page say something else: break the line, open a heading, link or HTML,
    # colour the terminal that shows the file, reverse the name's letters.
    value = "evil\n# Heading\x1b[31m\u202egnp.safetensors"
    candidate = Candidate(
        "[Official download](https://evil.invalid)",
        "https://evil.invalid/x",
        "civitai",
        "<img src=x onerror=alert(1)> | cell",
    )
    uncertain = SearchResult(
        Status.UNCERTAIN, "civitai", "two files", "loras", candidates=(candidate,)
    )
    text = render_markdown(
        report_of(
            {"/w/a\n## Injected <b>.json": parsed([lora("3", value)])},
            {("loras", value): uncertain},
        )
    )
    assert "\x1b" not in text and "\u202e" not in text
    assert not any(line.startswith(("# Heading", "## Injected")) for line in text.splitlines())
    assert "\\x0a# Heading\\x1b[31m\\u202egnp.safetensors" in text
    assert "<img" not in text.replace("\\<img", "")
    assert "](https://evil.invalid)" not in text.replace("\\](https://evil.invalid)", "")
    assert "- \\[Official download\\](https://evil.invalid) (https://evil.invalid/x)" in text


def test_a_command_holding_a_control_character_is_not_offered_to_copy() -> None:
    # An installed file's name may hold a line break: the command would run as two.
    name = "stray\nrm -rf x.safetensors"
    move = Action("move_file", "Move it.", ("a.json",), command=f"mv {shlex.quote(name)} x/")
    lines = _action_lines(1, move)
    assert not any("mv " in line for line in lines)
    assert "   (No command to copy: a name in it holds control characters.)" in lines
    plain = Action("move_file", "Move it.", ("a.json",), command="mv a.safetensors x/")
    assert "   mv a.safetensors x/" in _action_lines(1, plain)


def test_a_name_installed_in_more_places_than_listed_says_how_many_more() -> None:
    # 20 same-named files: the need keeps 16 and counts 4, the page lists 8 of the 16;
    # the 12 not listed are counted, so a reader knows the list is not all of them.
    places = tuple(
        ModelFile("checkpoints", f"s{i:02}/elsewhere.safetensors", f"{ROOT}/checkpoints", 1, 0.0)
        for i in range(20)
    )
    inventory = dataclasses.replace(INVENTORY, files={**INVENTORY.files, "checkpoints": places})
    report = report_of(
        {"/w/a.json": parsed([lora("1", "elsewhere.safetensors")])}, inventory=inventory
    )
    [row] = report.workflows[0].models
    assert (len(row.need.locations), row.need.more_locations) == (16, 4)
    lines = render_markdown(report).splitlines()
    listed = lines.index("   Candidates:")
    assert lines[listed + 8 : listed + 10] == [
        "   - models/checkpoints/s07/elsewhere.safetensors",
        "   - and 12 more",
    ]
    [move] = [a for a in report_json(report)["actions"] if a["kind"] == "move_file"]
    assert (len(move["candidates"]), move["more_candidates"]) == (16, 4)


def test_candidates_past_the_listed_ones_are_counted() -> None:
    choose = Action("choose_model", "Choose.", ("a.json",), uncertain="?", candidates=("c",) * 9)
    assert _action_lines(1, choose)[-2:] == ["   - and 1 more", ""]
    assert "   - and" not in "\n".join(
        _action_lines(1, dataclasses.replace(choose, candidates=("c",) * 8))
    )
    assert "more_candidates" not in choose.to_json()


def test_an_installed_pack_older_than_the_workflow_is_one_update_with_its_pull() -> None:
    old = pack("outdated_pack", title="ComfyUI-KJNodes", path="/c/custom_nodes/ComfyUI-KJNodes")
    packs = {"NewA": old, "NewB": old}
    report = report_of({"/w/a.json": parsed([], tuple(packs))}, packs=packs)
    text = render_markdown(report)
    assert (
        "Update the installed pack ComfyUI-KJNodes: this version does not provide NewA, NewB; "
        "the workflow was made with a newer one." in text
    )
    assert "git -C /c/custom_nodes/ComfyUI-KJNodes pull" in text
    assert "Install the node pack" not in text
