"""The layout holds: no import cycle, no room reaching back up, and docs/architecture.md
names only modules that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "watchman"

# A room may import from the rooms after it in this list, never from those before it.
# (Late imports inside functions are allowed: the CLI and the scheduler import the cycle
# only when they run one.)
LAYERS: tuple[tuple[str, ...], ...] = (
    ("watchman.commands", "watchman.__main__"),
    ("watchman.cycle", "watchman.cycle_guards", "watchman.cycle_record", "watchman.cycle_stages"),
    ("watchman.reporting",),
    ("watchman.stages",),
    ("watchman.services",),
    ("watchman.resolve",),
    ("watchman.remote",),
    ("watchman.comfy",),
    ("watchman.state",),
    (
        "watchman.config",
        "watchman.config_loading",
        "watchman.config_sources",
        "watchman.config_docs",
        "watchman.environment",
        "watchman.home",
        "watchman.clocks",
        "watchman.errors",
        "watchman.exit_status",
        "watchman.printable",
        "watchman.redaction",
        "watchman",
    ),
)

# Known upward imports, each to be moved (listed so that no new one slips in): none now.
KNOWN_UPWARD: frozenset[str] = frozenset()


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """The watchman modules ``path`` imports at module level (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for inner in (
            ast.walk(node)
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            else ()
        ):
            if isinstance(inner, ast.Import):
                found.update(alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                found.add(inner.module)
                found.update(f"{inner.module}.{alias.name}" for alias in inner.names)
    return {name for name in found if name == "watchman" or name.startswith("watchman.")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        name: {target for target in top_level_imports(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def layer_of(module: str) -> int:
    best = (-1, len(LAYERS))
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), index)
    return best[1]


def test_no_module_imports_itself_back_through_others() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_room_reaches_back_up() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if layer_of(target) < layer_of(module)
    ]
    assert sorted(set(upward) - KNOWN_UPWARD) == []


def test_every_module_the_architecture_page_names_exists() -> None:
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(watchman/[\w/]+\.py)`", page))
    named |= {f"watchman/{folder}" for folder in re.findall(r"`watchman/([\w/]+)/`", page)}
    assert len(named) > 20  # the page is written in paths, so this test has something to check
    missing = sorted(name for name in named if not (REPO / name).exists())
    assert missing == []


def test_every_module_is_on_the_architecture_page() -> None:
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = {
        path.relative_to(REPO).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    }
    assert sorted(m for m in modules if f"`{m}`" not in page) == []
