"""The benchmark generator and runner complete at a tiny size and print ratios.

Timings are never asserted: the figures depend on the machine; only that every figure is
measured, reported as a ratio, and written to the results file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run
from bench.generate_tree import generate_tree

FIGURES = (
    "cold cycle",
    "unchanged cycle, scheduler",
    "unchanged cycle, fresh process",
    "one workflow edited",
    "one model added",
    "full re-stat",
)


def test_the_generator_writes_the_same_tree_for_the_same_seed(tmp_path: Path) -> None:
    first = generate_tree(tmp_path / "a", models=60, workflows=6, packs=2, seed=7)
    second = generate_tree(tmp_path / "b", models=60, workflows=6, packs=2, seed=7)
    assert first == second
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    assert files_a == files_b
    assert (tmp_path / "a" / "nodes.py").read_text() == (tmp_path / "b" / "nodes.py").read_text()
    workflows = sorted((tmp_path / "a" / "user" / "default" / "workflows").rglob("*.json"))
    assert len(workflows) == 6


def test_the_generator_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_tree(tmp_path, models=10, workflows=1, packs=1)


def test_the_runner_completes_at_a_tiny_size_and_prints_every_figure_as_a_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "latest.json"
    arguments = ["--models", "200", "--workflows", "8", "--packs", "2", "--repeat", "1"]
    status = run.main([*arguments, "--growth", "100", "200", "--output", str(output)])

    assert status == 0
    printed = capsys.readouterr().out
    for name in FIGURES:
        line = next(line for line in printed.splitlines() if line.startswith(name + " "))
        assert "x " in line  # the ratio column
    results = json.loads(output.read_text())
    assert [figure["name"] for figure in results["figures"]] == list(FIGURES)
    assert all(figure["ratio"] > 0 for figure in results["figures"])
    by_name = {figure["name"]: figure for figure in results["figures"]}
    assert by_name["cold cycle"]["stages"]["parsed"] == 8
    # Nothing changed: the cycle stopped at the fingerprint, no stage ran.
    assert by_name["unchanged cycle, scheduler"]["stages"] == {"unchanged": True}
    assert by_name["one workflow edited"]["stages"]["parsed"] == 1
    assert by_name["one model added"]["stages"]["parsed"] == 0
    # The cold cycle's least reads: every workflow decoded, every model file opened.
    assert results["least_cold_reads"]["workflows_decoded"] == 8
    assert results["least_cold_reads"]["model_files_opened"] > 0
    assert "least a cold cycle reads" in printed
    assert [row["models"] for row in results["growth"]["rows"]] == [100, 200]
    assert set(results["growth"]["log_log_slopes"]) >= {"floor", "cold cycle"}
