"""Writing the report pair: rewritten only when something but its times changed, told by
the digest kept in its index; a report of an older version, a damaged one, or one
changed by hand is read whole once and rewritten, never a crash; a write cut short
leaves the old pair and nothing else."""

from __future__ import annotations

import dataclasses
import errno
import json
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.reporting.reports import lora, parsed, report_of
from watchman.reporting import files
from watchman.reporting import previous as previous_module
from watchman.reporting.changes import changes_since
from watchman.reporting.document import report_json
from watchman.reporting.files import write_report
from watchman.reporting.markdown import render_markdown
from watchman.reporting.pieces import read_in_pieces
from watchman.reporting.previous import PreviousReport, read_previous_report
from watchman.reporting.report import Report
from watchman.state.json_codec import dumps_json


class Pair:
    """A report folder and a state folder, as a home has them."""

    def __init__(self, tmp_path: Path) -> None:
        self.json = tmp_path / "reports" / "master_status.json"
        self.markdown = tmp_path / "reports" / "master_status.md"
        self.index = tmp_path / "state" / "report_index.json"
        self.index.parent.mkdir(parents=True)

    def previous(self) -> PreviousReport:
        return read_previous_report(self.json, self.markdown, self.index)

    def write(self, report: Report) -> bool:
        """Write ``report`` as the cycle does: its changes told against the pair on disk."""
        previous = self.previous()
        report = dataclasses.replace(
            report, changes=changes_since(previous.before, report.workflows, ["/w"])
        )
        return write_report(self.json, self.markdown, report, index=self.index, previous=previous)

    def files(self) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in sorted(self.json.parent.iterdir())}


def report(cycle: str, missing: str = "missing.safetensors") -> Report:
    made = report_of({"/w/a.json": parsed([lora("1", missing)]), "/w/b.json": parsed([])})
    return dataclasses.replace(made, cycle_id=cycle, generated_at=f"2026-11-30T0{cycle[-1]}:00Z")


