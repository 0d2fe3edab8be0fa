"""The package's import graph: no cycles, and no module imports a floor above its own.

Every ``import`` counts, at module level or inside a function (a lazy import is still a dependency).
"""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO_ROOT

# Where each installed package's source lies in the repository.
SOURCE_ROOTS = {"translation": REPO_ROOT / "translation", "translation.app": REPO_ROOT / "app",
                "translation.default_models": REPO_ROOT / "exports", "translation.examples": REPO_ROOT / "examples"}

# Floors from the ground up (docs/ARCHITECTURE.md): a module may import its own floor and those below.
FLOORS = [
    {"errors", "atomic", "digest"},
    {"imaging", "metrics", "sliced_wasserstein", "losses", "default_models", "examples"},
    {"tasks", "networks"},
    {"data", "runtime"},
    {"training", "export", "evaluation", "convert", "convert_ray", "quantize", "collections", "video"},
    {"recipes"},
    {"", "__main__", "cli", "commands", "app"},   # the faces: CLI and web app ("" is the package itself)
]
FLOOR_OF = {part: level for level, parts in enumerate(FLOORS) for part in parts}


def _modules() -> dict[str, Path]:
    found = {}
    for package, root in SOURCE_ROOTS.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if "__pycache__" in parts or (package == "translation" and parts[0] == "app"):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
            targets.update(submodules if submodules else {base})
    return {t for t in targets if t in MODULES and t != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _floor(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    assert part in FLOOR_OF, f"{module}: not on any floor of tests/test_import_graph.py (add it there and to ARCHITECTURE.md)"
    return FLOOR_OF[part]


def test_the_graph_sees_the_whole_package():
    assert {"translation.errors", "translation.cli", "translation.app.ui", "translation.runtime.engine"} <= MODULES.keys()
    assert "translation.imaging.io" in GRAPH["translation.runtime.pipeline"]


def test_no_module_imports_a_floor_above_its_own():
    upward = [f"{module} -> {target}" for module, targets in GRAPH.items() for target in targets
              if _floor(target) > _floor(module)]
    assert not upward, "imports that climb: " + "; ".join(sorted(upward))


def test_no_import_cycles():
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module], _ = "open", path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in state:
                visit(target)
        state[module], _ = "done", path.pop()

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
