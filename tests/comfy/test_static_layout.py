"""A node's widget layout read from its own source, for checking list values offline:
kept only when a list's choices are written there and every entry's place is sure."""

from __future__ import annotations

import json
import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders, patched_classes
from watchman.comfy.widget_layout import place_values
from watchman.comfy.widget_values import widget_kinds

CLIP_LOADER = """
import folder_paths

class CLIPLoader:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"clip_name": (folder_paths.get_filename_list("text_encoders"),),
                             "type": (["stable_diffusion", "sd3", "wan"],)},
                "optional": {"device": (["default", "cpu"], {"advanced": True})}}

class Sampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": ("MODEL",),
                             "seed": ("INT", {"control_after_generate": True}),
                             "cfg": ("FLOAT",),
                             "sampler_name": (SAMPLERS,),
                             "scheduler": (["normal", "karras"],),
                             "positive": (IO.CONDITIONING,),
                             "denoise": ("FLOAT", {"default": 1.0})}}

class Styler:
    @classmethod
    def INPUT_TYPES(self):
        self.styles = load_styles()
        return {"required": {"text": ("STRING",), "style": ((self.styles),),
                             "log_prompt": (["No", "Yes"],)}}

class Plain:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": ("IMAGE",), "text": ("STRING",)}}

NODE_CLASS_MAPPINGS = {"CLIPLoader": CLIPLoader, "Sampler": Sampler, "Styler": Styler,
                       "Plain": Plain}
"""


def learned(source: str = CLIP_LOADER) -> dict[str, LearnedLoader]:
    loaders, _ = learn_loaders([("nodes.py", textwrap.dedent(source).encode())])
    return {loader.node_type: loader for loader in loaders}


def test_a_written_list_gives_the_layout_with_its_choices() -> None:
    layout = learned()["CLIPLoader"].layout
    assert [(slot.name, slot.kind) for slot in layout] == [
        ("clip_name", "combo"),
        ("type", "combo"),
        ("device", "combo"),
    ]
    assert layout[0].choices is None  # a folder's files: not written here
    assert layout[1].choices == frozenset({"stable_diffusion", "sd3", "wan"})
    assert place_values(layout, widget_kinds(["t5.safetensors", "wan", "default"])) == {
        "clip_name": "t5.safetensors",
        "type": "wan",
        "device": "default",
    }


def test_a_seed_keeps_its_control_value_and_sockets_are_left_out() -> None:
    layout = learned()["Sampler"].layout
    values = [5, "fixed", 7.0, "euler", "karras", 1.0]
    assert place_values(layout, widget_kinds(values)) == {
        "sampler_name": "euler",
        "scheduler": "karras",
    }


def test_a_type_read_off_the_node_itself_makes_the_layout_unsure_and_unkept() -> None:
    loaders = learned()
    assert "Styler" not in loaders or loaders["Styler"].layout == ()
    assert "Plain" not in loaders  # no written list nor number: nothing worth keeping


def test_a_number_input_alone_makes_the_layout_worth_keeping_for_its_type() -> None:
    loaders = learned(CLIP_LOADER.replace('"text": ("STRING",)', '"steps": ("INT",)'))
    assert [slot.name for slot in loaders["Plain"].layout] == ["steps"]


def test_the_layout_survives_the_tables_json() -> None:
    loader = learned()["CLIPLoader"]
    assert LearnedLoader.from_json(json.loads(json.dumps(loader.to_json()))) == loader


def test_two_packs_defining_one_node_type_differently_leave_it_unchecked() -> None:
    first = learned()["CLIPLoader"]
    fork = learned(CLIP_LOADER.replace('"wan"]', '"wan", "qwen_image"]'))["CLIPLoader"]
    assert loader_table([first]).layout("CLIPLoader") == first.layout
    assert loader_table([first, first]).layout("CLIPLoader") == first.layout
    assert loader_table([first, fork]).layout("CLIPLoader") is None


