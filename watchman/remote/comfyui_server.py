"""A running ComfyUI server, asked for ``/object_info``: the truth about installed nodes.

When the server answers, its node list reflects what actually loaded (packs that failed to
import are absent) and each combo input lists the file names ComfyUI can see. Nothing here
waits long: a box without a running ComfyUI falls back to the static inventory at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx

from watchman.comfy.node_sockets import SocketRules, socket_rules
from watchman.comfy.widget_layout import Layout, slot_json, widget_layout
from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_options import HttpOptions
from watchman.remote.json_members import OBJECT_BEGINS, MalformedJsonError, object_leaves

logger = logging.getLogger(__name__)

OBJECT_INFO_PATH = "/object_info"
# object_info of an install with hundreds of packs runs to tens of MiB; bound it well above.
MAX_OBJECT_INFO_BYTES = 256 * 1024 * 1024
_INPUT_SECTIONS = ("required", "optional")
# node type -> "input" -> "required" / "optional" -> input name: one input's definition.
_SPEC_DEPTH = 4


@dataclass(frozen=True)
class ObjectInfo:
    """What a live ComfyUI reports: node types, and each combo input's valid values."""

    node_types: frozenset[str]
    input_choices: Mapping[str, Mapping[str, tuple[str, ...]]]
    layouts: Mapping[str, Layout] = field(default_factory=dict)
    # Per node type, its required sockets and whether it is an output node.
    sockets: Mapping[str, SocketRules] = field(default_factory=dict)
    # The first 16 hex digits of the sha256 of the server's whole answer, as it came.
    answer_digest: str = ""
    # Of what the answer says that an assessment uses: the node types, each combo's
    # choices, each node's widget layout and socket rules. A default that changes on every request
    # (WAS Node Suite draws random ones) changes the answer, not this.
    content_digest: str = ""
    # The whole answer's length in bytes, as it came.
    answer_bytes: int = 0

    def choices_for(self, node_type: str, input_name: str) -> tuple[str, ...] | None:
        """Return the valid values of one combo input, or None when it is not a combo."""
        return self.input_choices.get(node_type, {}).get(input_name)

    def layout_for(self, node_type: str) -> Layout | None:
        """Return the widget slots of ``node_type`` (:mod:`watchman.comfy.widget_layout`),
        or None when the server does not define it."""
        return self.layouts.get(node_type)

    def sockets_for(self, node_type: str) -> SocketRules | None:
        """Return the required sockets and output flag of ``node_type``
        (:mod:`watchman.comfy.node_sockets`), or None when the server does not define it
        or its definition is malformed."""
        return self.sockets.get(node_type)


