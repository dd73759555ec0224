"""The saved fingerprint: how it is read back, checked and timed (building it: the
fingerprint stage, tests/stages/test_fingerprint.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchman.state import fingerprint
from watchman.state.cycle_state import CycleSummary


def _file(path: Path, data: bytes = b"{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_no_fingerprint_or_a_damaged_one_means_work(tmp_path):
    assert fingerprint.check(None, "settings-1", 0) is not None
    state = _file(tmp_path / "fingerprint.json", b'{"schema_version": 1, "paths": 3}')
    assert fingerprint.load(state) is None


def test_the_earliest_resolution_still_cached_sets_the_due_time(tmp_path):
    cache = _file(
        tmp_path / "resolution_cache.json",
        b'{"schema_version": 1, "entries": {'
        b'"a": {"expires_at": "2030-01-02T00:00:00+00:00"},'
        b'"b": {"expires_at": "2030-01-01T00:00:00+00:00"},'
        b'"gone": {"expires_at": "2020-01-01T00:00:00+00:00"}}}',
    )
    now = 1_800_000_000 * 1_000_000_000  # 2027
    assert fingerprint.earliest_expiry_ns(cache, now) == 1_893_456_000 * 1_000_000_000


def test_a_new_token_changes_the_settings_digest_though_the_dump_masks_it():
    from watchman.config import Settings

    before = Settings.model_validate({"civitai": {"api_token": "first-token"}})
    after = Settings.model_validate({"civitai": {"api_token": "second-token"}})
    assert before.model_dump_json() == after.model_dump_json()  # masked alike
    assert fingerprint.secrets_digest(before) != fingerprint.secrets_digest(after)
    assert fingerprint.secrets_digest(before) == fingerprint.secrets_digest(
        Settings.model_validate({"civitai": {"api_token": "first-token"}})
    )
    assert "first-token" not in fingerprint.secrets_digest(before)


def test_a_cycle_summary_reads_back_what_it_wrote():
    summary = CycleSummary(
        workflows=3,
        workflows_by_status={"ready": 2, "missing_models": 1},
        missing_models=1,
        broken_models=1,
        nameless_embeddings=2,
        resolutions={"FOUND": 1},
        node_source="static",
        intake_new_or_updated=2,
    )
    assert CycleSummary.from_json(summary.to_json()) == summary


@pytest.mark.parametrize("damaged", [[], {"workflows": "many"}, {"workflows_by_status": []}])
def test_a_damaged_cycle_summary_is_refused(damaged):
    with pytest.raises((TypeError, ValueError)):
        CycleSummary.from_json(damaged)


def test_a_stamp_beyond_64_bits_still_has_a_digest_of_its_own() -> None:
    # Inodes of some file systems (ReFS) do not fit orjson's integers: repr takes over.
    paths = ["a", "b"]
    huge = fingerprint.digest_of(paths, [(1, 2**70, 3, 4, 5), fingerprint.MISSING])
    other = fingerprint.digest_of(paths, [(1, 2**70 + 1, 3, 4, 5), fingerprint.MISSING])
    assert huge != other
    assert huge == fingerprint.digest_of(paths, [(1, 2**70, 3, 4, 5), fingerprint.MISSING])


def test_the_digest_tells_every_part_of_a_stamp_apart() -> None:
    paths = ["a"]
    digests = {
        fingerprint.digest_of(paths, [value])
        for value in [(1, 2, 3, 4, 5), (1, 2, 3, 4, 6), (2, 1, 3, 4, 5), fingerprint.MISSING]
    }
    assert len(digests) == 4
