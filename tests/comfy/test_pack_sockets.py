"""A pack's socket rules by node type: kept only for the class the pack surely runs."""

from __future__ import annotations

import textwrap
from dataclasses import replace

from watchman.comfy.loader_source import read_pack
from watchman.comfy.node_sockets import SocketRules


def socket_rules(
    required: set[str], output: bool, listed: set[str] | None = None, *, known: bool = True
) -> SocketRules:
    """Rules whose required inputs are all of core types unless ``listed`` says, and
    whose output flag is known unless ``known`` says."""
    return SocketRules(
        frozenset(required), output, frozenset(required if listed is None else listed), known
    )


def rules(*files: tuple[str, str]) -> dict[str, SocketRules]:
    """The pack's rules without their link types (``test_pack_link_types`` reads those)."""
    reading = read_pack((name, textwrap.dedent(text).encode()) for name, text in files)
    return {node_type: replace(found, types=None) for node_type, found in reading.sockets}


SAVERS = """
class Sampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": ("MODEL",), "latent": ("LATENT",), "steps": ("INT", {})}}

class Save:
    OUTPUT_NODE = True
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",), "prefix": ("STRING", {})}}

class Preview(Save):
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",)}}

class Quiet(Save):
    OUTPUT_NODE = False

class Helper:
    pass

NODE_CLASS_MAPPINGS = {
    "Sampler": Sampler, "Save": Save, "Preview": Preview, "Quiet": Quiet, "Helper": Helper,
}
"""


def test_a_pack_gives_each_mapped_class_its_required_sockets_and_output_flag() -> None:
    found = rules(("nodes.py", SAVERS))
    assert found["Sampler"] == socket_rules({"model", "latent"}, False)
    assert found["Save"] == socket_rules({"images"}, True)
    # It requires nothing and writes no OUTPUT_NODE, nor does any base: surely no output.
    assert found["Helper"] == socket_rules(set(), False)


def test_an_output_flag_is_inherited_from_a_base_of_the_pack_unless_overridden() -> None:
    found = rules(("nodes.py", SAVERS))
    assert found["Preview"] == socket_rules({"images"}, True)
    # Its INPUT_TYPES is its base's: not read as its own; it writes that it is no output.
    assert found["Quiet"] == socket_rules(set(), False)


def test_a_base_from_elsewhere_leaves_the_output_flag_unknown() -> None:
    source = """
    from .base import Saver
    class MySave(Saver):
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"images": ("IMAGE",)}}
    class Flagged:
        OUTPUT_NODE = True
    class Mixed(Saver, Flagged):
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"images": ("IMAGE",)}}
    NODE_CLASS_MAPPINGS = {"MySave": MySave, "Mixed": Mixed}
    """
    found = rules(("nodes.py", source))
    assert found["MySave"] == socket_rules({"images"}, False, known=False)
    # Saver comes first in the lookup, and what it writes is not known here.
    assert found["Mixed"] == socket_rules({"images"}, False, known=False)


def test_a_class_defined_twice_patched_or_mapped_to_two_classes_keeps_no_rules() -> None:
    twice = """
    class Twice:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"model": ("MODEL",)}}
    class Twice:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"clip": ("CLIP",)}}
    class Patched:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"model": ("MODEL",)}}
    class Other:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"vae": ("VAE",)}}
    Patched.INPUT_TYPES = lambda: {"required": {}}
    NODE_CLASS_MAPPINGS = {"Twice": Twice, "Patched": Patched, "Shared": Other}
    """
    later = """
    class Another:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"vae": ("VAE",)}}
    NODE_CLASS_MAPPINGS = {"Shared": Another}
    """
    found = rules(("a.py", twice), ("b.py", later))
    assert "Twice" not in found
    assert "Patched" not in found
    assert "Shared" not in found


def test_a_decorated_class_or_an_assigned_input_types_keeps_no_sockets() -> None:
    source = """
    @register
    class Decorated:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"model": ("MODEL",)}}
    def shared_inputs(s):
        return {"required": {"model": ("MODEL",)}}
    class Assigned:
        INPUT_TYPES = classmethod(shared_inputs)
    NODE_CLASS_MAPPINGS = {"Decorated": Decorated, "Assigned": Assigned}
    """
    found = rules(("nodes.py", source))
    assert "Decorated" not in found  # no sockets, and the decorator may make it an output
    # Its inputs are not read as its own, but nothing makes it an output.
    assert found["Assigned"] == socket_rules(set(), False)


V3 = """
from comfy_api.latest import io

class Combine(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="Combine",
            inputs=[io.Image.Input("image"), io.Mask.Input("mask", optional=True),
                    io.Int.Input("count")],
            outputs=[io.Image.Output()],
        )

class Store(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="Store",
            inputs=[io.Audio.Input("audio")],
            is_output_node=True,
        )
"""


def test_a_v3_schema_gives_its_required_sockets_and_output_flag() -> None:
    found = rules(("nodes_v3.py", V3))
    assert found["Combine"] == socket_rules({"image"}, False)
    assert found["Store"] == socket_rules({"audio"}, True)


def test_a_v3_id_two_classes_define_or_one_subclassed_keeps_no_rules() -> None:
    subclass = """
    class Louder(Store):
        pass
    """
    found = rules(("nodes_v3.py", V3), ("more.py", V3.replace("Combine", "Again")))
    assert "Store" not in found  # defined twice
    assert "Store" not in rules(("nodes_v3.py", V3), ("sub.py", subclass))


