"""The broken-file check over files a stranger made: any bytes under a model's name are
judged without raising, and a safetensors file is sound exactly when its header parses
and its tensors' data fits in the file, whether the header fits in the first read or not."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.named_pipes import finishes, needs_fifo
from watchman.comfy.model_file_check import GGUF_MAGIC, SNIFF_BYTES, check_model_file

REASONS = {"empty", "html_page", "json_body", "bad_header", "truncated"}


def _judge(name: str, data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return check_model_file(path, len(data))


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["m.safetensors", "m.sft", "m.ckpt", "m.gguf", "notes.txt"]),
    data=st.one_of(
        st.binary(max_size=SNIFF_BYTES + 64),
        # Zip and GGUF openings before arbitrary bytes: their own rules, not the sniff.
        st.builds(lambda rest: b"PK\x03\x04" + rest, st.binary(max_size=200)),
        st.builds(lambda rest: GGUF_MAGIC + rest, st.binary(max_size=40)),
        # A plausible length prefix before arbitrary bytes: the header path, not the sniff.
        st.builds(
            lambda length, rest: struct.pack("<Q", length) + rest,
            st.integers(min_value=0, max_value=2**64 - 1),
            st.binary(max_size=SNIFF_BYTES + 64),
        ),
    ),
)
def test_any_bytes_under_a_model_name_are_judged_without_raising(name: str, data: bytes) -> None:
    problem = _judge(name, data)
    assert problem is None or problem.reason in REASONS


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=64), min_size=1, max_size=400),
    cut=st.integers(min_value=0, max_value=40_000),
)
def test_a_safetensors_file_is_sound_exactly_when_its_data_fits(sizes: list[int], cut: int) -> None:
    offsets, start = {}, 0
    for index, size in enumerate(sizes):
        offsets[f"tensor.{index}.weight"] = {
            "dtype": "U8",
            "shape": [size],
            "data_offsets": [start, start + size],
        }
        start += size
    header = orjson.dumps(offsets)  # up to ~40 KB: often past the first read
    whole = struct.pack("<Q", len(header)) + header + bytes(start)
    data = whole[: len(whole) - min(cut, len(whole) - 1)]
    problem = _judge("m.safetensors", data)
    if len(data) == len(whole):
        assert problem is None
    elif len(data) >= 8:
        assert problem is not None and problem.reason == "truncated", problem
    else:  # a few bytes left of the length itself: broken, whatever it looks like
        assert problem is not None and problem.reason in REASONS


@needs_fifo
def test_a_pipe_swapped_in_for_a_listed_model_is_judged_at_once(tmp_path: Path) -> None:
    # The listing saw a regular file of 4 KiB; by the time it is checked, a pipe bears its
    # name. The check must not wait for a writer: the pipe reads as nothing at all.
    pipe = tmp_path / "model.safetensors"
    os.mkfifo(pipe)
    verdict = finishes(lambda: check_model_file(pipe, 4096), [pipe])
    assert not isinstance(verdict, BaseException), verdict
    assert verdict is not None


def _torch_archive(comment: bytes = b"") -> bytes:
    # The shape torch.save writes since PyTorch 1.6: a zip of a pickle and tensor data.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00." * 50)
        archive.writestr("archive/data/0", bytes(range(256)) * 40)
        archive.comment = comment
    return buffer.getvalue()


@settings(max_examples=100, deadline=None)
@given(
    comment=st.binary(max_size=3000),
    cut=st.integers(min_value=0, max_value=20_000),
    name=st.sampled_from(["m.ckpt", "m.pt", "m.pth", "pytorch_model.bin"]),
)
def test_a_pytorch_archive_is_sound_exactly_when_it_is_whole(
    comment: bytes, cut: int, name: str
) -> None:
    whole = _torch_archive(comment)
    data = whole[: max(len(whole) - cut, 4)]  # at least the zip's opening bytes
    problem = _judge(name, data)
    if data == whole:
        assert problem is None
    else:
        # Cut anywhere, even inside the comment: readers then find no end record.
        assert problem is not None and problem.reason == "truncated", problem


def test_an_old_pickle_checkpoint_is_not_judged() -> None:
    # Before PyTorch 1.6 a checkpoint was a bare pickle: nothing cheap tells a cut one.
    assert _judge("old.ckpt", b"\x80\x02" + bytes(5000)) is None


def test_a_gguf_file_must_open_with_the_magic_and_a_known_version() -> None:
    header = GGUF_MAGIC + struct.pack("<I", 3) + struct.pack("<QQ", 10, 20) + bytes(64)
    assert _judge("unet.gguf", header) is None
    big_endian = GGUF_MAGIC + struct.pack(">I", 3) + bytes(80)
    assert _judge("unet.gguf", big_endian) is None
    problem = _judge("unet.gguf", b"GGML" + bytes(80))
    assert problem is not None and problem.reason == "bad_header"
    problem = _judge("unet.gguf", GGUF_MAGIC + struct.pack("<I", 99) + bytes(80))
    assert problem is not None and problem.reason == "bad_header"
    problem = _judge("unet.gguf", GGUF_MAGIC)
    assert problem is not None and problem.reason == "truncated"
