"""A report read back one piece at a time reads exactly as a whole decode would, or not at
all (then the whole file is decoded): never differently."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reporting.test_streamed_report import DOCUMENTS
from watchman.reporting.pieces import read_in_pieces
from watchman.reporting.stream import stable_digest
from watchman.state.json_codec import dumps_json, loads_json

TMP = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def pieces_of(path: Path) -> tuple[dict[str, Any], str, str] | None:
    """The document the pieces make (lists rebuilt from their items), its stable digest
    and the file's sha256; None when the file is not read in pieces."""
    lists: dict[str, list[Any]] = {}
    read = read_in_pieces(path, lambda key, item: lists.setdefault(key, []).append(item))
    if read is None:
        return None
    document = {**read.values, **{key: lists.get(key, []) for key in read.lists}}
    return document, read.stable_digest, read.sha256


@TMP
@given(DOCUMENTS)
def test_a_document_dumps_json_wrote_is_read_in_pieces_as_written(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    path = tmp_path / "report.json"
    data = dumps_json(document)
    path.write_bytes(data)
    read = pieces_of(path)
    assert read is not None
    made, digest, sha256 = read
    assert made == document
    assert digest == stable_digest(document)
    assert sha256 == hashlib.sha256(data).hexdigest()


@TMP
@given(DOCUMENTS, st.data())
def test_a_damaged_document_is_read_as_a_whole_decode_reads_it_or_not_at_all(
    tmp_path: Path, document: dict[str, Any], data: st.DataObject
) -> None:
    written = dumps_json(document)
    at = data.draw(st.integers(0, len(written)))
    damage = data.draw(st.sampled_from([b"", b",", b"\n", b" ", b"]", b"}", b'"', b"1"]))
    cut = data.draw(st.integers(0, 3))
    damaged = written[:at] + damage + written[at + cut :]
    path = tmp_path / "report.json"
    path.write_bytes(damaged)
    read = pieces_of(path)
    if read is None:
        return  # the caller decodes it whole
    try:
        whole = loads_json(damaged)
    except ValueError:
        raise AssertionError("read in pieces what a whole decode refuses") from None
    assert read[0] == whole and read[1] == stable_digest(whole)


def test_a_report_in_another_layout_is_left_to_the_whole_decode(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b'{"schema_version": 1, "workflows": []}\n')  # valid, not indented
    assert read_in_pieces(path) is None
    path.write_bytes(b'{\n  "b": 1,\n  "a": 2\n}\n')  # keys out of order
    assert read_in_pieces(path) is None
    assert read_in_pieces(tmp_path / "absent.json") is None
