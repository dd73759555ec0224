"""In real cycles: each written report leaves an index that describes it, and a full cycle
whose report did not change leaves the pair as it was."""

from __future__ import annotations

from pathlib import Path

from tests.test_end_to_end import demo, home_of, report, run  # noqa: F401
from watchman.reporting.previous import read_previous_report
from watchman.reporting.report_index import index_path


def test_a_full_cycle_with_the_same_report_keeps_the_pair_and_its_index(
    demo: Path,  # noqa: F811
) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    home = home_of(demo)
    status = home / "output" / "reports" / "status"
    pair = (status / "master_status.json", status / "master_status.md")
    previous = read_previous_report(*pair, index_path(home / "state"))
    assert previous.index is None and previous.markdown_current  # the index describes it
    assert previous.before is not None
    assert sorted(previous.before.workflows) == sorted(w["path"] for w in report(demo)["workflows"])
    stamps = [path.stat().st_mtime_ns for path in pair]
    (home / "state" / "cycle_fingerprint.json").unlink()  # the next cycle runs in full
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert [path.stat().st_mtime_ns for path in pair] == stamps
    assert sorted(path.name for path in status.iterdir()) == sorted(p.name for p in pair)