CAPITAL_IO = """
from comfy_api.latest import ComfyExtension, IO

class Crop(IO.ComfyNode):
    @classmethod
    def define_schema(cls):
        return IO.Schema(node_id="Crop", inputs=[IO.Image.Input("image"), IO.Int.Input("x")])

class SaveWebp(IO.ComfyNode):
    @classmethod
    def define_schema(cls):
        return IO.Schema(
            node_id="SaveWebp", inputs=[IO.Image.Input("images")], is_output_node=True
        )
"""


def test_a_v3_node_written_on_comfy_apis_capital_io_is_read() -> None:
    found = rules(("nodes_images.py", CAPITAL_IO))
    assert found["Crop"] == socket_rules({"image"}, False)
    assert found["SaveWebp"] == socket_rules({"images"}, True)


def test_an_io_of_the_packs_own_gives_no_v3_rules() -> None:
    own = CAPITAL_IO.replace(
        "from comfy_api.latest import ComfyExtension, IO", "from .io import IO"
    )
    assert rules(("nodes_images.py", own)) == {}


def test_a_class_derived_from_comfyuis_library_class_of_a_nodes_name_leaves_the_node_be() -> None:
    guider = """
    import comfy.samplers
    from comfy_api.latest import io

    class Guider_Basic(comfy.samplers.CFGGuider):
        pass

    class CFGGuider(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="CFGGuider", inputs=[io.Model.Input("model")])
    """
    assert rules(("nodes_custom_sampler.py", guider))["CFGGuider"] == socket_rules({"model"}, False)


def test_a_preview_derived_from_comfyuis_own_output_class_is_an_output() -> None:
    source = """
    import nodes
    from nodes import SaveImage

    class MaskPreview(SaveImage):
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"mask": ("MASK",)}}

    class Chooser(nodes.PreviewImage):
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"images": ("IMAGE",)}}

    class Quiet(SaveImage):
        OUTPUT_NODE = False
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"images": ("IMAGE",)}}

    NODE_CLASS_MAPPINGS = {"MaskPreview": MaskPreview, "Chooser": Chooser, "Quiet": Quiet}
    """
    found = rules(("nodes.py", source))
    assert found["MaskPreview"] == socket_rules({"mask"}, True)
    assert found["Chooser"] == socket_rules({"images"}, True)
    assert found["Quiet"] == socket_rules({"images"}, False)


def test_a_pack_defining_its_own_class_of_that_name_is_read_as_its_own() -> None:
    source = """
    class SaveImage:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"images": ("IMAGE",)}}

    class Mine(SaveImage):
        pass

    NODE_CLASS_MAPPINGS = {"Mine": Mine}
    """
    # The pack's own SaveImage writes no OUTPUT_NODE: Mine is surely no output.
    assert rules(("nodes.py", source))["Mine"] == socket_rules(set(), False)


def test_an_output_flag_is_unknown_where_the_body_is_not_all_the_class_holds() -> None:
    source = """
    import random
    class Computed:
        OUTPUT_NODE = random.random() > 0.5
    class WithMeta(metaclass=Registry):
        pass
    class Twice:
        pass
    class Twice:
        OUTPUT_NODE = True
    class ChildOfTwice(Twice):
        pass
    class Patched:
        pass
    Patched.OUTPUT_NODE = True
    class Either:
        if SAVES:
            OUTPUT_NODE = True
        else:
            OUTPUT_NODE = False
    NODE_CLASS_MAPPINGS = {"Computed": Computed, "WithMeta": WithMeta, "Twice": Twice,
                           "ChildOfTwice": ChildOfTwice, "Patched": Patched, "Either": Either}
    """
    found = rules(("nodes.py", source))
    for node_type in ("Computed", "WithMeta", "Twice", "ChildOfTwice", "Patched", "Either"):
        assert node_type not in found, node_type


def test_comfyui_s_own_node_bases_write_no_output_flag_unless_the_pack_defines_them() -> None:
    core_bases = """
    from comfy.comfy_types.node_typing import ComfyNodeABC
    class Encode(ComfyNodeABC):
        pass
    NODE_CLASS_MAPPINGS = {"Encode": Encode}
    """
    assert rules(("nodes.py", core_bases))["Encode"] == socket_rules(set(), False)
    own_base = """
    class ComfyNodeABC:
        OUTPUT_NODE = True
    class Encode(ComfyNodeABC):
        pass
    NODE_CLASS_MAPPINGS = {"Encode": Encode}
    """
    assert rules(("nodes.py", own_base))["Encode"] == socket_rules(set(), True)


def test_a_v3_schema_without_an_output_flag_is_no_output_unless_options_may_set_it() -> None:
    source = """
    from comfy_api.latest import io
    class Plain(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Plain", inputs=[io.Int.Input("count")])
    class Spread(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Spread", inputs=[io.Int.Input("count")], **OPTIONS)
    class Computed(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Computed", inputs=[], is_output_node=SAVES)
    class Saver(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="Saver", inputs=[], is_output_node=True)
    """
    found = rules(("nodes.py", source))
    assert found["Plain"] == socket_rules(set(), False)
    # Kept for the types their links carry, with no output flag known.
    assert found["Spread"] == socket_rules(set(), False, known=False)
    assert found["Computed"] == socket_rules(set(), False, known=False)
    assert found["Saver"] == socket_rules(set(), True)
