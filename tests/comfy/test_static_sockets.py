"""Required sockets and output flags read from a node's source, never run."""

from __future__ import annotations

import ast
import textwrap

import pytest

from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.static_sockets import (
    is_written_socket,
    rules_of,
    sockets_digest,
    sockets_from_json,
    sockets_json,
    v3_sockets,
    written_output,
    written_sockets,
    written_type,
)


def input_types(body: str) -> ast.FunctionDef:
    source = "def INPUT_TYPES(s):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    return function


def entry(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def schema_inputs(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def test_a_written_type_is_read_as_text_whichever_way_it_is_written() -> None:
    assert written_type(entry('("MODEL",)')) == "MODEL"
    assert written_type(entry("(IO.MODEL,)")) == "MODEL"
    assert written_type(entry("(Types.MODEL,)")) == "MODEL"
    assert written_type(entry("(any_type,)")) is None
    assert written_type(entry("(comfy.samplers.KSampler.SAMPLERS,)")) is None


def test_written_socket_types_are_sockets_and_widget_types_are_not() -> None:
    assert is_written_socket(entry('("MODEL",)'))
    assert is_written_socket(entry('("WANVIDEOMODEL", {"tooltip": "x"})'))
    assert is_written_socket(entry('("*",)'))
    assert is_written_socket(entry("(IO.IMAGE,)"))
    assert is_written_socket(entry("(comfy_types.IO.LATENT,)"))
    assert is_written_socket(entry("(Types.VAE,)"))  # a pack's alias of a core type
    assert not is_written_socket(entry('("INT", {"default": 1})'))
    assert not is_written_socket(entry('("AUDIO_RECORD", {})'))  # ComfyUI's recorder widget
    assert not is_written_socket(entry("(Types.WEBCAM,)"))
    assert not is_written_socket(entry('("LOAD_3D", {})'))  # the frontend's 3D viewer
    assert not is_written_socket(entry('("STRING", {"multiline": True})'))
    assert not is_written_socket(entry("(IO.INT, {})"))
    assert not is_written_socket(entry('(["euler", "ddim"],)'))
    assert not is_written_socket(entry("(comfy.samplers.KSampler.SAMPLERS,)"))


def test_a_widget_forced_to_a_socket_is_one_only_when_written_true() -> None:
    assert is_written_socket(entry('("STRING", {"forceInput": True})'))
    assert is_written_socket(entry('("INT", {"forceInput": 1})'))
    assert not is_written_socket(entry('("STRING", {"forceInput": False})'))
    assert not is_written_socket(entry('("STRING", {"forceInput": flag})'))


def test_a_type_held_elsewhere_is_never_taken_for_a_socket() -> None:
    assert not is_written_socket(entry("(any_type,)"))
    assert not is_written_socket(entry("(s.styles,)"))
    assert not is_written_socket(entry("(get_type(),)"))
    assert not is_written_socket(entry('"MODEL"'))  # not an entry at all
    assert not is_written_socket(entry('("",)'))


def test_only_the_required_section_of_a_written_dict_gives_sockets() -> None:
    function = input_types("""
        return {
            "required": {
                "model": ("MODEL",),
                "seed": ("INT", {}),
                "text": ("STRING", {"forceInput": True}),
                "wan": ("WANVIDEOMODEL",),
                "colour": ("COLOR",),
                "mixed": ("MyModel",),
                "lazy": ("WANVAE", {"lazy": True, "tooltip": "the VAE"}),
                "styled": ("STYLE_SPEC", {"widgetType": "STRING"}),
                "opened": ("STYLE_SPEC", {**base_options}),
                "held": ("STYLE_SPEC", options),
            },
            "optional": {"mask": ("MASK",), "extra": ("EXTRA_TYPE",)},
            "hidden": {"prompt": "PROMPT"},
        }
    """)
    # The forced widget is required, though not of a type every frontend lists; a pack's
    # own type in capitals is kept with its type, unless the frontend makes a widget of
    # it (COLOR) or it is not written as packs write a data type.
    # An option the frontend may make a widget of (widgetType), or options not written
    # in place, keep a pack type from being judged.
    assert written_sockets(function) == (
        {"model", "text", "wan", "colour", "mixed", "lazy", "styled", "opened", "held"},
        {"model"},
        {("wan", "WANVIDEOMODEL"), ("lazy", "WANVAE")},
    )


def test_a_dict_without_a_required_section_requires_nothing() -> None:
    assert written_sockets(input_types('return {"optional": {"mask": ("MASK",)}}')) == (
        set(),
        set(),
        set(),
    )


@pytest.mark.parametrize(
    "body",
    [
        'if s.advanced:\n    return {"required": {"a": ("MODEL",)}}\nreturn {"required": {}}',
        'inputs = {"required": {"a": ("MODEL",)}}\nreturn inputs',
        'return {"required": {"a": ("MODEL",)}, **more}',
        'return {"required": {"a": ("MODEL",), **more}}',
        'return {"required": base() | {"a": ("MODEL",)}}',
        'return {"required": {"a": ("MODEL",), "a": ("INT", {})}}',
    ],
)
def test_input_types_built_any_other_way_leave_the_sockets_unknown(body: str) -> None:
    assert written_sockets(input_types(body)) is None


def test_v3_inputs_of_core_socket_types_that_are_not_optional_are_required_sockets() -> None:
    inputs = schema_inputs("""[
        io.Model.Input("model"),
        io.Image.Input(id="image"),
        io.Mask.Input("mask", optional=True),
        io.Latent.Input("latent", optional=False),
        io.Int.Input("steps", default=20),
        io.String.Input("text", force_input=True),
        io.Custom("WANVIDEOMODEL").Input("wan"),
        io.Custom("COMFY_AUTOGROW_V3").Input("grown"),
        io.Custom("WANVIDEOMODEL").Input("spare", optional=True),
        io.Custom("WANVAE").Input("vae2", tooltip="t", lazy=True),
        io.Custom("STYLE_SPEC").Input("styled", extra_dict={"widgetType": "STRING"}),
        io.Autogrow.Input("images", template=t),
        io.MatchType.Input("any", template=t),
        io.Vae.Input("vae", optional=is_optional),
        io.Clip.Input("clip", **extra),
        io.Conditioning.Input("positive", "Positive", True),
        io.SVG.Input("svg"),
        io.Load3D.Input("viewer"),
    ]""")
    assert v3_sockets(inputs) == (
        {"model", "image", "latent", "text", "wan", "grown", "vae2", "styled", "svg"},
        {"model", "image", "latent"},  # of core types, which every frontend lists
        {("wan", "WANVIDEOMODEL"), ("vae2", "WANVAE")},  # listed unless a script names it
    )


def test_v3_inputs_built_elsewhere_leave_the_sockets_unknown() -> None:
    assert v3_sockets(schema_inputs("make_inputs()")) is None
    assert v3_sockets(None) is None


def test_an_output_flag_is_read_only_when_written() -> None:
    assert written_output(entry("True")) is True
    assert written_output(entry("False")) is False
    assert written_output(entry("flag")) is None
    assert written_output(None) is None


def test_rules_are_kept_for_a_required_socket_or_a_known_output_flag() -> None:
    nothing: frozenset[str] = frozenset()
    assert rules_of(None, None) is None
    no_types: frozenset[tuple[str, str]] = frozenset()
    assert rules_of((nothing, nothing, no_types), None) is None
    assert rules_of((nothing, nothing, no_types), False) == SocketRules(nothing, False)
    assert rules_of((frozenset({"a"}), nothing, no_types), None) == SocketRules(
        frozenset({"a"}), False, output_known=False
    )
    assert rules_of(None, True) == SocketRules(nothing, True)
    written = (frozenset({"a", "b", "c"}), frozenset({"a"}), frozenset({("c", "MY_TYPE")}))
    assert rules_of(written, True) == SocketRules(
        frozenset({"a", "b", "c"}), True, frozenset({"a"}), typed=(("c", "MY_TYPE"),)
    )


def test_rules_survive_a_json_round_trip_and_malformed_ones_are_refused() -> None:
    sockets = (
        ("KSampler", SocketRules(frozenset({"model", "seed"}), False, frozenset({"model"}))),
        ("Note", SocketRules(frozenset(), False)),
        ("Preview", SocketRules(frozenset({"images"}), False, output_known=False)),
        ("SaveImage", SocketRules(frozenset({"images"}), True)),
        ("WanSampler", SocketRules(frozenset({"wan"}), False, typed=(("wan", "WANVIDEOMODEL"),))),
    )
    assert sockets_from_json(sockets_json(sockets)) == sockets
    assert sockets_json(sockets)["Preview"][1] is None  # not known: null
    for malformed in (
        [],
        {"A": ["model", True, []]},
        {"A": [["model"], "yes", []]},
        {"A": [[1], True, []]},
        {"A": [["model"], True]},  # written before the listed inputs were read
        {"A": [["model"], True, []]},  # written before a pack's own types were read
        {"A": [["model"], True, [], [["wan"]]]},
    ):
        with pytest.raises(ValueError):
            sockets_from_json(malformed)


def test_the_digest_changes_with_a_required_socket_or_an_output_flag() -> None:
    base = {"A": SocketRules(frozenset({"model"}), False)}
    assert sockets_digest(base) == sockets_digest(dict(base))
    assert sockets_digest(base) != sockets_digest({"A": SocketRules(frozenset({"vae"}), False)})
    assert sockets_digest(base) != sockets_digest({"A": SocketRules(frozenset({"model"}), True)})
    listed = {"A": SocketRules(frozenset({"model"}), False, frozenset({"model"}))}
    assert sockets_digest(base) != sockets_digest(listed)
    unsure = {"A": SocketRules(frozenset({"model"}), False, output_known=False)}
    assert sockets_digest(base) != sockets_digest(unsure)
    typed = {"A": SocketRules(frozenset({"model"}), False, typed=(("model", "MY_MODEL"),))}
    assert sockets_digest(base) != sockets_digest(typed)
