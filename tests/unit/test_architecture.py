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


def is_kind_options(module: str) -> bool:
    parts = module.split(".")
    return len(parts) == 4 and parts[:2] == ["lakehouse", "kinds"] and parts[3] == "options"


def layer_of(module: str) -> str | None:
    # The one exception to "the folder is the layer": a kind's options (lakehouse.kinds.<kind>.options)
    # are what a spec declares about a table of that kind, so they count as the spec layer and spec may
    # import them. They live in the kind's folder so that a kind is one folder; in exchange they import
    # only core (test_kind_options_import_only_core), never the kind's SQL or strategy.
    if is_kind_options(module):
        return "spec"
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


def test_kind_options_import_only_core() -> None:
    """Kind options may import core and other kinds' options (a fact's lookup starts inferred members at
    the dimension's low date). Importing one runs kinds/__init__.py and kinds/<kind>/__init__.py too, so
    those import nothing: the spec would otherwise load a kind's "how" through them."""
    edges = graph()
    wrong = [f"{module} -> {target}" for module, imports in edges.items() if is_kind_options(module)
             for target in imports if not (target.startswith("lakehouse.core") or is_kind_options(target))]
    assert wrong == [], "kind options importing more than core:\n" + "\n".join(sorted(wrong))
    packages = ["lakehouse.kinds", *(m.rsplit(".", 1)[0] for m in edges if is_kind_options(m))]
    loaded = [f"{package} imports {sorted(edges[package])}" for package in packages if edges[package]]
    assert loaded == [], "packages on the way to kind options that import modules:\n" + "\n".join(loaded)
    assert any(is_kind_options(module) for module in edges), "no kind options found: is the exception still needed?"


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
