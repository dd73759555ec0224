"""What ComfyUI's comparison of a link's type with its input's declared type passes, and
the types read from a live server's definitions."""

from __future__ import annotations

import pytest

from watchman.comfy.link_types import (
    CHOICES,
    LinkTypes,
    fits,
    link_types_from_json,
    link_types_json,
    link_types_of,
)


def test_equal_types_fit_and_different_ones_do_not() -> None:
    assert fits("IMAGE", "IMAGE")
    assert not fits("MASK", "IMAGE")
    assert not fits("image", "IMAGE")  # ComfyUI compares case and all


def test_a_star_on_either_side_fits_anything() -> None:
    assert fits("*", "IMAGE")
    assert fits("LATENT", "*")
    assert fits("LATENT,*", "IMAGE")


def test_a_v3_match_type_on_either_side_is_left_to_the_frontend() -> None:
    assert fits("COMFY_MATCHTYPE_V3", "IMAGE")
    assert fits("MASK", "COMFY_MATCHTYPE_V3")


def test_unions_fit_when_they_share_a_type_spaces_aside() -> None:
    assert fits("IMAGE", "IMAGE,MASK")
    assert fits("INT, FLOAT", "FLOAT")
    assert fits("STRING,BOOLEAN", "STRING,INT")
    assert not fits("IMAGE,MASK", "LATENT,MODEL")


def test_a_list_of_choices_takes_no_text_type_but_a_star_or_match_type() -> None:
    assert not fits("COMBO", CHOICES)
    assert not fits("STRING", CHOICES)
    assert fits("*", CHOICES)
    assert fits("COMFY_MATCHTYPE_V3", CHOICES)


def test_a_definition_gives_its_outputs_and_its_inputs_declared_types() -> None:
    definition = {
        "input": {
            "required": {
                "image": ["IMAGE"],
                "method": [["nearest", "bilinear"], {}],
                "width": ["INT", {"min": 1}],
            },
            "optional": {"mask": ["MASK", {}], "odd": [3], "empty": []},
            "hidden": {"prompt": "PROMPT"},
        },
        "output": ["IMAGE", "MASK"],
    }
    assert link_types_of(definition) == LinkTypes(
        ("IMAGE", "MASK"),
        (("image", "IMAGE"), ("mask", "MASK"), ("method", CHOICES), ("width", "INT")),
        None,  # the server does not say what its validation takes
    )


def test_an_output_list_holding_choices_leaves_the_outputs_unknown() -> None:
    found = link_types_of({"input": {}, "output": [["a", "b"], "IMAGE"]})
    assert found is not None and found.outputs is None


def test_what_is_not_a_definition_gives_nothing() -> None:
    assert link_types_of("KSampler") is None
    assert link_types_of({"output_node": True}) is None
    assert link_types_of({"output": ["LATENT"]}) == LinkTypes(("LATENT",), (), None)


def test_types_come_back_through_json_and_malformed_ones_are_refused() -> None:
    types = LinkTypes(("IMAGE", "MASK"), (("image", "IMAGE"), ("how", CHOICES)), False)
    written = link_types_json(types)
    assert link_types_from_json(written) == LinkTypes(
        types.outputs, tuple(sorted(types.inputs)), False
    )
    assert link_types_from_json(link_types_json(None)) is None
    assert link_types_from_json([None, [], None]) == LinkTypes(None, (), None)
    for malformed in ([["IMAGE", 3], [], None], [[], [["a"]], None], [[], [], "no"], {}):
        with pytest.raises(ValueError):
            link_types_from_json(malformed)
