"""What the advice about a node's value says once for every node and workflow holding the
same value (:mod:`watchman.reporting.range_advice`,
:mod:`watchman.reporting.type_advice`): the findings grouped by what one action is
about, and the nodes named in its sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Protocol, TypeVar

from watchman.printable import shortened
from watchman.reporting.report import Report, WorkflowEntry

MAX_NAMED_NODES = 5
"""Node ids an action's sentence names; it counts the rest."""


class NodeFinding(Protocol):
    """A finding about one node's value."""

    @property
    def node_id(self) -> str: ...


Finding = TypeVar("Finding", bound=NodeFinding)

Group = tuple[Finding, dict[str, None], dict[str, None]]
"""A group's first finding, the ids of its nodes and the paths of its workflows, each in
the order first met (dicts as ordered sets)."""


def grouped_findings(
    report: Report,
    findings: Callable[[WorkflowEntry], Iterable[Finding]],
    key: Callable[[Finding], Hashable],
) -> list[Group[Finding]]:
    """Return the ``findings`` of every workflow of ``report`` grouped by ``key``, in the
    order the groups are first met."""
    grouped: dict[Hashable, Group[Finding]] = {}
    for entry in report.workflows:
        for finding in findings(entry):
            _, nodes, paths = grouped.setdefault(key(finding), (finding, {}, {}))
            nodes[finding.node_id] = None
            paths[entry.path] = None
    return list(grouped.values())


def nodes_phrase(node_ids: Iterable[str]) -> str:
    """The nodes in words: ``node 3``, ``nodes 3, 7 and 2 more``."""
    ids = list(node_ids)
    named = ", ".join(shortened(node_id) for node_id in ids[:MAX_NAMED_NODES])
    more = f" and {len(ids) - MAX_NAMED_NODES} more" if len(ids) > MAX_NAMED_NODES else ""
    return f"node{'s' if len(ids) > 1 else ''} {named}{more}"
