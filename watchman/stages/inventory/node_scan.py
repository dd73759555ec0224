"""The scan of a ComfyUI install's node classes into a
:class:`~watchman.stages.inventory.nodes.NodeInventory`: ComfyUI's core and every custom
node pack, read statically.

Custom node code is never imported (that would run it): class names come from
``watchman.comfy.python_source``, git facts from ``watchman.stages.inventory.git_metadata``,
the version from ``pyproject.toml`` and, for a folder installed from the Comfy registry,
its registry id. A pack is a folder or a single ``.py`` file in
``custom_nodes/``; it is disabled when its name ends in ``.disabled`` or it sits in
``custom_nodes/.disabled/`` (where ComfyUI-Manager moves disabled packs).

Scale: each pack carries a signature of its Python files (paths, sizes, mtimes). Given the
previous inventory, a pack whose signature is unchanged keeps its class names without
re-parsing, so an unchanged tree costs a walk and a few ``stat`` calls.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchman.comfy.frontend_nodes import MAX_SCRIPT_BYTES, known_for_pack, registered_in_script
from watchman.comfy.frontend_words import ScriptWords
from watchman.comfy.loader_registration import registration_file, repository_of
from watchman.comfy.loader_source import MAX_FILE_BYTES as MAX_LOADER_FILE_BYTES
from watchman.comfy.loader_source import PackReading, ParsedFile, read_pack
from watchman.comfy.pack_files import (
    DISABLED_FOLDER,
    DISABLED_SUFFIX,
    is_pack_entry,
    is_single_file_pack,
    reads_folder,
    select_pack_files,
)
from watchman.comfy.pack_node_types import (
    DeclaringModules,
    FileDeclarations,
    conditional_node_types,
    node_classes_in_file,
    pack_node_types,
)
from watchman.comfy.sampler_lists import mentions_sampler_lists, read_sampler_lists
from watchman.errors import CycleInterrupted, FileTooLargeError
from watchman.regular_files import open_regular, read_regular
from watchman.stages.inventory.git_metadata import read_git_metadata
from watchman.stages.inventory.nodes import NodeInventory, NodePack, PackKind, SamplerListsValue
from watchman.stages.workflow_entries import reader_code

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

logger = logging.getLogger(__name__)

CUSTOM_NODES_FOLDER = "custom_nodes"
MAX_SCANNED_BYTES = 64 * 1024 * 1024
"""A source file too large to read is searched this far for the sampler lists' names."""
SCAN_CHUNK_BYTES = 1024 * 1024
SAMPLERS_FILE = "comfy/samplers.py"
"""Where ComfyUI writes its sampler and scheduler lists (read, never run)."""

# A pack's pyproject.toml is read for its version only; real ones are a few KiB.
MAX_PYPROJECT_BYTES = 1 << 20


def scan_node_inventory(
    comfyui_root: Path,
    previous: NodeInventory | None = None,
    stop_event: threading.Event | None = None,
    custom_nodes: Sequence[Path] | None = None,
) -> NodeInventory:
    """Take stock of the node classes installed in a ComfyUI tree, without importing code.

    Args:
        comfyui_root: the ComfyUI folder (holding ``nodes.py`` and ``custom_nodes/``).
        previous: an earlier inventory of the same tree; parts whose file signature is
            unchanged reuse its class names instead of being parsed again.
        stop_event: once set, the scan ends before the next pack (a stop must end a
            cycle within 2 s even among hundreds of packs).
        custom_nodes: the folders ComfyUI loads packs from, in its order (its own
            ``custom_nodes`` and those extra_model_paths add,
            ``extra_model_paths.custom_nodes_folders``); by default its own alone.

    Returns:
        The inventory, packs sorted by name then path. Unreadable files and folders are
        skipped with a warning; this never raises for a damaged tree.

    Raises:
        CycleInterrupted: ``stop_event`` was set during the scan.
    """
    core_files = list(_core_files(comfyui_root))
    samplers = comfyui_root / SAMPLERS_FILE
    core_signature = _signature(comfyui_root, [*core_files, samplers])
    if previous is not None and previous.core_signature == core_signature and core_files:
        core_nodes = previous.core_nodes
        core_loaders = previous.core_loaders
        core_sockets = previous.core_sockets
        sampler_lists = previous.sampler_lists
    else:
        too_large: list[Path] = []
        declared = FileDeclarations()  # one parse per core file for both readings
        sources = list(_sources(comfyui_root, core_files, too_large))
        core = _read_source(sources, "ComfyUI", declared.add, core=True)
        core_nodes = _classes_of(comfyui_root, core_files, declared.by_file)
        core_loaders = core.loaders
        core_sockets = core.sockets
        changed = core.changes_sampler_lists or _any_mentions(too_large)
        sampler_lists = () if changed else _sampler_lists(samplers)
    earlier = {pack.path: pack for pack in previous.packs} if previous is not None else {}
    packs: list[NodePack] = []
    folders = custom_nodes if custom_nodes is not None else [comfyui_root / CUSTOM_NODES_FOLDER]
    locations = [location for folder in folders for location in _pack_locations(folder)]
    for path, enabled in locations:
        if stop_event is not None and stop_event.is_set():
            raise CycleInterrupted(f"stop requested while reading the node pack {path.name}")
        try:
            packs.append(scan_pack(path, enabled, earlier.get(str(path))))
        except OSError as error:
            # One unreadable pack (permissions, a vanishing folder) is not the whole tree.
            logger.warning(
                "Skipping node pack %s: it cannot be read (%s).", path, error.strerror or error
            )
        except Exception:
            # Last-resort boundary: a pack is a stranger's files, read by parsers that may
            # fail in ways nobody foresaw; that costs this pack, never the inventory.
            logger.exception("Skipping node pack %s: reading it failed; please report this.", path)
    packs.sort(key=lambda pack: (pack.name.casefold(), pack.name, pack.path))
    return NodeInventory(
        core_nodes=core_nodes,
        packs=tuple(packs),
        core_signature=core_signature,
        core_loaders=core_loaders,
        sampler_lists=sampler_lists,
        core_sockets=core_sockets,
    )


