"""Only regular files are opened, a pipe never blocks, and reads stop at their bound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.named_pipes import finishes, needs_fifo
from watchman.errors import FileTooLargeError
from watchman.regular_files import open_regular, read_regular


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "workflow.json"
    path.write_bytes(b'{"nodes": []}')
    assert read_regular(path, 100) == b'{"nodes": []}'
    with open_regular(path) as handle:
        assert handle.read() == b'{"nodes": []}'


def test_a_link_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_bytes(b"{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    assert read_regular(tmp_path / "link.json", 10) == b"{}"


def test_a_file_over_the_bound_is_refused_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_bytes(b"x" * 11)
    with pytest.raises(FileTooLargeError) as raised:
        read_regular(path, 10)
    assert raised.value.size == 11
    assert raised.value.strerror == "11 bytes is over the 10-byte limit"
    assert isinstance(raised.value, OSError)  # every per-file boundary handles it
    assert read_regular(path, 11) == b"x" * 11


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="no /proc here")
def test_a_file_that_says_it_is_empty_is_still_read_only_to_its_bound() -> None:
    # /proc files report a size of 0 and then yield text: the bound holds on what is read.
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(FileTooLargeError):
        read_regular("/proc/self/status", 10)


@needs_fifo
def test_a_named_pipe_is_refused_at_once_and_never_waited_on(tmp_path: Path) -> None:
    pipe = tmp_path / "__init__.py"
    os.mkfifo(pipe)
    raised = finishes(lambda: read_regular(pipe, 1000), [pipe])
    assert isinstance(raised, OSError)
    assert raised.strerror == "it is a named pipe, not a regular file"
    assert raised.filename == str(pipe)


@needs_fifo
def test_a_link_to_a_named_pipe_is_refused_too(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "HEAD").symlink_to(tmp_path / "pipe")
    raised = finishes(lambda: open_regular(tmp_path / "HEAD"), [tmp_path / "pipe"])
    assert isinstance(raised, OSError)
    assert "named pipe" in str(raised.strerror)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_that_streams_without_end_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").symlink_to("/dev/zero")
    with pytest.raises(OSError, match="character device"):
        read_regular(tmp_path / "model.safetensors", 1 << 30)


def test_a_folder_is_refused_as_a_folder(tmp_path: Path) -> None:
    (tmp_path / "nodes.py").mkdir()
    with pytest.raises(OSError) as raised:
        open_regular(tmp_path / "nodes.py")
    assert raised.value.strerror == "it is a folder, not a regular file"


def test_a_missing_file_is_an_ordinary_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "absent.json", 10)
