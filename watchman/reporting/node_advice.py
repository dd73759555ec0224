"""The advice about missing node types: one action per pack to install (a ``comfy node
install <id>`` for a pack of the Comfy registry, a download of the file for a single-file
pack, else the ``git clone`` ComfyUI-Manager's "Install via Git URL" does), to enable
(the rename of a disabled pack), to update (an installed pack older than the workflow) or
both (a disabled pack older than the workflow), one per node type to decide about.
"""

from __future__ import annotations

from pathlib import PurePath, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from watchman.comfy.pack_files import is_single_file_pack
from watchman.reporting.action import (
    Action,
    display_names,
    relative_to_root,
    shell_quote,
    workflow_names,
)
from watchman.reporting.report import NodeRow, Report
from watchman.stages.node_packs import PackAdvice

CORE_PACK_IDS = frozenset({"comfy-core", "comfyui", "comfy_core"})


def node_actions(report: Report) -> list[Action]:
    """One action per pack to install or enable (grouping its node types), one per node
    type to decide about."""
    install: dict[str, tuple[str, str | None, list[str], list[str]]] = {}
    enable: dict[str, tuple[PackAdvice, list[str], list[str]]] = {}
    update: dict[str, tuple[PackAdvice, list[str], list[str]]] = {}
    enable_update: dict[str, tuple[PackAdvice, list[str], list[str]]] = {}
    installed = {
        "installed_disabled": enable,
        "outdated_pack": update,
        "disabled_outdated_pack": enable_update,
    }
    actions: list[Action] = []
    root = PurePath(report.comfyui_root)
    by_path = display_names(report)
    for row, users in report.unique_nodes().values():
        pack = row.pack
        status = pack.status if pack is not None else "unknown"
        node = row.need.node_type
        names = workflow_names(by_path, users)
        if pack is not None and status == "found" and (pack.url or _registry_id(row)):
            key = _registry_id(row) or str(pack.url)
            title, url, types, workflows = install.setdefault(
                key, (pack.title or key, pack.url, [], [])
            )
            types.append(node)
            workflows.extend(name for name in names if name not in workflows)
        elif pack is not None and status in installed:
            group = installed[status]
            key = pack.path or pack.title or "?"
            _, types, workflows = group.setdefault(key, (pack, [], []))
            types.append(node)
            workflows.extend(name for name in names if name not in workflows)
        elif pack is not None and status == "import_failed":
            actions.append(
                Action(
                    "fix_pack_import",
                    f"Fix the installed pack {pack.title or '?'}: ComfyUI failed to import "
                    f"it when it last started, so {node} does not exist. Its start-up log "
                    "(user/comfyui.log) says why, most often a Python package the pack "
                    "needs (its requirements.txt, installed with ComfyUI's Python); then "
                    "restart ComfyUI.",
                    names,
                )
            )
        elif status == "outdated_comfyui":
            actions.append(
                Action(
                    "update_comfyui",
                    f"Update ComfyUI: {node} is newer than this install.",
                    names,
                    command="git pull",
                )
            )
        elif pack is not None and status == "uncertain":
            candidates = tuple(str(c.url or c.title) for c in pack.candidates)
            actions.append(
                Action(
                    "choose_pack",
                    f"Choose the pack that provides {node}.",
                    names,
                    uncertain=pack.reason
                    or f"{len(candidates)} packs may provide {node}; none is certain",
                    candidates=candidates,
                )
            )
        else:
            # Nothing to choose between, as for a model no source knows: a search by
            # hand, not a decision (the reason is in the title).
            reason = (pack.reason if pack is not None else None) or "no known pack provides it"
            actions.append(
                Action("find_node", f"Find the pack that provides {node}: {reason}.", names)
            )
    for advice, types, workflows in (enable[key] for key in sorted(enable)):
        title, path = advice.title or "?", advice.path
        actions.append(_enable(title, path, ", ".join(sorted(types)), tuple(workflows), root))
    for advice, types, workflows in (enable_update[key] for key in sorted(enable_update)):
        actions.append(_enable_and_update(advice, ", ".join(sorted(types)), tuple(workflows), root))
    for advice, types, workflows in (update[key] for key in sorted(update)):
        sentence = (
            f"Update the installed pack {advice.title or '?'}: this version does not provide "
            f"{', '.join(sorted(types))}; the workflow was made with a newer one."
        )
        where = relative_to_root(PurePath(advice.path), root) if advice.path else None
        how, command = _update_step(advice, where)
        actions.append(Action("update_pack", sentence + how, tuple(workflows), command=command))
    for key, (title, url, types, workflows) in sorted(install.items()):
        registry = key if key != str(url) else None
        sentence = f"Install the node pack {title} ({', '.join(sorted(types))})."
        file_name = single_file_name(str(url)) if registry is None else None
        if registry is not None:
            command = f"comfy node install {shell_quote(registry)}"
        elif file_name is not None:
            # A .py file is no repository to clone: it is downloaded into custom_nodes.
            sentence += (
                " It is a single Python file, not a git repository: download it from "
                f"{url} into custom_nodes as {file_name}."
            )
            command = _download_file(str(url), file_name)
        else:
            folder = PurePosixPath(str(url).rstrip("/")).name.removesuffix(".git")
            command = f"git clone {shell_quote(str(url))} {shell_quote('custom_nodes/' + folder)}"
        actions.append(Action("install_pack", sentence, tuple(workflows), command=command))
    return actions