def _core_files(comfyui_root: Path) -> Iterable[Path]:
    main_nodes = comfyui_root / "nodes.py"
    if main_nodes.is_file():
        yield main_nodes
    extras = comfyui_root / "comfy_extras"
    if extras.is_dir():
        yield from sorted(extras.glob("*.py"))
    api_nodes = comfyui_root / "comfy_api_nodes"
    if api_nodes.is_dir():
        yield from _pack_files(api_nodes)[0]


def _pack_locations(custom_nodes: Path) -> Iterable[tuple[Path, bool]]:
    """Yield ``(path, enabled)`` for each pack folder or file, in name order."""
    for entry, inside_disabled in [
        *((entry, False) for entry in _entries(custom_nodes)),
        *((entry, True) for entry in _entries(custom_nodes / DISABLED_FOLDER)),
    ]:
        name = entry.name
        if not is_pack_entry(name):
            continue  # hidden folders (.git, .disabled handled above), caches
        try:
            is_folder, is_file = entry.is_dir(), entry.is_file()
        except OSError as error:
            logger.warning("Skipping %s: it cannot be inspected (%s).", entry, error)
            continue
        if is_folder:
            yield entry, not (inside_disabled or name.endswith(DISABLED_SUFFIX))
        elif is_file and is_single_file_pack(name):
            yield entry, not (inside_disabled or name.endswith(DISABLED_SUFFIX))


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as error:
        logger.warning("Cannot list %s (%s); its packs are not counted.", folder, error)
        return []


def _pack_name(path: Path) -> str:
    name = path.name
    if name.endswith(DISABLED_SUFFIX):
        name = name[: -len(DISABLED_SUFFIX)]
    if path.is_file() and name.endswith(".py"):
        name = name[: -len(".py")]
    return name


