"""Which custom node pack provides a missing node type.

Evidence, strongest first: the workflow's own ``properties.cnr_id`` (the pack's id in the
Comfy registry) or ``aux_id`` (``owner/repo`` on GitHub); then an exact class match in
ComfyUI-Manager's ``extension-node-map.json``; then the packs known to register the
node type in their frontend alone (``frontend_nodes``: the map lists Python node types
only); then that map's ``nodename_pattern`` regexes. A class several packs define, or
one only a pattern matches, is UNCERTAIN with every candidate: guessing would send a user
to install the wrong pack.

The map (``{repo_url: [[class names...], {"title_aux": ..., "nodename_pattern": ...,
"preemptions": [...]}]}``) is found by ``watchman.remote.node_map`` (an installed
ComfyUI-Manager, the copy in the state folder, or a fetch); this module only reads it and
answers from it: no network, no state written.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from watchman.comfy.frontend_nodes import pack_registering

logger = logging.getLogger(__name__)

MAP_FILE_NAME = "extension-node-map.json"
REGISTRY_NODE_URL = "https://registry.comfy.org/nodes/{cnr_id}"
GITHUB_URL = "https://github.com/{aux_id}"
COMFY_CORE_ID = "comfy-core"
# The map lists ComfyUI itself under these URLs: a class found there is a core node.
CORE_REPOSITORIES = frozenset(
    {"https://github.com/comfyanonymous/ComfyUI", "https://github.com/Comfy-Org/ComfyUI"}
)

# Patterns come from a downloaded file: bound what one may cost. Python's re has no time
# limit, so long patterns are refused and only short subjects (node type names) are tried.
MAX_PATTERN_LENGTH = 500
MAX_PATTERN_SUBJECT = 256

_CNR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_AUX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")

LookupStatus = Literal["found", "uncertain", "unknown"]
SourceStatus = Literal["found", "uncertain", "unknown", "outdated_comfyui"]


@dataclass(frozen=True)
class PackCandidate:
    """A pack that may provide a node type: its repository (or registry) URL and title."""

    url: str
    title: str


@dataclass(frozen=True)
class PackLookup:
    """The map's answer for one node type."""

    status: LookupStatus
    candidates: tuple[PackCandidate, ...]
    reason: str = ""


@dataclass(frozen=True)
class MissingNodeSource:
    """Where to get a missing node type: ``pack`` is set only when one pack is certain."""

    status: SourceStatus
    pack: str | None
    candidates: tuple[PackCandidate, ...]
    reason: str


@dataclass(frozen=True)
class ExtensionNodeMap:
    """ComfyUI-Manager's class -> pack map, indexed for lookups."""

    by_class: Mapping[str, tuple[PackCandidate, ...]]
    patterns: tuple[tuple[re.Pattern[str], PackCandidate], ...]
    preferred: Mapping[str, str]
    source: str = ""

    @classmethod
    def from_document(cls, document: Any, source: str = "") -> ExtensionNodeMap:
        """Index an ``extension-node-map.json`` document; malformed entries are skipped.

        Args:
            document: the parsed JSON.
            source: where it came from (a path or URL), for the report.

        Returns:
            The map; empty when the document is not an object.
        """
        by_class: dict[str, list[PackCandidate]] = {}
        patterns: list[tuple[re.Pattern[str], PackCandidate]] = []
        preferred: dict[str, str] = {}
        if not isinstance(document, dict):
            logger.warning("%s is not an extension-node-map object; ignoring it.", source)
            document = {}
        for url, entry in document.items():
            if not isinstance(entry, list) or not entry or not isinstance(entry[0], list):
                logger.debug("%s: entry %r is malformed; skipped.", source, url)
                continue
            meta = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
            candidate = PackCandidate(url=str(url), title=_title(meta, str(url)))
            for name in entry[0]:
                if isinstance(name, str):
                    by_class.setdefault(name, []).append(candidate)
            pattern = _compile_pattern(meta.get("nodename_pattern"), str(url))
            if pattern is not None:
                patterns.append((pattern, candidate))
            for name in meta.get("preemptions") or ():
                if isinstance(name, str):
                    preferred.setdefault(name, str(url))
        return cls(
            by_class=MappingProxyType({name: _unique(found) for name, found in by_class.items()}),
            patterns=tuple(patterns),
            preferred=MappingProxyType(preferred),
            source=source,
        )

    def lookup(self, node_type: str) -> PackLookup:
        """Find the packs that provide ``node_type``.

        Returns:
            ``found`` with one candidate when exactly one pack lists the class;
            ``uncertain`` with every candidate when several packs list it (the one
            ComfyUI-Manager prefers first) or only a ``nodename_pattern`` matches;
            ``unknown`` otherwise.
        """
        exact = self.by_class.get(node_type, ())
        if len(exact) == 1:
            return PackLookup("found", exact, f"only {exact[0].title} defines {node_type}")
        if exact:
            preferred_url = self.preferred.get(node_type)
            ordered = sorted(exact, key=lambda c: (c.url != preferred_url, c.url.casefold()))
            reason = f"{len(exact)} packs define {node_type}"
            if preferred_url is not None and any(c.url == preferred_url for c in exact):
                reason += f"; ComfyUI-Manager prefers {preferred_url}"
            return PackLookup("uncertain", tuple(ordered), reason)
        frontend = pack_registering(node_type)
        if frontend is not None:
            # The map lists Python node types only; this one lives in the pack's frontend.
            candidate = PackCandidate(frontend, frontend.rsplit("/", 1)[-1])
            return PackLookup(
                "found", (candidate,), f"only {candidate.title} registers {node_type}"
            )
        matched = self._pattern_matches(node_type)
        if matched:
            return PackLookup(
                "uncertain", matched, f"only a name pattern matches {node_type}, no class list"
            )
        return PackLookup("unknown", (), f"no pack in the map defines {node_type}")

    def _pattern_matches(self, node_type: str) -> tuple[PackCandidate, ...]:
        if len(node_type) > MAX_PATTERN_SUBJECT:
            return ()
        return _unique(
            candidate for pattern, candidate in self.patterns if pattern.search(node_type)
        )


