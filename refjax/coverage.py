"""Which rules each primitive has: abstract eval, JVP, transpose, batching, and backends.

``python -m refjax.coverage`` prints the table as markdown (docs/coverage.md is its output);
tests/test_coverage.py keeps the table honest.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

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


def markdown() -> str:
    """The coverage table as markdown."""
    mark = {True: "yes", False: "-"}
    rows = [
        "| primitive | jvp | transpose | batching | partial eval | numpy |",
        "|---|---|---|---|---|---|",
    ]
    for c in coverage():
        cells = [c.jvp, c.transpose, c.batching, c.partial_eval, c.numpy]
        rows.append(f"| `{c.primitive}` | " + " | ".join(mark[x] for x in cells) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
