"""A download's answer judged before its bytes are kept, over real HTTP on 127.0.0.1:
the size, the status, the free space, and first bytes that are a page or an error."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.remote.blob_server import BlobServer
from tests.remote.downloads import BLOB, downloader, leftovers, task
from watchman.remote.downloader import LOCK_SUFFIX
from watchman.remote.part_file import PARTIAL_SUFFIX


def test_a_body_of_another_size_than_expected_is_refused_before_it_is_fetched(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client).fetch(task(server, tmp_path, size=len(BLOB) + 1))
    assert (result.outcome, result.reason) == ("failed", "size_mismatch")
    assert result.fetched_bytes == 0
    assert not (tmp_path / "lora.safetensors").exists()


def test_an_html_login_page_served_as_the_model_is_refused_as_auth_required(
    tmp_path: Path, client: httpx.Client
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>"
    with BlobServer(page, content_type="text/html") as server:
        result = downloader(client).fetch(task(server, tmp_path, size=None, sha256=None))
    assert (result.outcome, result.reason) == ("failed", "auth_required")
    assert leftovers(tmp_path) in ([], ["lora.safetensors" + LOCK_SUFFIX])


def test_a_login_page_arriving_in_small_pieces_is_judged_on_its_first_kilobytes(
    tmp_path: Path, client: httpx.Client
) -> None:
    # Its first pieces are blank lines alone, which say nothing: the downloader must wait
    # for the first 4 KiB before judging, and then refuse it for what it is.
    page = b"\n" * 1500 + b"<!DOCTYPE html><html><title>Sign in</title>" + b" " * 8000 + b"</html>"
    with BlobServer(page, content_type="text/html", chunk=300, delay_per_chunk=0.002) as server:
        result = downloader(client).fetch(task(server, tmp_path, size=None, sha256=None))
    assert (result.outcome, result.reason) == ("failed", "auth_required")
    assert leftovers(tmp_path) in ([], ["lora.safetensors" + LOCK_SUFFIX])


def test_a_json_error_body_with_a_200_is_refused_as_not_a_model(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(b'{"error": "model archived"}', content_type="application/json") as server:
        result = downloader(client).fetch(task(server, tmp_path, size=None, sha256=None))
    assert (result.outcome, result.reason) == ("failed", "not_a_model")
    assert not (tmp_path / "lora.safetensors").exists()


def test_a_401_is_auth_required(tmp_path: Path, client: httpx.Client) -> None:
    with BlobServer(BLOB, status=401) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert (result.outcome, result.reason) == ("failed", "auth_required")


def test_not_enough_free_space_stops_the_download_before_any_byte_is_written(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client, free=len(BLOB)).fetch(task(server, tmp_path))
    assert (result.outcome, result.reason) == ("failed", "no_space")
    assert "MiB" in (result.detail or "")
    assert not (tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)).exists()
