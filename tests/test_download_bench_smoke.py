"""The download benchmark completes at a tiny size and reports ratios (never asserted:
timings depend on the machine)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import download_bench


def test_the_download_benchmark_measures_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "download.json"
    results = download_bench.main(
        ["--megabytes", "1", "--models", "30", "--new", "3", "--repeat", "1",
         "--output", str(output)]
    )  # fmt: skip
    assert json.loads(output.read_text()) == results
    throughput = results["throughput"]
    assert throughput["ratio_to_raw"] > 0
    assert throughput["ratio_of_medians_to_raw_hashed"] > 0
    assert throughput["raw_hashed"]["seconds"]["min"] > 0
    health = results["health"]
    assert health["cold"]["opened"] == 30
    assert health["unchanged"]["opened"] == 0
    assert health["new_files"]["opened"] == 3
