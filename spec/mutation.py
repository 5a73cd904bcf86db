"""Mutation testing of the spec: how many realistic bugs in refjax do the cases catch?

A *mutant* is refjax with one bug put in by a patch that is undone afterwards: a primitive's JVP
scaled or missing one operand's term, a transpose scaled or dropping a cotangent, a batching rule
reporting its output's batch axis one place off or misreading an operand's, an abstract-eval
rule with the wrong weak type or dtype, a transformation ignoring ``in_axes``/``out_axes``/
``argnums``/``has_aux``, symbolic zeros mishandled, a control-flow rule taking one branch or
dropping a carry. The per-primitive mutants come from refjax's rule tables, so a new primitive
gets its mutants for free. Each mutant runs the cases that exercise what it breaks (found by
recording, once, which rules each case calls) until one fails: the spec *kills* it. A mutant
that no case kills *survives*; a survivor is either a gap in the cases or *equivalent* (no
program can tell it from refjax), listed with the reason in ``mutants_equivalent.txt``.

``python -m spec.mutation [--sample N --seed S] [--only-kind K] [--primitive P] [--list]
[--jsonl PATH]`` prints each survivor, then the totals and the score, killed / (total -
equivalent); it exits with status 1 below ``--min-score`` (0.98).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import random
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, Final, TypeAlias, TypeVar

import numpy as np

from spec.adapters import RefjaxAdapter
from spec.format import CASES_DIR, Case, load_cases, load_json
from spec.runner import run_case

EQUIVALENT_FILE: Final = Path(__file__).parent / "mutants_equivalent.txt"
GAPS_FILE: Final = Path(__file__).parent / "mutants_gaps.txt"
SURVIVORS_FILE: Final = Path("/tmp/mutants_survivors.txt")
SCALE: Final = 1.001  # a scaled derivative is off by 0.1% (the error every rule must fail)
CASE_TIMEOUT_S: Final = 10.0  # a case running longer under a mutant (an endless loop) kills it

# The rule tables a mutant patches, by the name used in mutant ids and in the coverage record.
TABLES: Final = ("abstract_eval", "jvp", "transpose", "batching", "partial_eval")
# Mutant kinds (``--only-kind``): one per rule table, then whole transformations.
MUTANT_KINDS: Final = (*TABLES, "control_flow", "api", "zeros")
# Transformations (case transform class names) that run a transformation-level mutant's code.
DIFFERENTIATING: Final = frozenset({"Jvp", "Linearize", "Vjp", "Grad"})

Rule: TypeAlias = Callable[..., Any]  # a rule of any table; each wrapper states what it reads
Patch: TypeAlias = Callable[[], contextlib.AbstractContextManager[None]]
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Mutant:
    """One bug: ``patch()`` puts it into refjax for the length of a ``with`` block.

    The cases that can kill it are those that called one of the ``rules`` (primitive, table)
    when recorded, or, for a transformation-level mutant (no rules), those applying one of the
    ``transforms`` (case transform class names: ``Vmap``, ``Grad``...).
    """

    id: str
    kind: str
    description: str
    patch: Patch = field(compare=False, repr=False)
    rules: frozenset[tuple[str, str]] = frozenset()
    transforms: frozenset[str] = frozenset()
    primitive: str | None = None


# ---------------------------------------------------------------------------------------------
# Patching, and undoing it


@contextlib.contextmanager
def replaced(table: MutableMapping[K, V], key: K, value: V) -> Iterator[None]:
    """``table[key] = value`` for the block; then the old entry back (or none, as before)."""
    had, old = key in table, table.get(key)
    table[key] = value
    try:
        yield
    finally:
        if had:
            table[key] = old  # type: ignore[assignment]  # it was there: a V
        else:
            del table[key]


@contextlib.contextmanager
def removed(table: MutableMapping[K, V], key: K) -> Iterator[None]:
    """``table`` without ``key`` for the block."""
    old = table.pop(key)
    try:
        yield
    finally:
        table[key] = old


@contextlib.contextmanager
def attribute(owner: object, name: str, value: object) -> Iterator[None]:
    """``owner.name = value`` for the block."""
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def refjax_modules() -> list[ModuleType]:
    """refjax's loaded modules."""
    return [
        m for name, m in list(sys.modules.items())
        if (name == "refjax" or name.startswith("refjax.")) and m is not None
    ]


@contextlib.contextmanager
def function_replaced(original: Callable[..., Any], new: Callable[..., Any]) -> Iterator[None]:
    """Every module-level name in refjax bound to ``original`` bound to ``new`` for the block
    (a function imported by name into other modules is replaced there too)."""
    with contextlib.ExitStack() as stack:
        for module in refjax_modules():
            for name, value in list(vars(module).items()):
                if value is original:
                    stack.enter_context(attribute(module, name, new))
        yield


# ---------------------------------------------------------------------------------------------
# Caches: nothing traced before a patch may be reused under it, nor after it


@functools.cache
def _cache_functions(n_modules: int) -> list[Callable[[], None]]:
    """``cache_clear`` of every memoised module-level function of refjax (recomputed when more
    modules are loaded: ``n_modules`` keys the memo)."""
    found: dict[int, Callable[[], None]] = {}
    for module in refjax_modules():
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", "").startswith("refjax"):
                found[id(value)] = clear
    return list(found.values())