def scan_pack(path: Path, enabled: bool, earlier: NodePack | None = None) -> NodePack:
    """Return the pack folder or file ``path`` as a :class:`NodePack`: ``earlier``'s
    readings when its signature is unchanged, else every file read again (statically).
    Raises OSError when the pack cannot be read."""
    kind: PackKind = "folder" if path.is_dir() else "file"
    files, scripts, all_scripts = _read_files(path, kind)
    signature = _signature(path, [*files, *scripts])
    git = read_git_metadata(path) if kind == "folder" else None
    remote = git.remote_url if git else None
    checkout = git is not None and (git.remote_url is not None or git.commit is not None)
    project = _project(path, checkout) if kind == "folder" else Project(None, None)
    if earlier is not None and earlier.signature == signature and earlier.kind == kind:
        node_classes = earlier.node_classes
        loaders = earlier.loaders
        changes_sampler_lists = earlier.changes_sampler_lists
        patched = earlier.patched_classes
        sockets = earlier.sockets
        frontend_nodes = earlier.frontend_nodes
        conditional = earlier.conditional_nodes
        words = earlier.frontend_words
    else:
        base = path if kind == "folder" else path.parent
        too_large: list[Path] = []
        sources = list(_sources(base, files, too_large))  # read once for every reading below
        # A pack naming its node types at import time (comfy_mtb, 3D-Pack, Jovimetrix):
        # the mapping its rule builds counts as one more of its files.
        registration = registration_file(repository_of(remote), sources)
        readable = [*sources, registration] if registration is not None else sources
        # Followed across the pack's modules: mappings imported from one another, keys
        # that are class attributes, mappings built from a config dict.
        declaring = DeclaringModules()  # one parse per file for both readings below
        reading = _read_source(readable, _pack_name(path), declaring.add)
        classes = set(pack_node_types(readable, declaring))
        del declaring  # its modules hold syntax trees: let them go before the rest
        node_classes = tuple(sorted(classes))
        conditional = conditional_node_types(sources)
        loaders = reading.loaders
        changes_sampler_lists = reading.changes_sampler_lists or _any_mentions(too_large)
        patched = reading.patched
        sockets = reading.sockets
        frontend = set(known_for_pack((remote, _pack_name(path))))
        # A script left unread may name any type: then none of the install's is judged.
        gathered = ScriptWords()
        if not all_scripts:
            gathered.add(None)
        for script in scripts:
            text = _script_text(script)
            frontend |= registered_in_script(text or b"")
            gathered.add(text)
        frontend_nodes = tuple(sorted(frontend - classes))
        words = gathered.result()
    return NodePack(
        name=_pack_name(path),
        path=str(path),
        kind=kind,
        enabled=enabled,
        git_remote=remote,
        git_commit=git.commit if git else None,
        version=project.version,
        registry_id=project.registry_id,
        node_classes=node_classes,
        signature=signature,
        loaders=loaders,
        frontend_nodes=frontend_nodes,
        conditional_nodes=conditional,
        changes_sampler_lists=changes_sampler_lists,
        patched_classes=patched,
        sockets=sockets,
        frontend_words=words,
    )


def pack_python_files(path: Path) -> list[Path]:
    """The Python files of pack folder or file ``path`` that its reading takes."""
    return _read_files(path, "folder" if path.is_dir() else "file")[0]


def _read_files(path: Path, kind: PackKind) -> tuple[list[Path], list[Path], bool]:
    """The Python files and scripts a pack of ``kind`` at ``path`` is read from, and
    whether those are all its scripts."""
    return _pack_files(path) if kind == "folder" else ([path], [], True)


def _pack_files(folder: Path) -> tuple[list[Path], list[Path], bool]:
    """Return the pack's Python files and scripts that are read, each in a stable order,
    from one walk (``pack_files``: the rule the cycle fingerprint stamps by too), and
    whether the scripts are all it holds (none over the bound)."""
    walked: list[tuple[str, list[str]]] = []
    # Links inside the pack are not entered (os.walk's default); the fingerprint's walk
    # leaves them out too, so both pick the same files under the bounds.
    for current, folders, files in os.walk(folder, onerror=_walk_error):
        folders[:] = sorted(name for name in folders if reads_folder(name))
        walked.append((current, sorted(files)))
    selected = select_pack_files(walked)
    for kind in selected.over_bound:
        logger.warning("%s holds more %s files than are read; the rest are not.", folder, kind)
    return (
        [Path(path) for path in selected.python],
        [Path(path) for path in selected.scripts],
        "script" not in selected.over_bound,
    )


def _script_text(path: Path) -> bytes | None:
    """A pack script's bytes, or None when it is too large or unreadable (a bundled
    library, not where a pack registers its nodes)."""
    try:
        return read_regular(path, MAX_SCRIPT_BYTES)
    except FileTooLargeError:
        return None
    except OSError as error:
        logger.debug("Skipping %s: %s.", path, error.strerror or error)
        return None


def _walk_error(error: OSError) -> None:
    logger.warning("Cannot list %s (%s); skipping it.", error.filename, error.strerror)


def _signature(base: Path, files: Iterable[Path]) -> str:
    # Path, size and mtime of every file: cheap to compute, and any edit, addition or
    # removal of a Python file changes it. The readers' code too: a reader that learned
    # something new (the inputs a node's validation checks) reads every pack again.
    digest = hashlib.sha256(reader_code().encode())
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        relative = path.relative_to(base).as_posix() if path != base else path.name
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _read_source(
    sources: list[tuple[str, bytes]],
    pack: str,
    parsed: ParsedFile | None = None,
    core: bool = False,
) -> PackReading:
    """Return what the pack's ``(relative path, source)`` files say (a mapping a
    registration rule builds among them): its loaders, whether it may change the
    sampler lists, and its socket rules. Unreadable files were skipped, and any problem
    is said once per file at INFO (a pack's odd file is not an error). ``core``: the
    files are ComfyUI's own."""
    reading = read_pack(sources, parsed, core)
    for problem in reading.problems:
        logger.info("Loader inputs of %s: %s", pack, problem)
    return reading


