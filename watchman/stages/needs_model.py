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
    written.
    """

    reference: ModelReference
    key: ModelKey
    state: NeedState
    locations: tuple[ModelFile, ...]
    pick: str | None = None
    problem: str | None = None
    rewrite: str | None = None

    @property
    def certain(self) -> bool:
        """False for a value of unknown folder that may not be a model at all."""
        return self.reference.folder is not None