class ComfyUIServer:
    """Client of one ComfyUI server, through the gateway (a deadline, a size cap, a stop).

    Args:
        gateway: the HTTP path; build it with no retries (``server_gateway``): a box
            without a running ComfyUI falls back to the static inventory at once.
        base_url: the server, e.g. ``http://127.0.0.1:8188``.
        timeout: seconds to wait for connecting (and sending).
        answer_timeout: seconds to wait for each read of the answer, its first byte
            included: ComfyUI builds the whole answer before sending any of it, seconds
            at 100,000 model files. None: ``timeout``.
    """

    def __init__(
        self,
        gateway: HttpGateway,
        base_url: str,
        timeout: float,
        answer_timeout: float | None = None,
    ) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.answer_timeout = answer_timeout if answer_timeout is not None else timeout

    def object_info(self) -> ObjectInfo:
        """Fetch and read ``GET /object_info``, one input's definition at a time (an answer
        of hundreds of MB is never decoded whole: :func:`node_entries`).

        Returns:
            The node types, combo choices and widget layouts of the running server, with
            the digests of its whole answer and of that content.

        Raises:
            BackendError: reason ``timeout`` when the server is too slow, ``unreachable``
                when nothing answers, ``interrupted`` after a stop, ``bad_response`` for
                an error status, a body too large, or a body that is not an object_info
                document.
        """
        reading = ObjectInfoReading()
        with self._answer() as body:
            tally = _Tally()
            events = object_leaves(tally.passing(body), _SPEC_DEPTH)
            for node_type, node_info in node_entries(events):
                reading.add(node_type, node_info)
        info = reading.finish(tally.hexdigest(), tally.size)
        logger.debug("ComfyUI at %s reports %d node types.", self.base_url, len(info.node_types))
        return info

    def answer_digest(self) -> str:
        """Return the digest :meth:`object_info` would give its answer now, without
        decoding it: what the cycle's fingerprint compares (see ``ObjectInfo``).

        Raises:
            BackendError: as :meth:`object_info`, save that a body that is not JSON still
                has a digest.
        """
        with self._answer() as body:
            tally = _Tally()
            for _ in tally.passing(body):
                pass
        return tally.hexdigest()

    @contextmanager
    def _answer(self) -> Iterator[Iterator[bytes]]:
        """Ask for ``/object_info`` and yield its body's chunks, to be read in the block;
        the gateway's failures, there or while the body is read, and a body that is not a
        JSON object (``MalformedJsonError``) become one sentence about this server."""
        url = self.base_url + OBJECT_INFO_PATH
        try:
            with self.gateway.stream(
                "GET",
                url,
                timeout=httpx.Timeout(self.timeout, read=self.answer_timeout),
                deadline_seconds=deadline_for(self.timeout, self.answer_timeout),
                max_bytes=MAX_OBJECT_INFO_BYTES,
            ) as response:
                if response.status_code != 200:
                    raise BackendError(f"it answered HTTP {response.status_code}", "bad_response")
                yield response.iter_bytes()
        except MalformedJsonError as error:
            raise BackendError(
                f"ComfyUI at {self.base_url} sent {OBJECT_INFO_PATH} that is not an "
                f"object_info document ({error}); check comfyui.url points at ComfyUI.",
                reason="bad_response",
            ) from None
        except BackendError as error:
            raise self._explained(error) from None

    def _explained(self, error: BackendError) -> BackendError:
        if error.reason == "timeout":
            return BackendError(
                f"ComfyUI at {self.base_url} did not answer within {self.answer_timeout:g} s "
                "(comfyui.answer_timeout_seconds)",
                reason="timeout",
            )
        if error.reason in ("unreachable", "interrupted"):
            return BackendError(
                f"ComfyUI at {self.base_url} is not reachable ({error}); start it or "
                "check comfyui.url",
                reason=error.reason,
            )
        return BackendError(
            f"ComfyUI at {self.base_url} did not answer {OBJECT_INFO_PATH} as ComfyUI "
            f"does ({error}); check comfyui.url points at ComfyUI.",
            reason="bad_response",
        )


def node_entries(
    events: Iterable[tuple[tuple[str, ...], Any]],
) -> Iterator[tuple[str, Any]]:
    """Rebuild each node's entry of ``/object_info`` from ``object_leaves(…, 4)``.

    Each input's definition arrives decoded on its own; the list of choices in it is
    replaced by the first equal list seen, so the thirty inputs of a LoRA stacker that
    each list 100,000 files hold one list between them, not thirty (the others are
    dropped as soon as they are decoded). Yields ``(node_type, entry)`` in the answer's
    order, a repeated node type again.
    """
    shared: dict[tuple[Any, ...], list[Any]] = {}
    name: str | None = None
    entry: Any = None
    for path, value in events:
        if len(path) == 1:
            if name is not None:
                yield name, entry
            name, entry = path[0], ({} if value is OBJECT_BEGINS else value)
            continue
        parent = entry
        for key in path[1:-1]:  # every parent's OBJECT_BEGINS came before its members
            parent = parent[key]
        if value is OBJECT_BEGINS:
            value = {}
        elif len(path) == _SPEC_DEPTH and path[1] == "input":
            value = _with_shared_list(value, shared)
        parent[path[-1]] = value
    if name is not None:
        yield name, entry


