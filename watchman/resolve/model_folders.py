"""Where a missing model folder may come from: never one file a backend lists.

Some loaders take the name of a folder holding a whole downloaded model repository
(weights, config, tokenizer: ``watchman/stages/folder_needs.py``). The backends match
file names in file listings, so a folder name can only ever be a wrong match there: a
folder request asks no backend, is never FOUND, and so is never planned for download.

What is known is said, marked UNCERTAIN with why: a folder name that a pack itself
downloads from a known Hugging Face repository (Florence2's ``DownloadAndLoad`` list puts
``microsoft/Florence-2-large`` into ``models/LLM/Florence-2-large``; ACE-Step's and ELLA's
READMEs name the repositories holding their folders), or a name written as the Hub's
cache writes a repository (``models--owner--name``). The command to fetch it is given,
for a person to run after checking. Any other folder is NOT_FOUND, reason ``model
folder``: get it by hand.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from watchman.comfy.folders import target_dir
from watchman.comfy.model_key import fold_case
from watchman.resolve.model import Candidate, SearchRequest, SearchResult, Status, result_for

BACKEND = "model folders"
"""The ``backend`` of a folder request's answer: no remote backend was asked."""
REASON = "model folder"


@dataclass(frozen=True)
class FolderSource:
    """A Hugging Face repository a model folder likely comes from: ``repo`` (owner/name),
    the ``subfolder`` of the repository that is the folder (``""``: the whole
    repository), and where that fact comes from (``source``)."""

    repo: str
    subfolder: str
    source: str

    def command(self, folder: str, name: str) -> str:
        """The command that fetches it into ``folder``'s directory as ``name``, run from
        the ComfyUI folder (``huggingface_hub``'s command line)."""
        base = target_dir(folder)
        repo = shlex.quote(self.repo)
        if not self.subfolder:
            return f"huggingface-cli download {repo} --local-dir {shlex.quote(f'{base}/{name}')}"
        # --include keeps the repository's path: its parent is the folder's directory.
        return (
            f"huggingface-cli download {repo} "
            f"--include {shlex.quote(self.subfolder + '/*')} --local-dir {shlex.quote(base)}"
        )


_FLORENCE2 = "ComfyUI-Florence2 (kijai), DownloadAndLoadFlorence2Model's list, nodes.py"
_ACE_STEP = "ComfyUI_ACE-Step (billwuhao), README: Model Download"
_ELLA = "ComfyUI-ELLA (TencentQQGYLab), README: FLAN-T5 XL Text Encoder"

_KNOWN: Mapping[tuple[str, str], FolderSource] = MappingProxyType(
    {
        **{
            ("llm", fold_case(repo.rsplit("/", 1)[1])): FolderSource(repo, "", _FLORENCE2)
            for repo in (
                # Florence2 downloads each into models/LLM/<name> (snapshot_download),
                # the folder its Florence2ModelLoader then lists.
                "microsoft/Florence-2-base",
                "microsoft/Florence-2-base-ft",
                "microsoft/Florence-2-large",
                "microsoft/Florence-2-large-ft",
                "HuggingFaceM4/Florence-2-DocVQA",
                "thwri/CogFlorence-2.1-Large",
                "thwri/CogFlorence-2.2-Large",
                "gokaygokay/Florence-2-SD3-Captioner",
                "gokaygokay/Florence-2-Flux-Large",
                "MiaoshouAI/Florence-2-base-PromptGen-v1.5",
                "MiaoshouAI/Florence-2-large-PromptGen-v1.5",
                "MiaoshouAI/Florence-2-base-PromptGen-v2.0",
                "MiaoshouAI/Florence-2-large-PromptGen-v2.0",
                "PJMixers-Images/Florence-2-base-Castollux-v0.5",
            )
        },
        **{
            ("ace_step", part): FolderSource("ACE-Step/ACE-Step-v1-3.5B", part, _ACE_STEP)
            for part in ("ace_step_transformer", "music_dcae_f8c8", "music_vocoder", "umt5-base")
        },
        ("ella_encoder", "models--google--flan-t5-xl--text_encoder"): FolderSource(
            "QQGYLab/ELLA", "models--google--flan-t5-xl--text_encoder", _ELLA
        ),
    }
)

_HUB_CACHE_NAME = re.compile(r"models--([A-Za-z0-9][\w.-]{0,95})--([A-Za-z0-9][\w.-]{0,95})")
"""How the Hub's cache names a repository's folder; a further ``--`` is something else."""


def folder_source(folder: str | None, name: str) -> FolderSource | None:
    """Return the repository the model folder ``name`` of ``folder`` likely comes from,
    or None when nothing known suggests one. Never raises."""
    if folder is None:
        return None
    known = _KNOWN.get((folder, fold_case(name)))
    if known is not None:
        return known
    match = _HUB_CACHE_NAME.fullmatch(name)
    if match is None or "--" in match.group(1) or "--" in match.group(2):
        return None
    repo = f"{match.group(1)}/{match.group(2)}"
    return FolderSource(
        repo, "", "the name is written as the Hugging Face cache names a repository"
    )


def folder_result(request: SearchRequest) -> SearchResult:
    """Answer a request for a model folder without asking any backend: UNCERTAIN with the
    likely repository and the command that fetches it, else NOT_FOUND."""
    name = request.value.strip()
    where = f"{target_dir(request.folder or '?')}/{name}"
    source = folder_source(request.folder, name)
    if source is None:
        return result_for(
            request,
            Status.NOT_FOUND,
            BACKEND,
            reason=REASON,
            detail=(
                f"A loader takes the name of this folder, a whole downloaded model "
                f"repository, which no backend lists: get it by hand into {where}."
            ),
        )
    whole = f"its folder {source.subfolder}" if source.subfolder else "the repository"
    command = source.command(request.folder or "", name)
    return result_for(
        request,
        Status.UNCERTAIN,
        BACKEND,
        candidates=(
            Candidate(
                file_name=name,
                url=None,
                source=source.source,
                note=f"likely {whole} of {source.repo} on Hugging Face: {command}",
            ),
        ),
        reason=f"{REASON}: likely {source.repo} ({source.source}); no file listing confirmed it",
        detail=f"It goes to {where}; check the repository before fetching it.",
    )
