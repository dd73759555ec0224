"""The cycle fingerprint: stamps of the inputs decide whether a cycle has any work."""

from __future__ import annotations

import os
from pathlib import Path

from watchman.stages.inventory.listing import TreeListing
from watchman.state import fingerprint

LATER = 60 * 1_000_000_000


def _file(path: Path, data: bytes = b"{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _saved_after_cycle(tmp_path: Path, now_ns: int, due_in: int = 10 * LATER) -> Path:
    """Fingerprint a workflows folder and a nodes.py file as a full cycle would."""
    state = tmp_path / "state" / "fingerprint.json"
    cycle = fingerprint.CycleFingerprint(state, "settings-1", now_ns)
    cycle.observe_inputs(
        TreeListing.for_cycle(None, now_ns, 0),
        [(str(tmp_path / "workflows"), (".json",), True)],
        [str(tmp_path / "nodes.py"), str(tmp_path / "extra_model_paths.yaml")],
        [],
    )
    cycle.due_at_ns.append(now_ns + due_in)
    cycle.finish([], {"counts": {"workflows": 1}}, tmp_path / "no-resolution-cache.json")
    return state


def _tree(tmp_path: Path) -> int:
    _file(tmp_path / "workflows" / "a" / "one.json")
    _file(tmp_path / "nodes.py", b"NODE_CLASS_MAPPINGS = {}")
    return max(os.stat(p).st_mtime_ns for p in tmp_path.rglob("*")) + LATER


def test_nothing_changed_means_no_work(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    assert fingerprint.check(saved, "settings-1", now + LATER) is None
    assert saved is not None and saved.outcome["counts"] == {"workflows": 1}


def test_a_workflow_edited_in_place_is_a_change(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    (tmp_path / "workflows" / "a" / "one.json").write_bytes(b'{"nodes": []}')
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"


def test_a_new_workflow_in_a_subfolder_is_a_change(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    _file(tmp_path / "workflows" / "a" / "two.json")
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"


def test_an_extra_model_paths_file_appearing_is_a_change(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    _file(tmp_path / "extra_model_paths.yaml", b"a: {}")
    assert fingerprint.check(saved, "settings-1", now + LATER) == "an input changed"


def test_other_settings_or_options_mean_work(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    assert "settings" in (fingerprint.check(saved, "settings-2", now + LATER) or "")


def test_something_falling_due_means_work(tmp_path):
    now = _tree(tmp_path)
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now, due_in=LATER))
    assert "due" in (fingerprint.check(saved, "settings-1", now + 2 * LATER) or "")


def test_an_input_stamped_in_the_same_tick_as_its_change_means_work(tmp_path):
    now = _tree(tmp_path) - LATER  # stamped right as the files were written
    saved = fingerprint.load(_saved_after_cycle(tmp_path, now))
    assert saved is not None and saved.racy
    assert "too close" in (fingerprint.check(saved, "settings-1", now + LATER) or "")


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
