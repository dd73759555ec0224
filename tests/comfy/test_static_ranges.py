"""A number input's range read from its node's source, never run: kept where its min
and max are written in place (a number, a negative one, or a module's name bound once to
one, as ComfyUI's MAX_RESOLUTION), under the same trust as a written list."""

from __future__ import annotations

import json
import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders, read_pack
from watchman.comfy.number_ranges import NumberRange
from watchman.comfy.widget_layout import place_numbers
from watchman.comfy.widget_values import widget_kinds
from watchman.stages.inventory.nodes import NodeInventory, NodePack
from watchman.state.json_codec import dumps_json, loads_json

LATENT = """
MAX_RESOLUTION = 16384

class EmptyLatentImage:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"width": ("INT", {"default": 1024, "min": 16, "max": MAX_RESOLUTION}),
                             "height": ("INT", {"min": 16, "max": MAX_RESOLUTION, "step": 8}),
                             "shift": ("FLOAT", {"min": -10.5, "max": 10.5}),
                             "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096})}}

NODE_CLASS_MAPPINGS = {"EmptyLatentImage": EmptyLatentImage}
"""


def ranges_of(source: str, node_type: str = "EmptyLatentImage") -> dict[str, object]:
    loaders, _ = learn_loaders([("nodes.py", textwrap.dedent(source).encode())])
    found = {loader.node_type: loader for loader in loaders}.get(node_type)
    layout = found.layout if found is not None else ()
    return {slot.name: slot.range for slot in layout if slot.name is not None}


def test_a_written_number_a_negative_one_and_a_module_constant_give_the_range() -> None:
    assert ranges_of(LATENT) == {
        "width": NumberRange(True, 16, 16384),
        "height": NumberRange(True, 16, 16384),
        "shift": NumberRange(False, -10.5, 10.5),
        "batch_size": NumberRange(True, 1, 4096),
    }


def test_a_node_with_ranges_and_no_list_keeps_its_layout_and_places_its_numbers() -> None:
    loaders, _ = learn_loaders([("nodes.py", LATENT.encode())])
    [loader] = loaders
    assert place_numbers(loader.layout, widget_kinds([8, 1024, 0.5, 1])) == {
        "width": 0,
        "height": 1,
        "shift": 2,
        "batch_size": 3,
    }
    assert LearnedLoader.from_json(json.loads(json.dumps(loader.to_json()))) == loader


def test_a_constant_not_surely_bound_once_leaves_its_side_open() -> None:
    variants = {
        "bound twice": LATENT.replace(
            "MAX_RESOLUTION = 16384", "MAX_RESOLUTION = 8192\nMAX_RESOLUTION = 16384"
        ),
        "imported too": LATENT + "\nfrom nodes_extra import MAX_RESOLUTION\n",
        "rebound by global": (
            LATENT + "\ndef widen():\n    global MAX_RESOLUTION\n    MAX_RESOLUTION = 32768\n"
        ),
        "computed": LATENT.replace("MAX_RESOLUTION = 16384", "MAX_RESOLUTION = 8192 * 2"),
        "shadowed": LATENT.replace(
            "        return {", "        MAX_RESOLUTION = s.limit\n        return {"
        ),
    }
    for why, source in variants.items():
        assert ranges_of(source)["width"] == NumberRange(True, 16, None), why


def test_a_bound_of_any_other_writing_is_open_and_the_type_stays_known() -> None:
    source = LATENT.replace('"min": -10.5, "max": 10.5', '"min": lo(), "max": nodes.MAX')
    assert ranges_of(source)["shift"] == NumberRange(False, None, None)
    source = LATENT.replace('"min": 1, "max": 4096', '"min": True, "max": 1e999')
    assert ranges_of(source)["batch_size"] == NumberRange(True, None, None)


def test_a_number_type_spelled_otherwise_than_comfyui_compares_it_keeps_no_type() -> None:
    source = LATENT.replace('("INT", {"default": 1, "min": 1', '("int", {"default": 1, "min": 1')
    assert ranges_of(source)["batch_size"] is None


V3 = """
from comfy_api.latest import io

MAX_FRAMES = 1024

class WanLength(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="WanLength",
            inputs=[
                io.Int.Input("length", default=81, min=1, max=MAX_FRAMES, step=4),
                io.Float.Input("strength", default=1.0, min=-2.0),
                io.Combo.Input("mode", options=["a", "b"]),
            ],
            outputs=[io.Latent.Output()],
        )
"""