def test_a_list_of_a_modules_class_is_a_widget_and_an_io_type_a_socket() -> None:
    source = """
    class Pick:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"model": (comfy_types.IO.MODEL,),
                                 "sampler_name": (comfy.samplers.KSampler.SAMPLERS,),
                                 "mode": (["a", "b"],)}}

    NODE_CLASS_MAPPINGS = {"Pick": Pick}
    """
    layout = learned(source)["Pick"].layout
    assert [(slot.name, slot.kind) for slot in layout] == [
        ("sampler_name", "combo"),
        ("mode", "combo"),
    ]


def test_a_new_list_choice_changes_what_the_needs_read_not_what_a_parse_reads() -> None:
    before = loader_table(learned().values())
    after = loader_table(learned(CLIP_LOADER.replace('"wan"]', '"wan", "flux2"]')).values())
    assert before.digest == after.digest  # no workflow parses again
    assert before.checks_digest != after.checks_digest  # every needs is assessed again


def layout_of(source: str, node_type: str = "Foo", *others: tuple[str, str]) -> object:
    files = [("nodes.py", textwrap.dedent(source).encode())]
    files += [(name, textwrap.dedent(text).encode()) for name, text in others]
    loaders, _ = learn_loaders(files)
    found = {loader.node_type: loader for loader in loaders}.get(node_type)
    return found.layout if found is not None else ()


PLAIN = """
class Foo:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"mode": (["a", "b"],), "strength": ("FLOAT",)}}

NODE_CLASS_MAPPINGS = {"Foo": Foo}
"""


def test_a_plain_class_returning_one_written_dict_has_its_layout() -> None:
    assert layout_of(PLAIN)


def test_inputs_not_all_written_in_one_returned_dict_keep_no_layout() -> None:
    variants = {
        "an input named twice": '{"required": {"mode": (["a"],), "mode": (["a", "c"],)}}',
        "a spread section": '{"required": {**BASE, "mode": (["a", "b"],)}}',
        "a spread dict": '{**EXTRA, "required": {"mode": (["a", "b"],)}}',
        "a name": "INPUTS",
    }
    for why, returned in variants.items():
        source = PLAIN.replace(
            'return {"required": {"mode": (["a", "b"],), "strength": ("FLOAT",)}}',
            f"return {returned}",
        )
        assert layout_of(source) == (), why
    two_returns = PLAIN.replace(
        "        return {",
        '        if fp8():\n            return {"required": {"mode": (["a", "b", "c"],)}}\n'
        "        return {",
    )
    assert layout_of(two_returns) == ()


def test_a_class_comfyui_may_run_otherwise_than_its_body_says_keeps_no_layout() -> None:
    variants = {
        "a base": PLAIN.replace("class Foo:", "class Foo(Base):"),
        "a decorator": PLAIN.replace("class Foo:", "@variant\nclass Foo:"),
        "defined twice": PLAIN.replace("class Foo:", "class Foo:\n    pass\n\nclass Foo:"),
        "patched": PLAIN + "\nFoo.VALIDATE_INPUTS = classmethod(lambda cls, **kw: True)\n",
        "set": PLAIN + '\nsetattr(Foo, "VALIDATE_INPUTS", check)\n',
    }
    for why, source in variants.items():
        assert layout_of(source) == (), why
    assert layout_of(PLAIN.replace("class Foo:", "class Foo(object):"))
    # Another file of the pack patching it, or defining a class of the same name.
    patch = ("patches.py", "from .nodes import Foo\nFoo.INPUT_TYPES = classmethod(wider)\n")
    assert layout_of(PLAIN, "Foo", patch) == ()
    other = ("legacy.py", PLAIN.replace('"b"]', '"b", "c"]').replace("NODE_CLASS", "OLD"))
    assert layout_of(PLAIN, "Foo", other) == ()


def test_patches_are_found_from_the_attributes_name_outwards() -> None:
    source = b"""
Foo.INPUT_TYPES = classmethod(wide)
Bar . VALIDATE_INPUTS=check
if Baz.VALIDATE_INPUTS == other: pass
setattr( Qux, "validate_inputs", check)
"""
    assert patched_classes(source) == {"Foo", "Bar", "Qux"}


