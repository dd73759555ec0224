"""What a Qwen chat server answers, read leniently: the chat message of a completion, the
arguments of a tool call, and the final answer's candidates, validated against a schema
(:class:`QwenAnswer`) wherever in the text the model put its JSON.

The answer is data only: :mod:`watchman.resolve.qwen` verifies every candidate against a
listing before anything is used.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from watchman.errors import BackendError


class QwenCandidate(BaseModel):
    """One proposal in Qwen's JSON answer; unknown keys are ignored, wrong types dropped."""

    model_config = ConfigDict(extra="ignore")

    source: str | None = None
    repo: str | None = None
    model_id: int | None = None
    query: str | None = None
    file_name: str | None = None
    url: str | None = None

    @field_validator("source", "repo", "query", "file_name", "url", mode="before")
    @classmethod
    def _text_or_none(cls, value: Any) -> str | None:
        return value.strip()[:300] if isinstance(value, str) and value.strip() else None

    @field_validator("model_id", mode="before")
    @classmethod
    def _id_or_none(cls, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return None


class QwenAnswer(BaseModel):
    """The schema of Qwen's final answer."""

    model_config = ConfigDict(extra="ignore")

    candidates: list[QwenCandidate] = []


def first_message(payload: Any) -> dict[str, Any]:
    choices = as_list(payload.get("choices")) if isinstance(payload, dict) else []
    first = choices[0] if choices and isinstance(choices[0], dict) else None
    message = first.get("message") if first else None
    if not isinstance(message, dict):
        raise BackendError("The Qwen server answered without a chat message.", "bad_response")
    return message


# Reasoning models (Qwen3, DeepSeek-R1) think aloud before answering, braces and all.
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.IGNORECASE | re.DOTALL)
_MAX_ANSWER_CHARS = 200_000
_MAX_JSON_TRIES = 200


def parse_answer(content: Any) -> list[QwenCandidate]:
    """Return the candidates of Qwen's final answer.

    The answer may wrap its JSON in prose, code fences or ``<think>`` blocks: thinking is
    dropped, then each ``{`` is tried in turn (a bounded number of times) until one
    decodes to an object that follows the schema; the last such object wins, since
    models tend to restate their final answer at the end.

    Raises:
        BackendError: (``bad_response``) no text, or no object that follows the schema.
    """
    if not isinstance(content, str):
        raise BackendError("Qwen's answer had no text.", "bad_response")
    text = _THINK.sub(" ", content[:_MAX_ANSWER_CHARS])
    decoder = json.JSONDecoder()
    answer: QwenAnswer | None = None
    schema_errors = 0
    position = text.find("{")
    tries = 0
    while position >= 0 and tries < _MAX_JSON_TRIES:
        tries += 1
        try:
            value, end = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict) and "candidates" in value:
            try:
                answer = QwenAnswer.model_validate(value)
            except ValidationError:
                schema_errors += 1
        position = text.find("{", end)
    if answer is not None:
        return answer.candidates
    if schema_errors:
        raise BackendError(
            "Qwen's answer did not follow the schema.",
            "bad_response",
        )
    raise BackendError("Qwen's answer held no JSON object with candidates.", "bad_response")


def loads_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw) if isinstance(raw, (str, bytes)) else None
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
