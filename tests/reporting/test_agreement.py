"""The JSON report and the Markdown page say the same thing: one model key groups a model
everywhere, and every count of the summary agrees with every table of the page."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

from tests.reporting.reports import INVENTORY, ROOT, found, lora, pack, parsed, report_of
from watchman.comfy.workflow_model import ModelReference
from watchman.reporting.advice import actions
from watchman.reporting.document import report_json
from watchman.reporting.markdown import render_markdown
from watchman.resolve import Candidate, SearchResult, Status
from watchman.stages.inventory.models import ModelFile

FOO = ("loras", "SDXL/foo.safetensors")


def section_items(markdown: str, heading: str) -> list[str]:
    """The top-level bullets under one ``##`` heading."""
    part = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("- ")]


def action_titles(markdown: str) -> list[str]:
    """The numbered items of "What to do", their bold titles."""
    part = markdown.split("## What to do", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. \*\*(.*)\*\*$", part, re.MULTILINE)


def test_one_file_written_with_either_separator_is_one_missing_model_and_one_row() -> None:
    report = report_of(
        {
            "/w/windows.json": parsed([lora("1", "SDXL\\foo.safetensors")]),
            "/w/linux.json": parsed([lora("1", "SDXL/foo.safetensors")]),
        },
        {FOO: found("https://example.invalid/foo")},
    )
    document = report_json(report)
    assert document["summary"]["missing_models"] == 1
    markdown = render_markdown(report)
    [row] = section_items(markdown, "Missing models")
    needed_by = markdown.split(row, 1)[1].splitlines()[1]
    assert needed_by == "  needed by `linux.json`, `windows.json`"  # names, not a count
    assert len(document["downloads"]) == 1
    assert document["downloads"][0]["workflows"] == ["/w/linux.json", "/w/windows.json"]
    [action] = document["actions"]
    assert action["unblocks"] == ["linux.json", "windows.json"]
    assert action["command"] == "comfywatchman download loras/SDXL/foo.safetensors"


def test_every_count_of_the_summary_agrees_with_every_list() -> None:
    report = report_of(
        {
            "/w/a.json": parsed(
                [lora("1", "SDXL\\foo.safetensors"), lora("2", "stray_lora.safetensors")]
            ),
            "/w/b.json": parsed(
                [lora("1", "./SDXL/FOO.safetensors"), lora("2", "style.safetensors")]
            ),
            "/w/c.json": parsed([lora("1", "never.safetensors")], ("FancyNode", "OtherNode")),
            "/w/d.json": parsed([], ("FancyNode",)),
            "/w/ready.json": parsed([lora("1", "Style.safetensors")]),
            "/w/broken.json": None,
        },
        {FOO: found("https://example.invalid/foo")},
        {
            "FancyNode": pack(url="https://example.invalid/fancy"),
            "OtherNode": pack(url="https://example.invalid/other"),
        },
    )
    document = report_json(report)
    summary = document["summary"]
    markdown = render_markdown(report)

    by_status = Counter(entry["status"] for entry in document["workflows"])
    for status, count in summary["workflows_by_status"].items():
        assert count == by_status[status]
        assert not count or f"{count} {status.replace('_', ' ')}" in markdown
    assert summary["workflows"] == len(document["workflows"]) == 6

    assert summary["missing_models"] == len(section_items(markdown, "Missing models")) == 2
    titles = action_titles(markdown)
    assert [action["title"] for action in document["actions"]] == [
        title.removeprefix("Decide: ") for title in titles
    ]
    kinds = Counter(action["kind"] for action in document["actions"])
    assert summary["misplaced_models"] == kinds["move_file"] == 1
    assert summary["misspelled_models"] == kinds["pick_name"] == 1
    assert kinds["install_pack"] == 2 and kinds["fix_workflow"] == by_status["parse_error"]
    assert len(document["downloads"]) == len(section_items(markdown, "Planned downloads")) == 1

    workflow_rows = section_items(markdown, "Workflows")
    assert len(workflow_rows) == len(document["workflows"])
    for entry, row in zip(document["workflows"], workflow_rows, strict=True):
        assert row.startswith(f"- `{entry['name']}`: ")


def test_the_count_to_decide_is_the_number_of_actions_marked_decide() -> None:
    places = tuple(
        ModelFile("checkpoints", f"{sub}/twice.safetensors", f"{ROOT}/checkpoints", 1, 0.0)
        for sub in ("a", "b")
    )
    inventory = dataclasses.replace(
        INVENTORY, files={**INVENTORY.files, "checkpoints": INVENTORY.files["checkpoints"] + places}
    )
    unknown = ModelReference("3", "FancyNode", "x", "maybe.safetensors", None, False, False, None)
    doubtful = SearchResult(
        Status.UNCERTAIN,
        "civitai",
        "near.safetensors",
        "loras",
        candidates=(Candidate("near_v2.safetensors", "https://example.invalid/n", "civitai"),),
        reason="near names only",
    )
    report = report_of(
        {
            "/w/a.json": parsed(
                [
                    lora("1", "twice.safetensors"),  # misplaced, two files: decide
                    lora("2", "stray_lora.safetensors"),  # misplaced, one file: certain
                    unknown,  # may not be a model: decide
                    lora("4", "near.safetensors"),  # candidates only: decide
                    lora("5", "gone.safetensors"),  # nothing known: certain
                ],
                ("FancyNode", "DoubtNode"),
            ),
        },
        {("loras", "near.safetensors"): doubtful},
        {"DoubtNode": pack("uncertain", reason="two packs define it")},
        inventory=inventory,
    )
    marked = [action for action in actions(report) if action.uncertain is not None]
    assert report.summary.uncertain == len(marked) == 4
    assert report_json(report)["summary"]["uncertain"] == 4
    assert "To decide by you: 4" in render_markdown(report)
