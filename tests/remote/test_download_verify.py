"""A download put in place only when it is the file the plan expected: a wrong hash or a
truncated model leaves nothing under the final name."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.remote.blob_server import BlobServer
from tests.remote.downloads import BLOB, downloader, leftovers, task
from watchman.remote.downloader import LOCK_SUFFIX


def test_a_wrong_hash_leaves_no_file_under_the_final_name(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client).fetch(task(server, tmp_path, sha256="0" * 64))
    assert (result.outcome, result.reason) == ("failed", "hash_mismatch")
    assert leftovers(tmp_path) == [("lora.safetensors" + LOCK_SUFFIX)] or leftovers(tmp_path) == []


def test_a_truncated_safetensors_without_expected_size_is_caught_by_its_header(
    tmp_path: Path, client: httpx.Client
) -> None:
    # The server says 400 000 bytes and sends them, but the header needs more.
    with BlobServer(BLOB[:400_000]) as server:
        result = downloader(client).fetch(task(server, tmp_path, size=None, sha256=None))
    assert (result.outcome, result.reason) == ("failed", "not_a_model")
    assert not (tmp_path / "lora.safetensors").exists()