def _title(meta: Mapping[str, Any], url: str) -> str:
    for key in ("title_aux", "title", "nickname"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return url.rstrip("/").rsplit("/", 1)[-1]


def _compile_pattern(pattern: object, url: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        logger.debug("nodename_pattern of %s is empty, not text or too long; skipped.", url)
        return None
    if not _tame(pattern):
        logger.debug(
            "nodename_pattern %r of %s could backtrack for minutes; skipped.", pattern, url
        )
        return None
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as error:
        logger.debug(
            "nodename_pattern %r of %s does not compile (%s); skipped.", pattern, url, error
        )
        return None


_ESCAPED = re.compile(r"\\.", re.DOTALL)
_CHARACTER_CLASS = re.compile(r"\[\^?\]?[^\]]*\]")
_QUANTIFIED_GROUP = re.compile(r"\)[*+{]")  # "?" after a group is once or not at all
_UNBOUNDED = re.compile(r"[*+]|\{\d*,\}")
# A quantifier: not the "?" of "(?:" nor the "?" making one lazy.
_QUANTIFIER = re.compile(r"(?<![(*+?}])[*+?]|\{\d*,?\d*\}")
MAX_UNBOUNDED_REPEATS = 2
MAX_QUANTIFIERS = 4


def _tame(pattern: str) -> bool:
    r"""Whether a map's ``nodename_pattern`` surely matches in time polynomial of low
    degree. Python's regular expressions backtrack: a repeated group (``(a+)+``,
    ``(a|a)*``, ``(a+){20}``) takes time exponential in the node type's length, and each
    unbounded repeat (``.*``) or optional atom multiplies it by that length. Real patterns
    (``^DF_``, `` \(lab\)$``, ``MiniMax.*BMO|BMO.*MiniMax``) repeat no group, repeat at
    most twice and hold at most four quantifiers; a pattern that does otherwise is
    skipped, whatever its source, since every node type of a stranger's workflow is
    matched against it."""
    shape = _CHARACTER_CLASS.sub("a", _ESCAPED.sub("a", pattern))
    if _QUANTIFIED_GROUP.search(shape) or len(_QUANTIFIER.findall(shape)) > MAX_QUANTIFIERS:
        return False  # optional atoms multiply the ways too: "a?" 30 times, then "a" 30
    return len(_UNBOUNDED.findall(shape)) <= MAX_UNBOUNDED_REPEATS


def _unique(candidates: Iterable[PackCandidate]) -> tuple[PackCandidate, ...]:
    seen: dict[str, PackCandidate] = {}
    for candidate in candidates:
        seen.setdefault(candidate.url, candidate)
    return tuple(seen.values())


def pack_for_missing_node(
    node_type: str,
    cnr_id: str | None,
    aux_id: str | None,
    node_map: ExtensionNodeMap | None,
) -> MissingNodeSource:
    """Say which pack provides a node type the install lacks.

    Args:
        node_type: the missing class name.
        cnr_id: the node's ``properties.cnr_id`` in the workflow, if any.
        aux_id: the node's ``properties.aux_id`` (``owner/repo``), if any.
        node_map: ComfyUI-Manager's map, or None when none could be loaded.

    Returns:
        ``outdated_comfyui`` when the node is a core node of a newer ComfyUI (``cnr_id``
        ``comfy-core``, or the map lists it under ComfyUI itself); ``found`` with ``pack``
        when the workflow names the pack or one pack in the map defines it; else the map's
        ``uncertain`` / ``unknown`` answer with its candidates.
    """
    lookup = node_map.lookup(node_type) if node_map is not None else None
    exact = lookup.candidates if lookup is not None and lookup.status != "unknown" else ()
    cnr = (cnr_id or "").strip()
    if cnr == COMFY_CORE_ID:
        return MissingNodeSource(
            "outdated_comfyui",
            None,
            (),
            f"{node_type} is a core node of a newer ComfyUI than the one installed "
            "(the workflow marks it comfy-core); update ComfyUI.",
        )
    if cnr and _CNR_ID.match(cnr):
        url = REGISTRY_NODE_URL.format(cnr_id=cnr)
        return MissingNodeSource(
            "found",
            url,
            _unique((PackCandidate(url, cnr), *exact)),
            f"the workflow names registry pack {cnr} for {node_type}",
        )
    if cnr:
        logger.debug("Ignoring cnr_id %r of %s: not a registry id.", cnr, node_type)
    aux = _aux_url(aux_id)
    if aux is not None:
        return MissingNodeSource(
            "found",
            aux,
            _unique((PackCandidate(aux, aux.rsplit("/", 1)[-1]), *exact)),
            f"the workflow names repository {aux} for {node_type}",
        )
    if lookup is None:
        lookup = ExtensionNodeMap.from_document({}).lookup(node_type)  # known frontend nodes
        if lookup.status == "unknown":
            return MissingNodeSource(
                "unknown", None, (), f"no extension-node-map is available to look {node_type} up"
            )
        exact = lookup.candidates
    if any(candidate.url in CORE_REPOSITORIES for candidate in exact):
        return MissingNodeSource(
            "outdated_comfyui",
            None,
            exact,
            f"ComfyUI-Manager's map lists {node_type} as a ComfyUI core node; the installed "
            "ComfyUI is older than the workflow: update ComfyUI.",
        )
    if lookup.status == "found":
        return MissingNodeSource("found", lookup.candidates[0].url, exact, lookup.reason)
    return MissingNodeSource(lookup.status, None, lookup.candidates, lookup.reason)


def _aux_url(aux_id: str | None) -> str | None:
    aux = (aux_id or "").strip().strip("/")
    if aux.startswith("https://"):
        return aux
    if aux.endswith(".git"):
        aux = aux[: -len(".git")]
    if _AUX_ID.match(aux):
        return GITHUB_URL.format(aux_id=aux)
    if aux:
        logger.debug("Ignoring aux_id %r: not owner/repo.", aux)
    return None


def installed_map_paths(comfyui_root: Path, base: Path | None = None) -> list[Path]:
    """Return the ``extension-node-map.json`` files of installed ComfyUI-Managers, best
    first; ``base``: the base directory ComfyUI is started with, where its
    ``custom_nodes`` is (None: the root). The map is a catalogue, not an installed pack:
    one in the root's ``custom_nodes`` (the desktop app ships ComfyUI-Manager there)
    counts after the base's."""
    found: list[Path] = []
    entries: list[Path] = []
    for folder in dict.fromkeys(path for path in (base, comfyui_root) if path is not None):
        with contextlib.suppress(OSError):  # no custom_nodes there: no Manager
            entries += sorted((folder / "custom_nodes").iterdir())
    for entry in entries:
        name = entry.name.lower()
        if name.startswith("comfyui-manager") and not name.endswith(".disabled"):
            candidate = entry / MAP_FILE_NAME
            if candidate.is_file():
                found.append(candidate)
    # ComfyUI-Manager installed as the `comfyui_manager` pip package in ComfyUI's venv, or
    # the Windows portable build's python_embeded beside the ComfyUI folder.
    environments = [comfyui_root / "venv", comfyui_root / ".venv"]
    environments.append(comfyui_root.parent / "python_embeded")
    if base is not None and base != comfyui_root:
        environments += [base / "venv", base / ".venv"]
    for environment in environments:
        package_paths = [environment / "Lib" / "site-packages" / "comfyui_manager"]
        package_paths += sorted(
            (environment / "lib").glob("python3*/site-packages/comfyui_manager")
        )
        for package in package_paths:
            candidate = package / MAP_FILE_NAME
            if candidate.is_file():
                found.append(candidate)
    return found
