"""Write the small video and audio files in ``tests/comfy/media`` the way ComfyUI's
savers and Video Helper Suite write them, with PyAV (which bundles ffmpeg).

PyAV is not a dependency of comfywatchman: install it in a scratch environment to run
this (``pip install av numpy``). The files are committed, so the tests never need it.

- ``savevideo.mp4``: SaveVideo's layout, ``prompt`` and ``workflow`` as 'mdta' keys
  (``movflags=use_metadata_tags``); ``saveaudio.flac``, ``saveaudio.mp3`` and
  ``saveaudio.opus``: SaveAudio's, SaveAudioMP3's and SaveAudioOpus's tags;
  ``savewebm.webm``: SaveWEBM's tags.
- ``vhs_comment.{mp4,mov,webm}``: Video Combine's one ``comment``, a JSON object holding
  ``prompt`` as a JSON string and ``workflow`` as an object.
- ``plain.mp4``: a video without metadata.

Usage: ``python tools/make_media_fixtures.py [OUTPUT_DIR]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av  # type: ignore[import-not-found]
import numpy  # type: ignore[import-not-found]

WORKFLOW = {
    "nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["media_ckpt.safetensors"]},
        {"id": 2, "type": "LoraLoader", "widgets_values": ["media_lora.safetensors", 1, 1]},
    ],
    "links": [],
    "version": 0.4,
}
PROMPT = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "media_ckpt.safetensors"}}
}


def _video(path: Path, metadata: dict[str, str], options: dict[str, str], codec: str) -> None:
    container = av.open(str(path), mode="w", options=options)
    stream = container.add_stream(codec, rate=4)
    stream.width = stream.height = 16
    stream.pix_fmt = "yuv420p"
    for key, value in metadata.items():
        container.metadata[key] = value
    for shade in range(2):
        pixels = numpy.full((16, 16, 3), shade, dtype=numpy.uint8)
        for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def _audio(path: Path, metadata: dict[str, str], container_format: str, codec: str) -> None:
    container = av.open(str(path), mode="w", format=container_format)
    rate = 48000 if codec == "libopus" else 8000
    stream = container.add_stream(codec, rate=rate)
    for key, value in metadata.items():
        container.metadata[key] = value
    sample_format, dtype = ("flt", numpy.float32) if codec == "libopus" else ("s16", numpy.int16)
    frame = av.AudioFrame.from_ndarray(
        numpy.zeros((1, 960), dtype=dtype), format=sample_format, layout="mono"
    )
    frame.sample_rate = rate
    for packet in stream.encode(frame):
        container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    # What ComfyUI's savers store: json.dumps of each value, keyed prompt and workflow.
    core = {"prompt": json.dumps(PROMPT), "workflow": json.dumps(WORKFLOW)}
    _video(output / "savevideo.mp4", core, {"movflags": "use_metadata_tags"}, "libx264")
    _video(output / "savewebm.webm", core, {}, "libvpx-vp9")
    _audio(output / "saveaudio.flac", core, "flac", "flac")
    _audio(output / "saveaudio.mp3", core, "mp3", "libmp3lame")
    _audio(output / "saveaudio.opus", core, "ogg", "libopus")
    comment = {"comment": json.dumps({"prompt": json.dumps(PROMPT), "workflow": WORKFLOW})}
    _video(output / "vhs_comment.mp4", comment, {}, "libx264")
    _video(output / "vhs_comment.mov", comment, {}, "libx264")
    _video(output / "vhs_comment.webm", comment, {}, "libvpx-vp9")
    _video(output / "plain.mp4", {}, {}, "libx264")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tests/comfy/media"))
