"""The inventory's lookup index: sorted hashes of folded texts beside the positions of
their models (for :class:`watchman.stages.inventory.models.ModelInventory`). At 100,000
mixed-case names, dicts of folded copies held ~25 MiB through the cycle, these 4 MiB."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchman.stages.inventory.models import ModelFile


@dataclass(frozen=True, slots=True)
class LookupIndex:
    """A lookup from a text's hash to the positions of the models filed under it: the
    hashes sorted, the positions beside them (ascending within one hash, so in the order
    the models were added)."""

    hashes: array[int]
    positions: array[int]

    @classmethod
    def of(cls, hashes: Sequence[int]) -> LookupIndex:
        """Index position ``i`` under ``hashes[i]``."""
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        return cls(array("q", map(hashes.__getitem__, order)), array("q", order))

    def hits(
        self, models: Sequence[ModelFile], key: str, key_of: Callable[[ModelFile], str]
    ) -> tuple[ModelFile, ...]:
        """The models filed under ``key``'s hash whose own key (``key_of``) is ``key``
        (two texts may share a hash), in the order they were added."""
        return tuple(models[position] for position in self.where(models, key, key_of))

    def where(
        self, models: Sequence[ModelFile], key: str, key_of: Callable[[ModelFile], str]
    ) -> list[int]:
        """The positions in ``models`` of :meth:`hits`, ascending."""
        wanted = hash(key)
        found = []
        at = bisect_left(self.hashes, wanted)
        while at < len(self.hashes) and self.hashes[at] == wanted:
            position = self.positions[at]
            if key_of(models[position]) == key:
                found.append(position)
            at += 1
        return found
