"""Which model file a workflow value means: one key, built once per reference.

A workflow names a model by a folder type (from its loader) and a value as written
(``SDXL\\foo.safetensors``, ``./loras/x.pt``). Every part of the tool that asks "is this the
same model?" — the inventory lookup, the needs, the resolver's requests and cache, the
planned downloads, the JSON and Markdown grouping — compares :class:`ModelKey` values, so
the rules below live here and nowhere else:

- ``\\`` and ``/`` are the same separator; ``.`` parts, doubled and leading separators go;
  ``..`` cannot climb above the folder, as in ComfyUI's ``get_full_path``
  (``os.path.relpath(os.path.join("/", name), "/")``);
- two values that differ only in letter case name the same model (the design's rule, and
  what a case-insensitive disk does); whether ComfyUI *accepts* the spelling is another
  question, answered by :func:`listed_name` and :func:`is_exact_spelling`;
- legacy folder names map to their canonical type (``clip`` -> ``text_encoders``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from watchman.comfy.folders import canonical_folder

UNKNOWN_FOLDER = "?"
"""How a key of unknown folder type is written in its text form."""


def normalise_relative_path(value: str) -> str:
    """Return a workflow's model value as a clean relative posix path, case kept.

    ``\\`` becomes ``/``; leading ``./`` and ``/``, ``.`` parts and doubled separators go,
    and ``..`` cannot climb above the folder. An empty result means no file.
    """
    cleaned = posixpath.normpath("/" + value.replace("\\", "/"))
    return cleaned.lstrip("/")


def fold_case(path: str) -> str:
    """Return ``path`` with letter case folded, the one case rule of every comparison."""
    return path.lower()


@dataclass(frozen=True, order=True, slots=True)
class ModelKey:
    """One model file as a workflow means it: its folder type and its folded path.

    ``folder`` is the canonical folder type, or None when the loader is unknown; ``path``
    is the normalised relative path with its case folded. Build with :meth:`of`.
    """

    folder: str | None
    path: str

    @classmethod
    def of(cls, folder: str | None, value: str) -> ModelKey:
        """Return the key of ``value`` read from folder type ``folder`` (None: unknown)."""
        return cls(
            folder=None if folder is None else canonical_folder(folder),
            path=fold_case(normalise_relative_path(value)),
        )

    @property
    def file_name(self) -> str:
        """The last part of the path (folded)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def text(self) -> str:
        """``folder:path``, with ``?`` for an unknown folder: the key in JSON documents."""
        return f"{self.folder or UNKNOWN_FOLDER}:{self.path}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class ValueParts:
    """A workflow value split for people and for download targets, case kept."""

    relative_path: str
    subfolder: str
    file_name: str


def value_parts(value: str) -> ValueParts:
    """Return the normalised relative path of ``value``, its subfolder (``""`` at the top)
    and its file name, with the case as written."""
    relative = normalise_relative_path(value)
    subfolder, _, file_name = relative.rpartition("/")
    return ValueParts(relative, subfolder, file_name)


def listed_name(relative_path: str, separator: str) -> str:
    """Return how ComfyUI lists an installed file in a loader's choices.

    ComfyUI's ``folder_paths.recursive_search`` lists ``os.path.relpath`` of each file, so
    the list uses the separator of the OS ComfyUI runs on (``\\`` on Windows). Takes the
    file's relative path with ``/`` separators (as the inventory keeps it).
    """
    return relative_path.replace("/", separator)


def is_exact_spelling(value: str, relative_path: str, separator: str) -> bool:
    """Return whether ComfyUI accepts ``value`` for the installed file ``relative_path``.

    ComfyUI's ``validate_inputs`` (execution.py) refuses a value that is not in the
    loader's list exactly (``Value not in list``): no case folding, no separator or ``./``
    normalisation. So only the listed name itself is accepted.
    """
    return value == listed_name(relative_path, separator)


NodeLookup = Literal["list", "by_name", "folder"]
"""How the node that reads a value finds its file.

``list``: ComfyUI validates the value against the loader's exact file list (a combo).
``folder``: the same, but the list holds model folders, not files (diffusers, Florence2's
``models/LLM/<name>``; see ``stages/folder_needs.py``).
``by_name``: the node looks the file up itself, by name, in any subfolder of the folder
(LoRA tags, rgthree's Power Lora Loader entries, LoRA Manager lists); see
:func:`found_by_name`.
"""


def _base_and_stem(name: str, separator: str) -> tuple[str, str]:
    """Return the last part of ``name`` and ``name`` without that part's extension, as
    ``os.path.basename`` and ``os.path.splitext`` do on the OS whose separator is given
    (Windows takes both separators, POSIX only ``/``)."""
    cut = max(name.rfind("/"), name.rfind("\\") if separator == "\\" else -1)
    base = name[cut + 1 :]
    dot = base.rfind(".")
    stem = name if dot <= 0 or base[:dot].strip(".") == "" else name[: cut + 1 + dot]
    return base, stem


