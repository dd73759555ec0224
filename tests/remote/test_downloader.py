"""The downloader over real HTTP on 127.0.0.1: resume, restart, verification, refusals,
tokens per origin, free space, the byte budget and the per-file lock."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from filelock import FileLock

from tests.remote.blob_server import BlobServer, safetensors_blob
from watchman.errors import DownloadError
from watchman.remote import part_file
from watchman.remote.download_safety import safe_target
from watchman.remote.downloader import LOCK_SUFFIX, Downloader, DownloadLimits, DownloadTask
from watchman.remote.gateway import HttpGateway
from watchman.remote.origins import credentials_key
from watchman.remote.part_file import META_SUFFIX, PARTIAL_SUFFIX

BLOB = safetensors_blob(600_000)
SHA = hashlib.sha256(BLOB).hexdigest()
# Small write buffers, so each download here goes through several hand-offs to the writer.
FAST = DownloadLimits(
    chunk_bytes=64 << 10,
    buffer_bytes=48 << 10,
    free_space_margin_bytes=1 << 20,
    resume_wait_seconds=0,
)
PLENTY = 1 << 40


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def downloader(
    client: httpx.Client,
    credentials: dict[str, dict[str, str]] | None = None,
    *,
    free: int = PLENTY,
    stop: threading.Event | None = None,
    **kwargs: object,
) -> Downloader:
    gateway = HttpGateway(client, credentials=credentials or {}, stop_event=stop)
    return Downloader(gateway, FAST, free_space=lambda folder: free, **kwargs)  # type: ignore[arg-type]


def task(
    server: BlobServer, root: Path, name: str = "lora.safetensors", **kw: object
) -> DownloadTask:
    values: dict[str, object] = {"size": len(BLOB), "sha256": SHA, **kw}
    return DownloadTask(f"{server.url}/file", root, name, **values)  # type: ignore[arg-type]


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def test_a_file_is_streamed_verified_and_renamed_into_place_with_nothing_left_beside_it(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert result.outcome == "downloaded"
    assert result.sha256 == SHA and result.size == len(BLOB)
    assert (tmp_path / "lora.safetensors").read_bytes() == BLOB
    assert leftovers(tmp_path) == ["lora.safetensors"]


def test_a_cut_connection_is_resumed_with_range_in_the_same_run(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB, cut_after=200_000, cuts_left=2) as server:
        result = downloader(client).fetch(task(server, tmp_path))
        ranges = [r["headers"].get("Range") for r in server.requests]
    assert result.outcome == "downloaded" and result.sha256 == SHA
    # The part keeps every byte that came in whole chunks; the rest is asked for.
    assert ranges[0] is None and len(ranges) == 3
    starts = [int(r.removeprefix("bytes=").rstrip("-")) for r in ranges[1:]]
    assert 0 < starts[0] <= 200_000 < starts[1] <= 400_000
    assert result.fetched_bytes == len(BLOB)  # nothing written twice


def test_a_part_left_by_an_earlier_run_is_resumed_and_only_the_rest_is_fetched(
    tmp_path: Path, client: httpx.Client
) -> None:
    first = DownloadLimits(**{**FAST.__dict__, "max_resumes": 0})
    with BlobServer(BLOB, cut_after=250_000, cuts_left=1) as server:
        gateway = HttpGateway(client)
        cut = Downloader(gateway, first, free_space=lambda folder: PLENTY).fetch(
            task(server, tmp_path)
        )
        assert cut.outcome == "failed" and cut.reason == "truncated"
        assert not (tmp_path / "lora.safetensors").exists()
        kept = (tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)).stat().st_size
        assert 0 < kept <= 250_000  # the whole chunks that came before the cut
        assert (tmp_path / ("lora.safetensors" + META_SUFFIX)).is_file()
        # A new process: new downloader, no memory but the part and its description.
        again = downloader(client).fetch(task(server, tmp_path))
        last = server.requests[-1]["headers"]
    assert again.outcome == "downloaded" and again.sha256 == SHA
    assert again.resumed_from == kept and again.fetched_bytes == len(BLOB) - kept
    assert last["Range"] == f"bytes={kept}-" and last["If-Range"] == '"v1"'
    assert leftovers(tmp_path) == ["lora.safetensors"]


def test_a_server_that_ignores_range_makes_the_download_start_over_cleanly(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB, ranges=False, cut_after=300_000, cuts_left=1) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert result.outcome == "downloaded" and result.sha256 == SHA
    assert result.resumed_from == 0
    assert (tmp_path / "lora.safetensors").read_bytes() == BLOB


def test_a_file_changed_on_the_server_between_attempts_is_fetched_whole_again(
    tmp_path: Path, client: httpx.Client
) -> None:
    new_blob = safetensors_blob(600_000, seed=99)
    first = DownloadLimits(**{**FAST.__dict__, "max_resumes": 0})
    with BlobServer(BLOB, cut_after=250_000, cuts_left=1) as server:
        Downloader(HttpGateway(client), first, free_space=lambda folder: PLENTY).fetch(
            task(server, tmp_path, sha256=None, size=None)
        )
        server.blob, server.etag = new_blob, '"v2"'
        result = downloader(client).fetch(task(server, tmp_path, sha256=None, size=None))
    assert result.outcome == "downloaded"
    assert (tmp_path / "lora.safetensors").read_bytes() == new_blob
    assert result.sha256 == hashlib.sha256(new_blob).hexdigest()


def test_a_wrong_hash_leaves_no_file_under_the_final_name(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client).fetch(task(server, tmp_path, sha256="0" * 64))
    assert (result.outcome, result.reason) == ("failed", "hash_mismatch")
    assert leftovers(tmp_path) == [("lora.safetensors" + LOCK_SUFFIX)] or leftovers(tmp_path) == []


def test_a_body_of_another_size_than_expected_is_refused_before_it_is_fetched(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client).fetch(task(server, tmp_path, size=len(BLOB) + 1))
    assert (result.outcome, result.reason) == ("failed", "size_mismatch")
    assert result.fetched_bytes == 0
    assert not (tmp_path / "lora.safetensors").exists()


def test_a_body_that_stays_truncated_fails_and_keeps_the_part_for_the_next_run(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB, cut_after=100_000, cuts_left=100) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert (result.outcome, result.reason) == ("failed", "truncated")
    assert not (tmp_path / "lora.safetensors").exists()
    assert (tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)).exists()


def test_a_truncated_safetensors_without_expected_size_is_caught_by_its_header(
    tmp_path: Path, client: httpx.Client
) -> None:
    # The server says 400 000 bytes and sends them, but the header needs more.
    with BlobServer(BLOB[:400_000]) as server:
        result = downloader(client).fetch(task(server, tmp_path, size=None, sha256=None))
    assert (result.outcome, result.reason) == ("failed", "not_a_model")
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


def test_plain_http_to_another_machine_is_refused(tmp_path: Path, client: httpx.Client) -> None:
    result = downloader(client).fetch(
        DownloadTask("http://example.invalid/model.safetensors", tmp_path, "m.safetensors")
    )
    assert (result.outcome, result.reason) == ("failed", "insecure_url")


@pytest.mark.parametrize(
    "name",
    ["../evil.safetensors", "/etc/evil.safetensors", "C:/evil.safetensors", "a/../../b.safetensors",
     "sub\\..\\..\\x.safetensors", "", "a//b.safetensors"],
)  # fmt: skip
def test_names_that_climb_out_of_the_folder_are_refused(
    tmp_path: Path, client: httpx.Client, name: str
) -> None:
    root = tmp_path / "loras"
    root.mkdir()
    result = downloader(client).fetch(DownloadTask("https://127.0.0.1:1/x", root, name))
    assert (result.outcome, result.reason) == ("failed", "unsafe_target")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("CON", "device name"),
        ("con.safetensors", "device name"),
        ("Aux.tar.gz", "device name"),
        ("nul .safetensors", "device name"),
        ("PRN.ckpt", "device name"),
        ("COM1.safetensors", "device name"),
        ("lpt9.safetensors", "device name"),
        ("COM\u00b9.safetensors", "device name"),
        ("conout$.safetensors", "device name"),
        ("sdxl/AUX/x.safetensors", "device name"),
        ("x.safetensors.", "ends in a dot or a space"),
        ("x.safetensors ", "ends in a dot or a space"),
        ("sub./x.safetensors", "ends in a dot or a space"),
        ("sub /x.safetensors", "ends in a dot or a space"),
        ("what?.safetensors", "?"),
        ("a*b.safetensors", "*"),
        ("a<b>.safetensors", "<"),
        ('say"hi".safetensors', '"'),
        ("a|b.safetensors", "|"),
        ("lora.safetensors:Zone.Identifier", "drive or a stream"),
        ("tab\there.safetensors", "control character"),
        ("line\nfeed.safetensors", "control character"),
        ("sub\x1f/x.safetensors", "control character"),
    ],
)
def test_names_windows_cannot_hold_are_refused_on_every_platform_with_the_reason(
    tmp_path: Path, client: httpx.Client, name: str, why: str
) -> None:
    root = tmp_path / "loras"
    root.mkdir()
    with pytest.raises(DownloadError) as raised:
        safe_target(root, name)
    assert raised.value.reason == "unsafe_target" and why in str(raised.value)
    result = downloader(client).fetch(DownloadTask("https://127.0.0.1:1/x", root, name))
    assert (result.outcome, result.reason) == ("failed", "unsafe_target")
    assert why in (result.detail or "")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "name",
    ["CONSOLE.safetensors", "icon.safetensors", "con-net/x.safetensors", "COM10.safetensors",
     "nul_v2.safetensors", "lpt.safetensors", "x.v1.safetensors", ".hidden/x.safetensors",
     "Ünïcode ok.safetensors"],
)  # fmt: skip
def test_names_that_only_look_like_device_names_are_allowed(tmp_path: Path, name: str) -> None:
    assert safe_target(tmp_path, name) == tmp_path.resolve().joinpath(*name.split("/"))


def test_a_symbolic_link_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "loras"
    outside = tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "sdxl").symlink_to(outside)
    with pytest.raises(DownloadError) as raised:
        safe_target(root, "sdxl/x.safetensors")
    assert raised.value.reason == "unsafe_target"
    assert safe_target(root, "SDXL2/x.safetensors") == root.resolve() / "SDXL2" / "x.safetensors"


def test_not_enough_free_space_stops_the_download_before_any_byte_is_written(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        result = downloader(client, free=len(BLOB)).fetch(task(server, tmp_path))
    assert (result.outcome, result.reason) == ("failed", "no_space")
    assert "MiB" in (result.detail or "")
    assert not (tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)).exists()


def test_a_stop_keeps_the_part_and_the_next_run_resumes_it(
    tmp_path: Path, client: httpx.Client
) -> None:
    stop = threading.Event()

    def stop_after_some(progress: object) -> None:
        if getattr(progress, "done", 0) >= 128 << 10:
            stop.set()

    with BlobServer(BLOB) as server:
        first = downloader(client, stop=stop, on_progress=stop_after_some).fetch(
            task(server, tmp_path)
        )
        assert first.outcome == "interrupted"
        assert not (tmp_path / "lora.safetensors").exists()
        second = downloader(client).fetch(task(server, tmp_path))
    assert second.outcome == "downloaded" and second.sha256 == SHA
    assert second.resumed_from == first.size


def test_the_byte_budget_pauses_a_download_and_keeps_what_it_fetched(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB) as server:
        paused = downloader(client, byte_budget=200_000).fetch(task(server, tmp_path))
        done = downloader(client).fetch(task(server, tmp_path))
    assert (paused.outcome, paused.reason) == ("paused", "byte_budget")
    assert 200_000 <= (paused.size or 0) < len(BLOB)
    assert done.outcome == "downloaded" and done.resumed_from == paused.size


def test_a_stop_while_a_resumed_part_is_hashed_keeps_it_and_asks_the_server_nothing(
    tmp_path: Path, client: httpx.Client
) -> None:
    part = tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)
    with BlobServer(BLOB) as server:
        paused = downloader(client, byte_budget=300_000).fetch(task(server, tmp_path))
        kept = part.read_bytes()
        asked = len(server.requests)
        stop = threading.Event()
        stop.set()
        stopped = downloader(client, stop=stop).fetch(task(server, tmp_path))
        assert len(server.requests) == asked
        done = downloader(client).fetch(task(server, tmp_path))
    assert paused.outcome == "paused" and len(kept) == paused.size
    assert (stopped.outcome, stopped.reason) == ("interrupted", "interrupted")
    assert "part on disk was being checked" in (stopped.detail or "")
    assert done.outcome == "downloaded" and done.resumed_from == len(kept)
    assert done.sha256 == SHA


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
