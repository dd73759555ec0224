"""Hostile files: what one workflow or image of up to 50 MB costs to read, at worst.

Each generator writes one file built to make the readers work hard (deep nesting, subgraphs
that fan out, group-node chains, compression bombs in many PNG chunks, overlapping WebP
EXIF values, huge strings, many embedding tokens, many embedded models, SVG, GLB and AVIF
files whose metadata is built to cost the most). Each file is then
read by ``scan_file`` in a fresh process, so its wall time and peak RSS are its own. The
floor, measured in the same run, is a fresh process that reads the same file and hashes
it. The goal (issue 9) is at most 10 s and 1 GiB per file, judged on the reader's CPU
seconds (its wall time on a shared machine also counts other processes); the table shows
wall and CPU seconds, the ratio of wall time to the floor, and the peak RSS.

Usage: ``python bench/hostile.py [--size-mb 50] [--only NAME]``; figures are printed and
written to ``bench/results/hostile.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The Ogg pages as the media tests build them: one way to write a file in both places.
from tests.media_files import opus_with_comments

RESULTS = Path(__file__).resolve().parent / "results" / "hostile.json"
GOAL_SECONDS = 10.0
GOAL_BYTES = 1 << 30


def _node(node_id: int, node_type: str = "CheckpointLoaderSimple", **extra: Any) -> dict:
    return {
        "id": node_id,
        "type": node_type,
        "mode": 0,
        "inputs": [{"name": "model", "type": "MODEL", "link": node_id}],
        "properties": {"cnr_id": "comfy-core", "ver": "0.3.40"},
        "widgets_values": [f"models/sdxl/checkpoint_{node_id}.safetensors"],
        **extra,
    }


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def many_nodes(size: int) -> bytes:
    """A plain UI workflow with as many ordinary nodes as fit (past the node budget)."""
    one = len(_json(_node(10**6))) + 1
    count = size // one
    links = [[index, index, 0, index + 1, 0, "MODEL"] for index in range(min(count, 1000))]
    return _json({"nodes": [_node(index) for index in range(count)], "links": links})


def many_nodes_within_budget(size: int) -> bytes:
    """45,000 nodes (under MAX_EXPANDED_NODES), each with a long prompt to reach ``size``."""
    count = 45_000
    pad = max(0, size // count - 300)
    nodes = [
        _node(index, "CLIPTextEncode", widgets_values=["a photo, " + "x" * pad])
        for index in range(count)
    ]
    return _json({"nodes": nodes})


def deep_nesting(size: int) -> bytes:
    half = size // 2 - 20
    return b'{"nodes":[' + b"[" * half + b"]" * half + b"]}"


def fan_out(_: int) -> bytes:
    """Subgraph i holds two instances of subgraph i+1, 40 levels: 2**40 nodes if followed."""
    ids = [f"{index:08x}-0000-4000-8000-000000000000" for index in range(40)]
    definitions = [
        {"id": ids[i], "nodes": [{"id": 1, "type": ids[i + 1]}, {"id": 2, "type": ids[i + 1]}]}
        for i in range(39)
    ]
    definitions.append({"id": ids[-1], "nodes": [_node(1)]})
    return _json({"nodes": [{"id": 1, "type": ids[0]}], "definitions": {"subgraphs": definitions}})


def fan_out_wide(size: int) -> bytes:
    """One subgraph of many loaders, instantiated as often as fits: expansion x values."""
    sub = "00000000-0000-4000-8000-000000000000"
    inner = [_node(index) for index in range(1000)]
    count = max(1, (size - len(_json(inner))) // 60)
    top = [{"id": index, "type": sub} for index in range(count)]
    return _json({"nodes": top, "definitions": {"subgraphs": [{"id": sub, "nodes": inner}]}})


def group_chain(size: int) -> bytes:
    count = size // 80
    groups = {
        f"G{i}": {"nodes": [{"type": f"workflow>G{i + 1}", "index": 0}]} for i in range(count)
    }
    return _json({"nodes": [{"id": 1, "type": "workflow>G0"}], "extra": {"groupNodes": groups}})


def huge_strings(size: int) -> bytes:
    """Few nodes of unknown type whose values are megabytes of text near model names."""
    value = ("lora.safetensors embedding:" * (size // 30 // 10))[: size // 10]
    nodes = [{"id": i, "type": "SomePackNode", "widgets_values": [value]} for i in range(9)]
    return _json({"nodes": nodes})


def embedding_tokens(size: int) -> bytes:
    """One prompt with as many distinct ``embedding:`` tokens as fit."""
    count = size // 20
    text = " ".join(f"embedding:e{i}" for i in range(count))
    return _json({"nodes": [{"id": 1, "type": "CLIPTextEncode", "widgets_values": [text]}]})


def embedded_models(size: int) -> bytes:
    """Thousands of loaders and as many embedded model entries: attach is refs x models."""
    count = size // 260
    half = min(count // 2, 45_000)
    models = [
        {"name": f"m{i}.safetensors", "url": f"https://h/m{i}", "directory": "checkpoints"}
        for i in range(count - half)
    ]
    nodes = [_node(i, widgets_values=[f"m{i}.safetensors"]) for i in range(half)]
    return _json({"nodes": nodes, "models": models})


def api_prompt(size: int) -> bytes:
    count = size // 120
    return _json(
        {
            str(i): {"class_type": "LoraLoader", "inputs": {"lora_name": f"l{i}.safetensors"}}
            for i in range(count)
        }
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(*chunks: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + _png_chunk(b"IEND", b"")


_BOMB = zlib.compress(b" " * (64 << 20), 9)  # 64 MiB of spaces in ~64 KB


def png_many_bombs(size: int) -> bytes:
    """Chunks of other keywords that each inflate to 64 MiB, then a real workflow."""
    chunk = _png_chunk(b"zTXt", b"Comment\x00\x00" + _BOMB)
    workflow = _png_chunk(b"tEXt", b"workflow\x00" + _json({"nodes": [_node(1)]}))
    return _png(*([chunk] * (size // len(chunk))), workflow)


def png_workflow_bombs(size: int) -> bytes:
    """Every chunk is a ``workflow`` zTXt inflating to 64 MiB."""
    chunk = _png_chunk(b"zTXt", b"workflow\x00\x00" + _BOMB)
    return _png(*([chunk] * (size // len(chunk))))


def png_big_text(size: int) -> bytes:
    """One plain tEXt workflow of nearly ``size`` bytes (decoded JSON of that size)."""
    return _png(_png_chunk(b"tEXt", b"workflow\x00" + many_nodes(size - 100)))


def webp_overlapping_exif(size: int) -> bytes:
    """An EXIF IFD of 1,000 entries that all point at one region of most of the file."""
    region = b"workflow:" + b" " * (size - 20_000)
    entries = b"".join(struct.pack("<HHII", 0x010F, 2, len(region), 0) for _ in range(1000))
    ifd_offset = 8
    data_offset = ifd_offset + 2 + len(entries) + 4
    entries = b"".join(
        struct.pack("<HHII", 0x010F, 2, len(region), data_offset) for _ in range(1000)
    )
    tiff = b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<H", 1000) + entries
    tiff += struct.pack("<I", 0) + region
    exif = b"EXIF" + struct.pack("<I", len(tiff)) + tiff + b"\x00" * (len(tiff) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(exif)) + b"WEBP" + exif


def webp_ifd_maze(size: int) -> bytes:
    """IFDs of 1,000 pointer entries each, pointing at every other IFD."""
    count = max(2, size // 12_010)
    ifd_size = 2 + 12 * 1000 + 4
    tiff = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for index in range(count):
        tiff += struct.pack("<H", 1000)
        for entry in range(1000):
            target = 8 + ((index + entry + 1) % count) * ifd_size
            tiff += struct.pack("<HHII", 0x8769, 4, 1, target)
        tiff += struct.pack("<I", 0)
    exif = b"EXIF" + struct.pack("<I", len(tiff)) + bytes(tiff) + b"\x00" * (len(tiff) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(exif)) + b"WEBP" + exif


def unterminated_escapes(size: int) -> bytes:
    """Not JSON: a NaN (so the repair pass runs) and then quote-backslash pairs, each an
    unterminated string to the end (quadratic for a scan that retries at every quote)."""
    return b'{"a": NaN, "b": ' + b'"\\' * ((size - 20) // 2)


def lora_tag_blanks(size: int) -> bytes:
    """A LoRA-text node whose text opens ``<lora:a`` and goes on in blanks, never closing
    the tag (quadratic for a lazy name before optional blanks)."""
    text = "<lora:a" + " " * (size - 200) + "b"
    return _json({"nodes": [{"id": 1, "type": "LoraLoaderFromText", "widgets_values": [text]}]})


def lora_list_entries(size: int) -> bytes:
    """A LoRA Manager loader whose list holds as many distinct active entries as fit (a
    list's ``in`` per entry made it quadratic)."""
    count = size // 45
    entries = [{"name": f"l{i}", "active": True, "strength": 1} for i in range(count)]
    return _json(
        {"nodes": [{"id": 1, "type": "Lora Loader (LoraManager)", "widgets_values": ["", entries]}]}
    )


def one_name_many_directories(size: int) -> bytes:
    """One model name embedded in as many directories as fit, and thousands of loaders of
    it (matching each loader against every same-named entry made it quadratic)."""
    count = size // 150
    models = [
        {"name": "x.safetensors", "url": f"https://h/{i}/x.safetensors", "directory": f"d{i}"}
        for i in range(count)
    ]
    nodes = [_node(i, widgets_values=["x.safetensors"]) for i in range(min(count, 40_000))]
    return _json({"nodes": nodes, "models": models})


def subgraph_many_inputs(size: int) -> bytes:
    """One subgraph with as many inputs as half the size allows, instantiated 20,000
    times, each instance linking one input (reading the inputs per instance made it
    inputs x instances)."""
    sub = "00000000-0000-4000-8000-000000000000"
    count = max(1, size // 2 // 40)
    inputs = [{"name": f"i{index}", "type": "COMBO", "linkIds": []} for index in range(count)]
    inner = [_node(1)]
    top = [
        {"id": index, "type": sub, "inputs": [{"name": f"i{index % count}", "link": index}]}
        for index in range(20_000)
    ]
    links = [[index, 10**6, 0, index, 0, "COMBO"] for index in range(20_000)]
    return _json(
        {
            "nodes": top,
            "links": links,
            "definitions": {"subgraphs": [{"id": sub, "inputs": inputs, "nodes": inner}]},
        }
    )


def svg_unclosed_sections(size: int) -> bytes:
    """An SVG of ``<metadata><![CDATA[`` openings, each followed by a CDATA end that no
    ``</metadata>`` follows (a search per opening made it quadratic)."""
    piece = b"<metadata> <![CDATA[ ]]> <title/>"
    return b"<svg>" + piece * (size // len(piece)) + b"</svg>"


def glb_huge_workflow(size: int) -> bytes:
    """A GLB whose ``asset.extras.workflow`` is a JSON text of many nodes, just under the
    JSON chunk's limit."""
    budget = min(size, 32 * 1024 * 1024) - 1024
    text = many_nodes_within_budget(budget).decode()
    document = json.dumps({"asset": {"version": "2.0", "extras": {"workflow": text}}}).encode()
    document += b" " * (-len(document) % 4)
    binary = b"\0" * max(0, size - len(document))
    return (
        struct.pack("<4sII", b"glTF", 2, 28 + len(document) + len(binary))
        + struct.pack("<II", len(document), 0x4E4F534A)
        + document
        + struct.pack("<II", len(binary), 0x004E4942)
        + binary
    )


def avif_overlapping_extents(size: int) -> bytes:
    """An AVIF whose ``Exif`` item is 64 extents over one region of the file, and 4,095
    other items listed before it (each read from the item table once)."""

    def box(kind: bytes, content: bytes) -> bytes:
        return struct.pack(">I", 8 + len(content)) + kind + content

    region = min(size, 32 * 1024 * 1024) // 64
    infe = box(b"infe", struct.pack(">BxxxHH4s", 2, 5000, 0, b"Exif") + b"\0")
    iinf = box(b"iinf", struct.pack(">BxxxH", 0, 1) + infe)
    items = b"".join(struct.pack(">HHH", index, 0, 0) for index in range(1, 4096))
    ftyp = box(b"ftyp", b"avif\0\0\0\0mif1miafavif")

    def meta(offset: int) -> bytes:
        exif_item = struct.pack(">HHH", 5000, 0, 64) + struct.pack(">II", offset, region) * 64
        table = struct.pack(">Bxxx", 0) + bytes([0x44, 0]) + struct.pack(">H", 4096)
        iloc = box(b"iloc", table + items + exif_item)
        return box(b"meta", b"\0\0\0\0" + iinf + iloc)

    # The sizes do not depend on the offset, so one draft gives the layout.
    start = len(ftyp) + len(meta(0)) + 8
    tiff = b"II*\0" + struct.pack("<IH", 8, 0) + b"\0" * 4
    body = struct.pack(">I", 0) + tiff + b"\0" * max(0, region - 18)
    return ftyp + meta(start) + box(b"mdat", body)


def opus_many_pages(size: int) -> bytes:
    """An Opus file whose comment packet, a workflow text near the text limit, spans
    thousands of pages of 255-byte segments (joined one segment at a time onto the
    packet so far, a 5.7 MB one took 13 s)."""
    text = many_nodes_within_budget(min(size, 32 * 1024 * 1024) - 4096)
    return opus_with_comments({b"workflow": text})


GENERATORS: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "many nodes (past the node budget)": ("json", many_nodes),
    "45k nodes with long prompts": ("json", many_nodes_within_budget),
    "deep nesting": ("json", deep_nesting),
    "subgraphs fanning out 40 levels": ("json", fan_out),
    "one wide subgraph instantiated often": ("json", fan_out_wide),
    "group-node chain": ("json", group_chain),
    "a subgraph of many inputs instantiated often": ("json", subgraph_many_inputs),
    "huge string values": ("json", huge_strings),
    "distinct embedding tokens": ("json", embedding_tokens),
    "refs x embedded models": ("json", embedded_models),
    "API prompt of many nodes": ("json", api_prompt),
    "unterminated strings after a NaN": ("json", unterminated_escapes),
    "an open LoRA tag then blanks": ("json", lora_tag_blanks),
    "a LoRA Manager list of distinct entries": ("json", lora_list_entries),
    "one model name in many directories": ("json", one_name_many_directories),
    "PNG: many 64 MiB bombs of other keywords": ("png", png_many_bombs),
    "PNG: many 64 MiB workflow bombs": ("png", png_workflow_bombs),
    "PNG: one huge tEXt workflow": ("png", png_big_text),
    "WebP: 1,000 overlapping EXIF values": ("webp", webp_overlapping_exif),
    "WebP: a maze of IFD pointers": ("webp", webp_ifd_maze),
    "SVG: unclosed metadata sections": ("svg", svg_unclosed_sections),
    "GLB: a workflow text at the JSON chunk's limit": ("glb", glb_huge_workflow),
    "AVIF: an Exif item in 64 overlapping extents": ("avif", avif_overlapping_extents),
    "Opus: a workflow comment over thousands of Ogg pages": ("opus", opus_many_pages),
}

# Peak RSS of this process image only: ru_maxrss would also count the parent's memory
# copied by fork before exec (Linux keeps the high-water mark across exec).
_PEAK = """
def peak():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""
_READ = (
    _PEAK
    + """
import logging, sys, time
from pathlib import Path
from watchman.commands.scan import scan_file
logging.disable(logging.WARNING)
started = time.perf_counter()
entry = scan_file(Path(sys.argv[1]))
print(time.perf_counter() - started)
print(peak())
print(entry.errors[0][:300] if entry.errors else f"read: {entry.format}")
"""
)
_FLOOR = (
    _PEAK
    + """
import hashlib, sys, time
from pathlib import Path
started = time.perf_counter()
hashlib.sha256(Path(sys.argv[1]).read_bytes()).hexdigest()
print(time.perf_counter() - started)
print(peak())
print("floor")
"""
)


def measure(script: str, path: Path) -> tuple[float, float, int, str]:
    """Run ``script`` on ``path`` in a fresh process; return its wall seconds (inside the
    process, start-up excluded), its CPU seconds (start-up included), its peak RSS in
    bytes and the line it printed."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = output.strip().splitlines()
    cpu = usage.ru_utime + usage.ru_stime
    if process.returncode != 0 or len(lines) < 3:
        return float("nan"), cpu, usage.ru_maxrss * 1024, f"exit {process.returncode}"
    return float(lines[0]), cpu, int(lines[1]), lines[2]


def run(size: int, only: str | None = None) -> list[dict[str, Any]]:
    """Generate each hostile file of about ``size`` bytes, read it, return the figures."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        for name, (suffix, generate) in GENERATORS.items():
            if only and only.lower() not in name.lower():
                continue
            path = Path(folder) / f"hostile.{suffix}"
            data = generate(size)
            path.write_bytes(data)
            del data
            floor_seconds, _, floor_rss, _ = measure(_FLOOR, path)
            seconds, cpu, rss, outcome = measure(_READ, path)
            rows.append(
                {
                    "file": name,
                    "bytes": path.stat().st_size,
                    "seconds": round(seconds, 3),
                    "cpu_seconds": round(cpu, 3),
                    "peak_rss_mib": round(rss / 2**20, 1),
                    "floor_seconds": round(floor_seconds, 3),
                    "floor_rss_mib": round(floor_rss / 2**20, 1),
                    "ratio": round(seconds / floor_seconds, 1) if floor_seconds else None,
                    # CPU time, not wall time: on a shared machine the wall clock also
                    # counts other processes' turns.
                    "within_goal": cpu <= GOAL_SECONDS and rss <= GOAL_BYTES,
                    "outcome": limit_broken(outcome),
                }
            )
            row = rows[-1]
            print(
                f"{name:42} {row['bytes'] / 1e6:6.1f} MB wall {row['seconds']:6.2f} s "
                f"cpu {row['cpu_seconds']:6.2f} s (x{row['ratio']} floor) "
                f"{row['peak_rss_mib']:7.1f} MiB "
                f"{'ok' if row['within_goal'] else 'OVER GOAL'}  {row['outcome']}",
                flush=True,
            )
            path.unlink()
    return rows


def limit_broken(outcome: str) -> str:
    """The limit named in a refusal (``MAX_...``), or what happened."""
    for word in outcome.replace("(", " ").replace(")", " ").split():
        if word.startswith("MAX_"):
            return word.rstrip(".,;")
    return outcome if outcome.startswith("read") else "error: " + outcome[-80:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--only", default=None, help="run the generators whose name has this")
    arguments = parser.parse_args()
    rows = run(int(arguments.size_mb * 1_000_000), arguments.only)
    if not arguments.only:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"size_mb": arguments.size_mb, "rows": rows}, indent=2))
    return 0 if all(row["within_goal"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