def found_by_name(value: str, relative_path: str, separator: str) -> bool:
    """Return whether a node that looks LoRAs up by name finds ``relative_path`` for
    ``value``.

    Takes the value as written, an installed file's relative path (``/`` separators) and
    the separator of the OS ComfyUI runs on. Follows the nodes' own lookups, all exact in
    letter case: rgthree's ``get_lora_by_filename`` (the listed name, with or without
    extension, or its base name with or without extension), Impact's
    ``resolve_lora_name`` (``.safetensors`` added to a name without extension, then a
    listed name ending in it, here as a whole base name) and LoRA Manager's
    ``get_lora_info`` (the base name without extension, in any subfolder). Their looser
    substring fallbacks are not followed: a file found only that way is not counted.
    """
    listed = listed_name(relative_path, separator)
    base, stem = _base_and_stem(listed, separator)
    base_stem = _base_and_stem(base, separator)[1]
    names = {listed, stem, base, base_stem}
    return value in names or _base_and_stem(value, separator)[1] in names


def by_name_file_names(value: str, separator: str, extensions: Iterable[str]) -> set[str]:
    """Return the file names (last path parts) a file must bear, in some letter case, for
    :func:`found_by_name` to find it for ``value``: the value's last part or that of its
    stem, as they are or with one of ``extensions``, the extensions the folder's files can
    have. Lets a caller look candidates up by name instead of testing every file."""
    base, stem = _base_and_stem(value, separator)
    stem_base = _base_and_stem(stem, separator)[0]
    return {name + extension for name in (base, stem_base) for extension in ("", *extensions)}


EMBEDDING_EXTENSIONS = (".safetensors", ".pt", ".bin")
"""What ComfyUI's ``load_embed`` adds, in order, to a prompt's embedding name it does not
find as written (``comfy/sd1_clip.py``)."""


def embedding_targets(value: str, separator: str) -> tuple[str, ...]:
    """Return the paths ComfyUI's tokenizer tries for ``embedding:value``, relative to a
    directory it searches (``/`` separators): the name as written, then with each of
    :data:`EMBEDDING_EXTENSIONS`.

    Takes the name as the prompt writes it and the separator of the OS ComfyUI runs on
    (Windows divides a name at both separators). ``load_embed`` searches every embeddings
    directory and each of its subdirectories, joining the name to it and skipping a path
    that leaves the directory: a name that climbs out (``..``) or is absolute gives
    nothing. Never raises.
    """
    text = value.replace("\\", "/") if separator == "\\" else value
    if not text or text.startswith("/") or (separator == "\\" and text[1:2] == ":"):
        return ()
    normal = posixpath.normpath(text)
    if normal in (".", "..") or normal.startswith("../"):
        return ()
    return (normal, *(normal + extension for extension in EMBEDDING_EXTENSIONS))


def climbing_embedding_paths(
    value: str, separator: str, directories: Iterable[str]
) -> frozenset[str]:
    """Return the paths (relative to an embeddings root, ``/`` separators) ComfyUI's
    ``load_embed`` tries for a name that climbs (its normal form starts with ``..``).

    ``load_embed`` joins the name to every searched directory and skips the directory only
    when the joined path leaves it; the extensions are added after that check. So
    ``../a`` from a subdirectory ``a`` is that directory itself, and ``a.safetensors``
    beside it is loaded. Takes the name as written, the OS separator and the root's
    directories (``""`` for the root itself). Never raises.
    """
    text = value.replace("\\", "/") if separator == "\\" else value
    if not text or text.startswith("/") or (separator == "\\" and text[1:2] == ":"):
        return frozenset()
    paths: set[str] = set()
    for directory in directories:
        joined = posixpath.normpath(f"{directory}/{text}" if directory else text)
        if directory:
            inside = joined == directory or joined.startswith(directory + "/")
        else:
            inside = joined != "." and joined != ".." and not joined.startswith("../")
        if inside:
            paths.add(joined)
            paths.update(joined + extension for extension in EMBEDDING_EXTENSIONS)
    return frozenset(paths)


def found_as_embedding(targets: tuple[str, ...], relative_path: str) -> bool:
    """Return whether ComfyUI's tokenizer finds the installed embedding ``relative_path``
    (``/`` separators, relative to an embeddings root) for a name whose
    :func:`embedding_targets` are ``targets``: a target is the whole relative path or its
    end after a separator (the file sits in a subdirectory, which is searched too).
    Letter case is compared as given: fold both sides for a case-insensitive disk."""
    return any(
        relative_path == target or relative_path.endswith("/" + target) for target in targets
    )
