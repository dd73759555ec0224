"""The types a node's links carry, read from a pack's source: only what it writes in
place, its bases followed inside the pack, anything else left unknown."""

from __future__ import annotations

import textwrap

from watchman.comfy.link_types import CHOICES, LinkTypes
from watchman.comfy.loader_source import read_pack


def types(source: str, file_name: str = "nodes.py") -> dict[str, LinkTypes | None]:
    """The link types of each node type the pack's rules keep."""
    reading = read_pack([(file_name, textwrap.dedent(source).encode())])
    return {node_type: rules.types for node_type, rules in reading.sockets}


CLASSIC = """
from comfy.comfy_types import IO

class Split:
    RETURN_TYPES = ("IMAGE", IO.MASK, IO.ANY)
    @classmethod
    def INPUT_TYPES(s):
        return {
            "required": {"image": ("IMAGE",), "how": (["a", "b"],), "count": (IO.INT, {})},
            "optional": {"extra": (IO.NUMBER,), "held": (ANY_TYPE,)},
            "hidden": {"prompt": "PROMPT"},
        }

NODE_CLASS_MAPPINGS = {"Split": Split}
"""


def test_a_classic_node_gives_its_written_outputs_and_declared_inputs() -> None:
    assert types(CLASSIC)["Split"] == LinkTypes(
        ("IMAGE", "MASK", "*"),
        (("count", "INT"), ("extra", "FLOAT,INT"), ("how", CHOICES), ("image", "IMAGE")),
        False,
    )


def test_outputs_computed_or_bound_twice_are_not_known() -> None:
    source = """
    class Listed:
        RETURN_TYPES = (folder_paths.get_filename_list("loras"),)
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": ("IMAGE",)}}
    class Twice:
        if NEW:
            RETURN_TYPES = ("MASK",)
        else:
            RETURN_TYPES = ("IMAGE",)
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": ("IMAGE",)}}
    class Held:
        RETURN_TYPES = OUTPUTS
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": ("IMAGE",)}}
    NODE_CLASS_MAPPINGS = {"Listed": Listed, "Twice": Twice, "Held": Held}
    """
    found = types(source)
    for node_type in ("Listed", "Twice", "Held"):
        assert found[node_type] == LinkTypes(None, (("image", "IMAGE"),), False)


def test_inputs_of_an_input_types_built_elsewhere_are_not_known() -> None:
    source = """
    class Built:
        RETURN_TYPES = ("IMAGE",)
        @classmethod
        def INPUT_TYPES(s):
            inputs = {"required": {"image": ("IMAGE",)}}
            return inputs
    NODE_CLASS_MAPPINGS = {"Built": Built}
    """
    assert types(source)["Built"] == LinkTypes(("IMAGE",), (), False)


def test_outputs_and_validation_are_inherited_from_a_base_of_the_pack() -> None:
    source = """
    class Base:
        RETURN_TYPES = ("LATENT",)
        @classmethod
        def VALIDATE_INPUTS(cls, input_types):
            return True
    class Child(Base):
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"samples": ("LATENT",)}}
    class Own(Base):
        RETURN_TYPES = ("IMAGE",)
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"samples": ("LATENT",)}}
        @classmethod
        def VALIDATE_INPUTS(cls, samples):
            return True
    NODE_CLASS_MAPPINGS = {"Child": Child, "Own": Own}
    """
    found = types(source)
    assert found["Child"] == LinkTypes(("LATENT",), (("samples", "LATENT"),), True)
    assert found["Own"] == LinkTypes(("IMAGE",), (("samples", "LATENT"),), False)


def test_a_base_from_elsewhere_or_a_decorator_leaves_what_it_may_set_unknown() -> None:
    source = """
    from .other import Base

    class Child(Base):
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"samples": ("LATENT",)}}

    @register
    class Decorated:
        RETURN_TYPES = ("IMAGE",)
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"samples": ("LATENT",)}}

    NODE_CLASS_MAPPINGS = {"Child": Child, "Decorated": Decorated}
    """
    found = types(source)
    assert found["Child"] == LinkTypes(None, (("samples", "LATENT"),), None)
    assert found.get("Decorated") is None


def test_a_validation_taking_input_types_says_the_node_checks_its_links_itself() -> None:
    source = """
    class Switch:
        RETURN_TYPES = ("*",)
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"on_true": ("IMAGE",)}}
        @classmethod
        def VALIDATE_INPUTS(s, input_types, on_true=None):
            return True
    NODE_CLASS_MAPPINGS = {"Switch": Switch}
    """
    found = types(source)["Switch"]
    assert found is not None and found.checks_itself is True


V3 = """
from comfy_api.latest import io

class Split(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="SplitV3",
            inputs=[
                io.Image.Input("image"),
                io.Combo.Input("how", options=["a", "b"]),
                io.Custom("BOX").Input("box", optional=True),
                io.Autogrow.Input("more", template=TEMPLATE),
            ],
            outputs=[io.Image.Output(), io.Mask.Output("mask"), io.Custom("BOX").Output()],
        )

class Held(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="HeldV3",
            inputs=[io.Image.Input("image")],
            outputs=[io.Image.Output(), OUTPUT],
        )

class Checks(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="ChecksV3", inputs=[io.AnyType.Input("value")])
    @classmethod
    def validate_inputs(cls, input_types):
        return True
"""


def test_a_v3_schema_gives_its_outputs_and_the_inputs_of_types_it_knows() -> None:
    found = types(V3)
    assert found["SplitV3"] == LinkTypes(
        ("IMAGE", "MASK", "BOX"),
        (("box", "BOX"), ("how", "COMBO"), ("image", "IMAGE")),
        False,
    )


def test_a_v3_output_not_read_leaves_every_output_unknown() -> None:
    assert types(V3)["HeldV3"] == LinkTypes(None, (("image", "IMAGE"),), False)


def test_a_v3_schema_without_outputs_has_none_and_its_validation_is_read() -> None:
    assert types(V3)["ChecksV3"] == LinkTypes((), (("value", "*"),), True)
