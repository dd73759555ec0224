"""What to do, read off the report: a backend that could not be reached is one line with
its remedy; an uncertain model says why and lists its candidates; a watched folder that
is not there is a finding at the top, never "every watched workflow is ready"."""

from __future__ import annotations

import dataclasses

from tests.reporting.reports import INVENTORY, ROOT, lora, parsed, report_of
from watchman.reporting.advice import actions
from watchman.reporting.document import report_json
from watchman.reporting.markdown import render_markdown
from watchman.resolve import Candidate, SearchResult, Status
from watchman.stages.inventory.models import ModelFile
from watchman.stages.workflows import FolderSeen

QWEN_URL = "http://127.0.0.1:11434/v1"


def _unreachable(name: str) -> SearchResult:
    return SearchResult(
        Status.ERROR,
        "qwen",
        name,
        "loras",
        reason="unreachable",
        errors=("qwen: unreachable", "civitai: unreachable"),
    )


def test_an_unreachable_backend_is_one_line_with_its_remedy() -> None:
    report = report_of(
        {"/w/a.json": parsed([lora("1", "one.safetensors"), lora("2", "two.safetensors")])},
        {
            ("loras", "one.safetensors"): _unreachable("one.safetensors"),
            ("loras", "two.safetensors"): _unreachable("two.safetensors"),
        },
    )
    report = dataclasses.replace(
        report, backend_urls={"qwen": QWEN_URL, "civitai": "https://civitai.com"}
    )
    text = render_markdown(report)
    lines = [line for line in text.splitlines() if line.startswith("- qwen")]
    assert lines == [
        f"- qwen (unreachable, 2 model(s)): start Ollama (or your OpenAI-compatible server) "
        f"at {QWEN_URL}, or drop qwen from search.backend_order."
    ]
    assert text.count("- civitai (unreachable") == 1
    problems = report_json(report)["backend_problems"]
    assert [(p["backend"], p["models"]) for p in problems] == [("civitai", 2), ("qwen", 2)]


def test_an_uncertain_model_says_why_and_lists_its_candidates() -> None:
    uncertain = SearchResult(
        Status.UNCERTAIN,
        "civitai",
        "detail.safetensors",
        "loras",
        reason="two files of that name, neither verified",
        candidates=(
            Candidate("detail.safetensors", "https://example.invalid/1", "civitai"),
            Candidate("Detail.safetensors", "https://example.invalid/2", "civitai"),
        ),
    )
    report = report_of(
        {"/w/a.json": parsed([lora("1", "detail.safetensors")])},
        {("loras", "detail.safetensors"): uncertain},
    )
    text = render_markdown(report)
    assert "**Decide: Choose the file for detail.safetensors (models/loras).**" in text
    assert "Uncertain: two files of that name, neither verified" in text
    assert "   - detail.safetensors (https://example.invalid/1)" in text
    [action] = report_json(report)["actions"]
    assert action["uncertain"] and len(action["candidates"]) == 2


def test_a_missing_watched_folder_is_a_finding_at_the_top_and_not_all_ready() -> None:
    report = dataclasses.replace(
        report_of({}),
        watched=(
            FolderSeen(
                "/gone/workflows",
                "downloads",
                0,
                False,
                ("Watched folder /gone/workflows does not exist.",),
            ),
        ),
    )
    text = render_markdown(report)
    assert text.index("## ⚠ Not everything could be watched") < text.index("## Summary")
    assert "- Watched folder /gone/workflows does not exist." in text
    assert "every watched workflow is ready" not in text
    document = report_json(report)
    assert document["findings"] == ["Watched folder /gone/workflows does not exist."]
    assert document["watched_folders"][0]["files"] == 0


def test_a_found_file_that_cannot_be_downloaded_as_named_says_why_in_both_documents() -> None:
    # Windows reserves CON as a device name: the file is found, but never planned.
    from tests.reporting.reports import found

    report = report_of(
        {"/w/a.json": parsed([lora("1", "CON.safetensors")])},
        {("loras", "CON.safetensors"): found("https://civitai.com/api/download/models/7")},
    )
    assert report.downloads == ()
    (refused,) = report_json(report)["not_planned"]
    assert refused["key"] == "loras:con.safetensors" and "device name" in refused["reason"]
    text = render_markdown(report)
    assert "## Found, but not planned for download" in text
    (action,) = [line for line in text.splitlines() if "Get CON.safetensors" in line]
    assert "not planned for download" in action and "device name" in action


