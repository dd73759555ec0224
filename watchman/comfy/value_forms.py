"""The forms people write model names in, besides a plain file name in a loader's combo.

- ``<lora:name:weight>`` / ``<lora:name>`` / ``<lyco:name:...>`` tags in the text of the
  nodes that load them (LoRA Manager, Impact and Inspire wildcard encoders, rgthree's
  Power Prompt, LoRA tag loaders). The same tag in a plain prompt is only text: ComfyUI
  itself ignores it, so only nodes that read tags are asked.
- rgthree's Power Lora Loader entries ``{"on": true, "lora": "x.safetensors", ...}``
  (a UI widget value, or an API input ``lora_1``); an entry switched off loads nothing.
- LoRA Manager's list of ``{"name": ..., "active": ...}`` entries, which is what its
  loaders apply (the text beside it mirrors it); inactive entries load nothing.
- A value that is a URL (hosted runners download it): its file name, with the URL kept.
- A value that is an absolute path (``/home/me/models/x.safetensors``, ``D:\\m\\x.pt``):
  its file name, since the path belongs to the machine the workflow was written on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# The name is taken greedily and stripped afterwards: a lazy name before optional blanks
# made a stranger's "<lora:a" and a long run of blanks cost time quadratic in the run.
_LORA_TAG = re.compile(r"<\s*(lora|lyco)\s*:([^:<>\n]*)(?::[^<>\n]*)?>", re.IGNORECASE)
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\[^\\]+\\)")
_FILE_NAME = re.compile(r"\.[A-Za-z0-9_]{1,16}$")

_TAG_NODE_WORDS = ("lora", "lyco", "wildcard", "power prompt", "detailer")
"""Node types whose name says they read LoRA tags (compared lower-case)."""

_TAG_NODE_TYPES = frozenset(
    {
        # ComfyUI-Easy-Use (4de1ab3): these run their positive and negative prompts through
        # process_with_loras, which loads each <lora:...> tag (py/libs/wildcards.py).
        "easy fullLoader",
        "easy a1111Loader",
        "easy comfyLoader",
        "easy hunyuanDiTLoader",
        "easy fluxLoader",
        "easy mochiLoader",
        "easy cascadeLoader",
        "easy ipadapterApplyRegional",
        "easy pipeEdit",
        "easy pipeEditPrompt",
    }
)
"""Node types that read LoRA tags though their name does not say so."""


@dataclass(frozen=True)
class Location:
    """A value written as a URL or an absolute path: the file name it ends in."""

    file_name: str
    kind: str  # "url" or "path"


def reads_lora_tags(node_type: str) -> bool:
    """Return whether a node of this type loads the ``<lora:...>`` tags of its text.

    Takes the node type. LoRA Manager's loaders and stackers, Impact's and Inspire's
    wildcard encoders and detailers, rgthree's Power Prompt and the LoRA tag loaders all name
    themselves so; ComfyUI's own text encoders do not, and ignore such tags. Easy-Use's
    loaders and pipe editors read them too (``_TAG_NODE_TYPES``).
    """
    if node_type in _TAG_NODE_TYPES:
        return True
    lowered = node_type.lower()
    return any(word in lowered for word in _TAG_NODE_WORDS)


def lora_tag_names(text: object) -> tuple[str, ...]:
    """Return the LoRA names of the ``<lora:name[:weight...]>`` and ``<lyco:...>`` tags in
    ``text``, in order, unique; non-strings give nothing. Names are as written (LoRA
    Manager and A1111 write them without extension)."""
    if not isinstance(text, str) or "<" not in text:
        return ()
    names: dict[str, None] = {}  # in order, unique: a list's "in" made a text of many
    for match in _LORA_TAG.finditer(text):  # distinct tags quadratic (50,000: 30 s)
        name = match.group(2).strip()
        if name:
            names[name] = None
    return tuple(names)


def power_lora_entry(value: object) -> str | None:
    """Return the LoRA an rgthree Power Lora Loader entry loads, or None.

    Takes any value; only a dict with a string ``lora`` and an ``on`` flag is an entry,
    and one switched off (``on`` false) loads nothing.
    """
    if not isinstance(value, dict) or "on" not in value:
        return None
    lora = value.get("lora")
    if not isinstance(lora, str) or not lora.strip() or lora.strip().lower() == "none":
        return None
    return lora.strip() if value.get("on") is True else None


def lora_list_entries(value: object) -> Iterator[str]:
    """Yield the names of the active entries of a LoRA Manager list widget, each once, in
    order.

    Takes any value; only a list of dicts with a string ``name`` and an ``active`` flag
    counts, and inactive entries are left out. One at a time, so a reader that stops at
    a limit has not read a stranger's whole list.
    """
    if not isinstance(value, list):
        return
    seen: set[str] = set()  # a list's "in" made a list of many distinct entries quadratic
    for item in value:
        if (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and "active" in item
            and item["active"] is True
        ):
            name = item["name"].strip()
            if name and name not in seen:
                seen.add(name)
                yield name


def is_lora_list(value: object) -> bool:
    """Return whether ``value`` is a LoRA Manager list widget (even with none active)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "name" in item and "active" in item for item in value)
    )


def location_of(value: str) -> Location | None:
    """Return the file a URL or an absolute path names, or None for any other value.

    Takes a value as written. A URL gives the last segment of its path (percent-decoded,
    query and fragment dropped); a POSIX or Windows absolute path gives its base name.
    None when the value is neither, or when the last segment has no extension (a
    ``/api/download/models/123`` link does not say the file's name).
    """
    text = value.strip()
    if "\n" in text or len(text) > 2048:
        return None
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        segment = unquote(urlsplit(text).path.rstrip("/").rsplit("/", 1)[-1])
        kind = "url"
    elif text.startswith("/") or _WINDOWS_ABSOLUTE.match(text):
        segment = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        kind = "path"
    else:
        return None
    if not segment or not _FILE_NAME.search(segment) or "/" in segment or "\\" in segment:
        return None
    return Location(file_name=segment, kind=kind)
