"""A running ComfyUI server, asked for ``/object_info``: the truth about installed nodes.

When the server answers, its node list reflects what actually loaded (packs that failed to
import are absent) and each combo input lists the file names ComfyUI can see. Nothing here
waits long: a box without a running ComfyUI falls back to the static inventory at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx
import orjson

from watchman.comfy.widget_layout import Layout, widget_layout
from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_options import HttpOptions

logger = logging.getLogger(__name__)

OBJECT_INFO_PATH = "/object_info"
# object_info of an install with hundreds of packs runs to tens of MiB; bound it well above.
MAX_OBJECT_INFO_BYTES = 256 * 1024 * 1024
_INPUT_SECTIONS = ("required", "optional")


@dataclass(frozen=True)
class ObjectInfo:
    """What a live ComfyUI reports: node types, and each combo input's valid values."""

    node_types: frozenset[str]
    input_choices: Mapping[str, Mapping[str, tuple[str, ...]]]
    layouts: Mapping[str, Layout] = field(default_factory=dict)
    lists_digest: str = ""  # of every node's inputs and lists, in the server's order

    def choices_for(self, node_type: str, input_name: str) -> tuple[str, ...] | None:
        """Return the valid values of one combo input, or None when it is not a combo."""
        return self.input_choices.get(node_type, {}).get(input_name)

    def layout_for(self, node_type: str) -> Layout | None:
        """Return the widget slots of ``node_type`` (:mod:`watchman.comfy.widget_layout`),
        or None when the server does not define it."""
        return self.layouts.get(node_type)


class ComfyUIServer:
    """Client of one ComfyUI server, through the gateway (a deadline, a size cap, a stop).

    Args:
        gateway: the HTTP path; build it with no retries (``server_gateway``): a box
            without a running ComfyUI falls back to the static inventory at once.
        base_url: the server, e.g. ``http://127.0.0.1:8188``.
        timeout: seconds to wait for connecting and for each read of the answer.
    """

    def __init__(self, gateway: HttpGateway, base_url: str, timeout: float) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def object_info(self) -> ObjectInfo:
        """Fetch and read ``GET /object_info``.

        Returns:
            The node types and combo choices of the running server.

        Raises:
            BackendError: reason ``timeout`` when the server is too slow, ``unreachable``
                when nothing answers, ``interrupted`` after a stop, ``bad_response`` for
                an error status, a body too large, or a body that is not an object_info
                document.
        """
        url = self.base_url + OBJECT_INFO_PATH
        try:
            response = self.gateway.get_json(
                url,
                timeout=httpx.Timeout(self.timeout),
                deadline_seconds=deadline_for(self.timeout),
                max_bytes=MAX_OBJECT_INFO_BYTES,
            )
        except BackendError as error:
            if error.reason == "timeout":
                raise BackendError(
                    f"ComfyUI at {self.base_url} did not answer within {self.timeout:g} s",
                    reason="timeout",
                ) from None
            if error.reason in ("unreachable", "interrupted"):
                raise BackendError(
                    f"ComfyUI at {self.base_url} is not reachable ({error}); start it or "
                    "check comfyui.url",
                    reason=error.reason,
                ) from None
            raise BackendError(
                f"ComfyUI at {self.base_url} did not answer {OBJECT_INFO_PATH} as ComfyUI "
                f"does ({error}); check comfyui.url points at ComfyUI.",
                reason="bad_response",
            ) from None
        document = response.data
        if not isinstance(document, dict):
            raise BackendError(
                f"ComfyUI at {self.base_url} sent {OBJECT_INFO_PATH} that is not an object; "
                "check comfyui.url points at ComfyUI.",
                reason="bad_response",
            )
        info = parse_object_info(document)
        logger.debug("ComfyUI at %s reports %d node types.", self.base_url, len(info.node_types))
        return info


def server_gateway(
    client: httpx.Client, timeout: float, stop_event: threading.Event | None = None
) -> HttpGateway:
    """Return the gateway for a ComfyUI server: no retries (a server that is not there is
    not asked twice), reads of ``timeout`` seconds, a whole call bounded by
    ``deadline_for(timeout)``."""
    options = HttpOptions(
        timeout_seconds=timeout,
        max_retries=0,
        total_deadline_seconds=deadline_for(timeout),
        max_response_bytes=MAX_OBJECT_INFO_BYTES,
    )
    return HttpGateway(client, options, stop_event=stop_event)


def deadline_for(timeout: float) -> float:
    """The longest a whole /object_info call may take: building the answer for hundreds of
    packs takes ComfyUI a few seconds even when each read is quick."""
    return max(10.0, 5 * timeout)


def parse_object_info(document: Mapping[str, Any]) -> ObjectInfo:
    """Read an ``/object_info`` document leniently.

    Args:
        document: ``{node_type: {"input": {"required": {...}, "optional": {...}}, ...}}``.

    Returns:
        Every node type, and for each node the combo inputs with their string choices, in
        both the old form ``[["a", "b"], {...}]`` and the COMBO form
        ``["COMBO", {"options": ["a", "b"]}]``, and its widget layout. Malformed node
        entries keep their type but contribute no choices and no layout.
    """
    choices: dict[str, Mapping[str, tuple[str, ...]]] = {}
    # One copy of each list: at 100,000 models every loader input (a LoRA stacker has
    # dozens) lists the same folder's files, and each copy would be kept whole.
    distinct: dict[tuple[str, ...], tuple[str, ...]] = {}
    layouts: dict[str, Layout] = {}
    lists = hashlib.sha256()
    for node_type, node_info in document.items():
        layout = widget_layout(node_info)
        # The definition as the server wrote it (its lists in its order): linear in the
        # answer, which decoding it already was.
        inputs = node_info.get("input") if isinstance(node_info, dict) else None
        lists.update(f"\0{node_type}\0".encode("utf-8", "replace") + _json_bytes(inputs))
        if layout is not None:
            layouts[str(node_type)] = layout
        if not isinstance(inputs, dict):
            continue
        node_choices: dict[str, tuple[str, ...]] = {}
        for section in _INPUT_SECTIONS:
            specs = inputs.get(section)
            if not isinstance(specs, dict):
                continue
            for input_name, spec in specs.items():
                values = combo_values(spec)
                if values is not None:
                    node_choices[str(input_name)] = distinct.setdefault(values, values)
        if node_choices:
            choices[str(node_type)] = MappingProxyType(node_choices)
    return ObjectInfo(
        node_types=frozenset(str(name) for name in document),
        input_choices=MappingProxyType(choices),
        layouts=MappingProxyType(layouts),
        lists_digest=lists.hexdigest()[:16],
    )


def _json_bytes(value: object) -> bytes:
    # orjson, not repr: a stranger's nesting a thousand deep is an error here, not a crash.
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: too deep, or not JSON
        return b"?"


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


def _is_choice(value: object) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _choice_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)
