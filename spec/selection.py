"""Choosing cases: by topic, id, transformation, primitive and tag; and what an adapter can run.

A :class:`Selection` says which cases a run is about (the others are not run and not counted);
:func:`unsupported` says why a selected case is beyond an adapter's declared
:class:`~spec.adapters.Capabilities` (such cases are reported as skipped, never run).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from spec import jaxpr_text
from spec.adapters import Capabilities
from spec.format import (
    Case,
    JaxprProgram,
    Jvp,
    Linearize,
    Outputs,
    PrimitiveProgram,
    Transform,
    Value,
    Vjp,
    transform_to_json,
)

EVAL = "eval"  # the name of the empty stack: the program evaluated as it is
JAX_SPECIFIC = "jax-specific:*"  # the tags of behaviour that is JAX's choice, not the semantics
# Tags a glob never skips: a strictness switch relaxes them instead (``--errors class``), and
# the rest of such a case (an error is raised, of that class) is the semantics.
RELAXED: Final = frozenset({"jax-specific:error-message"})


def transform_name(t: Transform) -> str:
    """``jit``, ``eval_shape``, ``vmap``, ``grad``, ``jvp``, ``vjp``, ``linearize``, ... (the key
    of its JSON form, so a transformation added to the format has a name here too)."""
    obj = transform_to_json(t)
    return obj if isinstance(obj, str) else str(next(iter(obj)))


def stack_names(case: Case) -> tuple[str, ...]:
    """The names of a case's transformations, outermost first; ``("eval",)`` for none."""
    return tuple(transform_name(t) for t in case.transforms) or (EVAL,)


def program_primitives(case: Case) -> set[str]:
    """The primitives in a case's program (a numpy program: none known)."""
    if isinstance(case.program, JaxprProgram):
        return jaxpr_text.primitives_in(jaxpr_text.read_jaxpr(case.program.text))
    if isinstance(case.program, PrimitiveProgram):
        return {case.program.name}
    return set()


def all_primitives(case: Case) -> set[str]:
    """The primitives a case is about and those its program binds."""
    return set(case.primitives) | program_primitives(case)


def _values(case: Case) -> Iterator[Value]:
    yield from case.inputs
    if isinstance(case.program, JaxprProgram):
        yield from case.program.consts
    for t in case.transforms:
        if isinstance(t, (Jvp, Linearize)):
            yield from t.tangents
        elif isinstance(t, Vjp):
            yield from t.cotangents
    if isinstance(case.expected, Outputs):
        yield from case.expected.values


def case_dtypes(case: Case) -> set[str]:
    """Every dtype a case's values have (inputs, consts, tangents, cotangents, outputs)."""
    return {v.dtype for v in _values(case)}


def matches_any(text: str, patterns: Iterable[str]) -> bool:
    """Whether ``text`` equals one of ``patterns`` or matches it as an fnmatch glob."""
    return any(text == p or fnmatch.fnmatchcase(text, p) for p in patterns)


@dataclass(frozen=True)
class Selection:
    """Which cases a run is about; an empty field does not restrict.

    - ``topics``: topic names (the case files).
    - ``cases``: case ids, exact or fnmatch globs (``sin/*``, ``programs/mlp/*grad*``).
    - ``transforms``: a case is kept iff every transformation in its stack is one of these
      (``eval`` names the empty stack; ``jit`` and ``eval_shape`` are names too).
    - ``primitives``: a case is kept iff it is about one of these or its program binds one.
    - ``skip_tags``: tags (or globs such as ``jax-specific:*``); a case with a matching tag is
      skipped, with the tag as the reason. A glob does not match the tags in RELAXED (name them
      exactly to skip those).
    """

    topics: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    transforms: frozenset[str] = frozenset()
    primitives: frozenset[str] = frozenset()
    skip_tags: tuple[str, ...] = ()

    @property
    def narrowed(self) -> bool:
        """Whether topics or case ids restrict the run (then coverage cannot be complete)."""
        return bool(self.topics or self.cases)

    def keeps(self, case: Case) -> bool:
        """Whether ``case`` belongs to the selection (skip_tags aside: those are skips)."""
        if self.topics and case.topic not in self.topics:
            return False
        if self.cases and not matches_any(case.id, self.cases):
            return False
        if self.transforms and not set(stack_names(case)) <= self.transforms:
            return False
        return not self.primitives or bool(all_primitives(case) & self.primitives)

    def skipped_tag(self, case: Case) -> str | None:
        """The first of the case's tags that the selection skips, if any."""
        for tag in case.tags:
            if tag in self.skip_tags or (tag not in RELAXED and matches_any(tag, self.skip_tags)):
                return tag
        return None


def select(cases: Iterable[Case], selection: Selection) -> list[Case]:
    """The cases ``selection`` keeps, in order."""
    return [c for c in cases if selection.keeps(c)]


def unsupported(case: Case, caps: Capabilities) -> str | None:
    """Why an adapter with ``caps`` cannot run ``case`` (None if it can)."""
    missing: list[str] = []
    if caps.transforms is not None:
        names = sorted(set(stack_names(case)) - caps.transforms)
        if names:
            missing.append(f"transforms {', '.join(names)}")
    if caps.dtypes is not None:
        dtypes = sorted(case_dtypes(case) - caps.dtypes)
        if dtypes:
            missing.append(f"dtypes {', '.join(dtypes)}")
    if caps.primitives is not None:
        prims = sorted(all_primitives(case) - caps.primitives)
        if prims:
            missing.append(f"primitives {', '.join(prims)}")
    if case.x64 and not caps.x64:
        missing.append("x64")
    return f"adapter does not support {'; '.join(missing)}" if missing else None


def split_names(values: Sequence[str]) -> frozenset[str]:
    """``["grad,jvp", "vjp"]`` (repeated, comma-separated options) as one set."""
    return frozenset(n.strip() for v in values for n in v.split(",") if n.strip())
