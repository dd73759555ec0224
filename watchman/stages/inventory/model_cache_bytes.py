"""The model cache document's entries as bytes (``state/model_cache.json``, written by
:meth:`watchman.stages.inventory.models.ModelInventory.cache_chunks`): exactly what
``dumps_json`` writes for them inside the whole document, made a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from watchman.state.json_codec import dumps_json

if TYPE_CHECKING:
    from watchman.stages.inventory.models import ModelFile


def cache_entry(model: ModelFile) -> dict[str, Any]:
    """One file of the model cache document."""
    return {
        "path": model.relative_path,
        "root": model.root,
        "size": model.size,
        "mtime": model.mtime,
    }


BATCH = 1024
"""Model cache entries serialised in one call: one call per entry was most of the time
of rewriting the 100,000-entry cache after one model was added."""
_INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def batch_bytes(models: Sequence[ModelFile]) -> bytes:
    """Entries of the model cache, as ``dumps_json`` writes them six levels in, joined by
    ``,\\n`` (no comma after the last)."""
    try:
        data = orjson.dumps([cache_entry(model) for model in models], option=_INDENTED)
    except orjson.JSONEncodeError:
        # A file name that is not UTF-8: each entry on its own, escaped alone.
        return b",\n".join(b"      " + entry_bytes(model) for model in models)
    # "[\n  {...},\n  {...}\n]": the items two spaces in; moved four more to sit six in.
    return b"    " + data[2:-2].replace(b"\n", b"\n    ")


def entry_bytes(model: ModelFile) -> bytes:
    """One file of the model cache, as ``dumps_json`` writes it six levels in."""
    return indented(dumps_json(cache_entry(model)).rstrip(b"\n"), 6)


def indented(data: bytes, spaces: int) -> bytes:
    """``data`` with every line after its first moved ``spaces`` to the right."""
    return data.replace(b"\n", b"\n" + b" " * spaces)