KSAMPLER = """
class KSampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": ("MODEL",),
                             "seed": ("INT", {"control_after_generate": True}),
                             "steps": ("INT",), "cfg": ("FLOAT",),
                             "sampler_name": (comfy.samplers.KSampler.SAMPLERS,),
                             "scheduler": (comfy.samplers.KSampler.SCHEDULERS, {"tooltip": "t"}),
                             "positive": ("CONDITIONING",), "latent_image": ("LATENT",),
                             "denoise": ("FLOAT",)}}

NODE_CLASS_MAPPINGS = {"KSampler": KSampler}
"""

SAMPLER_LISTS = {
    "KSampler.SAMPLERS": frozenset({"euler", "dpmpp_2m"}),
    "KSampler.SCHEDULERS": frozenset({"simple", "karras"}),
}


def test_comfyuis_sampler_lists_are_kept_by_name_and_take_the_installs_choices() -> None:
    loader = learned(KSAMPLER)["KSampler"]  # kept though no list is written in it
    assert [(slot.name, slot.shared) for slot in loader.layout if slot.shared] == [
        ("sampler_name", "KSampler.SAMPLERS"),
        ("scheduler", "KSampler.SCHEDULERS"),
    ]
    assert all(slot.choices is None for slot in loader.layout)  # the pack cache keeps names
    assert LearnedLoader.from_json(json.loads(json.dumps(loader.to_json()))) == loader
    layout = loader_table([loader], SAMPLER_LISTS).layout("KSampler")
    assert layout is not None
    choices = {slot.name: slot.choices for slot in layout if slot.shared}
    assert choices == {
        "sampler_name": {"euler", "dpmpp_2m"},
        "scheduler": {"simple", "karras"},
    }
    values = [1, "randomize", 20, 8.0, "res_multistep", "karras", 1.0]
    assert place_values(layout, widget_kinds(values)) is not None


def test_without_the_installs_sampler_lists_their_inputs_are_not_checked() -> None:
    loader = learned(KSAMPLER)["KSampler"]
    layout = loader_table([loader]).layout("KSampler")
    assert layout is not None
    assert all(slot.choices is None for slot in layout if slot.shared)


def test_a_change_of_the_sampler_lists_changes_what_the_needs_read() -> None:
    loader = learned(KSAMPLER)["KSampler"]
    before = loader_table([loader], SAMPLER_LISTS)
    wider = {**SAMPLER_LISTS, "KSampler.SCHEDULERS": frozenset({"simple", "karras", "beta"})}
    after = loader_table([loader], wider)
    assert before.digest == after.digest
    assert before.checks_digest != after.checks_digest
    assert loader_table([loader]).checks_digest != before.checks_digest


V3_NODES = """
from comfy_api.latest import io
import comfy.samplers

class KSamplerSelect(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="KSamplerSelect",
            category="sampling/custom_sampling/samplers",
            inputs=[io.Combo.Input("sampler_name", options=comfy.samplers.SAMPLER_NAMES)],
            outputs=[io.Sampler.Output()],
        )

class ModelSamplingPick(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ModelSamplingPick",
            inputs=[
                io.Model.Input("model"),
                io.Int.Input("seed", control_after_generate=True),
                io.Combo.Input("sampling", options=["eps", "v_prediction", "lcm"]),
                io.Boolean.Input("zsnr", default=False, optional=True),
                io.Float.Input("shift", default=1.0),
                io.Image.Input("image", optional=True),
            ],
            outputs=[io.Model.Output()],
        )
"""


def test_a_v3_schemas_inputs_give_the_layout_required_then_optional() -> None:
    loaders = learned(V3_NODES)
    layout = loaders["ModelSamplingPick"].layout
    assert [(slot.name, slot.kind) for slot in layout] == [
        ("seed", "number"),
        (None, "control"),
        ("sampling", "combo"),
        ("shift", "number"),
        ("zsnr", "boolean"),
    ]
    assert layout[2].choices == {"eps", "v_prediction", "lcm"}
    values = [5, "fixed", "eps", 1.0, False]
    assert place_values(layout, widget_kinds(values)) == {"sampling": "eps"}
    (select,) = loaders["KSamplerSelect"].layout
    assert (select.name, select.kind, select.shared) == ("sampler_name", "combo", "SAMPLER_NAMES")


