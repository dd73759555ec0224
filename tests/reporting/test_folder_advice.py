"""The report's advice for a model folder a loader takes by name: where it goes, the
likely repository with the command that fetches it (uncertain), never a download."""

from __future__ import annotations

from tests.reporting.reports import parsed, report_of
from watchman.comfy.workflow_model import ModelReference
from watchman.reporting.document import report_json
from watchman.reporting.markdown import render_markdown
from watchman.resolve import SearchRequest
from watchman.resolve.model_folders import folder_result


def florence(node_id: str, value: str) -> ModelReference:
    return ModelReference(
        node_id,
        "Florence2ModelLoader",
        "model",
        value,
        "llm",
        False,
        False,
        None,
        lookup="folder",
    )


def test_a_missing_known_folder_gets_its_place_and_the_uncertain_command() -> None:
    result = folder_result(SearchRequest("Florence-2-large", "llm", folder_entry=True))
    report = report_of(
        {"/w/caption.json": parsed([florence("1", "Florence-2-large")])},
        {("llm", "Florence-2-large"): result},
    )
    assert report.downloads == ()
    [action] = [a for a in report_json(report)["actions"] if a["kind"] != "find_node"]
    assert action["kind"] == "get_folder"
    assert "models/LLM/Florence-2-large" in action["title"]
    assert action["command"] == (
        "huggingface-cli download microsoft/Florence-2-large "
        "--local-dir models/LLM/Florence-2-large"
    )
    assert "no file listing confirmed it" in action["uncertain"]
    assert "huggingface-cli download microsoft/Florence-2-large" in render_markdown(report)


def test_a_missing_unknown_folder_says_where_it_goes_without_a_command() -> None:
    result = folder_result(SearchRequest("my-finetune", "llm", folder_entry=True))
    report = report_of(
        {"/w/caption.json": parsed([florence("1", "my-finetune")])},
        {("llm", "my-finetune"): result},
    )
    [action] = [a for a in report_json(report)["actions"] if a["kind"] != "find_node"]
    assert action["kind"] == "get_folder" and action["command"] is None
    assert "models/LLM/my-finetune" in action["title"] and action["uncertain"] is None
