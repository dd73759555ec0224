"""Where a download may go and from where: names that climb out of the folder, names
Windows cannot hold, links leading out, and plain HTTP to another machine, refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.remote.downloads import downloader, leftovers
from watchman.errors import DownloadError
from watchman.remote.download_safety import safe_target
from watchman.remote.download_task import DownloadTask


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
