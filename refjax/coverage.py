"""Which rules each primitive has: abstract eval, JVP, transpose, batching, and backends.

``python -m refjax.coverage`` prints the table as markdown (docs/coverage.md is its output);
tests/test_coverage.py keeps the table honest.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import refjax  # noqa: F401  # registers every backend lowering and API-level primitive
from refjax.backends.numpy_impls import impls as numpy_impls
from refjax.interp.batching import batching_rules
from refjax.interp.core import Primitive, abstract_eval_rules
from refjax.interp.jvp import jvp_rules
from refjax.interp.partial_eval import partial_eval_rules
from refjax.interp.transpose import transpose_rules


@dataclass(frozen=True, slots=True)
class Coverage:
    """The rules one primitive has."""

    primitive: str
    jvp: bool
    transpose: bool
    batching: bool
    partial_eval: bool
    numpy: bool


def load_all_primitives() -> None:
    """Import every primitive module so that every primitive is registered."""
    import refjax.primitives as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"refjax.primitives.{info.name}")


def primitives() -> list[Primitive]:
    """Every registered primitive, sorted by name (test-only probes excluded)."""
    load_all_primitives()
    return sorted(
        (p for p in abstract_eval_rules if not p.name.startswith(("parser_test_", "mystery"))),
        key=lambda p: p.name,
    )


def coverage() -> list[Coverage]:
    """One row per primitive."""
    return [
        Coverage(
            p.name,
            p in jvp_rules,
            p in transpose_rules,
            p in batching_rules,
            p in partial_eval_rules,
            p in numpy_impls,
        )
        for p in primitives()
    ]


ROOT: Final = Path(__file__).resolve().parent.parent  # the repository (refjax's parent)

# The words that register a rule of each table (the helpers that build rules, and the tables)
_REGISTERS: Final = {
    "jvp": ("jvp_rules[", "defjvp", "deflinear", "defbilinear", "defjvp_zero", "defjvp2"),
    "transpose": ("transpose_rules[", "deflinear", "defbilinear", "deftranspose"),
    "batching": ("batching_rules[", "defvectorized", "defbroadcasting"),
    "partial eval": ("partial_eval_rules[",),
    "numpy": ("@register(", "impls[", "impls.update"),
}


@dataclass(frozen=True, slots=True)
class Definition:
    """Where a primitive is made: its module's file (relative to the repository), the line,
    and the name it is bound to there (``sin_p``)."""

    path: str
    line: int
    name: str


def _relative(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        relative = Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:  # not in the repository
        return None
    return relative if relative.startswith("refjax/") else None  # (not numpy's, in a venv)


def definition(p: Primitive) -> Definition | None:
    """The line that makes ``p`` (``sin_p = standard_primitive(...)``), in the module that
    binds it to a name ending in ``_p``."""
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("refjax.") or module is None:
            continue
        for name, value in list(vars(module).items()):
            if value is not p or not name.endswith("_p"):
                continue
            path = _relative(getattr(module, "__file__", None))
            if path is None:
                continue
            lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
            pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=]*)?=")
            for k, text in enumerate(lines, 1):
                if pattern.match(text):
                    return Definition(path, k, name)
    return None


def source_line(rule: object) -> tuple[str, int] | None:
    """Where ``rule`` is written: its file (relative to the repository) and first line; None
    for a rule without Python source (a partial is its function's)."""
    fn = rule
    while isinstance(fn, functools.partial):
        fn = fn.func
    target: Any = inspect.unwrap(fn) if callable(fn) else fn
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target)
    try:
        path = _relative(inspect.getsourcefile(target))
        line = inspect.getsourcelines(target)[1]
    except (TypeError, OSError):
        return None
    return None if path is None else (path, line)


def rule_line(p: Primitive, kind: str, rule: object, where: Definition | None
              ) -> tuple[str, int] | None:
    """The line a reader wants for ``p``'s rule of ``kind``: the rule itself when it is
    written for ``p`` in ``p``'s own module; else, for a rule a helper builds
    (``defvectorized(sin_p)``), the line of ``p``'s module that registers it; else the rule's
    own source (a backend's implementation, a generic rule)."""
    own = source_line(rule)
    if where is None or (own is not None and own[0] == where.path):
        return own
    for k, text in enumerate((ROOT / where.path).read_text(encoding="utf-8").splitlines(), 1):
        if re.search(rf"\b{re.escape(where.name)}\b", text) and any(
                word in text for word in _REGISTERS[kind]):
            return where.path, k
    return own


def markdown() -> str:
    """The coverage table as markdown: each primitive links to the line that makes it, each
    rule it has to the line the rule is written (or registered) at."""
    rows = [
        "| primitive | jvp | transpose | batching | partial eval | numpy |",
        "|---|---|---|---|---|---|",
    ]
    tables: dict[str, Mapping[Primitive, object]] = {
        "jvp": jvp_rules, "transpose": transpose_rules, "batching": batching_rules,
        "partial eval": partial_eval_rules, "numpy": numpy_impls,
    }
    for p in primitives():
        where = definition(p)
        name = f"`{p.name}`" if where is None else (
            f"[`{p.name}`](../{where.path}#L{where.line})")
        cells = []
        for kind, table in tables.items():
            line = rule_line(p, kind, table[p], where) if p in table else None
            cells.append("-" if p not in table else
                         "yes" if line is None else f"[yes](../{line[0]}#L{line[1]})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def document() -> str:
    """docs/coverage.md: a title, how it is made, the table."""
    return "# Rule coverage\n\nGenerated by `python -m refjax.coverage`.\n\n" + markdown()


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:  # rewrite docs/coverage.md
        (ROOT / "docs" / "coverage.md").write_text(document(), encoding="utf-8")
    else:
        print(document(), end="")