def single_file_name(url: str) -> str | None:
    """The file a single-file pack's URL is saved as in ``custom_nodes``: the last part of
    the URL's path as written (ComfyUI-Manager saves it so, and the node packs stage
    recognises the installed file by that name), when it names a ``.py`` file the node
    scan would read as a pack; None for any other URL (a repository)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    path = parts.path.rstrip("/")
    if parts.hostname in REPOSITORY_HOSTS and path.count("/") <= 2:
        return None  # github.com/owner/name.py is a repository whose name ends in .py
    name = path.rsplit("/", 1)[-1]
    if not name.endswith(".py") or "\\" in name or not is_single_file_pack(name):
        return None
    return name


def _download_file(url: str, file_name: str) -> str | None:
    """The command that downloads a single-file pack from ``url`` into
    ``custom_nodes/<file_name>``, failing on an HTTP error instead of saving the error
    page; None unless ``url`` is https (a plain http download is not one to copy)."""
    if not url.lower().startswith("https://"):
        return None
    target = shell_quote(f"custom_nodes/{file_name}")
    return f"curl -fL -o {target} {shell_quote(raw_file_url(url))}"


def raw_file_url(url: str) -> str:
    """``url`` as the file's bytes: a GitHub ``/<owner>/<name>/blob/<ref>/<path>`` page is
    HTML, which curl would save as the pack; its ``/raw/`` twin is the file. Any other
    URL is returned as it is."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if parts.hostname == "github.com" and len(segments) > 4 and segments[3] == "blob":
        segments[3] = "raw"
        return urlunsplit(parts._replace(path="/".join(segments)))
    return url


REGISTRY_PAGE = "https://registry.comfy.org/nodes/"
REPOSITORY_HOSTS = frozenset({"github.com", "gitlab.com", "codeberg.org", "bitbucket.org"})
"""Hosts whose ``/<owner>/<name>`` URLs are repositories, whatever the name ends in."""


def _registry_id(row: NodeRow) -> str | None:
    """The pack's Comfy registry id: the workflow's ``cnr_id``, or the id in a registry
    page URL; None for a pack known only by its git URL."""
    cnr_id = row.need.cnr_id
    if cnr_id and cnr_id.lower() not in CORE_PACK_IDS:
        return cnr_id
    url = row.pack.url if row.pack is not None else None
    if url and url.startswith(REGISTRY_PAGE):
        return url[len(REGISTRY_PAGE) :].strip("/").split("/")[0] or None
    return None