def _with_shared_list(spec: Any, shared: dict[tuple[Any, ...], list[Any]]) -> Any:
    """``spec`` with its list of choices (``[[…], {…}]`` or ``["COMBO", {"options": […]}]``)
    replaced by the equal one in ``shared``, which keeps the first of each."""
    if not isinstance(spec, list) or not spec:
        return spec
    if isinstance(spec[0], list):
        spec[0] = _shared(spec[0], shared)
    elif len(spec) > 1 and isinstance(spec[1], dict) and isinstance(spec[1].get("options"), list):
        spec[1]["options"] = _shared(spec[1]["options"], shared)
    return spec


def _shared(listed: list[Any], shared: dict[tuple[Any, ...], list[Any]]) -> list[Any]:
    key = tuple(listed)
    try:
        return shared.setdefault(key, listed)
    except TypeError:  # a list holding lists or objects: kept as it is
        return listed


class _Tally:
    """The sha256 and the length of an answer, taken as its chunks stream past."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def passing(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Yield ``chunks`` as they are, each counted and hashed first."""
        for chunk in chunks:
            self.digest.update(chunk)
            self.size += len(chunk)
            yield chunk

    def hexdigest(self) -> str:
        """The first 16 hex digits of the sha256 (``ObjectInfo.answer_digest``)."""
        return self.digest.hexdigest()[:16]


def server_gateway(
    client: httpx.Client,
    timeout: float,
    stop_event: threading.Event | None = None,
    answer_timeout: float | None = None,
) -> HttpGateway:
    """Return the gateway for a ComfyUI server: no retries (a server that is not there is
    not asked twice), connections of ``timeout`` seconds, a whole call bounded by
    ``deadline_for(timeout, answer_timeout)``."""
    options = HttpOptions(
        timeout_seconds=timeout,
        max_retries=0,
        total_deadline_seconds=deadline_for(timeout, answer_timeout),
        max_response_bytes=MAX_OBJECT_INFO_BYTES,
    )
    return HttpGateway(client, options, stop_event=stop_event)


def deadline_for(timeout: float, answer_timeout: float | None = None) -> float:
    """The longest a whole /object_info call may take: twice the wait for the answer's
    first byte (ComfyUI builds it whole first; then hundreds of MB follow), and never
    under 10 s or five connection timeouts."""
    reading = answer_timeout if answer_timeout is not None else timeout
    return max(10.0, 5 * timeout, 2 * reading)


def parse_object_info(document: Mapping[str, Any], answer_digest: str = "") -> ObjectInfo:
    """Read an ``/object_info`` document already decoded (see :class:`ObjectInfoReading`);
    ``answer_digest``: that of the answer it came from."""
    reading = ObjectInfoReading()
    for node_type, node_info in document.items():
        reading.add(node_type, node_info)
    return reading.finish(answer_digest)


