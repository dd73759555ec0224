"""Files a workflow names in ComfyUI's input folder: the image of a ``LoadImage``, the audio
of a ``LoadAudio``, the video of a Video Helper Suite loader.

ComfyUI refuses a prompt whose such node names a file that is not there: the node's
``VALIDATE_INPUTS`` calls ``folder_paths.exists_annotated_filepath(value)``, and a false
answer is "Invalid image file: ..." before anything runs. A workflow shared by someone
else names *their* file, so it is not ready as written until the person puts that file in
the input folder or picks one of their own.

The value may carry an annotation, ``"name.png [output]"`` (also ``[input]``, ``[temp]``),
saying which of ComfyUI's folders holds it; without one it is the input folder. The name
may hold subfolders (``pasted/image.png``, ``clipspace/...``).

Which node inputs take such a file: the stock nodes and Video Helper Suite's below (facts
from their sources, as of their 2026 heads), and what the loader learner reads in a pack's
own ``VALIDATE_INPUTS`` (:mod:`watchman.comfy.loader_source`: a parameter handed to
``exists_annotated_filepath`` or ``get_annotated_filepath``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

AnnotatedFolder = Literal["input", "output", "temp"]

FileInputs = tuple[tuple[str, int], ...]
"""A node's inputs that name a file: ``(input name, position among its widgets)``; a
position of -1 is not known for sure, and such an input is read by name only (from an API
prompt, or widget values stored as a dict)."""

KNOWN_INPUT_FILES: Mapping[str, FileInputs] = {
    # ComfyUI: nodes.py, comfy_extras/nodes_audio.py, nodes_video.py.
    "LoadImage": (("image", 0),),
    "LoadImageMask": (("image", 0),),
    "LoadImageOutput": (("image", 0),),
    "LoadLatent": (("latent", 0),),
    "LoadAudio": (("audio", 0),),
    "LoadVideo": (("file", 0),),
    # ComfyUI-VideoHelperSuite: load_video_nodes.py, load_images_nodes.py, nodes.py.
    "VHS_LoadVideo": (("video", 0),),
    "VHS_LoadVideoFFmpeg": (("video", 0),),
    "VHS_LoadAudioUpload": (("audio", 0),),
    "VHS_LoadImages": (("directory", 0),),
}
"""Node type -> the inputs whose value names a file (or a folder) in the input folder."""

MAX_INPUT_NAME_CHARS = 4096
"""A longer value is kept cut to this; no path of a file can be that long (PATH_MAX)."""

_ANNOTATIONS: tuple[tuple[str, AnnotatedFolder], ...] = (
    ("[output]", "output"),
    ("[input]", "input"),
    ("[temp]", "temp"),
)


@dataclass(frozen=True, slots=True)
class InputFileReference:
    """One node input whose value names a file in one of ComfyUI's folders.

    ``value`` is the name as written without its annotation, ``folder`` the folder the
    annotation names (``input`` without one). ``node_id`` is ``"outer:inner"`` inside a
    subgraph or group node instance.
    """

    node_id: str
    node_type: str
    input: str
    value: str
    folder: AnnotatedFolder
    bypassed: bool
    muted: bool


def annotated(value: str) -> tuple[str, AnnotatedFolder]:
    """Return the name and folder an annotated value means, as ComfyUI reads it
    (``folder_paths.annotated_filepath``: the suffix and the character before it go)."""
    for suffix, folder in _ANNOTATIONS:
        if value.endswith(suffix):
            return value[: -len(suffix) - 1], folder
    return value, "input"


def references_for_inputs(
    node_id: str,
    node_type: str,
    inputs: FileInputs,
    values: Mapping[str, object],
    bypassed: bool,
    muted: bool,
) -> tuple[InputFileReference, ...]:
    """Return the references of one node's input-file inputs.

    Takes the node, its inputs that take a file, and the values by input name (a linked
    input absent: its value comes from another node). A value that is not a non-empty
    text names no file ComfyUI could look up and is skipped. Never raises.
    """
    found = []
    for name, _ in inputs:
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        file_name, folder = annotated(value[:MAX_INPUT_NAME_CHARS])
        found.append(
            InputFileReference(node_id, node_type, name, file_name, folder, bypassed, muted)
        )
    return tuple(found)


def widget_values_by_name(
    inputs: FileInputs, widgets_values: object, given: Mapping[str, object], linked: Iterable[str]
) -> dict[str, object]:
    """Return the values a UI node holds for its input-file ``inputs``.

    ``widgets_values`` is a list (by position) or a dict (by name, as Video Helper Suite
    writes it); ``given`` holds values a subgraph instance hands the node by input name;
    ``linked`` names inputs fed by a link from another node, whose widget copy is stale.
    """
    stale = set(linked)
    values: dict[str, object] = {}
    for name, position in inputs:
        if name in given:
            values[name] = given[name]
        elif name in stale:
            continue
        elif isinstance(widgets_values, dict):
            values[name] = widgets_values.get(name)
        elif isinstance(widgets_values, list) and 0 <= position < len(widgets_values):
            values[name] = widgets_values[position]
    return values
