"""Which capital words a pack's scripts write, and which input types may be a pack's own
listed socket type."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watchman.comfy import frontend_words
from watchman.comfy.frontend_words import ScriptWords, named_in_scripts, pack_data_type

WIDGETS = b"""
app.registerExtension({
  name: "colours",
  getCustomWidgets() {
    return { MY_COLOR(node, name, data) { return {} }, "QUOTED_TYPE": make };
  },
});
LGraphCanvas.link_type_colors["WANVIDEOMODEL"] = "#f00"; const x = notCAPS + Mixed_Type;
"""


def words_of(*texts: bytes | None) -> tuple[str, ...] | None:
    gathered = ScriptWords()
    for text in texts:
        gathered.add(text)
    return gathered.result()


def test_a_script_s_capital_words_are_gathered_wherever_written() -> None:
    words = words_of(WIDGETS)
    assert words is not None
    assert {"MY_COLOR", "QUOTED_TYPE", "WANVIDEOMODEL"} <= set(words)
    assert not {"CAPS", "Mixed_Type", "T"} & set(words)  # part of a word, mixed, too short
    assert list(words) == sorted(words)


def test_an_unread_script_or_too_many_words_leave_the_pack_s_words_unknown() -> None:
    assert words_of(b"A1 B2", None, b"C3") is None
    many = b" ".join(b"W%d" % index for index in range(frontend_words.MAX_WORDS + 1))
    assert words_of(many) is None
    assert words_of() == ()


def test_a_pack_data_type_is_written_in_capitals_and_is_no_frontend_widget() -> None:
    assert pack_data_type("WANVIDEOMODEL") and pack_data_type("SEGS_2")
    for not_one in ("COLOR", "IMAGEUPLOAD", "INT", "COMFY_AUTOGROW_V3", "MyModel", "X", "*"):
        assert not pack_data_type(not_one)


def test_the_words_of_every_pack_are_known_only_when_each_pack_s_are() -> None:
    assert named_in_scripts([("A_B",), ("C_D",), ()]) == {"A_B", "C_D"}
    assert named_in_scripts([("A_B",), None]) is None


@given(st.binary(max_size=400))
def test_any_bytes_give_words_in_capitals_or_none_and_never_raise(text: bytes) -> None:
    words = words_of(text)
    assert words is not None  # a few hundred bytes hold fewer words than the bound
    assert all(frontend_words.DATA_TYPE.fullmatch(word) for word in words)