def _any_mentions(paths: Iterable[Path]) -> bool:
    """Whether any of these files, too large to read as node source, names the sampler
    lists (then it may change them): read in chunks up to :data:`MAX_SCANNED_BYTES`; a
    larger or unreadable one counts as naming them."""
    for path in paths:
        try:
            with open_regular(path) as file:
                carried = b""
                for _ in range(MAX_SCANNED_BYTES // SCAN_CHUNK_BYTES):
                    chunk = file.read(SCAN_CHUNK_BYTES)
                    if not chunk:
                        break
                    if mentions_sampler_lists(carried + chunk):
                        return True
                    carried = chunk[-16:]  # a name cut between two chunks
                else:
                    return True
        except OSError:
            return True
    return False


def _sampler_lists(path: Path) -> SamplerListsValue:
    """The sampler and scheduler lists ``comfy/samplers.py`` writes (sorted pairs), or
    none when it is missing, unreadable or builds them otherwise."""
    try:
        data = read_regular(path, MAX_LOADER_FILE_BYTES)
    except FileNotFoundError:
        return ()
    except (FileTooLargeError, OSError) as error:
        logger.info("The sampler lists of %s are not read (%s).", path, error)
        return ()
    found = read_sampler_lists(data)
    return tuple(sorted((key, tuple(sorted(choices))) for key, choices in found.items()))


def _sources(
    base: Path, files: Iterable[Path], too_large: list[Path] | None = None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(relative path, bytes)`` of each readable file; one over the bound is left
    out (and added to ``too_large`` when given)."""
    for path in files:
        relative = _relative(base, path)
        try:
            data = read_regular(path, MAX_LOADER_FILE_BYTES)
        except FileTooLargeError:
            logger.info("%s is too large to read as node source; skipped.", path)
            if too_large is not None:
                too_large.append(path)
            continue
        except OSError as error:
            logger.warning("Skipping %s: %s.", path, error.strerror or error)
            continue
        yield relative, data


def _relative(base: Path, path: Path) -> str:
    """``path`` as the readings name it: relative to ``base``, else its bare name."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.name


def _classes_of(
    base: Path, files: Iterable[Path], declared: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    """The node types ``files`` declare, each read alone: as ``declared`` by relative
    path where a reading already parsed the file, else read and parsed here."""
    classes: set[str] = set()
    for path in files:
        found = declared.get(_relative(base, path))
        classes |= found if found is not None else node_classes_in_file(path)
    return frozenset(classes)


@dataclass(frozen=True)
class Project:
    """What a pack folder's ``pyproject.toml`` tells: its version, and its Comfy registry
    id when the folder was installed from the registry."""

    version: str | None
    registry_id: str | None


def _project(folder: Path, checkout: bool) -> Project:
    """Read ``folder``'s ``pyproject.toml`` (never raises): its ``[project]`` version, and
    its name as the registry id when the folder is a registry install as ComfyUI-Manager
    tells one (``read_cnr_info``): no git checkout (``checkout``: one was read), a
    ``.tracking`` file (the files the install put there), a name and a version."""
    project = _project_table(folder / "pyproject.toml")
    version, name = project.get("version"), project.get("name")
    version = version if isinstance(version, str) and version.strip() else None
    named = isinstance(name, str) and bool(name.strip())
    registry = not checkout and version is not None and named and _is_file(folder / ".tracking")
    return Project(version, str(name).strip().lower() if registry else None)


def _is_file(path: Path) -> bool:
    # Path.is_file raises on some errors (a name too long); an unreadable path is absent.
    try:
        return path.is_file()
    except OSError:
        return False


def _project_table(path: Path) -> dict[str, object]:
    """The ``[project]`` table of the ``pyproject.toml`` at ``path``; empty when there is
    none or it cannot be read (said at DEBUG: it costs only the version)."""
    try:
        document = tomllib.loads(read_regular(path, MAX_PYPROJECT_BYTES).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as error:
        # tomllib parses nested arrays and tables recursively: a pack's pyproject.toml of a
        # few KiB of brackets raises RecursionError, which costs only the version.
        logger.debug(
            "Cannot read a version from %s (%s).", path, getattr(error, "strerror", None) or error
        )
        return {}
    project = document.get("project")
    return project if isinstance(project, dict) else {}
