"""The part writer: bytes handed over in any sizes are written and hashed in order through
its few reused buffers, and a failing disk surfaces as the writer's error, never as a hang."""

from __future__ import annotations

import errno
import hashlib
import io
import random
from pathlib import Path

import pytest

from watchman.remote.part_file import PartFile, PartWriter, open_part_at


def part_at(path: Path) -> PartFile:
    return PartFile(path=path, meta_path=path.with_suffix(".json"), url="http://127.0.0.1/x")


@pytest.mark.parametrize("buffers", [2, 4, 7])
def test_pieces_smaller_and_larger_than_a_buffer_are_written_and_hashed_in_order(
    tmp_path: Path, buffers: int
) -> None:
    rng = random.Random(3)
    pieces = [rng.randbytes(rng.choice([1, 7, 100, 4095, 4096, 4097, 20_000])) for _ in range(300)]
    part = part_at(tmp_path / "m.cwpart")
    with open_part_at(part.path, 0) as handle:
        writer = PartWriter(part, handle, buffer_bytes=4096, buffers=buffers)
        for piece in pieces:
            writer.put(piece)
        writer.close()
    body = b"".join(pieces)
    assert part.path.read_bytes() == body
    assert part.offset == len(body)
    assert part.hasher.hexdigest() == hashlib.sha256(body).hexdigest()


def test_a_writer_resumed_at_an_offset_appends_after_what_was_kept(tmp_path: Path) -> None:
    part = part_at(tmp_path / "m.cwpart")
    part.path.write_bytes(b"kept" + b"junk past the hashed end")
    part.offset = 4
    part.hasher.update(b"kept")
    with open_part_at(part.path, part.offset) as handle:
        writer = PartWriter(part, handle, buffer_bytes=3)
        writer.put(b"-and-the-rest")
        writer.close()
    assert part.path.read_bytes() == b"kept-and-the-rest"
    assert part.hasher.hexdigest() == hashlib.sha256(b"kept-and-the-rest").hexdigest()


class FullDisk(io.BytesIO):
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: object) -> int:
        if self.tell() + len(data) > self.room:  # type: ignore[arg-type]
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)  # type: ignore[arg-type]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("buffers", [2, 4])
def test_a_full_disk_is_raised_to_the_reader_and_the_hash_stops_where_the_writes_did(
    tmp_path: Path, buffers: int
) -> None:
    part = part_at(tmp_path / "m.cwpart")
    disk = FullDisk(room=10_000)
    writer = PartWriter(part, disk, buffer_bytes=1000, buffers=buffers)
    with pytest.raises(OSError) as raised:
        # Far more than the room: the error must come back through put or close, and the
        # reader must never wait for a buffer the failed writer keeps.
        for _ in range(1000):
            writer.put(b"x" * 700)
        writer.close()
    assert raised.value.errno == errno.ENOSPC
    assert part.offset <= 10_000
    # What the hash state has seen is exactly what is on the disk, never more.
    assert part.offset == len(disk.getvalue())
    assert part.hasher.hexdigest() == hashlib.sha256(b"x" * part.offset).hexdigest()


@pytest.mark.timeout(20)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("pieces", [1, 50], ids=["seen-at-close", "seen-while-putting"])
def test_a_writer_thread_that_dies_of_another_error_is_an_error_not_a_short_part(
    tmp_path: Path, pieces: int
) -> None:
    part = part_at(tmp_path / "m.cwpart")
    handle = io.BytesIO()
    handle.close()  # writing raises ValueError, not OSError: the thread dies of it
    writer = PartWriter(part, handle, buffer_bytes=100, buffers=2)
    with pytest.raises(OSError, match="writer thread stopped"):
        for _ in range(pieces):
            writer.put(b"y" * 60)
        writer.close()
    assert part.offset == 0


class BrokenHasher:
    """A hash state that fails as nothing in hashlib should: the hasher thread dies."""

    def update(self, data: object) -> None:
        raise ValueError("broken")


@pytest.mark.timeout(20)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("pieces", [1, 50], ids=["seen-at-close", "seen-while-putting"])
def test_a_hasher_thread_that_dies_is_an_error_not_a_hang(tmp_path: Path, pieces: int) -> None:
    part = part_at(tmp_path / "m.cwpart")
    part.hasher = BrokenHasher()
    writer = PartWriter(part, io.BytesIO(), buffer_bytes=100, buffers=2)
    with pytest.raises(OSError, match="writer thread stopped"):
        for _ in range(pieces):
            writer.put(b"z" * 60)
        writer.close()
    assert part.offset == 0
