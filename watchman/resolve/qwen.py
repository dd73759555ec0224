"""Qwen: an OpenAI-compatible chat model proposes where a file may be; the Civitai and
Hugging Face listings decide.

The model may call two tools (``search_civitai``, ``search_huggingface``), which this code
runs against the real backends, a bounded number of times; its final answer is JSON
validated against a schema. Its text is data only: a URL or hash it wrote is never used
unless a listing returned it. Verified exact -> FOUND; proposals without proof ->
UNCERTAIN with every candidate; NOT_FOUND only when it proposed nothing at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import orjson

from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.resolve.civitai import NAME as CIVITAI
from watchman.resolve.civitai import CivitaiBackend
from watchman.resolve.health import HealthBoard
from watchman.resolve.huggingface import NAME as HUGGINGFACE
from watchman.resolve.huggingface import HuggingFaceBackend, parse_resolve_url
from watchman.resolve.model import Candidate, SearchRequest, SearchResult, Status, result_for
from watchman.resolve.qwen_answer import (
    QwenCandidate,
    as_dict,
    as_list,
    first_message,
    loads_object,
    parse_answer,
)

logger = logging.getLogger(__name__)

NAME = "qwen"
_MAX_CANDIDATES = 6
_MAX_TOOL_RESULTS = 20
_CIVITAI_MODEL_URL = re.compile(r"civitai\.com/models/(\d+)", re.IGNORECASE)

_SYSTEM_PROMPT = (
    "You help find where a ComfyUI model file can be downloaded. You may call the tools "
    "search_civitai and search_huggingface to look at real listings. Finally answer with "
    'JSON only: {"candidates": [{"source": "civitai" or "huggingface", "repo": '
    '"owner/name" (Hugging Face), "model_id": 123 (Civitai), "query": "search words", '
    '"file_name": "exact file name", "url": "..."}]}. Use an empty list when unsure.'
)
_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
    for name, description in (
        ("search_civitai", "Search Civitai models; returns model ids and their file names."),
        ("search_huggingface", "Search Hugging Face model repositories; returns repo ids."),
    )
]


class QwenBackend:
    """Asks the chat model, runs its tool calls, and verifies its proposals."""

    name = NAME

    def __init__(
        self,
        gateway: HttpGateway,
        base_url: str,
        model: str,
        *,
        civitai: CivitaiBackend,
        huggingface: HuggingFaceBackend,
        timeout_seconds: float = 60.0,
        connect_timeout_seconds: float = 3.0,
        max_tool_calls: int = 6,
        health: HealthBoard,
    ) -> None:
        self.gateway = gateway
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.civitai = civitai
        self.huggingface = huggingface
        self.timeout = httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds)
        self.max_tool_calls = max_tool_calls
        # Shared with the resolver: a listing service marked down (rate limited, dead)
        # is not asked by a tool call either, and a failure met here marks it down.
        self.health = health

    def search(self, request: SearchRequest) -> SearchResult:
        """Ask Qwen about ``request`` and verify what it proposes.

        Returns:
            FOUND when a listing confirmed the exact name, UNCERTAIN when Qwen proposed
            anything unconfirmed, NOT_FOUND when it proposed nothing.

        Raises:
            BackendError: the chat server could not answer, or answered no valid JSON.
        """
        verified: list[SearchResult] = []
        near: list[Candidate] = []
        proposals = self._converse(request, verified, near)
        if not verified:
            for proposal in proposals[:_MAX_CANDIDATES]:
                found = self._verify(request, proposal, near)
                if found is not None:
                    verified.append(found)
                    break
        if verified:
            return verified[0]
        candidates = [_unverified(request, proposal) for proposal in proposals[:_MAX_CANDIDATES]]
        candidates += near
        if candidates:
            return result_for(
                request,
                Status.UNCERTAIN,
                NAME,
                candidates=tuple(candidates),
                detail="Qwen proposed sources; no listing confirmed this exact file name.",
            )
        return result_for(request, Status.NOT_FOUND, NAME, detail="Qwen proposed no source.")

    def _converse(
        self, request: SearchRequest, verified: list[SearchResult], near: list[Candidate]
    ) -> list[QwenCandidate]:
        folder = request.folder or "unknown"
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": _SYSTEM_PROMPT},
            {
                "role": "user",
                "content": f"File name: {request.file_name}\nComfyUI folder type: {folder}",
            },
        ]
        calls_left = self.max_tool_calls
        while True:
            body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
            if calls_left > 0:
                body["tools"] = _TOOLS
            answer = self.gateway.post_json(self.url, body, timeout=self.timeout)
            message = first_message(answer.data)
            tool_calls = [
                call for call in as_list(message.get("tool_calls")) if isinstance(call, dict)
            ]
            if tool_calls and calls_left > 0:
                messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
                for call in tool_calls:
                    content = (
                        self._run_tool(request, call, verified, near)
                        if calls_left > 0
                        else {"error": "tool call limit reached"}
                    )
                    calls_left -= 1
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": str(call.get("id") or ""),
                            "content": orjson.dumps(content).decode(),
                        }
                    )
                if verified:
                    # A listing already confirmed the file: the rest of the talk adds nothing.
                    return []
                continue
            return parse_answer(message.get("content"))

    def _run_tool(
        self,
        request: SearchRequest,
        call: dict[str, Any],
        verified: list[SearchResult],
        near: list[Candidate],
    ) -> Any:
        function = as_dict(call.get("function"))
        name = function.get("name")
        arguments = loads_object(function.get("arguments"))
        raw_query = arguments.get("query")
        query = raw_query.strip()[:120] if isinstance(raw_query, str) else ""
        if not query:
            return {"error": "query is required"}
        service = {"search_civitai": CIVITAI, "search_huggingface": HUGGINGFACE}.get(str(name))
        if service is None:
            return {"error": f"unknown tool {str(name)[:40]}"}
        down = self.health.down(service)
        if down is not None:
            return {"error": down.reason}
        try:
            if name == "search_civitai":
                files = self.civitai.query_files(query)
                if not verified:
                    found = self.civitai.match_files(request, files, near)
                    if found is not None:
                        verified.append(_verified(found, "civitai search"))
                return [
                    {"model": listed.model_name, "file_name": listed.name}
                    for listed in files[:_MAX_TOOL_RESULTS]
                ]
            if name == "search_huggingface":
                return {"repos": self.huggingface.search_repos(query)[:_MAX_TOOL_RESULTS]}
        except BackendError as error:
            if error.reason == "interrupted":
                raise
            self.health.record(service, error)
            return {"error": error.reason}
        return {"error": f"unknown tool {str(name)[:40]}"}

    def _verify(
        self, request: SearchRequest, proposal: QwenCandidate, near: list[Candidate]
    ) -> SearchResult | None:
        repo = proposal.repo
        if repo is None and proposal.url:
            parsed = parse_resolve_url(proposal.url, self.huggingface.base_url)
            repo = parsed[0] if parsed else None
        model_id = proposal.model_id
        if model_id is None and proposal.url:
            match = _CIVITAI_MODEL_URL.search(proposal.url)
            model_id = int(match.group(1)) if match else None
        # Each way of checking stands alone: a proposed repository or model id that is
        # gone (404) still leaves the proposal's search words to try.
        checks: list[tuple[str, str, Callable[[], SearchResult | None]]] = []
        if repo:
            checks.append(
                (
                    HUGGINGFACE,
                    f"Hugging Face listing of {repo}",
                    lambda: self.huggingface.check_repo(request, repo, near),
                )
            )
        if model_id is not None:
            checks.append(
                (
                    CIVITAI,
                    f"Civitai listing of model {model_id}",
                    lambda: self.civitai.lookup_model(request, model_id, near),
                )
            )
        if proposal.query:
            query = proposal.query
            checks.append(
                (CIVITAI, "Civitai search", lambda: self.civitai.search_term(request, query, near))
            )
        for service, listing, check in checks:
            if self.health.down(service) is not None:
                continue
            try:
                found = check()
            except BackendError as error:
                if error.reason == "interrupted":
                    raise
                # A 404 on a proposed id is the proposal's fault, not the service's.
                self.health.record(service, error)
                logger.info(
                    "Could not check a Qwen proposal for %s in the %s: %s",
                    request.file_name,
                    listing,
                    error,
                )
                continue
            if found is not None:
                return _verified(found, listing)
        return None


def _verified(found: SearchResult, listing: str) -> SearchResult:
    # The listing's answer, kept whole (a gated file keeps its auth_required and why).
    return replace(
        found,
        backend=NAME,
        detail=f"Proposed by Qwen, verified by the {listing}. {found.detail or ''}".strip(),
    )


def _unverified(request: SearchRequest, proposal: QwenCandidate) -> Candidate:
    where = ", ".join(
        f"{label} {value}"
        for label, value in (
            ("source", proposal.source),
            ("repo", proposal.repo),
            ("model", proposal.model_id),
            ("query", proposal.query),
            ("claimed url", proposal.url),
        )
        if value is not None
    )
    # The URL stays in the note: no listing confirmed it, so it is never a download URL.
    return Candidate(
        file_name=proposal.file_name or request.file_name,
        url=None,
        source=NAME,
        note=f"unverified Qwen proposal ({where})" if where else "unverified Qwen proposal",
    )