def test_a_v3_schema_whose_place_of_an_input_is_not_sure_gives_no_layout() -> None:
    plain = V3_NODES.split("class ModelSamplingPick")[1]
    source = "class ModelSamplingPick" + plain
    for unsure in (
        'io.Custom("STYLE").Input("style"),',  # a type of the pack's own: socket or widget?
        'io.DynamicCombo.Input("mode", options=[]),',
        'io.Float.Input("strength", optional=flag),',
        'io.Float.Input("seed"),',  # an input named twice
        "*more_inputs,",
    ):
        changed = source.replace('io.Model.Input("model"),', 'io.Model.Input("model"), ' + unsure)
        assert (
            "ModelSamplingPick" not in learned(changed)
            or not learned(changed)["ModelSamplingPick"].layout
        ), unsure


def test_a_v3_layout_is_kept_only_off_a_plain_comfynode_with_one_schema() -> None:
    source = "class ModelSamplingPick" + V3_NODES.split("class ModelSamplingPick")[1]
    assert learned(source)["ModelSamplingPick"].layout
    for changed in (
        source.replace("(io.ComfyNode)", "(MyBase)"),
        "@register\n" + source,
        source.replace(
            "        return io.Schema(",
            "        if x:\n            return None\n        return io.Schema(",
        ),
        source + "\nModelSamplingPick.define_schema = other\n",
        source + "\nclass Again(io.ComfyNode):\n" + source.split("(io.ComfyNode):\n")[1],
    ):
        loaders = learned(changed)
        assert "ModelSamplingPick" not in loaders or not loaders["ModelSamplingPick"].layout


def test_a_combo_whose_options_are_comfyuis_sampler_list_takes_the_installs_choices() -> None:
    source = KSAMPLER.replace(
        '"scheduler": (comfy.samplers.KSampler.SCHEDULERS, {"tooltip": "t"})',
        '"scheduler": ("COMBO", {"options": comfy.samplers.SCHEDULER_NAMES})',
    )
    loader = learned(source)["KSampler"]
    assert [slot.shared for slot in loader.layout if slot.name == "scheduler"] == [
        "SCHEDULER_NAMES"
    ]


def test_a_v3_input_whose_flags_are_not_read_by_place_or_by_name_gives_no_layout() -> None:
    source = "class ModelSamplingPick" + V3_NODES.split("class ModelSamplingPick")[1]
    for unsure in (
        'io.String.Input("prefix", extra_dict={"forceInput": True}),',  # a socket after all
        'io.Combo.Input("opt_mode", ["x", "y"], "Optional mode", True),',  # optional=True
        'io.Int.Input("steps", "Steps"),',
    ):
        changed = source.replace('io.Model.Input("model"),', 'io.Model.Input("model"), ' + unsure)
        loaders = learned(changed)
        assert "ModelSamplingPick" not in loaders or not loaders["ModelSamplingPick"].layout, unsure


def test_only_comfyuis_own_comfynode_makes_a_v3_class_plain() -> None:
    body = V3_NODES.split("class ModelSamplingPick(io.ComfyNode)")[1]
    imported = "from comfy_api.latest.io import ComfyNode\nclass ModelSamplingPick(ComfyNode)"
    assert learned(imported + body)["ModelSamplingPick"].layout
    own = "from .base import ComfyNode\nclass ModelSamplingPick(ComfyNode)"
    loaders = learned(own + body)
    assert "ModelSamplingPick" not in loaders or not loaders["ModelSamplingPick"].layout


