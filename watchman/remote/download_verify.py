"""The last step of a download: the part checked against what the plan expected (its
size, its sha256, a model file's own checks) and only then renamed onto the final name,
atomically and durably; a part that fails is removed, never put in place."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from watchman.comfy.model_file_check import check_model_file
from watchman.errors import DownloadError
from watchman.remote.download_task import DownloadTask
from watchman.remote.part_file import PartFile
from watchman.state.safe_files import fsync_folder


def verify_and_place(task: DownloadTask, target: Path, part: PartFile) -> str:
    """Put the whole ``part`` of ``task`` in place as ``target``; return its sha256 (hex).

    Raises:
        DownloadError: size_mismatch, hash_mismatch or not_a_model (the part is removed).
        OSError: the part cannot be synced or renamed.
    """
    digest: str = part.hasher.hexdigest()
    failure: DownloadError | None = None
    if task.size is not None and part.offset != task.size:
        failure = DownloadError(
            f"{target.name} is {part.offset} bytes, not the {task.size} expected; it was not kept.",
            "size_mismatch",
        )
    elif task.sha256 and digest != task.sha256.lower():
        failure = DownloadError(
            f"{target.name} has sha256 {digest}, not the {task.sha256.lower()} expected; "
            "it was not kept.",
            "hash_mismatch",
        )
    else:
        problem = check_model_file(part.path, part.offset, name=target.name)
        if problem is not None:
            failure = DownloadError(
                f"{target.name} is not a model: {problem.detail}; it was not kept.",
                "not_a_model",
            )
    if failure is not None:
        part.discard()
        raise failure
    with part.path.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(part.path, target)
    fsync_folder(target.parent)
    with contextlib.suppress(FileNotFoundError):
        part.meta_path.unlink()
    return digest
