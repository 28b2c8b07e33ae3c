"""The layers of src/lakehouse: imports point only down, and no module imports itself round a cycle.

Read from the source with `ast`, so lazy imports inside functions count too; imports under
`if TYPE_CHECKING:` do not (they never run). docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "lakehouse"

# Lower first. A module may import its own package and any package of a lower layer, nothing else.
LAYERS: list[set[str]] = [
    {"core"},
    {"spec", "jvm"},
    {"catalog", "landing"},
    {"engines"},
    {"sources"},
    {"kinds"},
    {"runtime"},
    {"ops"},
    {"bench"},
    {"cli"},
]
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}
# The package's entry points sit above every layer.
TOP_MODULES = {"lakehouse", "lakehouse.__main__"}
MAX_MODULE_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The lakehouse modules `path` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(), str(path))
    this = module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("lakehouse"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = this.split(".") if is_package else this.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("lakehouse"):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if candidate in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(this)
    return found


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, known) for p in paths}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and module not in TOP_MODULES else None


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if module_name(p) not in TOP_MODULES)
    assert packages <= set(RANK), f"packages without a layer: {sorted(packages - set(RANK))}"
    assert loose == [], f"modules outside every layer (move them into a package): {loose}"


def test_imports_point_only_down() -> None:
    upward = []
    for module, imports in graph().items():
        source = layer_of(module)
        if source is None:
            continue
        for target in imports:
            target_layer = layer_of(target)
            if target_layer is None or target_layer == source:
                continue
            if RANK[target_layer] >= RANK[source]:
                upward.append(f"{module} -> {target} ({source} may not import {target_layer})")
    assert upward == [], "imports that do not point down:\n" + "\n".join(sorted(upward))


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(SRC)} has {lines} lines; split it by responsibility"


MAX_FUNCTION_LINES = 60
# Functions that may be longer, and why.
LONG_FUNCTIONS = {
    # One SQL statement (the history rebuild); split, its CTEs would have to be read across functions.
    "kinds/scd2/history_sql.py:rebuild_sql",
}


def test_functions_stay_short() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                where = f"{path.relative_to(PACKAGE)}:{node.name}"
                if lines > MAX_FUNCTION_LINES and where not in LONG_FUNCTIONS:
                    long.append(f"{where} ({lines} lines)")
    assert long == [], "functions over 60 lines (split them, or add them to LONG_FUNCTIONS with why):\n" + "\n".join(long)
