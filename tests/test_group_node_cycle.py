"""A whole cycle beside a live ComfyUI judges the inner nodes of legacy group nodes for
required inputs nothing feeds: the project's own workflows, and the real one in
../shared/corpus/workflows, read in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.local_http import answering
from watchman.config_loading import load_settings
from watchman.cycle import run_cycle
from watchman.home import Home
from watchman.stages.guards import GuardVerdict

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "workflows"
CORPUS_GROUP = "comfyui-frontend__legacy_group_node.json"

SAMPLER_SOCKETS = {
    "model": ["MODEL"],
    "positive": ["CONDITIONING"],
    "negative": ["CONDITIONING"],
    "latent_image": ["LATENT"],
}
OBJECT_INFO = {
    "EmptyLatentImage": {"input": {"required": {"width": ["INT", {}]}}},
    "VAELoader": {"input": {"required": {"vae_name": [["vae.safetensors"], {}]}}},
    "VAEDecode": {"input": {"required": {"samples": ["LATENT"], "vae": ["VAE"]}}},
    "SaveImage": {
        "output_node": True,
        "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}},
    },
    "KSampler": {"input": {"required": SAMPLER_SOCKETS}},
    "KSamplerAdvanced": {"input": {"required": SAMPLER_SOCKETS}},
}


def group_workflow(vae_link: int | None) -> dict[str, Any]:
    """A latent and a VAE loader outside a group node whose definition decodes and saves;
    the group's ``vae`` input is linked from the loader when ``vae_link`` is given."""
    decoder = {
        "type": "VAEDecode",
        "mode": 0,
        "inputs": [
            {"name": "samples", "type": "LATENT", "link": None},
            {"name": "vae", "type": "VAE", "link": None},
        ],
        "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [3]}],
    }
    save = {
        "type": "SaveImage",
        "mode": 0,
        "inputs": [{"name": "images", "type": "IMAGE", "link": 3}],
        "outputs": [],
        "widgets_values": ["ComfyUI"],
    }
    group = {
        "id": 5,
        "type": "workflow>Decode and save",
        "mode": 0,
        "inputs": [
            {"name": "samples", "type": "LATENT", "link": 10},
            {"name": "vae", "type": "VAE", "link": vae_link},
        ],
        "outputs": [],
        "widgets_values": ["ComfyUI"],
    }
    links = [[10, 1, 0, 5, 0, "LATENT"]]
    if vae_link is not None:
        links.append([vae_link, 2, 0, 5, 1, "VAE"])
    return {
        "nodes": [
            group,
            {"id": 1, "type": "EmptyLatentImage", "mode": 0, "widgets_values": [512]},
            {"id": 2, "type": "VAELoader", "mode": 0, "widgets_values": ["vae.safetensors"]},
        ],
        "links": links,
        "extra": {
            "groupNodes": {
                "Decode and save": {
                    "nodes": [decoder, save],
                    "links": [[0, 0, 1, 0, 9, "IMAGE"]],
                    "external": [],
                }
            }
        },
    }


def allow(*_: object) -> GuardVerdict:
    return GuardVerdict(allowed=True, reason=None, checks=(), memory={})


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The report's entries by file name, after one cycle beside a server answering
    :data:`OBJECT_INFO`, over the project's group workflows and the corpus if present."""
    base = tmp_path_factory.mktemp("groups")
    root = base / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("", encoding="utf-8")
    (root / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {}\n", encoding="utf-8")
    (root / "models" / "vae").mkdir(parents=True)
    (root / "models" / "vae" / "vae.safetensors").write_bytes(b"\x02" + b"\0" * 7 + b"{}")
    own = base / "workflows"
    own.mkdir()
    for name, vae_link in (("open_vae.json", None), ("wired.json", 11)):
        (own / name).write_text(json.dumps(group_workflow(vae_link)), encoding="utf-8")
    folders: list[dict[str, Any]] = [{"path": own, "source": "own"}]
    if CORPUS.is_dir():
        folders.append({"path": CORPUS, "source": "corpus"})
    body = json.dumps(OBJECT_INFO).encode()
    with answering(lambda path: (200, body) if path == "/object_info" else (404, b"{}")) as server:
        settings = load_settings(
            overrides={
                "comfyui": {"root": root, "use_server": True, "url": server.url},
                "workflows": {"folders": folders},
                "search": {"offline": True},
            },
            environ={},
        )
        result = run_cycle(settings, Home(base / "home"), offline=True, guard_evaluator=allow)
    assert result.record.outcome == "ran", result.record.reason
    path = base / "home/output/reports/status/master_status.json"
    document = json.loads(path.read_text("utf-8"))
    return {Path(entry["path"]).name: entry for entry in document["workflows"]}


def test_an_inner_input_whose_group_input_nothing_feeds_makes_the_workflow_uncertain(
    entries: dict[str, dict],
) -> None:
    entry = entries["open_vae.json"]
    assert entry["status"] == "uncertain"
    assert entry["unlinked_inputs"] == [
        {"node_id": "5:0", "node_type": "VAEDecode", "inputs": ["vae"]}
    ]


def test_a_group_whose_inner_inputs_are_all_fed_is_ready(entries: dict[str, dict]) -> None:
    entry = entries["wired.json"]
    assert entry["unlinked_inputs"] == []
    assert entry["status"] == "ready", entry


def test_the_corpus_group_of_two_samplers_has_no_output_and_no_input_to_connect(
    entries: dict[str, dict],
) -> None:
    # The frontend's own file: two samplers, nothing linked, nothing leaving the group.
    # ComfyUI refuses it for want of an output; no sampler reaches one, so none is named.
    if CORPUS_GROUP not in entries:
        pytest.skip("../shared/corpus is absent: the real group-node workflow is not there")
    entry = entries[CORPUS_GROUP]
    assert entry["status"] == "uncertain"
    assert entry["unlinked_inputs"] == []
    assert entry["no_output"] == {"inactive_outputs": []}
