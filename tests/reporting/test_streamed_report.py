"""The report's JSON is written item by item and told unchanged by a digest of its stable
part, yet its bytes are exactly those of the whole document serialised at once."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reporting.reports import found, lora, pack, parsed, report_of
from watchman.reporting.advice import actions, backend_problems
from watchman.reporting.document import document_parts, report_json, stable_part
from watchman.reporting.markdown import render_markdown, write_markdown
from watchman.reporting.report import Report
from watchman.reporting.stream import Items, stable_digest, write_document
from watchman.stages.workflows import FolderSeen
from watchman.state.json_codec import dumps_json, loads_json

KEYS = st.sampled_from(
    [
        *("cycle_id", "generated_at", "resolved_at", "last_resolved_at"),
        *("status", "path", "a", "é", 'x"resolved_at'),
    ]
)
# No 0, 1 or floats: True == 1 == 1.0 in Python, so stable_part would call them equal.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(2, 4), st.sampled_from(["x", "y", "ü", "\udc80"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5)


def written(document: dict[str, Any]) -> bytes:
    handle = io.BytesIO()
    write_document(handle, document)
    return handle.getvalue()


def rich_report() -> Report:
    """Missing, misplaced and misspelled models, a planned download, node packs to
    install and to choose, an unreadable workflow and a watched folder with a problem."""
    report = report_of(
        {
            "/w/a.json": parsed(
                [lora("1", "SDXL\\foo.safetensors"), lora("2", "stray_lora.safetensors")]
            ),
            "/w/b.json": parsed([lora("1", "style.safetensors")], ("FancyNode", "Odd")),
            "/w/c.json": parsed([lora("1", "never.safetensors")]),
            "/w/broken.json": None,
        },
        {("loras", "SDXL/foo.safetensors"): found("https://example.invalid/foo")},
        {
            "FancyNode": pack(url="https://example.invalid/fancy"),
            "Odd": pack("uncertain", reason="two packs"),
        },
    )
    folder = FolderSeen("/w", "comfyui", 4, True, ("a subfolder cannot be read",))
    return Report(**{**report.__dict__, "watched": (folder,)})


@given(DOCUMENTS)
def test_any_document_is_written_as_dumps_json_writes_it_whole(document: dict) -> None:
    lazy = {
        key: Items(lambda value=value: iter(value)) if isinstance(value, list) else value
        for key, value in document.items()
    }
    assert written(lazy) == dumps_json(document)


@given(DOCUMENTS, DOCUMENTS)
def test_two_digests_are_equal_when_the_stable_parts_are(one: dict, two: dict) -> None:
    assert (stable_digest(one) == stable_digest(two)) == (stable_part(one) == stable_part(two))


@settings(max_examples=400)
@given(DOCUMENTS)
def test_an_item_hashed_as_written_gives_the_digest_of_the_document(document: dict) -> None:
    handle = io.BytesIO()
    assert write_document(handle, document).stable_digest == stable_digest(document)


def test_a_value_that_reads_resolved_at_is_stable_and_a_key_so_named_is_not() -> None:
    def digest(item: Any) -> str:
        return write_document(io.BytesIO(), {"workflows": [item]}).stable_digest

    as_text = {"note": "resolved_at", "at": ["resolved_at"]}
    assert digest(as_text) != digest({"note": "resolved", "at": ["resolved_at"]})
    nested = {"models": [{"name": "a", "resolved_at": "2026-01-01"}]}
    assert digest(nested) == digest({"models": [{"name": "a", "resolved_at": "2027-05-05"}]})
    assert digest(nested) == stable_digest({"workflows": [nested]})
    for item in (
        {"last_resolved_at": None, "models": [{"resolved_at": "2026-01-01"}], "z": 1},
        {"last_resolved_at": "2026", "resolution": {"resolved_at": {"at": 1}}},
        {"a": [{"resolved_at": 2.5e-7, "b": True}], "last_resolved_at": 'x \\" y'},
    ):
        assert digest(item) == stable_digest({"workflows": [item]})


def test_the_streamed_report_is_byte_for_byte_the_whole_document() -> None:
    report = rich_report()
    parts = document_parts(report, actions(report), backend_problems(report, {}))
    assert written(parts) == dumps_json(report_json(report))


def test_a_file_name_that_is_not_utf8_escapes_the_whole_document_as_before() -> None:
    report = report_of({"/w/caf\udce9.json": parsed([lora("1", "missing.safetensors")])})
    data = written(document_parts(report, actions(report), backend_problems(report, {})))
    assert data == dumps_json(report_json(report))
    assert data.isascii() and b"\\udce9" in data


def test_the_digest_of_a_report_is_the_digest_of_its_json_read_back() -> None:
    report = rich_report()
    handle = io.BytesIO()
    made = write_document(
        handle, document_parts(report, actions(report), backend_problems(report, {}))
    )
    assert made.stable_digest == stable_digest(loads_json(handle.getvalue()))


def test_the_page_written_in_sections_is_the_page_rendered_whole() -> None:
    report = report_of({"/w/caf\udce9.json": parsed([lora("1", "missing.safetensors")])})
    handle = io.BytesIO()
    write_markdown(handle, report, actions(report), backend_problems(report, {}))
    assert handle.getvalue() == render_markdown(report).replace("\udce9", "\\xe9").encode()
