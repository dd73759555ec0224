"""The ``scan`` view: read workflow files or folders and say what each needs.

For scripts and audits. It reads the given files only: no state, no network, no ComfyUI
install. Folders are searched with the cycle's own discovery and files read with its
size limit, so ``scan`` and the cycle see the same workflows. Each file becomes one
``ScanEntry``; a file that cannot be read is an entry with its error, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from watchman.comfy.workflow import parse_workflow_bytes, reader_failure
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.errors import WorkflowError
from watchman.printable import printable
from watchman.stages.watched_folders import discover_workflow_files, read_workflow_bytes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanEntry:
    """One scanned file: its path, format (None on error), parse and errors."""

    path: Path
    format: str | None
    parsed: ParsedWorkflow | None
    errors: tuple[str, ...]


def _files(paths: Sequence[Path], include_images: bool) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(discover_workflow_files(path, include_images))
        else:
            # A file named explicitly is read whatever its suffix: the user asked for it.
            files.append(path)
    return files


def scan_file(path: Path) -> ScanEntry:
    """Return the ScanEntry of one file; read and parse errors become the entry's errors,
    and so does anything else that goes wrong on this file (the last-resort boundary:
    one file never silences the batch)."""
    try:
        parsed = parse_workflow_bytes(read_workflow_bytes(path, path.stat().st_size), str(path))
    except (WorkflowError, OSError) as error:
        message = (
            str(error)
            if isinstance(error, WorkflowError)
            else f"{printable(str(path))}: {error.strerror or error}."
        )
        logger.debug("Cannot read workflow %s: %s", printable(str(path)), message)
        return ScanEntry(path=path, format=None, parsed=None, errors=(message,))
    except Exception as surprise:
        failure = reader_failure(printable(str(path)), surprise)
        return ScanEntry(path=path, format=None, parsed=None, errors=(str(failure),))
    return ScanEntry(path=path, format=parsed.format, parsed=parsed, errors=parsed.errors)


def scan_paths(paths: Sequence[Path], include_images: bool = True) -> tuple[ScanEntry, ...]:
    """Scan files and folders (recursively) for workflows.

    Takes paths to files or folders; folders yield what the cycle's discovery finds in
    them (``.json``, and images, videos, audio and 3D models when ``include_images``; hidden entries
    skipped). A path that does not exist becomes an entry
    with an error. Returns one entry per file, folders' files in sorted order.
    """
    return tuple(scan_file(path) for path in _files(paths, include_images))


def scan_entry_to_json(entry: ScanEntry) -> dict[str, Any]:
    """Return the JSON object of one entry: ``path``, ``format``, ``node_types``,
    ``model_refs`` (``node_id``, ``node_type``, ``input``, ``value``, ``folder``,
    ``inferred``: the folder comes from the input's name alone, on a node no loader table
    knows; ``bypassed``), ``input_files`` (the files nodes such as ``LoadImage`` name in
    ComfyUI's input folder: ``node_id``, ``node_type``, ``input``, ``value``, ``folder``:
    ``input``, or ``output``/``temp`` as annotated; ``bypassed``), ``embedded_models`` and
    ``errors``."""
    parsed = entry.parsed
    return {
        "path": printable(str(entry.path)),
        "format": entry.format,
        "node_types": list(parsed.node_types) if parsed else [],
        "model_refs": [
            {
                "node_id": reference.node_id,
                "node_type": reference.node_type,
                "input": reference.input,
                "value": reference.value,
                "folder": reference.folder,
                "inferred": reference.inferred,
                "bypassed": reference.bypassed,
            }
            for reference in (parsed.model_refs if parsed else ())
        ],
        "input_files": [
            {
                "node_id": reference.node_id,
                "node_type": reference.node_type,
                "input": reference.input,
                "value": reference.value,
                "folder": reference.folder,
                "bypassed": reference.bypassed or reference.muted,
            }
            for reference in (parsed.input_files if parsed else ())
        ],
        "embedded_models": [asdict(model) for model in (parsed.embedded_models if parsed else ())],
        "errors": list(entry.errors),
    }