def test_a_bare_embedding_token_is_a_prompt_to_fix_in_the_json_too() -> None:
    from tests.reporting.reports import prompt_embedding

    document = report_json(report_of({"/w/a.json": parsed([prompt_embedding("4", "")])}))
    [entry] = document["workflows"]
    [model] = entry["missing_models"]
    assert (entry["status"], model["state"], model["node_id"]) == (
        "missing_models",
        "nameless",
        "4",
    )
    assert "stops with an error" in model["problem"] and "resolution" not in model
    [action] = document["actions"]
    assert (action["kind"], action["unblocks"], action["command"]) == (
        "fix_prompt",
        ["a.json"],
        None,
    )
    assert document["summary"]["nameless_embeddings"] == 1
    assert document["summary"]["missing_models"] == 0
    # ...and in the summary the cycle records and prints.
    from watchman.reporting.cycle_figures import cycle_summary

    assert (
        cycle_summary(
            report_of({"/w/a.json": parsed([prompt_embedding("4", "")])}), []
        ).nameless_embeddings
        == 1
    )


def test_a_file_installed_in_several_wrong_places_is_a_move_to_decide() -> None:
    # Which of two same-named files the workflow means is the person's call: the command
    # moves the first, and the action says so and lists both.
    places = tuple(
        ModelFile("checkpoints", f"{sub}/elsewhere.safetensors", f"{ROOT}/checkpoints", 1, 0.0)
        for sub in ("a", "b")
    )
    inventory = dataclasses.replace(INVENTORY, files={**INVENTORY.files, "checkpoints": places})
    report = report_of(
        {"/w/a.json": parsed([lora("1", "elsewhere.safetensors")])}, inventory=inventory
    )
    [move] = [action for action in actions(report) if action.kind == "move_file"]
    assert move.uncertain is not None and move.uncertain.startswith("2 files of this name")
    assert move.candidates == (
        "models/checkpoints/a/elsewhere.safetensors",
        "models/checkpoints/b/elsewhere.safetensors",
    )
    assert move.command is not None and "a/elsewhere.safetensors" in move.command
    assert "Decide: Move elsewhere.safetensors into models/loras." in render_markdown(report)
    single = dataclasses.replace(INVENTORY, files={**INVENTORY.files, "checkpoints": places[:1]})
    [alone] = [
        action
        for action in actions(
            report_of({"/w/a.json": parsed([lora("1", "elsewhere.safetensors")])}, inventory=single)
        )
        if action.kind == "move_file"
    ]
    assert alone.uncertain is None and alone.candidates == ()


def _find_model_text(result: SearchResult) -> str:
    report = report_of(
        {"/w/a.json": parsed([lora("1", "one.safetensors")])},
        {("loras", "one.safetensors"): result},
    )
    (action,) = [action for action in actions(report) if action.kind == "find_model"]
    return action.title


def test_a_model_not_searched_says_why_instead_of_that_no_source_has_it() -> None:
    def result(status: Status, reason: str | None) -> SearchResult:
        return SearchResult(status, None, "one.safetensors", "loras", reason=reason)

    offline = _find_model_text(result(Status.NOT_FOUND, "offline"))
    assert "offline no backend was asked" in offline and "no source has it" not in offline
    no_backend = _find_model_text(result(Status.NOT_FOUND, "no backend ran"))
    assert "search.backend_order names no backend" in no_backend
    deferred = _find_model_text(result(Status.ERROR, "deferred"))
    assert deferred.startswith("Wait for the next cycle to search for one.safetensors")
    assert "search budget was spent" in deferred
    stopped = _find_model_text(result(Status.ERROR, "interrupted"))
    assert "this cycle was stopped" in stopped
    searched = _find_model_text(result(Status.NOT_FOUND, None))
    assert searched.endswith("by hand: no source has it.")
