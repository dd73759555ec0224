"""ComfyUI's conversion of a text to an INT or FLOAT input's type: what int() and float()
read, and what they refuse (invalid_input_type)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watchman.comfy.value_conversion import number_type, text_converts


def test_int_reads_whole_numbers_written_in_digits_only() -> None:
    for text in ("20", "-3", "+7", " 20 ", "1_000", "0007"):
        assert text_converts(text, integer=True), text
    for text in ("1.5", "1e3", "", " ", "auto", "7,5", "nan", "inf", "1__0", "0x10"):
        assert not text_converts(text, integer=True), text


def test_float_reads_decimals_exponents_and_its_special_words_too() -> None:
    for text in ("1.5", "1e3", " 2 ", "-0.0", "nan", "inf", "-Infinity", "1_0.5", "20"):
        assert text_converts(text, integer=False), text
    for text in ("", "auto", "7,5", "1.5.2", "0x10", "one"):
        assert not text_converts(text, integer=False), text


def test_the_types_are_spelled_as_comfyui_spells_them() -> None:
    assert (number_type(True), number_type(False)) == ("INT", "FLOAT")


@given(st.integers())
def test_every_integer_written_out_converts_to_both_types(number: int) -> None:
    assert text_converts(str(number), integer=True)
    assert text_converts(str(number), integer=False)


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()))
def test_a_fraction_written_out_is_a_float_but_no_int(number: float) -> None:
    assert text_converts(repr(number), integer=False)
    assert not text_converts(repr(number), integer=True)
