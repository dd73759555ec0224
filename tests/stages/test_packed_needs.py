"""A workflow's needs packed as positional arrays come back equal through JSON."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from tests.stages.test_needs import CORE, INVENTORY
from tests.stages.test_needs_cache import PARSED
from watchman.stages.link_type_needs import MismatchedLink
from watchman.stages.needs import assess_workflow
from watchman.stages.packed_needs import pack_needs, unpack_needs
from watchman.stages.range_needs import OutOfRangeValue
from watchman.stages.socket_needs import InactiveOutput, NoOutput, UnlinkedInput
from watchman.stages.type_needs import WrongTypeValue
from watchman.stages.value_needs import UnlistedValue


def test_packed_needs_come_back_equal_through_json() -> None:
    needs = assess_workflow(PARSED, INVENTORY, CORE)
    assert needs.missing_models and needs.missing_nodes and needs.inactive_models
    assert unpack_needs(orjson.loads(orjson.dumps(pack_needs(needs)))) == needs


def test_a_need_s_count_of_further_places_comes_back_through_json() -> None:
    needs = assess_workflow(PARSED, INVENTORY, CORE)
    many = replace(
        needs,
        missing_models=tuple(
            replace(need, more_locations=need.more_locations + 40) for need in needs.missing_models
        ),
    )
    assert unpack_needs(orjson.loads(orjson.dumps(pack_needs(many)))) == many


def test_a_need_names_its_parse_s_reference_by_position_and_gets_that_very_one() -> None:
    needs = assess_workflow(PARSED, INVENTORY, CORE)
    packed = orjson.loads(orjson.dumps(pack_needs(needs, PARSED.model_refs)))
    assert all(type(need[0]) is int for need in packed[1])
    back = unpack_needs(packed, PARSED.model_refs)
    assert back == needs
    assert back.missing_models[0].reference is PARSED.model_refs[0]


def test_unlisted_values_come_back_through_json() -> None:
    needs = replace(
        assess_workflow(PARSED, INVENTORY, CORE),
        unlisted_values=(UnlistedValue("5", "KSampler", "scheduler", "beta57", 3, ("beta",)),),
    )
    assert unpack_needs(orjson.loads(orjson.dumps(pack_needs(needs)))) == needs


def test_unlinked_inputs_come_back_through_json() -> None:
    needs = replace(
        assess_workflow(PARSED, INVENTORY, CORE),
        unlinked_inputs=(UnlinkedInput("7", "VAEDecode", ("samples", "vae")),),
    )
    assert unpack_needs(orjson.loads(orjson.dumps(pack_needs(needs)))) == needs


def test_a_missing_output_comes_back_through_json() -> None:
    base = assess_workflow(PARSED, INVENTORY, CORE)
    for no_output in (
        NoOutput(()),
        NoOutput(
            (InactiveOutput("9", "SaveImage", "bypassed"), InactiveOutput("10", "X", "muted"))
        ),
    ):
        needs = replace(base, no_output=no_output)
        assert unpack_needs(orjson.loads(orjson.dumps(pack_needs(needs)))) == needs
    assert unpack_needs(orjson.loads(orjson.dumps(pack_needs(base)))).no_output is None


def test_numbers_out_of_range_come_back_through_json_and_a_malformed_one_is_refused() -> None:
    needs = replace(
        assess_workflow(PARSED, INVENTORY, CORE),
        out_of_range=(
            OutOfRangeValue("3", "KSampler", "steps", 20000, "above", 1, 10000),
            OutOfRangeValue("4", "Strength", "strength", -2.5, "below", -2.0, None),
        ),
    )
    packed = orjson.loads(orjson.dumps(pack_needs(needs)))
    assert unpack_needs(packed) == needs
    packed[-3][0][4] = "beside"
    with pytest.raises(ValueError, match="another shape"):
        unpack_needs(packed)


def test_values_of_another_type_come_back_through_json_and_a_malformed_one_is_refused() -> None:
    needs = replace(
        assess_workflow(PARSED, INVENTORY, CORE),
        wrong_type=(
            WrongTypeValue("3", "KSampler", "steps", "1.5", "INT"),
            WrongTypeValue("4", "Strength", "strength", "", "FLOAT"),
        ),
    )
    packed = orjson.loads(orjson.dumps(pack_needs(needs)))
    assert unpack_needs(packed) == needs
    packed[-2][0][4] = "STRING"
    with pytest.raises(ValueError, match="no number type"):
        unpack_needs(packed)
    packed[-2][0][4] = "INT"
    packed[-2][0][3] = 1.5
    with pytest.raises(TypeError, match="another shape"):
        unpack_needs(packed)


def test_mismatched_links_come_back_through_json_and_a_malformed_one_is_refused() -> None:
    needs = replace(
        assess_workflow(PARSED, INVENTORY, CORE),
        mismatched_links=(
            MismatchedLink("7", "SaveImage", "images", "4", "LoadImage", 1, "MASK", "IMAGE"),
            MismatchedLink("8", "PreviewImage", "images", "4", "LoadImage", 5, None, "IMAGE"),
        ),
    )
    packed = orjson.loads(orjson.dumps(pack_needs(needs)))
    assert unpack_needs(packed) == needs
    packed[-1][0][5] = "1"
    with pytest.raises(TypeError, match="another shape"):
        unpack_needs(packed)
    packed[-1][0][5] = 1
    packed[-1][0][6] = 3
    with pytest.raises(TypeError, match="not a text"):
        unpack_needs(packed)
