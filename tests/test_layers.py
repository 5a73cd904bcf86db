"""The package's imports only go down its layers (docs/architecture.md states the same table).

Every import in ``refjax/`` is read with ``ast`` -- module-level, function-local and
``TYPE_CHECKING`` ones alike -- and each must name a module of the same layer or a lower one,
except the few natural ties listed in ``ALLOWED``, which JAX has too.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

PACKAGE: Final = Path(__file__).resolve().parents[1] / "refjax"

# The layers, bottom up, by the first component under ``refjax``: as in docs/architecture.md.
LAYERS: Final[dict[str, int]] = {
    **dict.fromkeys(["errors", "config", "dtypes", "tree", "tree_util", "profiler", "util",
                     "checkpoint_policies"], 0),
    "interp": 1,
    **dict.fromkeys(["primitives", "lax"], 2),
    **dict.fromkeys(["backends", "numpy", "random", "nn", "callbacks", "debug", "experimental",
                     "sharding"], 3),
    "scipy": 3,
    **dict.fromkeys(["api", "api_parallel", "api_util", "distributed", "stages", "explainer",
                     "__main__", "graphviz"], 4),
    # "" is the package root, refjax itself
    **dict.fromkeys(["", "coverage", "test_util", "custom_derivatives"], 5),
}

# Upward imports that stay, each function-local: the interpreters build with two shape
# primitives, as JAX's batching.py and ad.py do.
ALLOWED: Final[dict[tuple[str, str], str]] = {
    ("refjax.interp.batching", "refjax.primitives.shape"):
        "batch dims move and broadcast with transpose / broadcast_in_dim",
    ("refjax.interp.jvp", "refjax.primitives.shape"):
        "a symbolic zero tangent is instantiated with broadcast_in_dim",
}


def module_name(path: Path) -> str:
    """The dotted name of a module file of the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """The layer of a ``refjax`` module."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    assert top in LAYERS, f"{module} is in no layer: add it to LAYERS and the docs"
    return LAYERS[top]


def imported(module: str, path: Path) -> list[tuple[str, int]]:
    """The refjax modules ``module`` imports (each with its line), wherever the import is."""
    found: list[tuple[str, int]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base == "refjax":  # from refjax import numpy: the submodules themselves
                found += [(f"refjax.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((base, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] == "refjax"]


def upward_imports() -> list[tuple[str, str, int]]:
    """Every (importer, imported, line) where the imported module is in a higher layer."""
    ups = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for target, line in imported(module, path):
            if layer(target) > layer(module):
                ups.append((module, target, line))
    return ups


def test_imports_only_go_down_the_layers() -> None:
    bad = [f"{m}:{line} imports {t}" for m, t, line in upward_imports() if (m, t) not in ALLOWED]
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_the_allowed_ties_are_still_needed_and_lazy() -> None:
    ups = upward_imports()
    for pair in ALLOWED:
        assert any((m, t) == pair for m, t, _ in ups), f"{pair} is no longer imported: drop it"
    for module, target, line in ups:
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        text = path.read_text().splitlines()[line - 1]
        assert text.startswith((" ", "\t")), f"{module}:{line} must import {target} lazily"


def test_core_holds_no_array_arithmetic() -> None:
    core = ast.parse((PACKAGE / "interp" / "core.py").read_text())
    (array,) = [n for n in core.body if isinstance(n, ast.ClassDef) and n.name == "Array"]
    defined = {n.name for n in array.body if isinstance(n, ast.FunctionDef)}
    assert not defined & {"__add__", "__mul__", "__getitem__", "sum", "reshape", "astype"}


@pytest.mark.parametrize("module", ["refjax.interp.core", "refjax.interp.jvp"])
def test_layer_test_sees_function_local_imports(module: str, tmp_path: Path) -> None:
    fake = tmp_path / "refjax" / "interp" / "x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from refjax.numpy import add\n    return add\n")
    assert imported(module, fake) == [("refjax.numpy", 2)]


def test_the_docs_state_the_same_layers() -> None:
    docs = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    for top, number in LAYERS.items():
        if top:
            row = next(line for line in docs.splitlines() if line.startswith(f" L{number} "))
            assert top in row or f"{top}/" in row or f"{top}.py" in row, (top, row)
