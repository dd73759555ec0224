"""The workflow fuzzer: Hypothesis strategies that mutate real workflows and wrap them in
hostile PNG / WebP / MP4 / WebM / FLAC / MP3 / Opus containers, and the checks a batch of
fuzzed files must pass.

Seeds are the project's own example workflows (``examples/``) and, when present, the
shared corpus (``../shared/corpus/workflows``, read in place). A mutation replaces a value
somewhere in the document with a hostile one (a wrong JSON type, a lone surrogate, deep
nesting, a subgraph or group node that refers to itself, a huge number or string), or
damages the bytes (truncation, a flipped byte). Containers put the text in tEXt, zTXt or
iTXt chunks (or WebP EXIF), in any order, with wrong lengths and compression bombs.

A batch passes when ``scan --json`` (a real process) exits 0 with one entry per file,
each read or with an error, and a ``--run-cycle`` over the same files exits 0, records
itself and writes a report listing every workflow.
"""

from __future__ import annotations

import copy
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests import media_files
from watchman.comfy.media_metadata import media_payload, read_media_texts

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus" / "workflows"
SUBGRAPH = "11111111-2222-4333-8444-555555555555"
DEEP = "\u0000deep:"  # marker replaced by raw nesting after json.dumps (no recursion)


def seed_documents() -> list[tuple[str, Any]]:
    """The documents mutations start from: own examples first, then the corpus if there."""
    seeds = []
    for folder in (REPO / "examples", CORPUS):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.json")):
            try:
                seeds.append((path.name, json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError):
                continue
    return seeds


def document_paths(document: Any, limit: int = 5_000) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) into ``document``, breadth first, at most ``limit``."""
    paths: list[tuple[Any, ...]] = [()]
    pending: list[tuple[tuple[Any, ...], Any]] = [((), document)]
    while pending and len(paths) < limit:
        prefix, value = pending.pop(0)
        items = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list)
            else ()
        )
        for key, child in items:
            paths.append((*prefix, key))
            pending.append(((*prefix, key), child))
    return paths


def set_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    holder = document
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return document


LONE_SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc80b", "\udbff\udbff"])
# Long runs of one unit after a prefix the readers look for: a pattern or loop that
# re-scans a run for each start takes time quadratic in it (three such were found).
RUNS = st.builds(
    lambda prefix, unit, count, suffix: prefix + unit * count + suffix,
    st.sampled_from(
        ["", "<lora:a", "<lyco:", "embedding:", "(", "(a:", "a.safetensors", "C:\\", "http://h/"]
    ),
    st.sampled_from([" ", "\\", '"\\', "(", ")", ":", ".", "/", "\n", "a ", ", ", "0.", "<", "\t"]),
    st.integers(min_value=20_000, max_value=200_000),
    st.sampled_from(["", "b", ">", ".safetensors", ")"]),
)
# Long lists of one structure, each item distinct: a loop that compares each item with
# those before it (a list's "in", a scan per item) costs their square (four such were
# found: LoRA tags and list entries per node, same-named embedded entries, catalogue
# entries of one name).
MANY = st.builds(
    lambda template, count: [template(index) for index in range(count)],
    st.sampled_from(
        [
            lambda index: {"name": f"l{index}", "active": True, "strength": 1},
            lambda index: {"on": True, "lora": f"l{index}.safetensors", "strength": 1},
            lambda index: {
                "name": "x.safetensors",
                "url": f"https://h.invalid/{index}/x.safetensors",
                "directory": f"d{index}",
            },
            lambda index: f"<lora:l{index}:1> embedding:e{index}",
            lambda index: f"m{index}.safetensors",
        ]
    ),
    st.integers(min_value=2_000, max_value=30_000),
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=20),
    LONE_SURROGATES,
    RUNS,
    st.sampled_from(
        [
            "workflow>G",
            "workflow/G",
            SUBGRAPH,
            "x" * 100_000,
            "embedding:" * 1_000,
            "model.safetensors",
            "..\\..\\evil.ckpt",
            "",
        ]
    ),
)
HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    HOSTILE_TEXT,
)
HOSTILE_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(HOSTILE_TEXT, children, max_size=4)
    ),
    max_leaves=12,
) | st.integers(min_value=50, max_value=3_000).map(lambda depth: f"{DEEP}{depth}")
STRUCTURES = st.sampled_from(
    [
        # a subgraph that instantiates itself, a group node that contains itself
        {"id": 1, "type": SUBGRAPH},
        {"id": 1, "type": "workflow>G"},
        {"id": [1], "type": "LoraLoader", "inputs": 7, "widgets_values": {"a": [1]}},
    ]
)


def _graft(document: Any) -> Any:
    """Give the document a self-referencing subgraph and group node to be found."""
    if isinstance(document, dict):
        document.setdefault("definitions", {"subgraphs": [{"id": SUBGRAPH, "nodes": []}]})
        document.setdefault("extra", {"groupNodes": {"G": {"nodes": []}}})
    return document


def _serialise(document: Any) -> bytes:
    text = json.dumps(document, ensure_ascii=True)
    while DEEP.encode("unicode_escape").decode() in text:
        marker = DEEP.encode("unicode_escape").decode()
        start = text.index(marker)
        end = text.index('"', start)
        depth = int(text[start + len(marker) : end])
        text = text[: start - 1] + "[" * depth + "]" * depth + text[end + 1 :]
    return text.encode("ascii")


@st.composite
def fuzzed_workflow(draw: st.DrawFn, seeds: list[tuple[str, Any]]) -> bytes:
    """The bytes of one mutated workflow (JSON)."""
    _, seed = draw(st.sampled_from(seeds))
    document = json.loads(json.dumps(seed))
    if draw(st.booleans()):
        document = _graft(document)
    paths = document_paths(document)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(paths))
        # A copy: sampled values are shared objects, and mutating one would change what
        # later examples draw.
        value = copy.deepcopy(draw(st.one_of(HOSTILE_VALUES, STRUCTURES, MANY)))
        try:
            document = set_at(document, path, value)
        except (KeyError, IndexError, TypeError):
            continue
        paths = document_paths(document)
    data = _serialise(document)
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "flip", "bom"]))
    if damage == "truncate" and data:
        data = data[: draw(st.integers(min_value=0, max_value=len(data) - 1))]
    elif damage == "flip" and data:
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data = data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]
    elif damage == "bom":
        data = b"\xef\xbb\xbf" + data
    return data


def png_chunk(kind: bytes, body: bytes, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return struct.pack(">I", size) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@st.composite
def fuzzed_png(draw: st.DrawFn, seeds: list[tuple[str, Any]]) -> bytes:
    """A PNG whose text chunks hold a fuzzed workflow, other keywords, bombs, and lies."""
    text = draw(fuzzed_workflow(seeds))
    keyword = draw(st.sampled_from([b"workflow", b"prompt", b"Workflow", b"parameters"]))
    kind = draw(st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"iTXt-z"]))
    if kind == b"tEXt":
        chunk = png_chunk(b"tEXt", keyword + b"\0" + text)
    elif kind == b"zTXt":
        chunk = png_chunk(b"zTXt", keyword + b"\0\0" + zlib.compress(text))
    elif kind == b"iTXt":
        chunk = png_chunk(b"iTXt", keyword + b"\0\0\0en\0\0" + text)
    else:
        chunk = png_chunk(b"iTXt", keyword + b"\0\1\0\0\0" + zlib.compress(text))
    extras = draw(
        st.lists(
            st.sampled_from(
                [
                    png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b" " * (4 << 20), 9)),
                    png_chunk(b"zTXt", b"workflow\0\0" + b"not zlib"),
                    png_chunk(b"tEXt", b'prompt\0{"1": {"class_type": 5}}'),
                    png_chunk(b"tEXt", b"no separator"),
                    png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)),
                ]
            ),
            max_size=3,
        )
    )
    chunks = [*extras, chunk]
    order = draw(st.permutations(chunks))
    data = b"\x89PNG\r\n\x1a\n" + b"".join(order)
    if draw(st.booleans()):
        data += png_chunk(b"IEND", b"")
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        data = data[: draw(st.integers(min_value=8, max_value=len(data)))]
    if draw(st.integers(min_value=0, max_value=5)) == 0:  # a chunk that claims 4 GiB
        data = data[:8] + struct.pack(">I", 0xFFFFFFFF) + data[12:]
    return data


@st.composite
def fuzzed_webp(draw: st.DrawFn, seeds: list[tuple[str, Any]]) -> bytes:
    """A WebP whose EXIF IFD holds fuzzed ``key:text`` values, with lying offsets."""
    text = draw(fuzzed_workflow(seeds))
    values = [b"workflow:" + text, b"prompt:" + draw(fuzzed_workflow(seeds))]
    order = draw(st.sampled_from(["<", ">"]))
    count = draw(st.integers(min_value=0, max_value=6))
    entries, blob = [], b""
    data_start = 8 + 2 + 12 * count + 4
    for index in range(count):
        value = values[index % 2]
        tag_kind = draw(st.sampled_from([2, 7, 4, 99]))
        offset = draw(
            st.one_of(
                st.just(data_start + len(blob)),
                st.integers(min_value=0, max_value=2**32 - 1),
            )
        )
        entries.append(struct.pack(order + "HHII", 0x010F - index, tag_kind, len(value), offset))
        blob += value
    magic = b"II*\x00" if order == "<" else b"MM\x00*"
    tiff = magic + struct.pack(order + "I", 8) + struct.pack(order + "H", count)
    tiff += b"".join(entries) + b"\0\0\0\0" + blob
    exif = (b"Exif\0\0" if draw(st.booleans()) else b"") + tiff
    chunk = b"EXIF" + struct.pack("<I", len(exif)) + exif + b"\0" * (len(exif) & 1)
    riff_size = draw(st.one_of(st.just(4 + len(chunk)), st.integers(0, 2**32 - 1)))
    return b"RIFF" + struct.pack("<I", riff_size) + b"WEBP" + chunk


@st.composite
def fuzzed_media(draw: st.DrawFn, seeds: list[tuple[str, Any]], suffix: str) -> bytes:
    """A video or audio file whose metadata holds fuzzed workflow texts, then cut short
    or with bytes overwritten (sizes that lie, structures broken mid-way)."""
    workflow, prompt = draw(fuzzed_workflow(seeds)), draw(fuzzed_workflow(seeds))
    if suffix == ".mp4":
        data = draw(
            st.sampled_from(
                [
                    media_files.mp4_with_keys({"workflow": workflow, "prompt": prompt}),
                    media_files.mp4_with_comment(
                        b'{"workflow": ' + workflow + b', "prompt": ' + prompt + b"}"
                    ),
                ]
            )
        )
    elif suffix == ".webm":
        data = media_files.webm_with_tags({b"WORKFLOW": workflow, b"PROMPT": prompt})
    elif suffix == ".mp3":
        data = media_files.mp3_with_texts({b"workflow": workflow, b"prompt": prompt})
    elif suffix == ".opus":
        data = media_files.opus_with_comments({b"workflow": workflow, b"prompt": prompt})
    elif suffix == ".glb":
        data = media_files.glb_with_json(
            b'{"asset": {"version": "2.0", "extras": {"workflow": '
            + draw(
                st.sampled_from(
                    [workflow, json.dumps(workflow.decode("utf-8", "replace")).encode()]
                )
            )
            + b', "prompt": '
            + prompt
            + b"}}}"
        )
    elif suffix == ".svg":
        data = media_files.svg_with_metadata(
            b'{"workflow": ' + workflow + b', "prompt": ' + prompt + b"}"
        )
    elif suffix == ".avif":
        data = media_files.avif_with_exif(
            media_files.exif_block([b"workflow:" + workflow, b"prompt:" + prompt]),
            inline=draw(st.booleans()),
        )
    else:
        data = media_files.flac_with_comments({b"workflow": workflow, b"prompt": prompt})
    mutable = bytearray(data)
    for position, value in draw(
        st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=4)
    ):
        mutable[position] = value
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        mutable = mutable[: draw(st.integers(min_value=0, max_value=len(mutable)))]
    return bytes(mutable)


MEDIA_FUZZ_SUFFIXES = (".mp4", ".webm", ".flac", ".mp3", ".opus", ".glb", ".svg", ".avif")


def reader_input(suffix: str, data: bytes) -> bytes:
    """Return what the workflow reader is given for a file of ``suffix`` holding ``data``:
    the bytes, or for a video or audio file its embedded texts (as the cycle reads it).

    Raises:
        WorkflowError: the media file's metadata is damaged or over a limit.
    """
    if suffix not in MEDIA_FUZZ_SUFFIXES:
        return data
    return media_payload(*read_media_texts(io.BytesIO(data), len(data), "fuzzed"))


def fuzzed_file(seeds: list[tuple[str, Any]]) -> st.SearchStrategy[tuple[str, bytes]]:
    """A ``(suffix, bytes)`` pair: 7 in 18 JSON, 2 PNG, 1 WebP, 1 each MP4, WebM, FLAC,
    MP3, Opus, GLB, SVG, AVIF."""
    kinds = {
        ".json": fuzzed_workflow(seeds),
        ".png": fuzzed_png(seeds),
        ".webp": fuzzed_webp(seeds),
        **{suffix: fuzzed_media(seeds, suffix) for suffix in MEDIA_FUZZ_SUFFIXES},
    }
    suffixes = st.sampled_from([".json"] * 7 + [".png"] * 2 + [".webp", *MEDIA_FUZZ_SUFFIXES])
    return suffixes.flatmap(lambda suffix: kinds[suffix].map(lambda data: (suffix, data)))


FILE_NAMES = [b"w", b"caf\xff", b"\xe2\x98\x83 snow", b"x" * 200, b"a b;c"]


def file_name(index: int, suffix: str) -> bytes:
    """A file name for the ``index``-th fuzzed file: some are not UTF-8."""
    return FILE_NAMES[index % len(FILE_NAMES)] + f"-{index}".encode() + suffix.encode()


@dataclass
class BatchOutcome:
    """What one batch's scan and cycle showed."""

    files: int = 0
    scanned: int = 0
    scan_failures: list[str] | None = None
    cycle_failures: list[str] | None = None

    @property
    def failures(self) -> list[str]:
        return [*(self.scan_failures or []), *(self.cycle_failures or [])]


