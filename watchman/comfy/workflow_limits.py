"""The work a workflow reader may spend on one stranger's document, in either format.

Both readers (``workflow_ui``, ``workflow_api``) count expanded nodes and model references
against these limits, and stop with an error naming the limit past them.
"""

from __future__ import annotations

from collections.abc import Sequence

from watchman.errors import WorkflowError

MAX_EXPANDED_NODES = 50_000
"""Nodes a workflow may expand to, inner nodes of every instance counted; past it the
workflow is a parse error naming this limit (large real workflows have a few thousand)."""
MAX_MODEL_REFERENCES = 50_000
"""Model references a workflow may make (embedding tokens in prompts included); past it
the workflow is a parse error naming this limit."""
MAX_NODE_VALUES = 5_000_000
"""Widget values, inputs and embedded model entries read over all expanded nodes (a string
costs one more per KiB); past it the workflow is a parse error naming this limit."""


def value_cost(values: object) -> int:
    """The budget one list or dict of node values costs: one per value, one more per KiB
    of text."""
    if isinstance(values, dict):
        values = list(values.values())
    if not isinstance(values, list):
        return 0
    return len(values) + sum(len(value) >> 10 for value in values if isinstance(value, str))


def embedding_tokens(values: Sequence[tuple[str | None, object]]) -> int:
    """Return how many ``embedding:`` tokens (any case) the text values hold, at most."""
    return sum(value.lower().count("embedding:") for _, value in values if isinstance(value, str))


def too_many_references(name: str) -> WorkflowError:
    """The error of a workflow past ``MAX_MODEL_REFERENCES``."""
    return WorkflowError(
        f"{name} is over a limit: it names more than {MAX_MODEL_REFERENCES} model files "
        "(MAX_MODEL_REFERENCES)."
    )