class ObjectInfoReading:
    """An ``/object_info`` document read leniently, one node's entry at a time.

    Each entry is ``node_type: {"input": {"required": {...}, "optional": {...}}, ...}``.
    Every node type is kept, and for each node the combo inputs with their string
    choices, in both the old form ``[["a", "b"], {...}]`` and the COMBO form
    ``["COMBO", {"options": ["a", "b"]}]``, its widget layout and its required
    sockets and output flag (:mod:`watchman.comfy.node_sockets`). Malformed node entries
    keep their type but contribute no choices, no layout and no rules.
    """

    def __init__(self) -> None:
        self._node_types: set[str] = set()
        self._choices: dict[str, Mapping[str, tuple[str, ...]]] = {}
        # One copy of each list: at 100,000 models every loader input (a LoRA stacker has
        # dozens) lists the same folder's files, and each copy would be kept whole.
        self._distinct: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._layouts: dict[str, Layout] = {}
        self._sockets: dict[str, SocketRules] = {}
        # One record per distinct rule: most nodes share theirs with others.
        self._distinct_rules: dict[SocketRules, SocketRules] = {}

    def add(self, node_type: object, node_info: object) -> None:
        """Read one node's entry (a later entry of the same type replaces an earlier)."""
        name = str(node_type)
        self._node_types.add(name)
        self._choices.pop(name, None)
        self._layouts.pop(name, None)
        self._sockets.pop(name, None)
        layout = widget_layout(node_info)
        if layout is not None:
            self._layouts[name] = layout
        rules = socket_rules(node_info)
        if rules is not None:
            self._sockets[name] = self._distinct_rules.setdefault(rules, rules)
        inputs = node_info.get("input") if isinstance(node_info, dict) else None
        if not isinstance(inputs, dict):
            return
        node_choices: dict[str, tuple[str, ...]] = {}
        for section in _INPUT_SECTIONS:
            specs = inputs.get(section)
            if not isinstance(specs, dict):
                continue
            for input_name, spec in specs.items():
                values = combo_values(spec)
                if values is not None:
                    node_choices[str(input_name)] = self._distinct.setdefault(values, values)
        if node_choices:
            self._choices[name] = MappingProxyType(node_choices)

    def finish(self, answer_digest: str, answer_bytes: int = 0) -> ObjectInfo:
        """Return what was read, with ``answer_digest`` and ``answer_bytes`` (the whole
        answer's digest and length) and the digest of its content
        (``ObjectInfo.content_digest``)."""
        return ObjectInfo(
            node_types=frozenset(self._node_types),
            input_choices=MappingProxyType(self._choices),
            layouts=MappingProxyType(self._layouts),
            sockets=MappingProxyType(self._sockets),
            answer_digest=answer_digest,
            content_digest=self._content_digest(),
            answer_bytes=answer_bytes,
        )

    def _content_digest(self) -> str:
        digest = hashlib.sha256()
        # Each distinct list is hashed once: a LoRA stacker's thirty inputs share one.
        lists: dict[int, bytes] = {}
        for name in sorted(self._node_types):
            digest.update(b"\0node\0" + _text_bytes(name))
            for input_name, values in self._choices.get(name, {}).items():
                listed = lists.get(id(values))
                if listed is None:
                    listed = hashlib.sha256(_text_bytes("\0".join(values))).digest()
                    lists[id(values)] = listed
                digest.update(b"\0input\0" + _text_bytes(input_name) + listed)
            layout = self._layouts.get(name)
            if layout is not None:
                slots = json.dumps([slot_json(slot) for slot in layout])
                digest.update(b"\0layout\0" + slots.encode("ascii"))
            rules = self._sockets.get(name)
            if rules is not None:
                sockets = json.dumps([sorted(rules.required), rules.output])
                digest.update(b"\0sockets\0" + sockets.encode("ascii"))
        return digest.hexdigest()[:16]


def combo_values(spec: object) -> tuple[str, ...] | None:
    """Return the choices of one input spec, or None when the input is not a combo.

    Non-string choices (numbers in a few packs' combos) are kept as their text.
    """
    if not isinstance(spec, (list, tuple)) or not spec:
        return None
    head = spec[0]
    if isinstance(head, list):
        return tuple(_choice_text(value) for value in head if _is_choice(value))
    if head == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        options = spec[1].get("options")
        if isinstance(options, list):
            return tuple(_choice_text(value) for value in options if _is_choice(value))
        # A COMBO without options (remote or dynamic lists) has no static choices; None
        # rather than () so no caller reads it as "no value is valid".
        return None
    return None


def _text_bytes(text: str) -> bytes:
    # surrogatepass: a document read by another path may hold a lone surrogate.
    return text.encode("utf-8", "surrogatepass")


def _is_choice(value: object) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _choice_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)
