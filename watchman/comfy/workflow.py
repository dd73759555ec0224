"""Reading a workflow: sniff JSON / PNG / WebP / a media payload and hand it to the right
format reader.

``parse_workflow_bytes`` hands the document to the UI-format reader (``workflow_ui``) or
the API-format reader (``workflow_api``). Both produce the same ``ParsedWorkflow``
(``workflow_model``): the real nodes (inner nodes of subgraphs and group nodes included;
instance nodes and frontend-only nodes left out), the model references with their
folder, the embedded model metadata, and non-fatal findings.

Nothing here runs workflow content: it is read as JSON and text only. Every limit that
bounds the work is a module constant named in the message of a file that breaks it:
``MAX_WORKFLOW_BYTES`` here, ``MAX_JSON_DEPTH`` (``workflow_json``), ``MAX_NESTING``
(``workflow_ui``), ``MAX_EXPANDED_NODES`` and ``MAX_NODE_VALUES`` (``workflow_limits``),
and the image text caps (``image_metadata``). docs/reliability.md lists them.
"""

from __future__ import annotations

import logging

from watchman.comfy.image_metadata import image_kind, workflow_texts
from watchman.comfy.loader_lookup import LoaderTable, default_table
from watchman.comfy.media_metadata import MEDIA_KIND_LABELS, payload_texts, with_article
from watchman.comfy.workflow_api import is_api_prompt, parse_api_prompt
from watchman.comfy.workflow_json import decode_json
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.comfy.workflow_ui import is_ui_workflow, parse_ui_workflow
from watchman.errors import ImageWithoutWorkflowError, WorkflowError
from watchman.printable import shortened

logger = logging.getLogger(__name__)

MAX_WORKFLOW_BYTES = 64 * 1024 * 1024
"""A larger file is refused rather than read into memory (a workflow is a few MB at most;
a PNG carrying one rarely passes 40 MB)."""


def parse_workflow_json(
    document: object, name: str, file_format: str | None = None, table: LoaderTable | None = None
) -> ParsedWorkflow:
    """Return the parsed workflow for an already decoded JSON document.

    Takes the document, a name for messages, and the format to record (``png``/``webp``
    when it came from an image; else ``ui`` or ``api`` is detected). Unwraps
    ``{"prompt": ...}`` and ``{"input": {"workflow": ...}}``. Raises WorkflowError when
    the document is not a workflow.
    """
    # One table for the whole document, so the answers it remembers serve every node.
    table = table if table is not None else default_table()
    current = document
    for _ in range(4):
        if is_ui_workflow(current):
            assert isinstance(current, dict)
            return parse_ui_workflow(current, file_format or "ui", name, table)
        if is_api_prompt(current):
            assert isinstance(current, dict)
            return parse_api_prompt(current, file_format or "api", table, name)
        if not isinstance(current, dict):
            break
        if isinstance(current.get("prompt"), dict):
            current = current["prompt"]
        elif isinstance(current.get("input"), dict) and "workflow" in current["input"]:
            current = current["input"]["workflow"]
        elif isinstance(current.get("workflow"), dict):
            current = current["workflow"]
        else:
            break
    raise WorkflowError(
        f"{name} is JSON but not a ComfyUI workflow (neither a UI graph with 'nodes' "
        "nor an API prompt of nodes with 'class_type')."
    )


def parse_workflow_bytes(
    data: bytes, name: str, table: LoaderTable | None = None
) -> ParsedWorkflow:
    """Return the parsed workflow in ``data``: JSON, a PNG / WebP image carrying one, or
    the embedded texts of a video, audio, GLB, SVG or AVIF file
    (``media_metadata.media_payload``).

    Takes the file's bytes and a name used in messages. Raises WorkflowError (one
    sentence naming ``name``) for invalid JSON, a document that is not a workflow, or an
    image without a readable workflow.
    """
    media = payload_texts(data)
    if media is not None:
        if media[0] == "unknown":
            raise ImageWithoutWorkflowError(
                f"{name} is not an MP4, MOV, WebM, MKV, FLAC, MP3, Ogg, GLB, SVG or AVIF "
                "file: no workflow is read from it."
            )
        return _from_texts(media[1], media[0], MEDIA_KIND_LABELS[media[0]], name, table)
    kind = image_kind(data)
    if kind is not None:
        return _from_texts(
            workflow_texts(data, kind, name), kind, f"{kind.upper()} image", name, table
        )
    return parse_workflow_json(decode_json(data, name), name, None, table)


def _from_texts(
    texts: dict[str, str], kind: str, label: str, name: str, table: LoaderTable | None
) -> ParsedWorkflow:
    """Return the workflow of the embedded ``workflow`` text, else of the ``prompt`` text.

    Raises:
        ImageWithoutWorkflowError: neither text is there (an ordinary picture or video).
        WorkflowError: no text present is a readable workflow.
    """
    problems = []
    for key in ("workflow", "prompt"):
        if key not in texts:
            continue
        try:
            return parse_workflow_json(decode_json(texts[key], name), name, kind, table)
        except WorkflowError as error:
            problems.append(f"its {key!r} text is not a workflow ({error})")
    if not problems:
        raise ImageWithoutWorkflowError(
            f"{name} is {with_article(label)} with no 'workflow' or 'prompt' text in it."
        )
    detail = "; ".join(problems)
    raise WorkflowError(f"{name} is {with_article(label)} without a readable workflow: {detail}.")


def reader_failure(name: str, error: Exception) -> WorkflowError:
    """Return the one-sentence error for a failure the readers did not foresee.

    The last-resort boundary around one untrusted file (the cycle's workflow stage, scan)
    calls this instead of letting the exception end the cycle or the batch. The traceback
    goes to the log at ERROR, for a bug report; the sentence names the exception type.
    """
    kind = type(error).__name__
    logger.error("Reading %s failed unexpectedly (%s).", name, kind, exc_info=error)
    return WorkflowError(
        f"{name} could not be read: the reader failed on its content ({kind}: "
        f"{shortened(str(error), 160)}); please report this file."
    )
