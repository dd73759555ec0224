"""Tolerant reads of JSON state files: a corrupt one set aside and rebuilt, one of
another version kept aside as such."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from watchman.state.json_state import read_json_state
from watchman.state.safe_files import atomic_write_json


def test_a_corrupt_state_file_is_set_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "x.json"
    target.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert read_json_state(target, 1) is None
    assert not target.exists()
    aside = list(tmp_path.glob("x.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == "{not json"
    assert "rebuilding" in caplog.text


def test_a_state_file_of_another_version_is_kept_aside_as_such_not_called_corrupt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"schema_version": 99})
    with caplog.at_level(logging.INFO):
        assert read_json_state(target, 1) is None
    assert list(tmp_path.glob("x.json.schema-99-*")) and not list(tmp_path.glob("*.corrupt-*"))
    assert "another version of comfywatchman" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_state_file_with_a_nonsense_schema_version_is_set_aside_as_corrupt(
    tmp_path: Path,
) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"schema_version": "two"})
    assert read_json_state(target, 1) is None
    assert list(tmp_path.glob("x.json.corrupt-*"))