def clear_caches() -> None:
    """Forget every traced or transformed jaxpr and compiled executable refjax holds: the
    memoised jaxpr transformations (jvp, batching, transpose, partial eval, DCE), ``jit``'s trace
    caches and each backend's executables."""
    from refjax import api
    from refjax.backends import base

    for clear in _cache_functions(len(sys.modules)):
        clear()
    api._jit_caches.clear()
    for backend in list(base._INSTANCES.values()):
        with backend._lock:
            backend._executables.clear()


# ---------------------------------------------------------------------------------------------
# The rule tables


def rule_tables() -> dict[str, MutableMapping[Any, Rule]]:
    """refjax's rule tables by name (keys: primitives)."""
    import refjax  # noqa: F401  # registers every primitive's rules
    from refjax.interp.batching import batching_rules
    from refjax.interp.core import abstract_eval_rules
    from refjax.interp.jvp import jvp_rules
    from refjax.interp.partial_eval import partial_eval_rules
    from refjax.interp.transpose import transpose_rules

    return {
        "abstract_eval": abstract_eval_rules,
        "jvp": jvp_rules,
        "transpose": transpose_rules,
        "batching": batching_rules,
        "partial_eval": partial_eval_rules,
    }


def primitive_named(name: str) -> Any:
    """refjax's primitive called ``name``."""
    for prim in rule_tables()["abstract_eval"]:
        if prim.name == name:
            return prim
    raise KeyError(f"refjax has no primitive {name!r}")


def spec_primitives(directory: Path = CASES_DIR) -> set[str]:
    """The primitives the spec can express (``_primitives.json``): the ones that get mutants."""
    path = directory / "_primitives.json"
    return set(load_json(path)["primitives"]) if path.exists() else set()


# ---------------------------------------------------------------------------------------------
# Coverage: which rules each case calls, recorded once on unmutated refjax


@dataclass
class Coverage:
    """What running the cases touched: per case, the (primitive, table) rules it called; per
    primitive, the operand positions its JVP saw a nonzero tangent at, its transpose gave a
    cotangent to (a linear operand's), its batching rule saw batched with rank >= 2; the
    primitives whose batching rule gave a batched output of rank >= 2 (where an off-by-one axis
    can show), and those with a floating or complex result (where a tangent can be nonzero).
    Cases that fail on refjax as it is (``failing``) can kill nothing: mutants do not run them."""

    calls: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    jvp_operands: dict[str, set[int]] = field(default_factory=dict)
    transpose_operands: dict[str, set[int]] = field(default_factory=dict)
    batch_operands: dict[str, set[int]] = field(default_factory=dict)
    batch_outputs: set[str] = field(default_factory=set)
    inexact_outputs: set[str] = field(default_factory=set)
    failing: dict[str, str] = field(default_factory=dict)  # case id -> why, on refjax as it is

    def cases_calling(self, rules: frozenset[tuple[str, str]]) -> set[str]:
        """The ids of the cases that called one of ``rules``."""
        return {case for case, called in self.calls.items() if called & rules}


def _inexact(x: Any) -> bool:
    from refjax.interp.core import get_aval

    return bool(np.issubdtype(get_aval(x).dtype, np.inexact))


def _ndim(x: Any) -> int:
    from refjax.interp.core import get_aval

    return get_aval(x).ndim


def _recorder(
    coverage: Coverage, current: list[str], prim: Any, table: str, rule: Rule
) -> Rule:
    """``rule`` noting each call (and what its operands were) in ``coverage``."""
    from refjax.interp.transpose import UndefinedPrimal

    name = prim.name

    def record(*args: Any, **params: Any) -> Any:
        if current:
            coverage.calls.setdefault(current[0], set()).add((name, table))
        if table == "jvp":  # every differentiable operand, whether a case gives it a tangent
            inexact = {i for i, x in enumerate(args[0]) if _inexact(x)}
            coverage.jvp_operands.setdefault(name, set()).update(inexact)
        if table == "batching":  # every batched operand (a rank-1 one is a gap, not skipped)
            batched = {i for i, d in enumerate(args[1]) if d is not None}
            coverage.batch_operands.setdefault(name, set()).update(batched)
        out = rule(*args, **params)
        if table == "abstract_eval" and any(np.issubdtype(a.dtype, np.inexact) for a in out):
            coverage.inexact_outputs.add(name)
        if table == "transpose":  # every linear operand (a known one takes no cotangent)
            operands = args[1:]
            linear = {i for i, x in enumerate(operands) if isinstance(x, UndefinedPrimal)}
            coverage.transpose_operands.setdefault(name, set()).update(linear)
        if table == "batching" and any(
            d is not None and _ndim(o) >= 2 for o, d in zip(out[0], out[1], strict=True)
        ):
            coverage.batch_outputs.add(name)
        return out

    return record


def record_coverage(adapter: RefjaxAdapter, cases: Sequence[Case]) -> Coverage:
    """Run every case on unmutated refjax, noting the rules each calls (caches cleared before
    each case, so that each case calls every rule it needs)."""
    coverage = Coverage()
    current: list[str] = []
    with contextlib.ExitStack() as stack:
        for table, rules in rule_tables().items():
            for prim, rule in list(rules.items()):
                wrapped = _recorder(coverage, current, prim, table, rule)
                stack.enter_context(replaced(rules, prim, wrapped))
        try:
            for case in cases:
                clear_caches()
                current[:] = [case.id]
                with _quiet():
                    problem = run_case(adapter, case)
                if problem is not None:
                    coverage.failing[case.id] = problem
        finally:
            current.clear()
            clear_caches()
            adapter.configure(x64=False)
    return coverage


# ---------------------------------------------------------------------------------------------
# Per-primitive mutants, from the rule tables


