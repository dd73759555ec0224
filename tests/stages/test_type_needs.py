"""Values ComfyUI would refuse as of another type (invalid_input_type): found where a
value that is no link cannot be read as its INT or FLOAT input's type, in an API prompt
as in a UI workflow's values known by name, and never where the input's type or the
value's place is not sure."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from watchman.comfy.widget_layout import Layout, WidgetSlot, widget_layout
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_model import NodeUse, ParsedWorkflow
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.stages.inventory.models import ModelInventory
from watchman.stages.needs import assess_workflow
from watchman.stages.type_needs import WrongTypeValue, find_wrong_type_values

DEFINITIONS: dict[str, Any] = {
    "Sampler": {
        "input": {
            "required": {
                "seed": ["INT", {"min": 0, "max": 0xFFFFFFFFFFFFFFFF}],
                "steps": ["INT", {}],  # no bounds: its type is still known
                "cfg": ["FLOAT", {"min": 0.0, "max": 100.0}],
                "sampler_name": [["euler", "dpmpp_2m"], {}],
                "note": ["STRING", {}],
                "tiled": ["BOOLEAN", {}],
                "model": ["MODEL"],
            },
            "optional": {"denoise": ["FLOAT", {}]},
        }
    },
}
LAYOUTS: dict[str, Layout] = {
    name: layout
    for name, definition in DEFINITIONS.items()
    if (layout := widget_layout(definition)) is not None
}
INVENTORY = ModelInventory(roots={}, files={}, separator="/")


def api(inputs: dict[str, Any], node_type: str = "Sampler") -> ParsedWorkflow:
    return parse_api_prompt({"3": {"class_type": node_type, "inputs": inputs}})


def ui(values: Any, **extra: Any) -> ParsedWorkflow:
    return parse_ui_workflow(
        {
            "nodes": [
                {
                    "id": 3,
                    "type": "Sampler",
                    "mode": extra.get("mode", 0),
                    "inputs": extra.get("inputs", []),
                    "widgets_values": values,
                }
            ],
            "links": [],
        }
    )


def found(parsed: ParsedWorkflow, layouts: Any = LAYOUTS.get) -> list[tuple[str, str, str]]:
    return [
        (value.input, value.value, value.expected)
        for value in find_wrong_type_values(parsed.nodes, layouts)
    ]


def test_a_text_int_cannot_read_on_an_int_input_is_found() -> None:
    assert found(api({"seed": "random", "steps": "1.5"})) == [
        ("seed", "random", "INT"),
        ("steps", "1.5", "INT"),
    ]
    [value] = find_wrong_type_values(api({"steps": ""}).nodes, LAYOUTS.get)
    assert value == WrongTypeValue("3", "Sampler", "steps", "", "INT")


def test_a_text_float_cannot_read_on_a_float_input_is_found() -> None:
    assert found(api({"cfg": "7,5", "denoise": "full"})) == [
        ("cfg", "7,5", "FLOAT"),
        ("denoise", "full", "FLOAT"),
    ]


def test_texts_comfyui_reads_as_the_inputs_type_are_not_found() -> None:
    readable = {"seed": " 42 ", "steps": "1_000", "cfg": "1e1", "denoise": "nan"}
    assert found(api(readable)) == []
    # A number of either kind converts: int(7.5) and float(3) do not raise.
    assert found(api({"seed": 7.5, "steps": True, "cfg": 3})) == []


def test_a_text_on_a_string_boolean_or_list_input_is_not_a_type_refusal() -> None:
    # str() and bool() take any value; a list's value is the list check's.
    assert found(api({"note": "x", "tiled": "maybe", "sampler_name": "nope"})) == []


def test_an_input_whose_type_is_not_known_is_not_judged() -> None:
    assert found(api({"steps": "many"}, node_type="Unknown")) == []
    # A number slot whose type the layout does not carry (a source that spells "int").
    untyped = (WidgetSlot("steps", "number"),)
    assert found(api({"steps": "many"}), lambda node_type: untyped) == []
    # An input the definition does not declare (ComfyUI does not convert it).
    assert found(api({"strength": "high"})) == []


def test_a_linked_input_is_not_judged() -> None:
    assert found(api({"steps": ["7", 0], "cfg": "high"})) == [("cfg", "high", "FLOAT")]
    inputs = [{"name": "steps", "widget": {"name": "steps"}, "link": 9}]
    assert found(ui({"steps": "many", "cfg": "high"}, inputs=inputs)) == [("cfg", "high", "FLOAT")]


def test_a_ui_nodes_values_by_name_are_judged() -> None:
    assert found(ui({"seed": 5, "steps": "auto", "note": "x"})) == [("steps", "auto", "INT")]


def test_a_text_in_a_ui_nodes_widget_list_where_a_number_goes_is_not_judged() -> None:
    # The list does not fit the layout: which input each value holds is not sure.
    values = [5, "fixed", "auto", 7.0, "euler", "note", False, 1.0]
    assert found(ui(values)) == []
    assert found(ui([5, "fixed", 20, 7.0, "euler", "note", False, 1.0])) == []


SUBGRAPH = "11111111-2222-4333-8444-555555555555"


def with_subgraph(instance_values: list[Any]) -> ParsedWorkflow:
    """A UI workflow whose subgraph instance hands its value to the seed of a Sampler
    inside, whose own widget list keeps a stale seed."""
    inner = {
        "id": 7,
        "type": "Sampler",
        "inputs": [{"name": "seed", "widget": {"name": "seed"}, "link": 3}],
        "widgets_values": [1, "fixed", 20, 8.0, "euler", "note", False, 1.0],
    }
    subgraph = {
        "id": SUBGRAPH,
        "inputs": [{"name": "seed", "type": "INT", "linkIds": [3]}],
        "nodes": [inner],
        "links": [{"id": 3, "origin_id": -10, "origin_slot": 0, "target_id": 7, "target_slot": 0}],
    }
    return parse_ui_workflow(
        {
            "nodes": [{"id": 9, "type": SUBGRAPH, "widgets_values": instance_values}],
            "links": [],
            "definitions": {"subgraphs": [subgraph]},
        }
    )


def test_what_a_subgraph_instance_hands_its_inner_node_is_judged() -> None:
    [value] = find_wrong_type_values(with_subgraph(["auto"]).nodes, LAYOUTS.get)
    assert value == WrongTypeValue("9:7", "Sampler", "seed", "auto", "INT")
    assert found(with_subgraph([None])) == [("seed", None, "INT")]
    assert found(with_subgraph([42])) == []


def test_an_input_named_both_as_a_text_and_as_a_number_is_not_judged() -> None:
    node = NodeUse(
        "3", "Sampler", False, False, None, None, None,
        named=(("steps", "auto"),), numbered=("steps",),
    )  # fmt: skip
    assert find_wrong_type_values([node], LAYOUTS.get) == ()


def test_the_nodes_own_validation_does_not_take_the_conversion_over() -> None:
    # ComfyUI converts before it asks VALIDATE_INPUTS: only the range and list checks
    # are skipped for the inputs it takes.
    needs = assess_workflow(
        api({"steps": "auto"}),
        INVENTORY,
        {"Sampler"},
        validates=lambda node_type, name: True,
        value_types=LAYOUTS.get,
    )
    assert needs.status == "uncertain"
    assert [value.input for value in needs.wrong_type] == ["steps"]


def test_a_bypassed_or_muted_node_is_not_judged_and_an_active_one_makes_it_uncertain() -> None:
    for mode, status in ((4, "ready"), (2, "ready"), (0, "uncertain")):
        parsed = ui({"steps": "auto"}, mode=mode)
        needs = assess_workflow(parsed, INVENTORY, {"Sampler"}, value_types=LAYOUTS.get)
        assert needs.status == status
        assert len(needs.wrong_type) == (1 if mode == 0 else 0)


def test_types_are_not_checked_when_the_check_is_off() -> None:
    parsed = api({"steps": "auto"})
    needs = assess_workflow(parsed, INVENTORY, {"Sampler"}, layouts=LAYOUTS.get, ranges=LAYOUTS.get)
    assert needs.status == "ready"
    assert needs.wrong_type == ()


def test_a_null_on_an_int_input_is_found_bare_or_wrapped() -> None:
    assert found(api({"seed": None, "steps": {"__value__": None}})) == [
        ("seed", None, "INT"),
        ("steps", None, "INT"),
    ]
    assert found(ui({"steps": None})) == [("steps", None, "INT")]
    assert found(api({"steps": {"__value__": 20}})) == []


def test_a_null_on_a_float_input_is_not_judged() -> None:
    # The reader reads Python's NaN and Infinity tokens as null, and float() takes them.
    assert found(api({"cfg": None, "denoise": {"__value__": None}})) == []


def test_a_null_on_an_input_of_no_number_type_is_not_a_type_refusal() -> None:
    assert found(api({"note": None, "tiled": None, "sampler_name": None})) == []
    assert found(api({"steps": None}, node_type="Unknown")) == []


def test_an_input_named_both_as_a_null_and_as_a_text_is_not_judged() -> None:
    node = NodeUse(
        "3", "Sampler", False, False, None, None, None,
        named=(("steps", "auto"),), nulls=("steps",),
    )  # fmt: skip
    assert find_wrong_type_values([node], LAYOUTS.get) == ()


def _int_reads(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


@given(st.one_of(st.text(max_size=12), st.integers().map(str), st.floats().map(str)))
def test_an_api_prompts_text_is_found_exactly_when_int_cannot_read_it(text: str) -> None:
    expected = [] if _int_reads(text) else [("steps", text, "INT")]
    assert found(api({"steps": text})) == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["__value__", "x"]), inner, max_size=2)
    ),
    max_leaves=6,
)


def comfyui_refuses(value: Any, integer: bool) -> bool:
    """What ComfyUI's validate_inputs does with a value that is no link: take the
    __value__ wrapper off, then int() or float() it (a list is read as a link)."""
    if isinstance(value, list):
        return False  # a link, or a bad one: another error, not this check's
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    try:
        int(value) if integer else float(value)
    except Exception:
        return True
    return False


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and value.get("__value__", 0) is None)


@given(JSON_VALUES, JSON_VALUES)
def test_a_value_is_found_only_where_comfyui_refuses_it(seed: Any, cfg: Any) -> None:
    reported = {name for name, _, _ in found(api({"seed": seed, "cfg": cfg}))}
    assert "seed" not in reported or comfyui_refuses(seed, integer=True)
    assert "cfg" not in reported or comfyui_refuses(cfg, integer=False)
    # A bare text on either, and a null on the INT input, are always judged.
    if isinstance(seed, str):
        assert ("seed" in reported) == comfyui_refuses(seed, integer=True)
    if isinstance(cfg, str):
        assert ("cfg" in reported) == comfyui_refuses(cfg, integer=False)
    if is_null(seed):
        assert "seed" in reported
