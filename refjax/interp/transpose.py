"""Transposition: the backward pass over a linear jaxpr, and the transpose rule table.

A linear jaxpr maps tangents to tangents. Its transpose maps output cotangents to input
cotangents: walk the equations backwards, and for each equation call its primitive's transpose
rule with the equation's output cotangents and its inputs, where each linear input is an
:class:`UndefinedPrimal` marker and each other input is its (known) value. ``vjp`` is
``linearize`` followed by this pass, as in JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from refjax.errors import missing_rule_message
from refjax.interp.ad_util import add_any_p
from refjax.interp.core import (
    Array,
    ArrayLike,
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Literal,
    ParamValue,
    Primitive,
    ShapedArray,
    Var,
    as_array,
    safe_zip,
)
from refjax.interp.jvp import Tangent, Zero, add_tangents, defjvp, deflinear_jvp, instantiate
from refjax.interp.staging import trace_to_jaxpr


@dataclass(frozen=True, slots=True)
class UndefinedPrimal:
    """Marks a linear input of an equation being transposed: its value is not known."""

    aval: ShapedArray


Cotangent: TypeAlias = Tangent
# rule(cotangents, *operands, **params) -> one cotangent (or None) per operand; ``cotangents``
# has one entry per output, whether the primitive has one result or several.
TransposeRule: TypeAlias = Callable[..., Sequence["Cotangent | None"]]
# rule(cotangent, x, y, **params) -> the cotangent of the linear one of x and y
BilinearRule: TypeAlias = Callable[..., "Cotangent"]
transpose_rules: dict[Primitive, TransposeRule] = {}


def deftranspose(prim: Primitive, fn: Callable[..., Sequence[Cotangent | None]]) -> None:
    """Register ``fn(ct, *operands, **params)`` as the transpose of the single-result ``prim``
    (its JVP is registered apart), skipping zero cotangents."""

    def rule(
        cts: Sequence[Cotangent], *operands: ArrayLike | UndefinedPrimal, **params: ParamValue
    ) -> Sequence[Cotangent | None]:
        (ct,) = cts
        if isinstance(ct, Zero):
            return [_zero_ct(x) for x in operands]
        return fn(ct, *operands, **params)

    transpose_rules[prim] = rule


def deflinear(prim: Primitive, fn: Callable[..., Sequence[Cotangent | None]]) -> None:
    """A primitive linear in all its operands: its JVP applies it to the tangents, and
    ``fn(ct, **params)`` (which needs no operand) is its transpose, as JAX's ``ad.deflinear``."""
    deflinear_jvp(prim)
    deftranspose(prim, lambda ct, *operands, **params: fn(ct, **params))


def deflinear2(prim: Primitive, fn: Callable[..., Sequence[Cotangent | None]]) -> None:
    """A primitive linear in all its operands: its JVP applies it to the tangents, and
    ``fn(ct, *operands, **params)`` is its transpose, as JAX's ``ad.deflinear2``."""
    deflinear_jvp(prim)
    deftranspose(prim, fn)


def defbilinear(prim: Primitive, lhs_rule: BilinearRule, rhs_rule: BilinearRule) -> None:
    """A primitive linear in each of its two operands (``x * y``, ``x . y``), as JAX's
    ``ad.defbilinear``: its JVP is ``prim(tx, y) + prim(x, ty)``, and its transpose gives the
    cotangent of the one linear operand, ``lhs_rule(ct, x, y, **params)`` for ``x`` or
    ``rhs_rule(ct, x, y, **params)`` for ``y``; the other operand must be known."""

    def lhs_jvp(t: Array, x: ArrayLike, y: ArrayLike, **params: ParamValue) -> Array:
        return prim.bind(t, y, **params)

    def rhs_jvp(t: Array, x: ArrayLike, y: ArrayLike, **params: ParamValue) -> Array:
        return prim.bind(x, t, **params)

    def transpose(
        ct: Cotangent, x: ArrayLike | UndefinedPrimal, y: ArrayLike | UndefinedPrimal,
        **params: ParamValue,
    ) -> Sequence[Cotangent | None]:
        if isinstance(x, UndefinedPrimal) and isinstance(y, UndefinedPrimal):
            raise RuntimeError(
                f"nonlinear {prim.name} can't be transposed: both operands are linear"
            )
        if isinstance(x, UndefinedPrimal):
            return [lhs_rule(ct, x, y, **params), None]
        return [None, rhs_rule(ct, x, y, **params)]

    defjvp(prim, lhs_jvp, rhs_jvp)
    deftranspose(prim, transpose)