def write_batch(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    """Write the fuzzed files into ``folder`` (created); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, (suffix, data) in enumerate(files):
        raw = os.path.join(os.fsencode(folder), file_name(index, suffix))
        with open(raw, "wb") as handle:
            handle.write(data)
        written.append(Path(os.fsdecode(raw)))
    return written


def _cli(*arguments: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "watchman", *arguments],
        capture_output=True,
        timeout=timeout,
        cwd=REPO,
        env={**_clean_environment(), "PYTHONPATH": str(REPO)},
    )


def _clean_environment() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COMFYWATCHMAN_") and key not in ("COMFYUI_ROOT", "HF_TOKEN")
    }


def check_scan(folder: Path, paths: list[Path], timeout: float = 600) -> list[str]:
    """Run ``scan --json`` on ``folder`` in a real process; return what went wrong."""
    try:
        result = _cli("scan", "--json", str(folder), timeout=timeout)
    except subprocess.TimeoutExpired:
        return [f"scan of {len(paths)} files did not finish in {timeout} s"]
    # 1 says some file could not be read or parsed: expected of a fuzzed batch.
    if result.returncode not in (0, 1):
        return [f"scan exited {result.returncode}: {result.stderr.decode(errors='replace')[-500:]}"]
    try:
        entries = json.loads(result.stdout)
    except ValueError as error:
        return [f"scan --json printed no JSON ({error})"]
    problems = []
    if len(entries) != len(paths):
        problems.append(f"scan printed {len(entries)} entries for {len(paths)} files")
    for entry in entries:
        if entry.get("format") is None and not entry.get("errors"):
            problems.append(f"{entry.get('path')} neither read nor given an error")
    for entry in entries:
        for error in entry.get("errors", ()):
            if "reader failed" in error:
                problems.append(f"last-resort boundary hit: {error[:200]}")
    return problems


def check_cycle(config: Path, home: Path, paths: list[Path], timeout: float = 600) -> list[str]:
    """Run one ``--run-cycle`` in a real process; return what went wrong."""
    try:
        result = _cli("--config", str(config), "--run-cycle", "--json", timeout=timeout)
    except subprocess.TimeoutExpired:
        return [f"cycle over {len(paths)} files did not finish in {timeout} s"]
    if result.returncode != 0:
        return [
            f"cycle exited {result.returncode}: {result.stderr.decode(errors='replace')[-500:]}"
        ]
    report_json = home / "output" / "reports" / "status" / "master_status.json"
    report_md = home / "output" / "reports" / "status" / "master_status.md"
    problems = []
    try:
        report = json.loads(report_json.read_bytes())
        markdown = report_md.read_text("utf-8")
    except (OSError, ValueError) as error:
        return [f"no readable report after the cycle ({error})"]
    if f"(cycle {report['cycle_id']})" not in markdown:
        problems.append("the Markdown report is not of the JSON report's cycle")
    reported = {Path(entry["path"]).name for entry in report["workflows"]}
    pictures = 0
    for path in paths:
        if path.name not in reported:
            if path.suffix in (".png", ".webp", *MEDIA_FUZZ_SUFFIXES):
                pictures += 1  # an ordinary picture or clip: never reported, by design
                continue
            problems.append(f"{path.name!r} missing from the report")
    for entry in report["workflows"]:
        if "reader failed" in (entry.get("error") or ""):
            problems.append(f"last-resort boundary hit: {entry['error'][:200]}")
    return problems


def iter_batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _run_demo() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_demo", REPO / "examples" / "run_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cycle_setup(target: Path, watched: Path) -> tuple[Path, Path]:
    """A copy of the demo ComfyUI tree whose cycle also watches ``watched``; return the
    config file and the home folder."""
    config: Path = _run_demo().prepare(target)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(
            "[workflows]\n"
            "folders = [\n"
            '  { path = "user/default/workflows", source = "comfyui" },\n'
            f'  {{ path = {json.dumps(watched.as_posix())}, source = "fuzz" }},\n'
            "]\n"
        )
    return config, target / "home"
