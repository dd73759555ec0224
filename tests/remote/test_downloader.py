"""The downloader over real HTTP on 127.0.0.1: a file streamed, verified and put in
place, tokens per origin, a truncated body, the byte budget and the per-file lock."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from filelock import FileLock

from tests.remote.blob_server import BlobServer
from tests.remote.downloads import BLOB, SHA, downloader, leftovers, task
from watchman.remote import part_file
from watchman.remote.downloader import LOCK_SUFFIX
from watchman.remote.origins import credentials_key
from watchman.remote.part_file import PARTIAL_SUFFIX


def test_a_file_is_streamed_verified_and_renamed_into_place_with_nothing_left_beside_it(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert result.outcome == "downloaded"
    assert result.sha256 == SHA and result.size == len(BLOB)
    assert (tmp_path / "lora.safetensors").read_bytes() == BLOB
    assert leftovers(tmp_path) == ["lora.safetensors"]


def test_a_body_that_stays_truncated_fails_and_keeps_the_part_for_the_next_run(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB, cut_after=100_000, cuts_left=100) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert (result.outcome, result.reason) == ("failed", "truncated")
    assert not (tmp_path / "lora.safetensors").exists()
    assert (tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)).exists()


def test_the_token_goes_to_its_own_host_and_is_dropped_on_a_redirect_to_another(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as cdn, BlobServer(b"", redirect_to=None) as site:
        site.redirect_to = cdn.url
        credentials = {credentials_key(site.url): {"Authorization": "Bearer SECRET-TOKEN"}}
        result = downloader(client, credentials).fetch(task(site, tmp_path))
        site_headers = site.requests[0]["headers"]
        cdn_headers = cdn.requests[0]["headers"]
    assert result.outcome == "downloaded"
    assert site_headers.get("Authorization") == "Bearer SECRET-TOKEN"
    assert "Authorization" not in cdn_headers


def test_the_byte_budget_pauses_a_download_and_keeps_what_it_fetched(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        paused = downloader(client, byte_budget=200_000).fetch(task(server, tmp_path))
        done = downloader(client).fetch(task(server, tmp_path))
    assert (paused.outcome, paused.reason) == ("paused", "byte_budget")
    assert 200_000 <= (paused.size or 0) < len(BLOB)
    assert done.outcome == "downloaded" and done.resumed_from == paused.size


def test_a_part_handed_to_the_disk_as_it_grows_is_still_the_whole_file(
    tmp_path: Path, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Write-back advice every 64 KiB instead of 8 MiB, so this small file goes through it.
    monkeypatch.setattr(part_file, "_WRITEBACK_BYTES", 64 << 10)
    with BlobServer(BLOB, cut_after=250_000, cuts_left=1) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert result.outcome == "downloaded" and result.sha256 == SHA
    assert (tmp_path / "lora.safetensors").read_bytes() == BLOB


def test_a_file_another_process_is_downloading_is_left_alone(
    tmp_path: Path, client: httpx.Client
) -> None:
    with FileLock(str(tmp_path / ("lora.safetensors" + LOCK_SUFFIX))):
        with BlobServer(BLOB) as server:
            result = downloader(client).fetch(task(server, tmp_path))
            assert server.requests == []
    assert (result.outcome, result.reason) == ("failed", "busy")


def test_a_file_already_under_the_name_is_kept_unless_asked_to_replace_it(
    tmp_path: Path, client: httpx.Client
) -> None:
    (tmp_path / "lora.safetensors").write_bytes(b"")
    with BlobServer(BLOB) as server:
        kept = downloader(client).fetch(task(server, tmp_path))
        assert (tmp_path / "lora.safetensors").read_bytes() == b""
        replaced = downloader(client).fetch(task(server, tmp_path, replace=True))
    assert kept.outcome == "present"
    assert replaced.outcome == "downloaded"
    assert (tmp_path / "lora.safetensors").read_bytes() == BLOB
