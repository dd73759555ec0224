"""The download plan: every FOUND result becomes a reviewed task with its target as the
workflow names it; only trusted tasks are for unattended runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchman.comfy.model_key import ModelKey
from watchman.errors import DownloadError
from watchman.resolve import SearchResult
from watchman.stages.download_plan import (
    DownloadPlan,
    Wanted,
    build_plan,
    load_plan,
    save_plan,
    token_services,
)

TOKENS = token_services("https://civitai.com", "https://huggingface.co")


def found(url: str, file_name: str, folder: str | None = "loras", **extra: object) -> SearchResult:
    return SearchResult.from_json({"status": "FOUND", "backend": "civitai", "download_url": url,
            "file_name": file_name, "folder": folder, **extra})  # fmt: skip


def key(text: str) -> ModelKey:
    """The model key whose JSON text is ``text`` (``folder:path``, ``?`` for no folder)."""
    folder, path = text.split(":", 1)
    return ModelKey(folder=None if folder == "?" else folder, path=path)


def keyed(results: dict[str, SearchResult]) -> dict[ModelKey, SearchResult]:
    return {key(text): result for text, result in results.items()}


def roots(tmp_path: Path):
    return lambda folder: (str(tmp_path / "extra" / folder), str(tmp_path / "models" / folder))


def test_a_found_result_becomes_a_task_named_and_placed_as_the_workflow_expects(
    tmp_path: Path,
) -> None:
    wanted = [Wanted(key("loras:sdxl/detail.safetensors"), "loras", "SDXL\\Detail.safetensors",
                     ("a.json",))]  # fmt: skip
    resolutions = {
        "loras:sdxl/detail.safetensors": found(
            "https://civitai.com/api/download/models/1", "Detail.safetensors",
            size=1234, sha256="AB" * 32,
        )
    }  # fmt: skip
    plan = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS)
    (task,) = plan.tasks
    assert task.name == "loras/SDXL/Detail.safetensors"
    assert task.target == tmp_path / "extra" / "loras" / "SDXL" / "Detail.safetensors"
    assert (task.size, task.sha256, task.token) == (1234, "ab" * 32, "civitai")
    assert task.trusted and task.workflows == ("a.json",)


def test_workflows_needing_the_same_file_share_one_task(tmp_path: Path) -> None:
    wanted = [
        Wanted(key("loras:x.safetensors"), "loras", "x.safetensors", ("a.json",)),
        Wanted(key("loras:x.safetensors"), "loras", "x.safetensors", ("b.json",)),
    ]
    resolutions = {"loras:x.safetensors": found("https://h/x", "x.safetensors", size=3)}
    (task,) = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS).tasks
    assert task.workflows == ("a.json", "b.json")


def test_one_file_named_by_a_legacy_folder_and_other_separators_is_one_task(
    tmp_path: Path,
) -> None:
    # The same model key (text_encoders:sub/x.safetensors) reached twice: once through a
    # value of unknown folder that the source files under the legacy "clip", once as written.
    wanted = [
        Wanted(key("?:sub/x.safetensors"), None, "sub/x.safetensors", ("a.json",)),
        Wanted(key("text_encoders:sub/x.safetensors"), "text_encoders", "sub\\x.safetensors",
               ("b.json",)),
    ]  # fmt: skip
    resolutions = {
        "?:sub/x.safetensors": found("https://h/x", "x.safetensors", folder="clip", size=3),
        "text_encoders:sub/x.safetensors": found(
            "https://h/x", "x.safetensors", folder="text_encoders", size=3
        ),
    }
    (task,) = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS).tasks
    assert task.name == "text_encoders/sub/x.safetensors"
    assert task.workflows == ("a.json", "b.json")


@pytest.mark.parametrize(
    ("result", "why"),
    [
        (found("https://h/x", "x.safetensors"), "no sha256 or size"),
        (found("https://h/x", "x_v2.safetensors", size=3), "the source lists"),
        (found("https://h/x", "x.safetensors", folder="checkpoints", size=3), "folder"),
        (found("https://h/x", "X.safetensors", size=3), "the source lists"),
        (found("https://h/x", "x.safetensors", size=3, reason="auth_required"), "gated"),
    ],
)
def test_a_task_without_exact_name_agreed_folder_and_a_check_is_not_trusted(
    tmp_path: Path, result: SearchResult, why: str
) -> None:
    wanted = [Wanted(key("loras:x.safetensors"), "loras", "x.safetensors", ("a.json",))]
    (task,) = build_plan(
        wanted, keyed({"loras:x.safetensors": result}), roots(tmp_path), TOKENS
    ).tasks
    assert not task.trusted and why in (task.why_not or "")


def test_uncertain_results_are_never_planned_and_unsafe_ones_say_why(tmp_path: Path) -> None:
    wanted = [
        Wanted(key("loras:a.safetensors"), "loras", "a.safetensors", ("w",)),
        Wanted(key("loras:b.safetensors"), "loras", "b.safetensors", ("w",)),
    ]
    resolutions = {
        "loras:a.safetensors": SearchResult.from_json(
            {"status": "UNCERTAIN", "download_url": "https://h/a"}
        ),
        "loras:b.safetensors": found("http://example.com/b", "b.safetensors", size=1),
    }
    plan = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS)
    assert plan.tasks == ()
    assert [item.key for item in plan.not_planned] == ["loras:b.safetensors"]
    assert "https" in plan.not_planned[0].reason


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("CON.safetensors", "device name"),
        ("sdxl/aux/x.safetensors", "device name"),
        ("x.safetensors.", "ends in a dot or a space"),
        ("what?.safetensors", "?"),
        ("tab\there.safetensors", "control character"),
    ],
)
def test_a_name_windows_cannot_hold_is_not_planned_and_says_why(
    tmp_path: Path, value: str, why: str
) -> None:
    file_name = value.rsplit("/", 1)[-1]
    wanted = [Wanted(key("loras:" + value.lower()), "loras", value, ("w",))]
    resolutions = {"loras:" + value.lower(): found("https://h/x", file_name, size=1)}
    plan = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS)
    assert plan.tasks == ()
    (skipped,) = plan.not_planned
    assert "Refusing to write" in skipped.reason and why in skipped.reason


def test_the_plan_survives_the_state_file_and_names_select_tasks(tmp_path: Path) -> None:
    wanted = [
        Wanted(key("loras:a/x.safetensors"), "loras", "a/x.safetensors", ("w",)),
        Wanted(key("loras:b/x.safetensors"), "loras", "b/x.safetensors", ("w",)),
        Wanted(key("vae:v.safetensors"), "vae", "v.safetensors", ("w",)),
    ]
    resolutions = {
        item.key.text: found("https://h/" + item.value, item.value.split("/")[-1],
                             folder=item.folder, size=1)
        for item in wanted
    }  # fmt: skip
    plan = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS)
    save_plan(tmp_path, plan)
    again = load_plan(tmp_path)
    assert again == plan
    assert [t.name for t in again.select(["V.safetensors", "loras/a/x.safetensors"])] == [
        "vae/v.safetensors",
        "loras/a/x.safetensors",
    ]
    with pytest.raises(DownloadError, match="names 2 planned downloads"):
        again.select(["x.safetensors"])
    with pytest.raises(DownloadError, match="No planned download"):
        again.select(["nothing.safetensors"])


def test_a_missing_or_corrupt_plan_file_is_an_empty_plan(tmp_path: Path) -> None:
    assert load_plan(tmp_path) == DownloadPlan()
    (tmp_path / "download_plan.json").write_text('{"schema_version": 1, "tasks": [{}]}')
    assert load_plan(tmp_path) == DownloadPlan()


def test_an_unfinished_download_of_another_tool_is_named_with_its_task(tmp_path: Path) -> None:
    (tmp_path / "extra" / "loras").mkdir(parents=True)
    (tmp_path / "extra" / "loras" / "x.safetensors.part").write_bytes(b"half")
    wanted = [Wanted(key("loras:x.safetensors"), "loras", "x.safetensors", ("w",))]
    resolutions = {"loras:x.safetensors": found("https://h/x", "x.safetensors", size=3)}
    (task,) = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS).tasks
    assert task.leftovers == (str(tmp_path / "extra" / "loras" / "x.safetensors.part"),)
