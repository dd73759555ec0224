"""A full cycle reads the install's extra_model_paths files once, for the fingerprint's
stamps, the model walk and the node scan alike; an unchanged cycle reads none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_cycle_equivalence import Bench, _unchanged
from watchman.comfy import extra_model_paths


def _counting(monkeypatch) -> list[tuple[Path, ...]]:
    reads: list[tuple[Path, ...]] = []
    load = extra_model_paths.load_extra_model_paths

    def counted(files: Any, *args: Any) -> Any:
        reads.append(tuple(files))
        return load(files, *args)

    monkeypatch.setattr(extra_model_paths, "load_extra_model_paths", counted)
    return reads


def test_a_full_cycle_reads_the_files_once_and_an_unchanged_one_not_at_all(tmp_path, monkeypatch):
    bench = Bench(tmp_path)
    (bench.root / "extra_model_paths.yaml").write_text(
        f"more:\n  base_path: {tmp_path / 'more'}\n  checkpoints: ckpt\n  custom_nodes: nodes\n",
        encoding="utf-8",
    )
    reads = _counting(monkeypatch)
    bench.incremental()
    assert reads == [(bench.root / "extra_model_paths.yaml",)]
    assert _unchanged(bench.home, bench.incremental())
    assert len(reads) == 1


def test_a_configured_file_under_the_home_is_read_by_every_user_alike(tmp_path):
    # The fingerprint took ~ as the home and the stock stage did not: the cycle failed
    # on a file it could not find.
    bench = Bench(tmp_path)
    nodes = tmp_path / "more" / "nodes" / "extra_pack"
    nodes.mkdir(parents=True)
    (nodes / "__init__.py").write_text(
        'NODE_CLASS_MAPPINGS = {"ExtraOnlyNode": object}\n', encoding="utf-8"
    )
    (tmp_path / "more.yaml").write_text(
        f"more:\n  base_path: {tmp_path / 'more'}\n  custom_nodes: nodes\n", encoding="utf-8"
    )
    bench.settings.comfyui.extra_model_paths.append(Path("~/more.yaml"))
    bench.incremental()  # asserts the cycle ran
    cache = json.loads(bench.home.custom_nodes_cache.read_text(encoding="utf-8"))
    assert str(nodes) in [pack["path"] for pack in cache["packs"]]
