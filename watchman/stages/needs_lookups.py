"""What one workflow's assessment asked of the model inventory, and whether a change of
the model files can have changed its answers (for :mod:`watchman.stages.needs_cache`).

After one model was added, the needs of 5,000 workflows were all assessed again, though
only the few naming that file can change. An assessment reads the inventory through
:class:`InventoryView` alone; :class:`RecordedLookups` answers as the inventory does and
remembers the questions as a :class:`Dependence`:

* the case-folded file names :meth:`~InventoryView.locate` and :meth:`~InventoryView.named`
  were asked about: each answer is made of the files of those names only, or of those
  names followed by an extension (given the roots and subfolders), so a change of files
  of other names (:class:`ModelChanges`, from the directory listings) cannot change it;
* the folders read whole (:meth:`~InventoryView.folder_files`: a small folder searched by
  name, embeddings named by a climbing path) and the folder sizes compared with a bound
  (:meth:`~InventoryView.holds_fewer`), whose answers :class:`Answers` digests.

Everything else an assessment reads of the inventory (separator, roots on disks that
ignore case, subfolders, model folders, the roots behind the file order) is in the needs
cache's context digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from watchman.comfy.model_key import ModelKey, fold_case
from watchman.stages.inventory.models import (
    ModelFile,
    ModelInventory,
    Presence,
    located_names,
)


class InventoryView(Protocol):
    """What an assessment reads of the model inventory (see :class:`ModelInventory`)."""

    @property
    def separator(self) -> str: ...

    @property
    def case_blind_roots(self) -> frozenset[str]: ...

    @property
    def directories(self) -> Mapping[str, frozenset[str]]: ...

    def locate(self, key: ModelKey) -> Presence: ...

    def named(self, folder: str, *file_names: str) -> tuple[ModelFile, ...]: ...

    def folder_files(self, folder: str) -> tuple[ModelFile, ...]: ...

    def holds_fewer(self, folder: str, count: int) -> bool: ...

    def model_folders(self, path: str, folder: str | None = None) -> tuple[ModelFile, ...]: ...


@dataclass(frozen=True)
class Dependence:
    """What one assessment asked of the inventory: case-folded file names, folders read
    whole, and (folder, bound) size comparisons; each sorted."""

    names: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    bounds: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> list[Any]:
        """The dependence as JSON-ready lists (see :meth:`from_json`)."""
        return [list(self.names), list(self.folders), [list(bound) for bound in self.bounds]]

    def untouched_by(self, changes: ModelChanges) -> bool:
        """Whether none of the files ``changes`` names bears a name asked about, nor one
        followed by a dot and more."""
        return changes.stems.isdisjoint(self.names)

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Dependence:
        """Rebuild what :meth:`to_json` wrote.

        Raises:
            ValueError, TypeError: the data has another shape.
        """
        names, folders, bounds = data
        if not all(type(item) is str for item in (*names, *folders)):
            raise TypeError("a name or folder is not a string")
        pairs = []
        for folder, count in bounds:
            if type(folder) is not str or type(count) is not int:
                raise TypeError("a bound is not a folder and a count")
            pairs.append((folder, count))
        return cls(tuple(names), tuple(folders), tuple(pairs))


class RecordedLookups:
    """The inventory as one assessment sees it (an :class:`InventoryView`): the same
    answers, and what was asked (:meth:`dependence`)."""

    def __init__(self, inventory: ModelInventory) -> None:
        self._inventory = inventory
        self._names: set[str] = set()
        self._folders: set[str] = set()
        self._bounds: set[tuple[str, int]] = set()

    @property
    def separator(self) -> str:
        return self._inventory.separator

    @property
    def case_blind_roots(self) -> frozenset[str]:
        return self._inventory.case_blind_roots

    @property
    def directories(self) -> Mapping[str, frozenset[str]]:
        return self._inventory.directories

    def locate(self, key: ModelKey) -> Presence:
        self._names.update(located_names(key))  # one name, nearly always
        return self._inventory.locate(key)

    def named(self, folder: str, *file_names: str) -> tuple[ModelFile, ...]:
        self._names.update(fold_case(name) for name in file_names)
        return self._inventory.named(folder, *file_names)

    def folder_files(self, folder: str) -> tuple[ModelFile, ...]:
        self._folders.add(folder)
        return self._inventory.folder_files(folder)

    def holds_fewer(self, folder: str, count: int) -> bool:
        self._bounds.add((folder, count))
        return self._inventory.holds_fewer(folder, count)

    def model_folders(self, path: str, folder: str | None = None) -> tuple[ModelFile, ...]:
        return self._inventory.model_folders(path, folder)

    def dependence(self) -> Dependence:
        """What was asked so far."""
        return Dependence(
            tuple(sorted(self._names)), tuple(sorted(self._folders)), tuple(sorted(self._bounds))
        )


@dataclass(frozen=True)
class ModelChanges:
    """How the model files changed in this cycle: ``before``, the sha256 of the model
    cache as the cycle found it (the files the last cycle knew), and ``names``, the
    case-folded names of every file added, removed or changed since."""

    before: str
    names: frozenset[str]

    @cached_property
    def stems(self) -> frozenset[str]:
        """Every changed name, and each of its beginnings that a dot follows: a name
        asked about (see :func:`located_names`) is touched when it is one of them."""
        stems = set(self.names)
        for name in self.names:
            at = name.find(".", 1)
            while at > 0:
                stems.add(name[:at])
                at = name.find(".", at + 1)
        return frozenset(stems)


class Answers:
    """The digests of what one inventory answers to dependences' folders and bounds, each
    folder read once however many workflows ask (one per cycle)."""

    def __init__(self, inventory: ModelInventory) -> None:
        self._inventory = inventory
        self._folders: dict[str, bytes] = {}

    def digest(self, dependence: Dependence) -> str:
        """The sha256 (hex) of the files the inventory holds in ``dependence``'s folders
        and of its bounds' answers (its names are for :class:`ModelChanges`); empty when
        it has neither (most workflows)."""
        if not dependence.folders and not dependence.bounds:
            return ""
        digest = hashlib.sha256()
        for folder in dependence.folders:
            known = self._folders.get(folder)
            if known is None:
                known = self._folders[folder] = _files(self._inventory.folder_files(folder))
            digest.update(known)
        digest.update(b"\0bounds")
        for folder, count in dependence.bounds:
            digest.update(b"1" if self._inventory.holds_fewer(folder, count) else b"0")
        return digest.hexdigest()


def _files(models: Sequence[ModelFile]) -> bytes:
    fields = [(m.folder, m.relative_path, m.root, m.size, m.mtime) for m in models]
    return repr(fields).encode("utf-8", "surrogatepass") + b"\n"
