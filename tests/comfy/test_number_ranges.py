"""The range of a number input and which side of it a value lies on, as ComfyUI judges
it: int() of an INT input's value, float() of a FLOAT's, compared with the bounds exactly;
an integer no double holds is judged only when it is surely past a bound."""

from __future__ import annotations

import math

from watchman.comfy.number_ranges import (
    NumberRange,
    bound,
    number_range,
    outside,
    range_from_json,
    range_from_options,
    read_text,
)
from watchman.state.json_codec import dumps_json, loads_json

STEPS = NumberRange(integer=True, minimum=1, maximum=10000)
START_AT = NumberRange(integer=False, minimum=0.0, maximum=1.0)
SEED = NumberRange(integer=True, minimum=0, maximum=0xFFFFFFFFFFFFFFFF)


def test_a_value_at_a_bound_is_allowed_and_one_past_it_is_not() -> None:
    assert outside(1.0, STEPS) is None
    assert outside(10000.0, STEPS) is None
    assert outside(0.0, STEPS) == "below"
    assert outside(10001.0, STEPS) == "above"


def test_a_float_input_compares_the_value_itself() -> None:
    # ComfyUI_InfiniteYou issue 16: "Value 1.0000000000000002 bigger than max of 1.0".
    assert outside(1.0000000000000002, START_AT) == "above"
    assert outside(1.0, START_AT) is None
    assert outside(-0.25, START_AT) == "below"


def test_an_int_input_reads_its_value_as_int_does() -> None:
    # int(0.5) is 0, under a minimum of 1; int(10000.9) is 10000, allowed.
    assert outside(0.5, STEPS) == "below"
    assert outside(10000.9, STEPS) is None
    assert outside(-0.9, NumberRange(True, 0, None)) is None


def test_an_integer_no_double_holds_is_judged_only_past_the_rounded_bound() -> None:
    # 2**64 - 1 (the seed's own maximum) rounds to 2**64: at the bound, not judged.
    assert outside(float(2**64 - 1), SEED) is None
    assert outside(float(2**65), SEED) == "above"
    assert outside(-float(2**60), SEED) == "below"


def test_values_no_check_can_read_are_not_judged() -> None:
    assert outside(math.nan, STEPS) is None
    assert outside(math.inf, STEPS) is None


def test_bounds_are_finite_numbers_and_a_range_open_both_ways_keeps_its_type() -> None:
    assert bound(True) is None
    assert bound(math.inf) is None
    assert bound(10**400) is None
    assert bound("1") is None
    assert bound(-3) == -3
    # Past what the state files keep as an integer (ComfyUI's own seed minimum): a double.
    assert bound(-0xFFFFFFFFFFFFFFFF) == float(-0xFFFFFFFFFFFFFFFF)
    assert type(bound(-0xFFFFFFFFFFFFFFFF)) is float
    assert bound(0xFFFFFFFFFFFFFFFF) == 0xFFFFFFFFFFFFFFFF  # still an integer
    assert number_range(True, None, "x") == NumberRange(True, None, None)
    assert number_range(False, None, 2.5) == NumberRange(False, None, 2.5)


def test_a_servers_options_give_the_range_of_int_and_float_inputs_only() -> None:
    assert range_from_options("INT", {"min": 1, "max": 10000, "step": 1}) == STEPS
    assert range_from_options("FLOAT", {"min": 0.0}) == NumberRange(False, 0.0, None)
    assert range_from_options("STRING", {"min": 1}) is None
    assert range_from_options("INT", {"min": "1", "max": None}) == NumberRange(True, None, None)
    assert range_from_options("int", {"min": 1}) is None  # ComfyUI compares "INT" exactly


def test_a_range_comes_back_from_its_json_and_nothing_else_does() -> None:
    assert range_from_json(STEPS.to_json()) == STEPS
    assert range_from_json([1, 0, 1]) is None
    assert range_from_json([True, "0", None]) is None
    assert range_from_json([False, None, None]) == NumberRange(False, None, None)
    assert range_from_json("junk") is None


def test_a_text_is_read_as_comfyuis_int_and_float_read_it() -> None:
    assert read_text(" 20 ", integer=True) == 20.0
    assert read_text("1_000", integer=True) == 1000.0
    assert read_text("1.5", integer=True) is None  # ComfyUI: invalid literal for int()
    assert read_text("1e3", integer=False) == 1000.0
    assert read_text("nan", integer=False) is None
    assert read_text("9" * 400, integer=True) is None
    assert read_text("abc", integer=False) is None


def test_a_range_past_64_bits_comes_back_equal_through_the_state_files() -> None:
    seed = number_range(True, -0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
    assert seed is not None
    assert range_from_json(loads_json(dumps_json(seed.to_json()))) == seed