def _add_any_transpose(
    ct: Cotangent, x: ArrayLike | UndefinedPrimal, y: ArrayLike | UndefinedPrimal
) -> Sequence[Cotangent | None]:
    return [ct, ct]


deflinear2(add_any_p, _add_any_transpose)


def _zero_ct(x: ArrayLike | UndefinedPrimal) -> Cotangent | None:
    return Zero(x.aval) if isinstance(x, UndefinedPrimal) else None


def transpose_rule(prim: Primitive) -> TransposeRule:
    """The transpose rule of ``prim``, or JAX's NotImplementedError naming it."""
    try:
        return transpose_rules[prim]
    except KeyError:
        raise NotImplementedError(missing_rule_message(prim.name, "transpose")) from None


def backward_pass(
    jaxpr: Jaxpr,
    consts: Sequence[ArrayLike],
    args: Sequence[ArrayLike | UndefinedPrimal],
    cotangents_out: Sequence[Cotangent],
) -> list[Cotangent]:
    """Cotangents of the undefined inputs of ``jaxpr`` (Zero where none flows back)."""
    known: dict[Var, ArrayLike] = {}
    for var, val in safe_zip(jaxpr.constvars, consts):
        known[var] = val
    linear: set[Var] = set()
    for var, arg in safe_zip(jaxpr.invars, args):
        if isinstance(arg, UndefinedPrimal):
            linear.add(var)
        else:
            known[var] = arg
    linear_eqns = _forward_known(jaxpr, known, linear)

    cts: dict[Var, Cotangent] = {}
    for out, ct in safe_zip(list(jaxpr.outvars), list(cotangents_out)):
        if isinstance(out, Var) and out in linear:
            cts[out] = add_tangents(cts.get(out, Zero(out.aval)), ct)
    for eqn in reversed(linear_eqns):
        cts_out = [cts.pop(v, Zero(v.aval)) for v in eqn.outvars]
        if all(isinstance(c, Zero) for c in cts_out):
            continue
        operands = [_operand(a, known, linear) for a in eqn.invars]
        cts_in = transpose_rule(eqn.primitive)(cts_out, *operands, **eqn.params)
        for atom, ct_in in safe_zip(list(eqn.invars), list(cts_in)):
            if isinstance(atom, Var) and atom in linear and ct_in is not None:
                cts[atom] = add_tangents(cts.get(atom, Zero(atom.aval)), ct_in)
    return [
        cts.get(v, Zero(v.aval))
        for v, a in zip(jaxpr.invars, args, strict=True)
        if isinstance(a, UndefinedPrimal)
    ]


def _operand(
    atom: Atom, known: dict[Var, ArrayLike], linear: set[Var]
) -> ArrayLike | UndefinedPrimal:
    if isinstance(atom, Literal):
        return atom.val
    if atom in linear:
        return UndefinedPrimal(atom.aval)
    return known[atom]


def _forward_known(
    jaxpr: Jaxpr, known: dict[Var, ArrayLike], linear: set[Var]
) -> list[JaxprEqn]:
    """Evaluate the equations that don't depend on linear inputs; return the linear ones."""
    linear_eqns: list[JaxprEqn] = []
    for eqn in jaxpr.eqns:
        if any(isinstance(a, Var) and a in linear for a in eqn.invars):
            linear.update(eqn.outvars)
            linear_eqns.append(eqn)
            continue
        vals = [a.val if isinstance(a, Literal) else known[a] for a in eqn.invars]
        outs = eqn.primitive.bind_all(*vals, **eqn.params)
        for var, out in safe_zip(list(eqn.outvars), outs):
            known[var] = out
    return linear_eqns


# ---------------------------------------------------------------------------------------------
# Transforming whole jaxprs (used by the rules of higher-order primitives)


@functools.lru_cache(maxsize=1024)
def transpose_jaxpr(closed: ClosedJaxpr, undefined: tuple[bool, ...]) -> ClosedJaxpr:
    """Maps (defined inputs, output cotangents) to the cotangents of the undefined inputs."""
    defined_avals = [a for a, u in zip(closed.in_avals, undefined, strict=True) if not u]
    n_defined = len(defined_avals)

    def fn(*args: ArrayLike) -> list[ArrayLike]:
        defined, cts = iter(args[:n_defined]), list(args[n_defined:])
        operands = [
            UndefinedPrimal(a) if u else next(defined)
            for a, u in zip(closed.in_avals, undefined, strict=True)
        ]
        cts_in = backward_pass(closed.jaxpr, closed.consts, operands, [as_array(c) for c in cts])
        return [instantiate(c) for c in cts_in]

    return trace_to_jaxpr(fn, [*defined_avals, *closed.out_avals])