def test_the_pair_written_is_the_json_and_page_of_the_report(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    first = report("c1")
    assert pair.write(first)
    written = dataclasses.replace(first, changes=changes_since(None, first.workflows))
    assert pair.files() == {
        "master_status.json": dumps_json(report_json(written)),
        "master_status.md": render_markdown(written).encode(),
    }


def test_a_report_the_same_but_for_its_times_is_not_rewritten(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    assert pair.write(report("c1"))
    before = pair.files()
    assert not pair.write(report("c2"))
    assert pair.files() == before  # nothing pending left beside them either
    assert pair.write(report("c3", missing="other.safetensors"))
    assert b"(cycle c3)" in pair.markdown.read_bytes()


def test_the_index_tells_what_reading_the_whole_report_tells(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    from_index = pair.previous()
    assert from_index.index is None  # the index on disk describes the pair: nothing to redo
    pair.index.unlink()
    from_report = pair.previous()
    assert from_report.index is not None  # read whole: an index is offered for the next time
    assert dataclasses.replace(from_report, index=None) == from_index
    assert from_index.before is not None and from_index.generated_at == "2026-11-30T01:00Z"
    assert from_index.before.workflows == {
        "/w/a.json": ("0" * 64, "missing_models"),
        "/w/b.json": ("0" * 64, "ready"),
    }


def test_an_unchanged_report_read_whole_leaves_an_index_for_the_next_cycle(
    tmp_path: Path,
) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    pair.index.unlink()
    assert not pair.write(report("c2"))
    assert pair.previous().index is None  # described again


def test_a_report_changed_by_hand_is_read_not_its_stale_index(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    document = json.loads(pair.json.read_bytes())
    document["workflows"][1]["status"] = "missing_nodes"  # b.json was not ready
    pair.json.write_bytes(dumps_json(document))
    previous = pair.previous()
    assert previous.before is not None
    assert previous.before.workflows["/w/b.json"] == ("0" * 64, "missing_nodes")
    assert pair.write(report("c2"))  # it differs from this cycle's: rewritten
    assert "- Now ready: `b.json`" in pair.markdown.read_text()


def test_a_workflow_gone_since_the_last_report_is_named_below_its_folder_in_both_files(
    tmp_path: Path,
) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    only_a = report_of({"/w/a.json": parsed([lora("1", "missing.safetensors")])})
    assert pair.write(dataclasses.replace(only_a, cycle_id="c2", generated_at="2026-11-30T02:00Z"))
    assert "- Gone (deleted, renamed or no longer watched): `b.json`" in pair.markdown.read_text()
    assert json.loads(pair.json.read_bytes())["changes"]["removed"] == ["b.json"]
    # Told once: the next report that changes lists nothing gone.
    other = report_of({"/w/a.json": parsed([lora("1", "other.safetensors")])})
    assert pair.write(dataclasses.replace(other, cycle_id="c3", generated_at="2026-11-30T03:00Z"))
    assert json.loads(pair.json.read_bytes())["changes"]["removed"] == []


def test_a_workflow_outside_every_watched_folder_is_named_by_its_path() -> None:
    from watchman.reporting.changes import Before

    before = Before("2026-11-30T01:00Z", {"/elsewhere/x.json": ("0" * 64, "ready")})
    assert changes_since(before, (), ["/w"]).removed == ("/elsewhere/x.json",)


@pytest.mark.parametrize(
    ("content", "set_aside_as"),
    [
        (b'{"schema_version": 0, "generated_at": "2026-11-29T00:00Z"}', "schema-0"),
        (b'{"generated_at": "2026-11-29T00:00Z", "workflows": [', "corrupt"),
        (b"[1, 2]", "corrupt"),
    ],
    ids=["older version", "cut short", "not an object"],
)
def test_a_report_of_an_older_version_or_damaged_is_set_aside_and_rewritten(
    tmp_path: Path, content: bytes, set_aside_as: str
) -> None:
    pair = Pair(tmp_path)
    pair.json.parent.mkdir(parents=True)
    pair.json.write_bytes(content)
    pair.markdown.write_text("# an old page (cycle c0)\n")
    previous = pair.previous()
    assert previous.before is None and previous.stable_digest is None
    # The downloads since are still those since the older report was made.
    expected = "2026-11-29T00:00Z" if set_aside_as == "schema-0" else None
    assert previous.generated_at == expected
    assert [
        p.name.split(".json.")[1][: len(set_aside_as)] for p in pair.json.parent.glob("*.json.*")
    ] == [set_aside_as]
    assert pair.write(report("c1"))
    assert json.loads(pair.json.read_bytes())["cycle_id"] == "c1"


def test_a_damaged_index_only_costs_reading_the_report(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    for damage in (b"{not json", b'{"schema_version": 1, "workflows": 7}', b"[]"):
        pair.index.write_bytes(damage)
        previous = pair.previous()
        assert previous.before is not None and previous.index is not None
        assert not pair.write(report("c2"))


def test_a_page_of_another_cycle_is_rewritten_though_the_json_is_unchanged(
    tmp_path: Path,
) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    pair.markdown.write_text("# from an older cycle (cycle c0)\n")
    assert pair.write(report("c2"))
    assert b"(cycle c2)" in pair.markdown.read_bytes()
    assert json.loads(pair.json.read_bytes())["cycle_id"] == "c2"


def test_a_write_cut_short_leaves_the_old_pair_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    before = pair.files()
    index = pair.index.read_bytes()

    def killed(handle: BinaryIO, *_: object) -> str:
        handle.write(b"# half a page")
        raise KeyboardInterrupt  # what a SIGTERM's handler or a kill mid-write leaves

    monkeypatch.setattr(files, "write_markdown", killed)
    with pytest.raises(KeyboardInterrupt):
        pair.write(report("c2", missing="other.safetensors"))
    assert pair.files() == before
    assert pair.index.read_bytes() == index


def test_a_full_disk_fails_only_a_report_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    before = pair.files()

    def disk_full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_document", disk_full)
    assert not pair.write(report("c2"))  # unchanged: nothing needed writing
    with pytest.raises(OSError):
        pair.write(report("c3", missing="other.safetensors"))
    assert pair.files() == before


def test_a_report_python_reads_but_orjson_cannot_write_is_compared_all_the_same(
    tmp_path: Path,
) -> None:
    pair = Pair(tmp_path)
    pair.write(report("c1"))
    pair.index.unlink()
    document = json.loads(pair.json.read_bytes())
    # An integer beyond 64 bits beside a name that is not UTF-8: only Python's json reads it.
    document["summary"]["models_installed"] = 10**30
    document["workflows"][0]["name"] = "caf\udce9.json"
    pair.json.write_bytes(json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")
    previous = pair.previous()
    assert previous.before is not None and previous.stable_digest is not None
    assert pair.write(report("c2"))  # it differs: rewritten, never a crash


@pytest.mark.parametrize("name", ["a.json", "caf\udce9.json"], ids=["utf-8", "not utf-8"])
def test_a_report_without_its_index_is_read_in_pieces_as_a_whole_decode_reads_it(
    tmp_path: Path, name: str
) -> None:
    pair = Pair(tmp_path)
    made = report_of({f"/w/{name}": parsed([lora("1", "missing.safetensors")])})
    pair.write(dataclasses.replace(made, cycle_id="c1"))
    pair.index.unlink()
    assert read_in_pieces(pair.json) is not None  # as this tool writes it
    in_pieces = previous_module._read_report(pair.json, pair.markdown)
    assert in_pieces == previous_module._read_whole(pair.json, pair.markdown)
    assert in_pieces.before is not None and list(in_pieces.before.workflows) == [f"/w/{name}"]
    assert in_pieces.index is not None and in_pieces.markdown_current