def _scaled(t: Any) -> Any:
    """A tangent or cotangent times ``SCALE`` (symbolic zeros, None and float0 as they are)."""
    from refjax import dtypes
    from refjax.interp.core import as_array
    from refjax.interp.jvp import Zero

    if t is None or isinstance(t, Zero):
        return t
    x = as_array(t)
    return x if x.dtype == dtypes.float0 else x * SCALE


def _jvp_scaled(rule: Rule) -> Rule:
    def mutated(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> Any:
        outs, touts = rule(primals, tangents, **params)
        return outs, [_scaled(t) for t in touts]

    return mutated


def _jvp_dropped(prim: Any, rule: Rule, i: int) -> Rule:
    from refjax.interp.jvp import Zero

    def mutated(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> Any:
        if i < len(tangents) and not isinstance(tangents[i], Zero):
            tangents = [*tangents[:i], Zero.from_primal(primals[i]), *tangents[i + 1 :]]
            if all(isinstance(t, Zero) for t in tangents):
                outs = prim.bind_all(*primals, **params)
                return outs, [Zero.from_primal(o) for o in outs]
        return rule(primals, tangents, **params)

    return mutated


_ZERO_JVP_RULES: Final = frozenset({"defjvp_zero.<locals>.rule", "_stop_gradient_jvp"})


def _zero_jvp(rule: Rule) -> bool:
    """Whether ``rule`` is ``defjvp_zero``'s: its output tangents are symbolic zeros, so that
    scaling them or dropping an operand's term changes nothing (those mutants would be
    equivalent); its mutant passes a tangent through instead."""
    return getattr(rule, "__qualname__", "") in _ZERO_JVP_RULES


def _jvp_identity(prim: Any, rule: Rule) -> Rule:
    from refjax.interp.core import get_aval
    from refjax.interp.jvp import Zero

    def mutated(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> Any:
        outs, touts = rule(primals, tangents, **params)
        t = tangents[0]
        if isinstance(t, Zero) or not isinstance(touts[0], Zero):
            return outs, touts
        if get_aval(t).strip_weak_type() != touts[0].aval.strip_weak_type():
            return outs, touts  # (a boolean or integer result: its tangent is float0)
        return outs, [t, *touts[1:]]

    return mutated


def _transpose_scaled(rule: Rule) -> Rule:
    def mutated(cts: Sequence[Any], *operands: Any, **params: Any) -> Any:
        return [_scaled(c) for c in rule(cts, *operands, **params)]

    return mutated


def _transpose_dropped(rule: Rule, i: int) -> Rule:
    def mutated(cts: Sequence[Any], *operands: Any, **params: Any) -> Any:
        out = list(rule(cts, *operands, **params))
        if i < len(out):
            out[i] = None
        return out

    return mutated


def _batch_out_shifted(rule: Rule) -> Rule:
    def mutated(args: Sequence[Any], dims: Sequence[Any], **params: Any) -> Any:
        outs, out_dims = rule(args, dims, **params)
        out_dims = list(out_dims)
        for k, (o, d) in enumerate(zip(outs, out_dims, strict=True)):
            if d is not None and _ndim(o) >= 2:
                out_dims[k] = (d % _ndim(o) + 1) % _ndim(o)
                break
        return outs, out_dims

    return mutated


def _batch_in_misread(rule: Rule, i: int) -> Rule:
    def mutated(args: Sequence[Any], dims: Sequence[Any], **params: Any) -> Any:
        if i < len(dims) and dims[i] is not None and _ndim(args[i]) >= 2:
            n = _ndim(args[i])
            dims = [*dims[:i], (dims[i] % n + 1) % n, *dims[i + 1 :]]
        return rule(args, dims, **params)

    return mutated


def _weak_flipped(rule: Rule) -> Rule:
    def mutated(*avals: Any, **params: Any) -> Any:
        outs = list(rule(*avals, **params))
        if outs:
            outs[0] = outs[0].update(weak_type=not outs[0].weak_type)
        return outs

    return mutated


_OTHER_DTYPE: Final = {
    "float16": "float32", "bfloat16": "float32", "float32": "float64", "float64": "float32",
    "complex64": "complex128", "complex128": "complex64",
    "int8": "int16", "int16": "int32", "int32": "int64", "int64": "int32",
    "uint8": "uint16", "uint16": "uint32", "uint32": "uint64", "uint64": "uint32",
    "bool": "int8",
}


def _dtype_changed(rule: Rule) -> Rule:
    def mutated(*avals: Any, **params: Any) -> Any:
        outs = list(rule(*avals, **params))
        for k, aval in enumerate(outs):
            other = _OTHER_DTYPE.get(aval.dtype.name)
            if other is not None:
                outs[k] = aval.update(dtype=np.dtype(other))
                break
        return outs

    return mutated


def _rule_mutant(
    kind: str, what: str, prim: Any, table: str, description: str, wrap: Callable[[Rule], Rule]
) -> Mutant:
    """A mutant replacing ``prim``'s rule in ``table`` by ``wrap(rule)``."""

    @contextlib.contextmanager
    def patch() -> Iterator[None]:
        rules = rule_tables()[table]
        with replaced(rules, prim, wrap(rules[prim])):
            yield

    return Mutant(
        id=f"{table}/{what}/{prim.name}",
        kind=kind,
        description=description,
        patch=patch,
        rules=frozenset({(prim.name, table)}),
        primitive=prim.name,
    )


def primitive_mutants(coverage: Coverage, names: set[str]) -> list[Mutant]:
    """The per-primitive mutants of every primitive in ``names`` that has the rule: for an
    operand-specific bug, one mutant per operand position the cases exercise (position 0 for a
    primitive no case reaches, so that it shows up as a survivor)."""
    tables = rule_tables()
    out: list[Mutant] = []
    for prim in sorted(tables["abstract_eval"], key=lambda p: p.name):
        name = prim.name
        if name not in names:
            continue
        out.append(_rule_mutant(
            "abstract_eval", "weak-type-flipped", prim, "abstract_eval",
            f"{name}'s first output has the wrong weak type", _weak_flipped))
        out.append(_rule_mutant(
            "abstract_eval", "dtype-changed", prim, "abstract_eval",
            f"{name}'s first output has a wider or narrower dtype", _dtype_changed))
        zero_jvp = prim in tables["jvp"] and _zero_jvp(tables["jvp"][prim])
        if zero_jvp and name in coverage.inexact_outputs:
            out.append(_rule_mutant(
                "jvp", "identity", prim, "jvp",
                f"{name}'s JVP passes operand 0's tangent through (as if {name} were the "
                "identity), not a zero", functools.partial(_jvp_identity, prim)))
        elif prim in tables["jvp"] and not zero_jvp:
            out.append(_rule_mutant(
                "jvp", "scaled", prim, "jvp",
                f"{name}'s output tangents are {SCALE} times too large", _jvp_scaled))
            for i in sorted(coverage.jvp_operands.get(name) or {0}):
                out.append(_rule_mutant(
                    "jvp", f"operand-{i}-dropped", prim, "jvp",
                    f"{name}'s JVP leaves out operand {i}'s term",
                    functools.partial(_jvp_dropped, prim, i=i)))
        if prim in tables["transpose"]:
            out.append(_rule_mutant(
                "transpose", "scaled", prim, "transpose",
                f"{name}'s cotangents are {SCALE} times too large", _transpose_scaled))
            for i in sorted(coverage.transpose_operands.get(name) or {0}):
                out.append(_rule_mutant(
                    "transpose", f"operand-{i}-dropped", prim, "transpose",
                    f"{name}'s transpose gives operand {i} no cotangent",
                    functools.partial(_transpose_dropped, i=i)))
        if prim in tables["batching"]:
            if name in coverage.batch_outputs or name not in coverage.batch_operands:
                out.append(_rule_mutant(
                    "batching", "out-axis-off-by-one", prim, "batching",
                    f"{name}'s batching rule reports its first batched output's axis one "
                    "place off", _batch_out_shifted))
            for i in sorted(coverage.batch_operands.get(name) or {0}):
                out.append(_rule_mutant(
                    "batching", f"operand-{i}-axis-misread", prim, "batching",
                    f"{name}'s batching rule reads operand {i}'s batch axis one place off",
                    functools.partial(_batch_in_misread, i=i)))
        if prim in tables["partial_eval"]:
            out.append(Mutant(
                id=f"partial_eval/removed/{name}", kind="partial_eval",
                description=f"{name} has no partial-evaluation rule (staged whole)",
                patch=functools.partial(removed, tables["partial_eval"], prim),
                rules=frozenset({(name, "partial_eval")}), primitive=name))
    return out


# ---------------------------------------------------------------------------------------------
# Control flow: a branch taken for all, a carry's update dropped, ``reverse`` forgotten


def _first_branch_only(rule: Rule) -> Rule:
    def mutated(*args: Any, branches: tuple[Any, ...], **params: Any) -> Any:
        return rule(*args, branches=(branches[0],) * len(branches), **params)

    return mutated


def _forward_only(rule: Rule) -> Rule:
    def mutated(*args: Any, **params: Any) -> Any:
        return rule(*args, **{**params, "reverse": False})

    return mutated


def _n_before_carry(prim: str, params: dict[str, Any]) -> tuple[int, int]:
    """(operands before the carry, carry count) of a while or scan equation."""
    if prim == "while":
        n = int(params["cond_nconsts"]) + int(params["body_nconsts"])
        return n, len(params["body_jaxpr"].out_avals)
    return int(params["num_consts"]), int(params["num_carry"])


def _carry_jvp_dropped(prim: str, rule: Rule) -> Rule:
    """The last carry's tangent comes out as it went in (its update inside the loop lost)."""
    def mutated(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> Any:
        outs, touts = rule(primals, tangents, **params)
        n, n_carry = _n_before_carry(prim, params)
        if n_carry:
            touts = list(touts)
            touts[n_carry - 1] = tangents[n + n_carry - 1]
        return outs, touts

    return mutated


def _carry_batch_dropped(prim: str, rule: Rule) -> Rule:
    """The last carry comes out as it went in (its update inside the loop lost)."""
    def mutated(args: Sequence[Any], dims: Sequence[Any], **params: Any) -> Any:
        outs, out_dims = rule(args, dims, **params)
        n, n_carry = _n_before_carry(prim, params)
        if n_carry:
            outs, out_dims = list(outs), list(out_dims)
            outs[n_carry - 1], out_dims[n_carry - 1] = args[n + n_carry - 1], dims[n + n_carry - 1]
        return outs, out_dims

    return mutated


def _carry_transpose_dropped(rule: Rule) -> Rule:
    """The initial carry gets no cotangent from the backward scan."""
    def mutated(cts: Sequence[Any], *operands: Any, **params: Any) -> Any:
        out = list(rule(cts, *operands, **params))
        n, n_carry = int(params["num_consts"]), int(params["num_carry"])
        if n_carry:
            out[n + n_carry - 1] = None
        return out

    return mutated


def control_flow_mutants(names: set[str]) -> list[Mutant]:
    """Mutants of cond, while and scan's rules beyond the per-primitive ones."""
    tables = rule_tables()
    out: list[Mutant] = []

    def add(prim_name: str, table: str, what: str, description: str,
            wrap: Callable[[Rule], Rule]) -> None:
        if prim_name not in names:
            return
        prim = primitive_named(prim_name)
        if prim not in tables[table]:
            return
        mutant = _rule_mutant("control_flow", what, prim, table, description, wrap)
        out.append(dataclasses.replace(mutant, id=f"control_flow/{what}/{table}/{prim_name}"))

    for table in ("jvp", "batching", "transpose", "partial_eval"):
        add("cond", table, "first-branch-only",
            f"cond's {table} rule transforms branch 0 in place of every branch",
            _first_branch_only)
        add("scan", table, "reverse-ignored",
            f"scan's {table} rule runs a reversed scan forwards", _forward_only)
    for loop in ("while", "scan"):
        add(loop, "jvp", "last-carry-dropped",
            f"{loop}'s JVP rule returns the last carry's tangent as it came in",
            functools.partial(_carry_jvp_dropped, loop))
        add(loop, "batching", "last-carry-dropped",
            f"{loop}'s batching rule returns the last carry as it came in",
            functools.partial(_carry_batch_dropped, loop))
    add("scan", "transpose", "last-carry-dropped",
        "scan's transpose gives the last initial carry no cotangent", _carry_transpose_dropped)
    return out


# ---------------------------------------------------------------------------------------------
# Transformations: the API's arguments ignored


def _api_mutant(name: str, what: str, transforms: set[str], description: str,
                wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Mutant:
    """A mutant replacing ``refjax.api.<name>`` (wherever refjax holds it) by ``wrap`` of it."""

    @contextlib.contextmanager
    def patch() -> Iterator[None]:
        from refjax import api

        original = getattr(api, name)
        with function_replaced(original, functools.wraps(original)(wrap(original))):
            yield

    return Mutant(id=f"api/{name}/{what}", kind="api", description=description, patch=patch,
                  transforms=frozenset(transforms))


def _vmap_out_axes_ignored(vmap: Callable[..., Any]) -> Callable[..., Any]:
    def mutated(fun: Any, in_axes: Any = 0, out_axes: Any = 0, *a: Any, **kw: Any) -> Any:
        return vmap(fun, in_axes, 0, *a, **kw)

    return mutated


def _vmap_in_axes_ignored(vmap: Callable[..., Any]) -> Callable[..., Any]:
    def mutated(fun: Any, in_axes: Any = 0, *a: Any, **kw: Any) -> Any:
        if isinstance(in_axes, (tuple, list)):
            in_axes = tuple(None if d is None else 0 for d in in_axes)
        elif in_axes is not None:
            in_axes = 0
        return vmap(fun, in_axes, *a, **kw)

    return mutated


def _argnums_ignored(grad: Callable[..., Any]) -> Callable[..., Any]:
    def mutated(fun: Any, argnums: Any = 0, *a: Any, **kw: Any) -> Any:
        argnums = 0 if isinstance(argnums, int) else (0,) * len(argnums)
        return grad(fun, argnums, *a, **kw)

    return mutated


def _has_aux_ignored(position: int | None, transform: Callable[..., Any]) -> Callable[..., Any]:
    """``transform`` called with has_aux=False (a keyword, or positional at ``position``)."""
    def mutated(*a: Any, **kw: Any) -> Any:
        kw.pop("has_aux", None)
        if position is not None and len(a) > position:
            a = (*a[:position], False, *a[position + 1 :])
        return transform(*a, **kw)

    return mutated


def _cotangent_ignored(vjp: Callable[..., Any]) -> Callable[..., Any]:
    def mutated(*a: Any, **kw: Any) -> Any:
        from refjax.numpy import ones_like
        from refjax.tree_util import tree_map

        out = vjp(*a, **kw)
        pullback = out[1]
        return (out[0], lambda ct: pullback(tree_map(ones_like, ct)), *out[2:])

    return mutated


def _weak_types_dropped(eval_shape: Callable[..., Any]) -> Callable[..., Any]:
    def mutated(*a: Any, **kw: Any) -> Any:
        from refjax.api import ShapeDtypeStruct
        from refjax.tree_util import tree_map

        return tree_map(lambda s: ShapeDtypeStruct(s.shape, s.dtype), eval_shape(*a, **kw))

    return mutated


def api_mutants() -> list[Mutant]:
    """The transformations with an argument ignored or a result mistyped."""
    out = [
        _api_mutant("vmap", "out_axes-ignored", {"Vmap"},
                    "vmap puts every output's batch axis at 0", _vmap_out_axes_ignored),
        _api_mutant("vmap", "in_axes-ignored", {"Vmap"},
                    "vmap maps every mapped input along axis 0", _vmap_in_axes_ignored),
        _api_mutant("grad", "argnums-ignored", {"Grad"},
                    "grad differentiates with respect to argument 0 whatever argnums says",
                    _argnums_ignored),
        _api_mutant("vjp", "cotangent-ignored", {"Vjp"},
                    "vjp's pullback uses ones in place of the cotangent it is given",
                    _cotangent_ignored),
        _api_mutant("eval_shape", "weak-type-dropped", {"EvalShape"},
                    "eval_shape's results are strongly typed", _weak_types_dropped),
    ]
    for name, transform, position in (("grad", "Grad", 2), ("value_and_grad", "Grad", 2),
                                      ("jvp", "Jvp", 3), ("vjp", "Vjp", None),
                                      ("linearize", "Linearize", None)):
        out.append(_api_mutant(name, "has_aux-ignored", {transform}, f"{name} ignores has_aux",
                               functools.partial(_has_aux_ignored, position)))
    return out


# ---------------------------------------------------------------------------------------------
# Symbolic zeros


@contextlib.contextmanager
def _skip_rule_on_any_zero() -> Iterator[None]:
    """JVPTrace skips a primitive's rule when *any* tangent is zero (not only when all are)."""
    from refjax.interp.core import set_current_trace
    from refjax.interp.jvp import JVPTrace, Zero, jvp_rule

    def process_primitive(self: Any, prim: Any, args: Sequence[Any], params: Any) -> Any:
        pairs = [self.lift(a) for a in args]
        primals = [p for p, _ in pairs]
        tangents = [t for _, t in pairs]
        with set_current_trace(self.parent or self):
            if any(isinstance(t, Zero) for t in tangents):
                return prim.bind_all(*primals, **params)
            outs, touts = jvp_rule(prim)(primals, tangents, **params)
        return [self.wrap(p, t) for p, t in zip(outs, touts, strict=True)]

    with attribute(JVPTrace, "process_primitive", process_primitive):
        yield


def _zeros_mutant(what: str, description: str, patch: Patch,
                  transforms: frozenset[str] = DIFFERENTIATING) -> Mutant:
    return Mutant(id=f"zeros/{what}", kind="zeros", description=description, patch=patch,
                  transforms=transforms)


def _function_mutant(module: str, name: str, wrap: Callable[[Callable[..., Any]],
                                                             Callable[..., Any]]) -> Patch:
    @contextlib.contextmanager
    def patch() -> Iterator[None]:
        original = getattr(sys.modules[module], name)
        with function_replaced(original, wrap(original)):
            yield

    return patch


def _add_drops_second(add: Callable[..., Any]) -> Callable[..., Any]:
    from refjax.interp.jvp import Zero

    def mutated(x: Any, y: Any) -> Any:
        return y if isinstance(x, Zero) else x

    return mutated


def _zeros_as_ones(instantiate: Callable[..., Any]) -> Callable[..., Any]:
    from refjax.interp.jvp import Zero

    def mutated(t: Any) -> Any:
        if not isinstance(t, Zero) or t.aval.dtype.name == "float0":
            return instantiate(t)
        from refjax.interp.core import concrete_array

        return concrete_array(np.ones(t.aval.shape, t.aval.dtype), t.aval)

    return mutated


def _float0_everywhere(tangent_aval: Callable[..., Any]) -> Callable[..., Any]:
    def mutated(aval: Any) -> Any:
        from refjax import dtypes

        return aval.update(dtype=dtypes.float0, weak_type=False)

    return mutated


def _no_float0(tangent_aval: Callable[..., Any]) -> Callable[..., Any]:
    def mutated(aval: Any) -> Any:
        return aval

    return mutated


def _zero_cts_skip_any(rule: Rule) -> Rule:
    from refjax.interp.jvp import Zero
    from refjax.interp.transpose import UndefinedPrimal

    def mutated(cts: Sequence[Any], *operands: Any, **params: Any) -> Any:
        if any(isinstance(c, Zero) for c in cts):
            return [Zero(x.aval) if isinstance(x, UndefinedPrimal) else None for x in operands]
        return rule(cts, *operands, **params)

    return mutated


@contextlib.contextmanager
def _every_transpose(wrap: Callable[[Rule], Rule]) -> Iterator[None]:
    rules = rule_tables()["transpose"]
    with contextlib.ExitStack() as stack:
        for prim, rule in list(rules.items()):
            stack.enter_context(replaced(rules, prim, wrap(rule)))
        yield


def zeros_mutants() -> list[Mutant]:
    """Symbolic zeros mishandled by the differentiation machinery."""
    jvp = "refjax.interp.jvp"
    return [
        _zeros_mutant("jvp-rule-skipped-on-any-zero",
                      "a JVP rule is skipped when any operand's tangent is a symbolic zero",
                      _skip_rule_on_any_zero),
        _zeros_mutant("add-tangents-drops-second",
                      "adding two nonzero tangents keeps only the first",
                      _function_mutant(jvp, "add_tangents", _add_drops_second)),
        _zeros_mutant("instantiated-as-ones",
                      "a symbolic zero is materialised as ones",
                      _function_mutant(jvp, "instantiate", _zeros_as_ones)),
        _zeros_mutant("float0-for-floats",
                      "float values get float0 tangents",
                      _function_mutant(jvp, "tangent_aval", _float0_everywhere)),
        _zeros_mutant("no-float0-for-integers",
                      "integer and boolean values get tangents of their own dtype, not float0",
                      _function_mutant(jvp, "tangent_aval", _no_float0)),
        _zeros_mutant("transpose-skipped-on-any-zero-cotangent",
                      "a transpose rule gives zero cotangents when any output's is zero",
                      functools.partial(_every_transpose, _zero_cts_skip_any),
                      frozenset({"Vjp", "Grad"})),
    ]


def catalogue(coverage: Coverage, directory: Path = CASES_DIR) -> list[Mutant]:
    """Every mutant, sorted by id."""
    names = spec_primitives(directory)
    mutants = [*primitive_mutants(coverage, names), *control_flow_mutants(names),
               *api_mutants(), *zeros_mutants()]
    return sorted(mutants, key=lambda m: m.id)


def noop_mutant() -> Mutant:
    """A mutant that changes nothing, through the same machinery (every rule of every table
    wrapped, caches cleared): the spec must *not* kill it."""

    def same(rule: Rule) -> Rule:
        def mutated(*args: Any, **params: Any) -> Any:
            return rule(*args, **params)

        return mutated

    @contextlib.contextmanager
    def patch() -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for rules in rule_tables().values():
                for prim, rule in list(rules.items()):
                    stack.enter_context(replaced(rules, prim, same(rule)))
            yield

    return Mutant(id="noop", kind="noop", description="every rule wrapped, unchanged",
                  patch=patch, transforms=frozenset({"Jit", "Vmap", "EvalShape"} | DIFFERENTIATING))


# ---------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Outcome:
    """What the spec did to one mutant: ``killed`` (by ``case``, ``why``), ``survived`` (``ran``
    cases, none failed) or ``uncovered`` (no case exercises it)."""

    mutant: str
    status: str
    ran: int
    case: str = ""
    why: str = ""
    seconds: float = 0.0


class CaseTimeout(BaseException):  # not an Exception: run_case must not catch it
    """A case ran past its time under a mutant (a loop that never ends)."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise CaseTimeout in the block after ``seconds`` (the main thread only; elsewhere no
    limit)."""
    import threading

    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout(f"no result after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def relevant_cases(mutant: Mutant, cases: Sequence[Case], coverage: Coverage) -> list[Case]:
    """The cases that run what ``mutant`` breaks, in suite order (those passing on refjax as it
    is)."""
    cases = [c for c in cases if c.id not in coverage.failing]
    if mutant.rules:
        ids = coverage.cases_calling(mutant.rules)
        return [c for c in cases if c.id in ids]
    return [c for c in cases if any(type(t).__name__ in mutant.transforms for t in c.transforms)]


def run_mutant(
    mutant: Mutant,
    cases: Sequence[Case],
    adapter: RefjaxAdapter,
    case_timeout: float = CASE_TIMEOUT_S,
) -> Outcome:
    """Run ``cases`` under ``mutant`` until one fails (a case that raises fails)."""
    start = time.perf_counter()

    def outcome(status: str, ran: int, case: str = "", why: str = "") -> Outcome:
        return Outcome(mutant.id, status, ran, case, why, time.perf_counter() - start)

    if not cases:
        return outcome("uncovered", 0)
    clear_caches()
    ran = 0
    try:
        with mutant.patch(), _quiet():
            clear_caches()
            for case in cases:
                ran += 1
                try:
                    with _time_limit(case_timeout):
                        problem = run_case(adapter, case)
                except CaseTimeout as err:
                    problem = str(err)
                except RecursionError as err:
                    problem = f"RecursionError: {err}"
                if problem is not None:
                    return outcome("killed", ran, case.id, problem)
    finally:
        clear_caches()
        adapter.configure(x64=False)
    return outcome("survived", ran)


def read_listed(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """The mutants listed in ``path`` with the reason for each (``id  reason`` lines; a line
    starting with ``#`` is a comment): the equivalent mutants (``mutants_equivalent.txt``), or
    the known gaps, survivors awaiting a case (``mutants_gaps.txt``)."""
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        mutant, _, reason = line.partition(" ")
        out[mutant] = reason.strip()
    return out


@dataclass
class Score:
    """The outcome of a run: score = killed / (total - equivalent)."""

    outcomes: list[Outcome]
    equivalent: dict[str, str]
    gaps: dict[str, str] = field(default_factory=dict)

    @property
    def killed(self) -> list[Outcome]:
        """Killed mutants."""
        return [o for o in self.outcomes if o.status == "killed"]

    @property
    def survivors(self) -> list[Outcome]:
        """Mutants no case killed and not listed as equivalent."""
        return [o for o in self.outcomes
                if o.status != "killed" and o.mutant not in self.equivalent]

    @property
    def new_survivors(self) -> list[Outcome]:
        """Survivors not listed as known gaps either."""
        return [o for o in self.survivors if o.mutant not in self.gaps]

    @property
    def n_equivalent(self) -> int:
        """Mutants listed as equivalent that survived (a killed one was not equivalent)."""
        return sum(1 for o in self.outcomes if o.status != "killed" and o.mutant in self.equivalent)

    @property
    def score(self) -> float:
        """killed / (total - equivalent); 1.0 when nothing counts."""
        counted = len(self.outcomes) - self.n_equivalent
        return len(self.killed) / counted if counted else 1.0


def survivor_lines(score: Score, mutants: dict[str, Mutant]) -> list[str]:
    """One line per survivor: id, status, cases run, what the mutant does."""
    return [f"{o.mutant}  {o.status} ({o.ran} cases)"
            f"{'  [known gap]' if o.mutant in score.gaps else ''}  {mutants[o.mutant].description}"
            for o in score.survivors]


def run(
    mutants: Sequence[Mutant],
    cases: Sequence[Case],
    coverage: Coverage,
    adapter: RefjaxAdapter,
    equivalent: dict[str, str],
    gaps: dict[str, str] | None = None,
    *,
    echo: bool = False,
    jsonl: Path | None = None,
    survivors: Path | None = None,
) -> Score:
    """Run each mutant; print survivors as they come (with ``echo``); write each outcome to
    ``jsonl`` and the survivors so far to ``survivors``."""
    by_id = {m.id: m for m in mutants}
    score = Score([], equivalent, gaps or {})
    sink = jsonl.open("w") if jsonl is not None else None
    try:
        for mutant in mutants:
            outcome = run_mutant(mutant, relevant_cases(mutant, cases, coverage), adapter)
            score.outcomes.append(outcome)
            if sink is not None:
                sink.write(json.dumps({**dataclasses.asdict(outcome), "kind": mutant.kind,
                                       "equivalent": equivalent.get(mutant.id)}) + "\n")
                sink.flush()
            if outcome.status != "killed" and echo:
                mark = ("EQUIVALENT" if mutant.id in equivalent
                        else "KNOWN GAP" if mutant.id in score.gaps else "SURVIVED")
                print(f"{mark} {mutant.id} ({outcome.status}, {outcome.ran} cases): "
                      f"{mutant.description}", flush=True)
            if survivors is not None and outcome.status != "killed":
                survivors.write_text("".join(f"{line}\n"
                                             for line in survivor_lines(score, by_id)))
    finally:
        if sink is not None:
            sink.close()
    if survivors is not None:
        survivors.write_text("".join(f"{line}\n" for line in survivor_lines(score, by_id)))
    return score


def report(score: Score, mutants: Sequence[Mutant], seconds: float) -> str:
    """The closing lines: counts per kind, totals, the score, stale equivalence entries."""
    kinds = {m.id: m.kind for m in mutants}
    lines = []
    for kind in sorted({m.kind for m in mutants}):
        mine = [o for o in score.outcomes if kinds[o.mutant] == kind]
        killed = sum(o.status == "killed" for o in mine)
        equivalent = sum(o.status != "killed" and o.mutant in score.equivalent for o in mine)
        lines.append(f"  {kind}: {len(mine)} mutants, {killed} killed, {equivalent} equivalent, "
                     f"{len(mine) - killed - equivalent} survived")
    for listed, what in ((score.equivalent, "equivalent"), (score.gaps, "known gaps")):
        stale = [o.mutant for o in score.killed if o.mutant in listed]
        if stale:
            lines.append(f"listed as {what} but killed (remove them from the list): "
                         f"{', '.join(stale)}")
    total, n_gaps = len(score.outcomes), len(score.survivors) - len(score.new_survivors)
    lines.append(f"{total} mutants: {len(score.killed)} killed, {score.n_equivalent} "
                 f"equivalent, {len(score.survivors)} survived ({n_gaps} of them known gaps) "
                 f"({seconds:.0f} s)")
    lines.append(f"mutation score {score.score:.4f} = killed / (total - equivalent)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m spec.mutation``: run the catalogue (or a sample) and print the score."""
    parser = argparse.ArgumentParser(prog="python -m spec.mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=None, help="run N mutants drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    parser.add_argument("--only-kind", action="append", default=[], choices=MUTANT_KINDS,
                        help="mutants of this kind only (repeatable)")
    parser.add_argument("--primitive", action="append", default=[],
                        help="mutants of this primitive only (repeatable)")
    parser.add_argument("--mutant", action="append", default=[], help="this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--jsonl", type=Path, default=None, help="write each outcome here")
    parser.add_argument("--survivors", type=Path, default=SURVIVORS_FILE,
                        help=f"keep the survivors so far here ({SURVIVORS_FILE})")
    parser.add_argument("--equivalent", type=Path, default=EQUIVALENT_FILE,
                        help="the list of equivalent mutants")
    parser.add_argument("--gaps", type=Path, default=GAPS_FILE,
                        help="the list of known gaps (survivors awaiting a case)")
    parser.add_argument("--min-score", type=float, default=0.98,
                        help="exit with status 1 below this score (0.98)")
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help="the case directory")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    adapter = RefjaxAdapter("numpy")
    cases = load_cases((), args.cases)
    coverage = record_coverage(adapter, cases)
    mutants = select(catalogue(coverage, args.cases), args.only_kind, args.primitive,
                     args.mutant, args.sample, args.seed)
    if args.list:
        for m in mutants:
            n = len(relevant_cases(m, cases, coverage))
            print(f"{m.id}  ({n} cases)  {m.description}")
        print(f"{len(mutants)} mutants")
        return 0
    print(f"{len(mutants)} mutants, {len(cases)} cases on {adapter.name}", flush=True)
    if coverage.failing:
        print(f"{len(coverage.failing)} cases fail on refjax as it is and are left out:",
              flush=True)
        for case_id, why in sorted(coverage.failing.items()):
            print(f"  {case_id}: {why}", flush=True)
    equivalent, gaps = read_listed(args.equivalent), read_listed(args.gaps)
    score = run(mutants, cases, coverage, adapter, equivalent, gaps, echo=True,
                jsonl=args.jsonl, survivors=args.survivors)
    print(report(score, mutants, time.perf_counter() - start))
    return 0 if score.score >= args.min_score else 1


def select(
    mutants: Sequence[Mutant],
    kinds: Sequence[str] = (),
    primitives: Sequence[str] = (),
    ids: Sequence[str] = (),
    sample: int | None = None,
    seed: int = 0,
) -> list[Mutant]:
    """The mutants of ``kinds``, of ``primitives``, named in ``ids`` (each filter when given);
    then ``sample`` of them drawn with ``seed`` (in id order)."""
    out = [
        m for m in mutants
        if (not kinds or m.kind in kinds)
        and (not primitives or m.primitive in primitives)
        and (not ids or m.id in ids)
    ]
    if sample is not None and sample < len(out):
        out = sorted(random.Random(seed).sample(out, sample), key=lambda m: m.id)
    return out


if __name__ == "__main__":
    sys.exit(main())
