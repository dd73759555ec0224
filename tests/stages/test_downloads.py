"""The download plan: every FOUND result becomes a reviewed task with its target as the
workflow names it; only trusted tasks are for unattended runs; running tasks logs them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests.remote.blob_server import BlobServer, safetensors_blob
from watchman.errors import DownloadError
from watchman.remote.downloader import Downloader, DownloadLimits
from watchman.remote.gateway import HttpGateway
from watchman.stages.downloads import (
    DownloadPlan,
    Wanted,
    build_plan,
    load_plan,
    run_downloads,
    save_plan,
    token_services,
)
from watchman.state.download_log import log_path, read_downloads

TOKENS = token_services("https://civitai.com", "https://huggingface.co")


def found(url: str, file_name: str, folder: str | None = "loras", **extra: object) -> dict:
    return {"status": "FOUND", "backend": "civitai", "download_url": url,
            "file_name": file_name, "folder": folder, **extra}  # fmt: skip


def roots(tmp_path: Path):
    return lambda folder: (str(tmp_path / "extra" / folder), str(tmp_path / "models" / folder))


def test_a_found_result_becomes_a_task_named_and_placed_as_the_workflow_expects(
    tmp_path: Path,
) -> None:
    wanted = [Wanted("loras:sdxl/detail.safetensors", "loras", "SDXL\\Detail.safetensors",
                     ("a.json",))]  # fmt: skip
    resolutions = {
        "loras:sdxl/detail.safetensors": found(
            "https://civitai.com/api/download/models/1", "Detail.safetensors",
            size=1234, sha256="AB" * 32,
        )
    }  # fmt: skip
    plan = build_plan(wanted, resolutions, roots(tmp_path), TOKENS)
    (task,) = plan.tasks
    assert task.name == "loras/SDXL/Detail.safetensors"
    assert task.target == tmp_path / "extra" / "loras" / "SDXL" / "Detail.safetensors"
    assert (task.size, task.sha256, task.token) == (1234, "ab" * 32, "civitai")
    assert task.trusted and task.workflows == ("a.json",)


def test_workflows_needing_the_same_file_share_one_task(tmp_path: Path) -> None:
    wanted = [
        Wanted("loras:x.safetensors", "loras", "x.safetensors", ("a.json",)),
        Wanted("loras:x.safetensors", "loras", "x.safetensors", ("b.json",)),
    ]
    resolutions = {"loras:x.safetensors": found("https://h/x", "x.safetensors", size=3)}
    (task,) = build_plan(wanted, resolutions, roots(tmp_path), TOKENS).tasks
    assert task.workflows == ("a.json", "b.json")


def test_one_file_named_by_a_legacy_folder_and_other_separators_is_one_task(
    tmp_path: Path,
) -> None:
    # The same model key (text_encoders:sub/x.safetensors) reached twice: once through a
    # value of unknown folder that the source files under the legacy "clip", once as written.
    wanted = [
        Wanted("?:sub/x.safetensors", None, "sub/x.safetensors", ("a.json",)),
        Wanted("text_encoders:sub/x.safetensors", "text_encoders", "sub\\x.safetensors",
               ("b.json",)),
    ]  # fmt: skip
    resolutions = {
        "?:sub/x.safetensors": found("https://h/x", "x.safetensors", folder="clip", size=3),
        "text_encoders:sub/x.safetensors": found(
            "https://h/x", "x.safetensors", folder="text_encoders", size=3
        ),
    }
    (task,) = build_plan(wanted, resolutions, roots(tmp_path), TOKENS).tasks
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
    tmp_path: Path, result: dict, why: str
) -> None:
    wanted = [Wanted("loras:x.safetensors", "loras", "x.safetensors", ("a.json",))]
    (task,) = build_plan(wanted, {"loras:x.safetensors": result}, roots(tmp_path), TOKENS).tasks
    assert not task.trusted and why in (task.why_not or "")


def test_uncertain_results_are_never_planned_and_unsafe_ones_say_why(tmp_path: Path) -> None:
    wanted = [
        Wanted("loras:a.safetensors", "loras", "a.safetensors", ("w",)),
        Wanted("loras:b.safetensors", "loras", "b.safetensors", ("w",)),
    ]
    resolutions = {
        "loras:a.safetensors": {"status": "UNCERTAIN", "download_url": "https://h/a"},
        "loras:b.safetensors": found("http://example.com/b", "b.safetensors", size=1),
    }
    plan = build_plan(wanted, resolutions, roots(tmp_path), TOKENS)
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
    wanted = [Wanted("loras:" + value.lower(), "loras", value, ("w",))]
    resolutions = {"loras:" + value.lower(): found("https://h/x", file_name, size=1)}
    plan = build_plan(wanted, resolutions, roots(tmp_path), TOKENS)
    assert plan.tasks == ()
    (skipped,) = plan.not_planned
    assert "Refusing to write" in skipped.reason and why in skipped.reason


def test_the_plan_survives_the_state_file_and_names_select_tasks(tmp_path: Path) -> None:
    wanted = [
        Wanted("loras:a/x.safetensors", "loras", "a/x.safetensors", ("w",)),
        Wanted("loras:b/x.safetensors", "loras", "b/x.safetensors", ("w",)),
        Wanted("vae:v.safetensors", "vae", "v.safetensors", ("w",)),
    ]
    resolutions = {
        key.key: found("https://h/" + key.value, key.value.split("/")[-1], folder=key.folder,
                       size=1)
        for key in wanted
    }  # fmt: skip
    plan = build_plan(wanted, resolutions, roots(tmp_path), TOKENS)
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


def test_running_tasks_logs_each_file_fetched_and_stops_when_told(tmp_path: Path) -> None:
    blob = safetensors_blob(10_000)
    with BlobServer(blob) as server, httpx.Client() as client:
        wanted = [
            Wanted("loras:a.safetensors", "loras", "a.safetensors", ("w1.json",)),
            Wanted("loras:b.safetensors", "loras", "b.safetensors", ("w2.json",)),
        ]
        resolutions = {
            w.key: found(f"{server.url}/{w.value}?sig=SECRET", w.value, size=len(blob),
                         sha256=hashlib.sha256(blob).hexdigest())
            for w in wanted
        }  # fmt: skip
        plan = build_plan(wanted, resolutions, roots(tmp_path), TOKENS)
        downloader = Downloader(
            HttpGateway(client), DownloadLimits(free_space_margin_bytes=0),
            free_space=lambda folder: 1 << 40,
        )  # fmt: skip
        answers = iter([None, "the awake guard says no"])
        run = run_downloads(
            plan.tasks, downloader, log_path(tmp_path / "state"), lambda: "2026-01-01T00:00:00Z",
            trigger="auto", may_start=lambda: next(answers),
        )  # fmt: skip
    assert [r.outcome for _, r in run.results] == ["downloaded"]
    assert [t.name for t in run.not_started] == ["loras/b.safetensors"]
    assert run.stopped_because == "the awake guard says no"
    (record,) = read_downloads(log_path(tmp_path / "state"))
    assert record["workflows"] == ["w1.json"] and record["trigger"] == "auto"
    assert record["size"] == len(blob) and "SECRET" not in record["url"]
    assert list(read_downloads(log_path(tmp_path / "state"), since="2026-01-02")) == []


def test_an_unfinished_download_of_another_tool_is_named_with_its_task(tmp_path: Path) -> None:
    (tmp_path / "extra" / "loras").mkdir(parents=True)
    (tmp_path / "extra" / "loras" / "x.safetensors.part").write_bytes(b"half")
    wanted = [Wanted("loras:x.safetensors", "loras", "x.safetensors", ("w",))]
    resolutions = {"loras:x.safetensors": found("https://h/x", "x.safetensors", size=3)}
    (task,) = build_plan(wanted, resolutions, roots(tmp_path), TOKENS).tasks
    assert task.leftovers == (str(tmp_path / "extra" / "loras" / "x.safetensors.part"),)
