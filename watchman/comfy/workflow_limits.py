"""The work a workflow reader may spend on one stranger's document, in either format.

Both readers (``workflow_ui``, ``workflow_api``) count expanded nodes and model references
against these limits, and stop with an error naming the limit past them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from watchman.comfy.workflow_model import ModelReference
from watchman.errors import WorkflowError
from watchman.printable import shortened

MAX_EXPANDED_NODES = 50_000
"""Nodes a workflow may expand to, inner nodes of every instance counted; past it the
workflow is a parse error naming this limit (large real workflows have a few thousand)."""
MAX_MODEL_REFERENCES = 50_000
"""Model references a workflow may make (embedding tokens in prompts included); past it
the workflow is a parse error naming this limit."""
MAX_NODE_VALUES = 5_000_000
"""Widget values, inputs and embedded model entries read over all expanded nodes (a string
costs one more per KiB); past it the workflow is a parse error naming this limit."""


MAX_FILE_NAME_CHARS = 255
"""The longest name one part of a model's path may have: ext4, APFS and NTFS allow no
more (255 bytes, or UTF-16 units, are never fewer than 255 characters). A value with a
longer part names a file no disk can hold; the workflow is a parse error naming it, and
the name goes neither into the report whole nor to any backend."""

_PATH_PARTS = re.compile(rf"[^/\\]{{{MAX_FILE_NAME_CHARS + 1},}}")


def check_reference_names(name: str, references: Iterable[ModelReference]) -> None:
    """Raise WorkflowError when one of ``references`` names a file no file system can hold
    (a part of its path over ``MAX_FILE_NAME_CHARS`` characters); ``name`` is the
    workflow's, for the message."""
    for reference in references:
        if len(reference.value) <= MAX_FILE_NAME_CHARS:
            continue
        too_long = _PATH_PARTS.search(reference.value)
        if too_long is None:
            continue
        raise WorkflowError(
            f"{name} is over a limit: node {shortened(reference.node_id, 40)} "
            f"({shortened(reference.node_type, 60)}) names the model file "
            f"{shortened(reference.value, 60)!r}, a name with a part of "
            f"{len(too_long.group()):,} characters; no file system allows more than "
            f"{MAX_FILE_NAME_CHARS} (MAX_FILE_NAME_CHARS), so no file can be it."
        )


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
