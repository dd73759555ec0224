"""The pack-read benchmark reads a folder of packs and reports each against its parse
floor (the figures are never asserted: timings depend on the machine)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import pack_read


def test_the_pack_read_benchmark_reports_every_pack(tmp_path: Path) -> None:
    custom_nodes = tmp_path / "custom_nodes"
    (custom_nodes / "folder_pack").mkdir(parents=True)
    (custom_nodes / "folder_pack" / "__init__.py").write_text(
        'NODE_CLASS_MAPPINGS = {"A": object}\n'
    )
    (custom_nodes / "file_pack.py").write_text('NODE_CLASS_MAPPINGS = {"B": object}\n')
    output = tmp_path / "pack_read.json"
    assert pack_read.main(["--custom-nodes", str(custom_nodes), "--repeat", "1",
                           "--output", str(output)]) == 0  # fmt: skip
    results = json.loads(output.read_text())
    assert results["packs"] == 2
    assert {row["pack"]: row["files"] for row in results["rows"]} == {
        "file_pack.py": 1,
        "folder_pack": 1,
    }
    assert all(row["read_seconds"] > 0 for row in results["rows"])