def _enabled_folder(where: PurePath) -> PurePath | None:
    """Where the disabled pack at ``where`` goes to be enabled (its name without
    ``.disabled``, or out of the ``.disabled`` folder), or None when neither applies."""
    if where.name.endswith(".disabled"):
        return where.with_name(where.name[: -len(".disabled")])
    if where.parent.name == ".disabled":
        return where.parent.parent / where.name
    return None


def _move(path: str | None, root: PurePath) -> tuple[str, str] | None:
    """The ``mv`` that enables the disabled pack at ``path`` and the folder it makes, both
    relative to ``root``; None when there is no such rename."""
    if not path:
        return None
    where = PurePath(path)
    enabled = _enabled_folder(where)
    if enabled is None:
        return None
    source, target = relative_to_root(where, root), relative_to_root(enabled, root)
    return f"mv {shell_quote(source)} {shell_quote(target)}", target


def _pull(folder: str) -> str:
    """The command that updates the git checkout of a pack in ``folder``."""
    return f"git -C {shell_quote(folder)} pull"


def _enable(
    name: str, path: str | None, node: str, names: tuple[str, ...], root: PurePath
) -> Action:
    move = _move(path, root)
    command = move[0] if move is not None else None
    return Action(
        "enable_pack",
        f"Enable the installed pack {name} (it provides {node}).",
        names,
        command=command,
    )


def _enable_and_update(
    advice: PackAdvice, node: str, names: tuple[str, ...], root: PurePath
) -> Action:
    """Enable a disabled pack older than the workflow, then update it where it now is
    (:func:`_update_step`; a command only when both steps have one)."""
    sentence = (
        f"Enable the installed pack {advice.title or '?'} and update it: it is disabled, and "
        f"this version does not provide {node}; the workflow was made with a newer one."
    )
    move = _move(advice.path, root)
    where = relative_to_root(PurePath(advice.path), root) if advice.path else None
    how, update = _update_step(advice, where, move[1] if move is not None else None)
    command = f"{move[0]} && {update}" if move is not None and update is not None else None
    return Action("enable_update_pack", sentence + how, names, command=command)


def _update_step(
    advice: PackAdvice, where: str | None, enabled_at: str | None = None
) -> tuple[str, str | None]:
    """How the installed pack at ``where`` (relative to ComfyUI's folder; ``enabled_at``:
    where enabling it puts it) is updated, as what the action's title adds and the command
    (None: none to copy): a git checkout is pulled, a registry install updated by
    comfy-cli; a single file or a folder without git is replaced by a newer copy from its
    URL (or from where it came from), with no command."""
    at = enabled_at or where
    if advice.single_file:
        # No git checkout to pull: the file itself is replaced.
        return _replace(" It is a single file, not a git checkout", where, advice.url, at), None
    if advice.registry_id is not None:
        return (
            " It was installed from the Comfy registry, not with git: comfy-cli updates it.",
            f"comfy node update {shell_quote(advice.registry_id)}",
        )
    if advice.without_git:
        # git -C <folder> pull fails in a folder that is no checkout.
        lead = " It is a folder without git (a copy, or installed from a zip)"
        return _replace(lead, where, advice.url, at), None
    return "", _pull(at) if at is not None else None


def _replace(lead: str, where: str | None, url: str | None, saved_as: str | None) -> str:
    """The sentence, after ``lead``, that says to replace the pack at ``where`` (relative
    to ComfyUI's folder) with a newer version from ``url`` (or from where it came from,
    when unknown), saved as ``saved_as`` when that name differs (a disabled pack
    enabled)."""
    source = url if url else "where it came from"
    file = where if where is not None else "it"
    saved = f", saved as {saved_as}" if saved_as is not None and saved_as != where else ""
    return f"{lead}: replace {file} with a newer version of it from {source}{saved}."
