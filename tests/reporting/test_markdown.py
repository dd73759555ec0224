"""The Markdown report is rendered from the JSON document alone."""

from __future__ import annotations

from watchman.reporting.document import build_report, planned_downloads
from watchman.reporting.markdown import render_markdown


def entry(
    path: str, status: str, models: list[dict] | None = None, nodes: list[dict] | None = None
) -> dict:
    return {
        "path": path,
        "source": "comfyui",
        "sha256": "0" * 64,
        "format": "ui",
        "status": status,
        "missing_models": models or [],
        "missing_nodes": nodes or [],
        "uncertain_count": 0,
    }


FOUND = {
    "key": "loras:loras/detail.safetensors",
    "value": "loras\\detail.safetensors",
    "file_name": "detail.safetensors",
    "subfolder": "loras",
    "folder": "loras",
    "node_type": "LoraLoader",
    "node_id": "3",
    "input": "lora_name",
    "state": "missing",
    "resolution": {
        "status": "FOUND",
        "backend": "civitai",
        "download_url": "https://example.invalid/d",
        "size": 3 * 1024 * 1024,
        "sha256": "ab" * 32,
        "candidates": [],
    },
}


def document(entries: list[dict]) -> dict:
    return build_report(
        entries,
        generated_at="2026-11-22T00:00:00Z",
        cycle_id="c1",
        comfyui_root="/comfy",
        node_source="static",
        models_installed=3,
        node_packs=1,
        intake_new_or_updated=2,
        resolution_note=None,
    )


def test_a_found_model_becomes_one_planned_download_into_its_folder() -> None:
    entries = [
        entry("/w/a.json", "missing_models", [FOUND]),
        entry("/w/b.json", "missing_models", [FOUND]),
    ]
    [plan] = planned_downloads(entries)
    assert plan["target"] == "models/loras/loras/detail.safetensors"
    assert plan["workflows"] == ["/w/a.json", "/w/b.json"] and plan["trusted"] is True


def test_the_page_puts_the_summary_first_then_what_to_do() -> None:
    text = render_markdown(
        document([entry("/w/a.json", "missing_models", [FOUND]), entry("/w/r.json", "ready")])
    )
    assert (
        text.index("| status | workflows |")
        < text.index("## What to do")
        < text.index("## Workflows")
    )
    assert "| missing models | 1 |" in text and "| ready | 1 |" in text
    assert "3.0 MiB" in text and "https://example.invalid/d" in text


def test_a_ready_library_says_there_is_nothing_to_do() -> None:
    text = render_markdown(document([entry("/w/r.json", "ready")]))
    assert "Nothing: every watched workflow is ready." in text


def test_table_cells_escape_pipes_from_file_names() -> None:
    odd = {
        **FOUND,
        "value": "a|b.safetensors",
        "resolution": {"status": "NOT_FOUND", "reason": "searched"},
    }
    text = render_markdown(document([entry("/w/a.json", "missing_models", [odd])]))
    assert "a\\|b.safetensors" in text


def node_need(node_type: str, pack: dict) -> dict:
    return {"node_type": node_type, "node_ids": ["1"], "cnr_id": None, "aux_id": None, "pack": pack}


def test_missing_nodes_are_grouped_by_what_to_do() -> None:
    aux = {
        "status": "found",
        "url": "https://example.invalid/aux",
        "title": "Aux",
        "candidates": [],
    }
    nodes = [
        node_need("CannyEdge", aux),
        node_need("DepthMap", aux),
        node_need("Switch", {"status": "installed_disabled", "title": "DemoSwitch"}),
        node_need("NewCore", {"status": "outdated_comfyui"}),
        node_need(
            "Shared",
            {
                "status": "uncertain",
                "candidates": [
                    {"url": "https://example.invalid/a"},
                    {"url": "https://example.invalid/b"},
                ],
            },
        ),
        node_need("Nowhere", {"status": "unknown", "reason": "no pack known"}),
    ]
    text = render_markdown(document([entry("/w/a.json", "missing_nodes", nodes=nodes)]))
    assert "| Aux (https://example.invalid/aux) | `CannyEdge`, `DepthMap` | 1 |" in text
    assert "`DemoSwitch` is installed but disabled" in text
    assert "### Update ComfyUI" in text and "`NewCore`" in text
    assert "https://example.invalid/a, https://example.invalid/b" in text
    assert "| `Nowhere` | no pack known | 1 |" in text
