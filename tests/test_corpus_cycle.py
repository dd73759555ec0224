"""Every real workflow in ../shared/corpus/workflows through one whole offline cycle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watchman.comfy.node_kinds import FRONTEND_ONLY_NODES
from watchman.config_loading import load_settings
from watchman.cycle import run_cycle
from watchman.home import Home
from watchman.stages.guards import GuardVerdict

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "workflows"
STATUSES = {"ready", "missing_models", "missing_nodes", "uncertain", "parse_error"}


def allow(*_: object) -> GuardVerdict:
    return GuardVerdict(allowed=True, reason=None, checks=(), memory={})


@pytest.fixture(scope="module")
def corpus_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent: the real-workflow cycle test needs it")
    base = tmp_path_factory.mktemp("corpus")
    root = base / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("", encoding="utf-8")
    (root / "nodes.py").write_text(
        'NODE_CLASS_MAPPINGS = {"KSampler": 1, "CheckpointLoaderSimple": 1}\n', encoding="utf-8"
    )
    settings = load_settings(
        overrides={
            "comfyui": {"root": root, "use_server": False},
            "workflows": {"folders": [{"path": CORPUS, "source": "corpus"}]},
            "search": {"offline": True},
        },
        environ={},
    )
    result = run_cycle(settings, Home(base / "home"), offline=True, guard_evaluator=allow)
    assert result.record.outcome == "ran", result.record.reason
    return json.loads((base / "home/output/reports/status/master_status.json").read_text("utf-8"))


def test_every_corpus_workflow_gets_a_readable_entry(corpus_report: dict) -> None:
    names = {Path(entry["path"]).name for entry in corpus_report["workflows"]}
    expected = {path.name for path in CORPUS.glob("*.json")}
    assert names == expected
    for entry in corpus_report["workflows"]:
        assert entry["status"] in STATUSES
        assert entry["status"] != "parse_error", (entry["path"], entry.get("error"))


def test_every_reported_model_value_is_written_in_its_workflow(corpus_report: dict) -> None:
    for entry in corpus_report["workflows"]:
        text = Path(entry["path"]).read_text(encoding="utf-8")
        for model in entry["missing_models"]:
            assert json.dumps(model["value"])[1:-1] in text, (entry["path"], model["value"])


def test_no_frontend_only_node_is_ever_reported_missing(corpus_report: dict) -> None:
    for entry in corpus_report["workflows"]:
        missing = {node["node_type"] for node in entry["missing_nodes"]}
        assert not missing & FRONTEND_ONLY_NODES, entry["path"]
        # A subgraph instance's type is a UUID defined in the file: never a missing node.
        # Only an instance whose definition the file lacks may be, and it says so.
        for node in entry["missing_nodes"]:
            name = node["node_type"]
            if len(name) == 36 and name.count("-") == 4:
                assert name not in json.dumps(_definitions(entry["path"])), (entry["path"], name)
                assert node["pack"]["status"] == "undefined_in_workflow"


def _definitions(path: str) -> list:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    found = []
    stack = [document]
    while stack:
        current = stack.pop()
        for subgraph in (current.get("definitions") or {}).get("subgraphs") or []:
            found.append(subgraph.get("id"))
            stack.append(subgraph)
    return found


def test_a_bare_install_finds_the_corpus_mostly_needing_things(corpus_report: dict) -> None:
    # Only two core nodes are installed, so almost every workflow must need something.
    counts = corpus_report["summary"]["workflows_by_status"]
    assert counts["ready"] <= 2
    assert counts["missing_nodes"] >= 40