def test_a_v3_number_input_gives_its_range() -> None:
    assert ranges_of(V3, "WanLength") == {
        "length": NumberRange(True, 1, 1024),
        "strength": NumberRange(False, -2.0, None),
        "mode": None,
    }


def test_a_patched_or_unsure_class_keeps_no_range() -> None:
    patched = LATENT + "\nEmptyLatentImage.INPUT_TYPES = classmethod(wider)\n"
    assert ranges_of(patched) == {}
    based = LATENT.replace("class EmptyLatentImage:", "class EmptyLatentImage(Base):")
    assert ranges_of(based) == {}


def test_a_class_another_enabled_pack_patches_keeps_no_range_in_the_table() -> None:
    loaders, _ = learn_loaders([("nodes.py", LATENT.encode())])
    patcher = NodePack(
        "Wider",
        "custom_nodes/Wider",
        "folder",
        True,
        None,
        None,
        None,
        (),
        patched_classes=("EmptyLatentImage",),
    )
    core = frozenset({"EmptyLatentImage"})
    inventory = NodeInventory(core, (patcher,), core_loaders=tuple(loaders))
    assert loader_table(inventory.learned_loaders()).layout("EmptyLatentImage") is None
    alone = NodeInventory(core, (), core_loaders=tuple(loaders))
    assert loader_table(alone.learned_loaders()).layout("EmptyLatentImage") is not None


def test_a_changed_range_changes_what_the_needs_read_not_what_a_parse_reads() -> None:
    wider = LATENT.replace("MAX_RESOLUTION = 16384", "MAX_RESOLUTION = 32768")
    before = loader_table(learn_loaders([("nodes.py", LATENT.encode())])[0])
    after = loader_table(learn_loaders([("nodes.py", wider.encode())])[0])
    assert before.digest == after.digest
    assert before.checks_digest != after.checks_digest


EXTRA = """
import nodes
from comfy_api.latest import io

class EmptyWanLatent(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="EmptyWanLatent",
            inputs=[io.Int.Input("width", default=832, min=16, max=nodes.MAX_RESOLUTION, step=16)],
            outputs=[io.Latent.Output()],
        )
"""


def core_ranges(files: list[tuple[str, str]], core: bool = True) -> object:
    reading = read_pack([(name, text.encode()) for name, text in files], core=core)
    found = {loader.node_type: loader for loader in reading.loaders}.get("EmptyWanLatent")
    return found.layout[0].range if found is not None else None


def test_comfyuis_own_files_read_nodes_constants_through_import_nodes() -> None:
    files = [("nodes.py", LATENT), ("comfy_extras/nodes_wan.py", EXTRA)]
    assert core_ranges(files) == NumberRange(True, 16, 16384)
    # A pack's own nodes.py is not ComfyUI's; nor is nodes read after, or imported as
    # another name.
    assert core_ranges(files, core=False) == NumberRange(True, 16, None)
    assert core_ranges(files[::-1]) == NumberRange(True, 16, None)
    aliased = EXTRA.replace("import nodes\n", "import nodes as n\n").replace("nodes.MAX", "n.MAX")
    assert core_ranges([files[0], ("comfy_extras/a.py", aliased)]) == NumberRange(True, 16, None)
    rebound = EXTRA + "\nnodes = None\n"
    assert core_ranges([files[0], ("comfy_extras/a.py", rebound)]) == NumberRange(True, 16, None)


@settings(max_examples=60, deadline=None)
@given(
    low=st.one_of(
        st.sampled_from([-0xFFFFFFFFFFFFFFFF, -(2**63) - 1, -(2**200)]),
        st.integers(-(2**80), 2**80),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    high=st.one_of(
        st.sampled_from([0xFFFFFFFFFFFFFFFF, 2**64, 10**30]),
        st.integers(-(2**80), 2**80),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
)
def test_whatever_bounds_a_pack_writes_its_reading_goes_through_the_state_files(
    low: int | float, high: int | float
) -> None:
    source = f"""
class Node:
    @classmethod
    def INPUT_TYPES(s):
        return {{"required": {{"value": ("INT", {{"min": {low!r}, "max": {high!r}}}),
                             "mode": (["a", "b"],)}}}}

NODE_CLASS_MAPPINGS = {{"Node": Node}}
"""
    loaders, _ = learn_loaders([("nodes.py", source.encode())])
    assert [loader.node_type for loader in loaders] == ["Node"]  # laid out: its list
    for loader in loaders:
        document = loads_json(dumps_json(loader.to_json()))
        again = LearnedLoader.from_json(document)
        assert loads_json(dumps_json(again.to_json())) == document
