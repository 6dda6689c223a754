"""The package's shape, as docs/architecture.md describes it.

A walk over every module's imports (at the top of a module and inside its
functions alike, read with `ast`, nothing imported) fails on:
- an import circle between legoc's modules;
- an import that points the wrong way between layers (the IR and core
  below the stages, the stages below the tools, the tools below the
  command line; see LAYERS);
- an import of another module's private (`_underscore`) name;
- a module over 600 lines, generated tables and templates aside;
and docs/architecture.md must name every package and module in the tree,
and only those, and pyproject.toml must ship every package.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "legoc"
GENERATED = ("legoc.syntax._parse_tables", "legoc.codegen._templates")
MAX_LINES = 600

# Each module's layer, by its longest matching prefix; a module may import
# only from its own layer's package or from lower layers.
LAYERS = {
    "legoc.grammar": -1,  # data: the grammar and the prelude (legoc/core/resources.py)
    "legoc.templates": -1,  # data: the Jinja templates
    "legoc.core": 0,
    "legoc.ir": 1,
    "legoc.syntax": 1,
    "legoc.analysis": 2,
    "legoc.codegen": 3,
    "legoc.compiler": 4,
    "legoc.tools": 5,
    "legoc.api": 6,
    "legoc.cli": 7,
    "legoc.__main__": 8,
    "legoc": 9,  # the package's __init__: the public API, imported lazily
}


def generated(module: str) -> bool:
    return any(module == g or module.startswith(g + ".") for g in GENERATED)


def modules() -> dict[str, Path]:
    """Every legoc module (dotted name -> path), the generated ones too."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def resolve(importer: str, level: int, target: str | None) -> str:
    """The absolute name of `from <level dots><target> import ...` in `importer`."""
    if level == 0:
        return target or ""
    base = importer.split(".")
    if not is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import of a
    legoc module in `module`'s source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "legoc" or alias.name.startswith("legoc."):
                    found.append((alias.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            source = resolve(module, node.level, node.module)
            if source != "legoc" and not source.startswith("legoc."):
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in MODULES or sub in LAYERS:  # `from package import module` (a data package too)
                    found.append((sub, None, node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    return found


def layer(module: str) -> tuple[str, int]:
    prefix = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return prefix, LAYERS[prefix]


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES if not generated(m)}
    for module in graph:
        for target, _, _ in imports(module):
            if target in MODULES and target != module:
                graph[module].add(target)
    return graph


def test_no_import_circles():
    graph = edges()
    # Tarjan's strongly connected components, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_imports_point_down_the_layers():
    wrong = []
    for module in MODULES:
        if generated(module) or module == "legoc":
            continue
        own, rank = layer(module)
        for target, _, line in imports(module):
            if target == "legoc" and _ == "__version__":
                continue
            theirs, their_rank = layer(target)
            if their_rank > rank or (their_rank == rank and theirs != own):
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} ({own}) imports {target} ({theirs})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_private_names_from_other_modules():
    wrong = []
    for module in MODULES:
        if generated(module):
            continue
        for target, name, line in imports(module):
            private_module = any(part.startswith("_") and not part.startswith("__") for part in target.split(".")[1:])
            if private_module and not (generated(target) and target.rsplit(".", 1)[0] == module.rsplit(".", 1)[0]):
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} imports the private module {target}")
            if name and name.startswith("_") and not name.startswith("__") and target != module:
                wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} imports the private name {target}.{name}")
    assert not wrong, "\n".join(wrong)


def test_modules_stay_small():
    long = {}
    for module, path in MODULES.items():
        if generated(module):
            continue
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_LINES:
            long[str(path.relative_to(ROOT))] = lines
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_walk_sees_real_imports():
    """The walk itself: it finds a relative import, a lazy one inside a
    function, and `from package import module` as the module."""
    found = {t for t, _, _ in imports("legoc.compiler")}
    assert "legoc.syntax.parser" in found and "legoc.codegen.generate" in found
    assert "legoc.syntax.tree" in found  # `from .syntax import tree as syntax`


ARCHITECTURE = ROOT / "docs" / "architecture.md"


def test_architecture_doc_matches_the_tree():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"legoc/[A-Za-z0-9_/]+(?:\.[A-Za-z0-9]+)*", text))
    missing = []
    for module, path in MODULES.items():
        if generated(module) and module not in GENERATED:
            continue
        rel = path.relative_to(ROOT)
        shown = str(rel.parent) + "/" if path.name == "__init__.py" else str(rel)
        if path.name == "__init__.py" and module == "legoc":
            shown = "legoc/__init__.py"
        if shown not in named and str(rel) not in named:
            missing.append(shown)
    assert not missing, f"docs/architecture.md does not describe {missing}"
    stale = [n for n in named if not (ROOT / n).exists()]
    assert not stale, f"docs/architecture.md names paths that do not exist: {stale}"


def test_pyproject_ships_every_package():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = set(config["tool"]["setuptools"]["packages"])
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert packages <= shipped, f"pyproject.toml does not ship {sorted(packages - shipped)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not generated(m)))
def test_every_module_says_what_it_is(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{module} has no docstring"
