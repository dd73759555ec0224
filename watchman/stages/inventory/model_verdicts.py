"""The verdicts on model files kept between cycles (``state/model_health.json``): one
compact record per folder type and root (:class:`Judged`: the files as they were judged,
and the flaws of the broken ones), read back lazily (:class:`RememberedVerdicts`) so a
cycle decodes only the records it looks at.

Made and used by the health check (:mod:`watchman.stages.inventory.model_health`), which
keeps a record's verdicts when its files are unchanged.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from watchman.stages.inventory.models import ModelFile

HEALTH_SCHEMA_VERSION = 4  # 4: GGUF and zip archives judged too

Flaw = tuple[int, str, str]
"""What is remembered of a broken file: its size, reason and detail."""


@dataclass(frozen=True)
class Judged:
    """The files of one folder type under one root as they were judged: their relative
    paths joined by NUL, their sizes and mtimes in arrays (in the inventory's order), and
    the flaws of the broken ones by relative path.

    Compact on purpose: comparing two of these is three C-level comparisons, and reading
    100,000 verdicts back parses a few long strings instead of 100,000 small objects.
    """

    paths: str
    sizes: array[int]
    mtimes: array[float]
    problems: Mapping[str, Flaw] = field(default_factory=dict)

    @classmethod
    def stamps_of(cls, models: Sequence[ModelFile]) -> Judged:
        """Return the stamps of ``models`` (no problems yet)."""
        return cls(
            "\0".join([model.relative_path for model in models]),
            array("q", [model.size for model in models]),
            array("d", [model.mtime for model in models]),
        )

    def same_files(self, other: Judged) -> bool:
        """True when both hold the same files with the same sizes and mtimes."""
        return (
            self.paths == other.paths and self.sizes == other.sizes and self.mtimes == other.mtimes
        )

    def path_list(self) -> list[str]:
        """The relative paths, in order."""
        return self.paths.split("\0") if self.paths else []

    def to_json(self) -> list[Any]:
        return [
            self.paths,
            _encode(self.sizes),
            _encode(self.mtimes),
            {path: list(problem) for path, problem in sorted(self.problems.items())},
        ]

    @classmethod
    def from_json(cls, item: Any) -> Judged:
        """Rebuild from :meth:`to_json` output.

        Raises:
            ValueError, TypeError: the item has another shape.
        """
        paths, sizes, mtimes, problems = item
        if not isinstance(paths, str) or not isinstance(problems, dict):
            raise TypeError("not a judged record")
        judged = cls(
            paths,
            _decode("q", sizes),
            _decode("d", mtimes),
            {
                str(path): (int(value[0]), str(value[1]), str(value[2]))
                for path, value in problems.items()
            },
        )
        count = paths.count("\0") + 1 if paths else 0
        if not count == len(judged.sizes) == len(judged.mtimes):
            raise ValueError("paths, sizes and mtimes differ in length")
        return judged


def _encode(values: array[Any]) -> str:
    if sys.byteorder == "big":  # stored little-endian, so a state file means one thing
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def _decode(typecode: str, text: Any) -> array[Any]:
    values = array(typecode)
    values.frombytes(base64.b64decode(str(text), validate=True))  # ValueError if damaged
    if sys.byteorder == "big":
        values.byteswap()
    return values


class RememberedVerdicts:
    """The verdicts of the last cycle, read from the state document lazily: a record is
    decoded only when its folder type and root are looked at, and a malformed one is
    dropped (its files are simply checked again)."""

    def __init__(self, records: Mapping[str, Any] | None = None) -> None:
        self._raw: Mapping[str, Any] = records or {}

    def __len__(self) -> int:
        return len(self._raw)

    def keys(self) -> set[str]:
        """The record keys (folder type and root) remembered."""
        return set(self._raw)

    def get(self, key: str) -> Judged | None:
        """Return the record of ``key``, or None when absent or malformed."""
        item = self._raw.get(key)
        if item is None:
            return None
        try:
            return Judged.from_json(item)
        except (ValueError, TypeError, IndexError):
            return None


def previous_verdicts(document: Mapping[str, Any] | None) -> RememberedVerdicts:
    """Read the verdicts of ``ModelHealth.to_state_document``
    (:mod:`watchman.stages.inventory.model_health`; lazily, see
    :class:`RememberedVerdicts`); a document of another version or shape is no verdicts.
    Takes the parsed document or None."""
    if not isinstance(document, Mapping) or document.get("schema_version") != HEALTH_SCHEMA_VERSION:
        return RememberedVerdicts()
    judged = document.get("judged")
    return RememberedVerdicts(judged if isinstance(judged, Mapping) else None)
