"""The broken-file check over files a stranger made: any bytes under a model's name are
judged without raising, and a safetensors file is sound exactly when its header parses
and its tensors' data fits in the file, whether the header fits in the first read or not."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.named_pipes import finishes, needs_fifo
from watchman.comfy.model_file_check import SNIFF_BYTES, check_model_file

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
