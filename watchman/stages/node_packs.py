"""The node packs stage: which pack provides each missing node type, as advice to act on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from watchman.comfy.frontend_nodes import repository_name
from watchman.comfy.node_map import ExtensionNodeMap, PackCandidate, pack_for_missing_node
from watchman.comfy.workflow_graph import is_instance_type
from watchman.stages.inventory.nodes import NodeInventory, NodePack
from watchman.stages.needs import NeedsResult, NodeNeed

NeedIdentity = tuple[str, "str | None", "str | None"]
"""A missing node as the advice depends on it: its type and the pack ids it records."""


@dataclass(frozen=True)
class PackAdvice:
    """What to do about one missing node type.

    ``status``: ``found`` (install ``url``), ``installed_disabled`` (enable the pack named
    ``title``), ``import_failed`` (the pack ``title`` is installed and enabled, but
    ComfyUI's last start failed to import it), ``outdated_pack`` (the pack that provides
    it is installed and enabled, but its source does not register the node type: a newer
    version does), ``disabled_outdated_pack`` (that pack is installed but disabled, and
    older than the workflow too: enable it and update it), ``outdated_comfyui``, ``uncertain``
    (choose among ``candidates``), ``undefined_in_workflow`` or ``unknown``; ``reason``
    says why in a sentence.
    """

    status: str
    url: str | None
    title: str | None
    candidates: tuple[PackCandidate, ...]
    reason: str | None
    path: str | None = None  # an installed pack's folder (disabled: for the rename)
    single_file: bool = False
    """The installed pack at ``path`` is one Python file (``custom_nodes/foo.py``), not a
    folder: no git checkout to pull, the file is replaced by a newer one (``url``: where
    it comes from, when known)."""
    without_git: bool = False
    """The installed pack at ``path`` is a folder with no git checkout (installed from the
    registry or a zip, or copied): no ``git pull`` updates it."""
    registry_id: str | None = None
    """Such a folder's Comfy registry id, when it was installed from the registry: comfy-cli
    updates it (``comfy node update <id>``)."""

    @property
    def uncertain(self) -> bool:
        """Several packs, or only a name pattern, may provide the node type."""
        return self.status == "uncertain"


@dataclass(frozen=True)
class PackAdvices:
    """The stage's result: advice per missing node (type and recorded pack ids)."""

    by_need: Mapping[NeedIdentity, PackAdvice]
    node_map_used: bool

    def for_need(self, need: NodeNeed) -> PackAdvice | None:
        """The advice for ``need``, or None when it was not asked about."""
        return self.by_need.get(_identity(need))


def _identity(need: NodeNeed) -> NeedIdentity:
    return (need.node_type, need.cnr_id, need.aux_id)


def advise(need: NodeNeed, nodes: NodeInventory, node_map: ExtensionNodeMap | None) -> PackAdvice:
    """Return the advice for one missing node type: undefined in the workflow, installed
    but failed to import at ComfyUI's last start, installed but disabled, or what the
    workflow's ``cnr_id``/``aux_id`` and ComfyUI-Manager's map say (a pack they name that
    is installed, enabled or disabled, is older than the workflow)."""
    if is_instance_type(need.node_type):
        return PackAdvice(
            status="undefined_in_workflow",
            url=None,
            title=None,
            candidates=(),
            reason="the workflow uses a subgraph or group node it does not define; "
            "get a complete copy of the workflow",
        )
    installed = nodes.packs_defining(need.node_type)
    failed = [pack for pack in installed if pack.path in nodes.import_failed]
    if failed:
        return _installed(
            "import_failed",
            failed[0],
            "is installed, but ComfyUI failed to import it when it last started (its log "
            "says why; most often a Python package the pack needs is missing): fix it, "
            "then restart ComfyUI",
        )
    disabled = [pack for pack in installed if not pack.enabled]
    if disabled:
        return _installed("installed_disabled", disabled[0], "is installed but disabled: enable it")
    source = pack_for_missing_node(need.node_type, need.cnr_id, need.aux_id, node_map)
    if source.status == "found" and source.pack is not None:
        present = _installed_pack(source.pack, nodes)
        if present is not None:
            # "Install X" would send a person to a pack they have: the workflow was made
            # with a newer version of it.
            return _installed(
                "outdated_pack",
                present,
                f"is installed, but this version of it does not register {need.node_type} "
                "(the workflow was made with a newer one): update it",
                source.pack,
            )
        dormant = _installed_pack(source.pack, nodes, enabled=False)
        if dormant is not None:
            # Installing it again would leave the disabled copy beside a second one;
            # enabling it alone would still lack the node type.
            return _installed(
                "disabled_outdated_pack",
                dormant,
                f"is installed but disabled, and this version of it does not register "
                f"{need.node_type} (the workflow was made with a newer one): enable it and "
                "update it",
                source.pack,
            )
    return PackAdvice(
        status=source.status,
        url=source.pack,
        title=source.candidates[0].title if len(source.candidates) == 1 else None,
        candidates=tuple(source.candidates),
        reason=source.reason,
    )


def _installed_pack(url: str, nodes: NodeInventory, enabled: bool = True) -> NodePack | None:
    """The installed pack that is the repository or registry pack ``url``, by its git
    remote, its registry id or its folder name (a registry install's folder is the pack id;
    a disabled pack's name is its folder's without ``.disabled``): an enabled one that imported, or
    with ``enabled=False`` a disabled one. None when there is none."""
    wanted = repository_name(url)
    for pack in nodes.packs:
        if pack.enabled != enabled or pack.path in nodes.import_failed:
            continue
        remote = repository_name(pack.git_remote) if pack.git_remote else None
        # A single-file pack is also known by its file's URL (ComfyUI-Manager's map names
        # such a pack by the URL of its .py file).
        file_name = repository_name(pack.name + ".py") if pack.kind == "file" else None
        registry = repository_name(pack.registry_id) if pack.registry_id else None
        if wanted in (remote, repository_name(pack.name), file_name, registry):
            return pack
    return None


def _installed(status: str, pack: NodePack, why: str, source: str | None = None) -> PackAdvice:
    """The advice about an installed pack that does not provide its nodes: ``why`` ends
    the sentence that starts with the pack's name. ``source``: the URL the map or the
    workflow gives the pack, its ``url`` when it has no git remote (a single file, a
    folder copied or installed from the registry)."""
    single_file = pack.kind == "file"
    return PackAdvice(
        status=status,
        url=pack.git_remote or source,
        title=pack.name,
        candidates=(),
        reason=f"pack {pack.name} {why}",
        path=pack.path,
        single_file=single_file,
        without_git=not single_file and not pack.git_checkout,
        registry_id=pack.registry_id,
    )


def advise_packs(
    needs: NeedsResult,
    nodes: NodeInventory,
    load_node_map: Callable[[], ExtensionNodeMap | None],
) -> PackAdvices:
    """The node packs stage: advice for every node type an active node lacks, in every
    workflow. ``load_node_map`` is called only when a node type is missing."""
    wanted: dict[NeedIdentity, NodeNeed] = {}
    for assessment in needs.workflows:
        if assessment.needs is not None:
            for need in assessment.needs.missing_nodes:
                wanted.setdefault(_identity(need), need)
    node_map = load_node_map() if wanted else None
    return PackAdvices(
        by_need=MappingProxyType(
            {identity: advise(need, nodes, node_map) for identity, need in wanted.items()}
        ),
        node_map_used=node_map is not None,
    )
