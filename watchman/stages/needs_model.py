"""A model need: a loader value ComfyUI will not accept as written, and why.

Kept apart from :mod:`watchman.stages.needs` so the modules that judge one kind of
reference (``folder_needs``) build needs without importing the stage back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from watchman.comfy.model_key import ModelKey
from watchman.comfy.workflow_model import ModelReference
from watchman.stages.inventory.models import ModelFile

MAX_LOCATIONS = 16
"""Places a need lists (the first is the one ComfyUI would load or a move would take);
``more_locations`` counts the others."""

NeedState = Literal["missing", "misplaced", "misspelled", "broken", "nameless"]


@dataclass(frozen=True)
class ModelNeed:
    """A model reference ComfyUI will not accept as written.

    ``missing``: no such file. ``misplaced``: the file is in another folder or subfolder,
    ``locations`` say where. ``misspelled``: the file is installed, but ComfyUI lists it
    as ``pick`` and refuses any other spelling; ``locations`` are the installed files.
    ``broken``: the file ComfyUI would load (``locations``) cannot be the model
    (truncated, empty, an HTML page...), ``problem`` says why. ``nameless``: a prompt's
    ``embedding:`` token names nothing (no word after it: ComfyUI raises when it encodes
    the text; or commas only: it renders without an embedding), ``problem`` says which;
    there is no file to get, the prompt is to fix. ``rewrite``: for a prompt
    embedding written with its weight outside parentheses (``embedding:x:1.2``, which
    ComfyUI reads as the name ``x:1.2``), how the prompt must write it instead
    (``(embedding:x:1.2)``). The need is then misspelled when ``x`` is installed
    (``pick`` is its spelling, the reference's value stays ``x:1.2``), else it is for
    ``x`` itself, missing or misplaced; ``reference.written_as`` keeps the token as
    written. ``locations`` holds at most ``MAX_LOCATIONS`` places, ``more_locations``
    counts the rest.
    """

    reference: ModelReference
    key: ModelKey
    state: NeedState
    locations: tuple[ModelFile, ...]
    pick: str | None = None
    problem: str | None = None
    rewrite: str | None = None
    more_locations: int = 0

    def __post_init__(self) -> None:
        # At most MAX_LOCATIONS places are kept, the rest counted: a name installed in
        # thousands of places, needed by thousands of nodes, made the report and the
        # needs cache their product (3,000 places x 750 nodes: a 357 MB report).
        if len(self.locations) > MAX_LOCATIONS:
            extra = len(self.locations) - MAX_LOCATIONS
            object.__setattr__(self, "more_locations", self.more_locations + extra)
            object.__setattr__(self, "locations", self.locations[:MAX_LOCATIONS])

    @property
    def to_fetch(self) -> bool:
        """Whether a file is to be got: missing, or broken where ComfyUI would load it
        (what the resolver searches for and the download plan fetches)."""
        return self.state in ("missing", "broken")

    @property
    def places(self) -> int:
        """How many installed files bear the name: those listed and those counted."""
        return len(self.locations) + self.more_locations

    @property
    def certain(self) -> bool:
        """False for a value of unknown folder that may not be a model at all."""
        return self.reference.folder is not None
