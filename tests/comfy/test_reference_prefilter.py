"""The reader skips a node's values only when the reference rules would find nothing there.

``could_name_models`` answers "surely nothing" for most nodes so the UI reader need not
name their values; every answer it gives must agree with ``references_for_node``, on any
values a stranger writes, and whole workflows must read the same with and without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy import workflow_ui
from watchman.comfy.model_references import could_name_models, references_for_node
from watchman.comfy.widget_names import named_widget_values
from watchman.comfy.workflow import parse_workflow_bytes, parse_workflow_json
from watchman.errors import WorkflowError

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "workflows"

NODE_TYPES = [
    "KSampler",  # unknown to every table: the generic rule reads its strings
    "CLIPTextEncode",
    "CheckpointLoaderSimple",  # a table loader: always looked at
    "LoraLoader",
    "SomeonesUNETLoaderWrapper",  # input names infer folders
    "MyUpscaleModelLoader",
    "Power Lora Loader (rgthree)",  # reads Power Lora entries and tags
    "Lora Loader (LoraManager)",
    "ImpactWildcardEncode",
]
_PIECES = st.sampled_from(
    [
        "a cat",
        ".",
        "%2E",
        ":",
        "<",
        "embedding:",
        "EMBEDDING:",
        "Embedd\u0130ng:",
        "<lora:",
        "x.safetensors",
        "m.C\u212aPT",  # the Kelvin sign lower-cases to "k": a .ckpt
        "(sharp:1.2)",
        "/",
        "/home/me/models/m.ckpt",
        "C:\\m\\v.pt",
        "http://localhost/m%2Esafetensors",
        "https://example.com/a.gguf?x=1",
        ">",
        ":1.2",
        "None",
        "\n",
        " ",
    ]
)
_TEXT = st.lists(_PIECES | st.text(max_size=4), max_size=5).map("".join)
_VALUE = st.one_of(
    _TEXT,
    st.integers(-5, 5),
    st.none(),
    st.booleans(),
    st.fixed_dictionaries({"on": st.booleans(), "lora": _TEXT}),
    st.lists(st.fixed_dictionaries({"name": _TEXT, "active": st.booleans()}), max_size=2),
)
_INPUT_NAMES = st.sampled_from(["text", "ckpt_name", "lora_name", "model_name", "seed", "x"])


@settings(max_examples=400, deadline=None)
@given(
    node_type=st.sampled_from(NODE_TYPES),
    values=st.one_of(
        st.lists(_VALUE, max_size=6), st.dictionaries(_INPUT_NAMES, _VALUE, max_size=4)
    ),
)
def test_a_node_said_to_name_nothing_gives_no_reference(node_type: str, values: object) -> None:
    if could_name_models(node_type, values):
        return
    named = named_widget_values(node_type, values, None)
    assert references_for_node("1", node_type, named, False, False) == ()


def test_the_marks_that_make_a_node_worth_reading() -> None:
    assert not could_name_models("KSampler", [42, "euler", "normal", 1.0])
    assert not could_name_models("CLIPTextEncode", ["a cat, (sharp:1.2)"])
    assert could_name_models("CLIPTextEncode", ["a cat, embedding:easynegative"])
    assert could_name_models("KSampler", ["odd.safetensors"])
    assert could_name_models("KSampler", ["/models/odd.C\u212aPT/ "])
    assert could_name_models("SomeonesLoader", {"ckpt_name": "http://localhost/m%2Esafetensors"})
    assert could_name_models("CheckpointLoaderSimple", ["no extension"])
    assert could_name_models("Power Lora Loader (rgthree)", [{"on": True, "lora": "a"}])
    assert could_name_models("ImpactWildcardEncode", ["<lora:style>"])
    assert not could_name_models("CLIPTextEncode", ["<lora:style>"])  # ComfyUI ignores it
    assert not could_name_models("KSampler", "not a list")


def _read_both_ways(monkeypatch: pytest.MonkeyPatch, read: object) -> tuple[object, object]:
    assert callable(read)
    quick = read()
    with monkeypatch.context() as patched:
        patched.setattr(workflow_ui, "could_name_models", lambda *_: True)
        slow = read()
    return quick, slow


def test_a_workflow_of_every_kind_of_node_reads_the_same_without_the_shortcut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = {
        "nodes": [
            {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["sd15.safetensors"]},
            {"id": 2, "type": "CLIPTextEncode", "widgets_values": ["cat, embedding:bad-hands"]},
            {"id": 3, "type": "CLIPTextEncode", "widgets_values": ["cat. dog: (x:1.1)"]},
            {"id": 4, "type": "KSampler", "widgets_values": [1, "fixed", 20, 7, "euler", "n", 1]},
            {"id": 5, "type": "MyUnknownNode", "widgets_values": ["thing.pt", "plain"]},
            {
                "id": 6,
                "type": "Power Lora Loader (rgthree)",
                "widgets_values": [
                    {},
                    {"on": True, "lora": "style.safetensors", "strength": 1},
                    "",
                ],
            },
            {"id": 7, "type": "ImpactWildcardEncode", "widgets_values": ["<lora:x:0.5> cat"]},
        ],
        "links": [],
    }
    quick, slow = _read_both_ways(monkeypatch, lambda: parse_workflow_json(document, "w"))
    assert quick == slow
    assert len(getattr(quick, "model_refs")) == 5  # noqa: B009 - the parse is typed object


def test_real_workflows_read_the_same_without_the_shortcut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = sorted(path for path in CORPUS.rglob("*") if path.is_file()) if CORPUS.is_dir() else []
    if not files:
        pytest.skip("../shared/corpus is absent: no real workflows to compare")
    compared = 0
    for path in files:
        data = path.read_bytes()

        def read(data: bytes = data, name: str = path.name) -> object:
            try:
                return parse_workflow_bytes(data, name)
            except WorkflowError as error:
                return str(error)

        quick, slow = _read_both_ways(monkeypatch, read)
        assert quick == slow, path.name
        compared += 1
    assert compared >= 50
