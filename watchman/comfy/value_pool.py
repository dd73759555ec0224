"""Equal immutable values held once: a parse keeps thousands of small tuples that repeat
within a workflow and across a collection (the node types a node's outputs reach, the
inputs a link feeds, as templates and copied workflows write them).

A pool hands back the first equal value it saw, so each distinct value costs its memory
once. It is bounded: past its bound it keeps nothing new and hands values back as they
are, so a stranger's collection of all-distinct values costs no more than without it.
The cycle empties every pool once the workflows are read (:func:`release_pools`): a value
a pool kept past the cycle would pin the heap pages around it, and the scheduler held
35 MiB more between cycles.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

Value = TypeVar("Value", bound=Hashable)


class ValuePool(Generic[Value]):
    """At most ``bound`` distinct values, each held once."""

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._known: dict[Value, Value] = {}
        _POOLS.append(self)

    def shared(self, value: Value) -> Value:
        """Return the value equal to ``value`` the pool holds, else ``value`` (kept for
        the next caller while the pool is under its bound)."""
        known = self._known.get(value)
        if known is not None:
            return known
        if len(self._known) < self._bound:
            self._known[value] = value
        return value

    def __len__(self) -> int:
        return len(self._known)

    def clear(self) -> None:
        """Let go of every value held (those in use elsewhere stay where they are)."""
        self._known = {}


_POOLS: list[ValuePool[Any]] = []


def release_pools() -> None:
    """Empty every pool: the values shared so far stay shared; new ones start afresh."""
    for pool in _POOLS:
        pool.clear()
