"""An input file the input folder lacks is one thing to decide, said once per file name."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from tests.reporting.reports import parsed, report_of
from watchman.comfy.input_files import InputFileReference
from watchman.reporting.advice import actions
from watchman.reporting.document import report_json
from watchman.reporting.markdown import render_markdown
from watchman.reporting.report import Report
from watchman.stages.input_needs import observe_input_folder


def image(node_id: str, value: str) -> InputFileReference:
    return InputFileReference(node_id, "LoadImage", "image", value, "input", False, False)


def report_with_images(tmp_path: Path, workflows: dict[str, tuple[str, ...]]) -> Report:
    """A report of workflows (path -> the images their LoadImage nodes name), against an
    input folder holding only ``mine.png``."""
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "mine.png").write_bytes(b"png")
    parses = {
        path: replace(
            parsed([]), input_files=tuple(image(str(at), name) for at, name in enumerate(images))
        )
        for path, images in workflows.items()
    }
    return report_of(
        dict(parses), inputs=observe_input_folder(folder, time.time_ns() + 3600 * 10**9)
    )


def test_a_workflow_naming_its_author_s_image_is_uncertain_with_one_thing_to_decide(
    tmp_path: Path,
) -> None:
    report = report_with_images(
        tmp_path, {"/w/a.json": ("author.png",), "/w/b.json": ("mine.png",)}
    )
    document = report_json(report)
    by_name = {entry["name"]: entry for entry in document["workflows"]}
    assert by_name["a.json"]["status"] == "uncertain"
    assert by_name["a.json"]["uncertain_count"] == 1
    assert by_name["a.json"]["missing_inputs"] == [
        {
            "node_id": "0",
            "node_type": "LoadImage",
            "input": "image",
            "value": "author.png",
            "state": "missing",
        }
    ]
    assert by_name["b.json"]["status"] == "ready" and by_name["b.json"]["missing_inputs"] == []
    assert document["summary"]["missing_input_files"] == 1
    assert document["summary"]["uncertain"] == 1


def test_one_file_named_by_several_workflows_is_one_action_unblocking_them_all(
    tmp_path: Path,
) -> None:
    report = report_with_images(
        tmp_path, {"/w/a.json": ("author.png",), "/w/b.json": ("author.png", "../up.png")}
    )
    found = [action for action in actions(report) if action.kind == "provide_input"]
    assert len(found) == 2
    provide = next(action for action in found if "author.png" in action.title)
    assert provide.unblocks == ("a.json", "b.json") and provide.uncertain
    outside = next(action for action in found if "up.png" in action.title)
    assert "outside ComfyUI's input folder" in outside.title
    assert report.summary.uncertain == 2


def test_the_markdown_counts_input_files_and_lists_them_to_decide(tmp_path: Path) -> None:
    markdown = render_markdown(report_with_images(tmp_path, {"/w/a.json": ("author.png",)}))
    assert "Input files not in ComfyUI's input folder: 1" in markdown
    assert "Provide author.png in ComfyUI's input folder" in markdown
    assert "a.json`: uncertain (1 input file(s), 1 to decide)" in markdown


def test_a_file_beside_its_workflow_is_a_copy_to_run_still_marked_to_decide(
    tmp_path: Path,
) -> None:
    report = replace(
        report_with_images(tmp_path, {"/comfy/user/w/a.json": ("girl.png",)}),
        input_folder="/comfy/input",
        inputs_beside={("/comfy/user/w/a.json", "girl.png"): "/comfy/user/w/girl.png"},
    )
    (copy,) = [action for action in actions(report) if action.kind == "copy_input"]
    assert copy.command == "mkdir -p input && cp user/w/girl.png input/girl.png"
    assert copy.uncertain and copy.unblocks == ("a.json",)
    assert report.summary.uncertain == 1  # one thing to decide, as before


def test_two_workflows_with_their_own_file_of_one_name_list_both_as_candidates(
    tmp_path: Path,
) -> None:
    report = replace(
        report_with_images(tmp_path, {"/c/a/w.json": ("x.png",), "/c/b/w.json": ("x.png",)}),
        input_folder="/c/input",
        inputs_beside={
            ("/c/a/w.json", "x.png"): "/c/a/x.png",
            ("/c/b/w.json", "x.png"): "/c/b/x.png",
        },
    )
    (copy,) = [action for action in actions(report) if action.kind == "copy_input"]
    assert copy.candidates == ("/c/a/x.png", "/c/b/x.png")
    assert "2 workflows" in (copy.uncertain or "")