def test_a_v3_node_subclassed_anywhere_in_its_pack_keeps_no_layout() -> None:
    source = textwrap.dedent(V3_NODES).encode()
    subclass = (
        b"from .nodes import ModelSamplingPick\n\nclass Lenient(ModelSamplingPick):\n    pass\n"
    )
    alone, _ = learn_loaders([("nodes.py", source)])
    assert {loader.node_type: loader for loader in alone}["ModelSamplingPick"].layout
    both, _ = learn_loaders([("nodes.py", source), ("lenient.py", subclass)])
    found = {loader.node_type: loader for loader in both}
    assert "ModelSamplingPick" not in found or not found["ModelSamplingPick"].layout


# A property: the layout read from a class's source, when the reader gives one, is the
# layout a live server's definition of that same class gives. The classes are the test's
# own, run here (never a pack's) to get the definition ComfyUI would send.
_ENTRIES = (
    '("MODEL",)',
    '("IMAGE", {"tooltip": "t"})',
    '("INT", {"default": 1})',
    '("INT", {"control_after_generate": True})',
    '("FLOAT", {"min": 0.0})',
    '("STRING", {"multiline": True})',
    '("STRING", {"forceInput": True})',
    '("BOOLEAN", {"default": False})',
    '(["a", "b", "c"],)',
    '(["x", "y"], {"default": "x"})',
    '(["img.png"], {"image_upload": True})',
    '("COMBO", {"options": ["p", "q"]})',
    '("COMBO", {"options": ["p"], "control_after_generate": True})',
    "(comfy.samplers.KSampler.SAMPLERS,)",
    '(comfy.samplers.KSampler.SCHEDULERS, {"tooltip": "s"})',
    "([1, 2, 3],)",
    '("INT", {"min": 1, "max": 10000})',
    '("FLOAT", {"min": -1.5, "max": LIMIT, "step": 0.5})',
    '("INT", {"min": 0, "control_after_generate": True})',
)
_NAMES = ("seed", "steps", "mode", "image", "text", "clip", "strength", "noise_seed", "pick")


@st.composite
def _node_sources(draw: st.DrawFn) -> str:
    sections = []
    for section in ("required", "optional"):
        count = draw(st.integers(0 if section == "optional" else 1, 4))
        names = draw(st.lists(st.sampled_from(_NAMES), min_size=count, max_size=count, unique=True))
        entries = ", ".join(f'"{name}": {draw(st.sampled_from(_ENTRIES))}' for name in names)
        sections.append(f'"{section}": {{{entries}}}')
    return (
        "LIMIT = 8.0\n"
        "class Generated:\n"
        "    @classmethod\n"
        "    def INPUT_TYPES(s):\n"
        f"        return {{{', '.join(sections)}}}\n"
        'NODE_CLASS_MAPPINGS = {"Generated": Generated}\n'
    )


def _served_layout(source: str) -> object:
    import types

    from watchman.comfy.widget_layout import widget_layout

    samplers = types.SimpleNamespace(
        KSampler=types.SimpleNamespace(SAMPLERS=["euler", "ddim"], SCHEDULERS=["simple"])
    )
    namespace: dict[str, object] = {"comfy": types.SimpleNamespace(samplers=samplers)}
    exec(compile(source, "generated", "exec"), namespace)  # the test's own class
    inputs = namespace["Generated"].INPUT_TYPES()  # type: ignore[attr-defined]
    order = {section: list(specs) for section, specs in inputs.items()}
    return widget_layout({"input": inputs, "input_order": order})


@settings(max_examples=300, deadline=None)
@given(source=_node_sources())
def test_a_layout_read_from_source_is_the_layout_the_server_would_give(source: str) -> None:
    lists = {
        "KSampler.SAMPLERS": frozenset({"euler", "ddim"}),
        "KSampler.SCHEDULERS": frozenset({"simple"}),
    }
    loaders, _ = learn_loaders([("nodes.py", source.encode())])
    found = {loader.node_type: loader for loader in loaders}.get("Generated")
    if found is None or not found.layout:
        return  # not laid out offline: never checked, nothing to compare
    static = loader_table([found], lists).layout("Generated")
    served = _served_layout(source)
    assert static is not None and served is not None
    assert [(s.name, s.kind, s.choices, s.optional, s.range) for s in static] == [
        (s.name, s.kind, s.choices, s.optional, s.range) for s in served
    ], source
