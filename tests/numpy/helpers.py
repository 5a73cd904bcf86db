"""Shared checks for the ``refjax.numpy`` tests: refjax against real JAX and numpy.

``check(f, *args)`` runs ``f(refjax.numpy, *args)`` and ``f(jax.numpy, *args)`` on the same
inputs and compares every output leaf: shape, dtype, weak type and values. If JAX raises, refjax
must raise an exception of the same class. ``prim_names`` flattens a jaxpr (inlining JAX's ``jit``
and ``custom_jvp_call`` sub-jaxprs) into the sequence of primitive names, skipping equations whose
inputs are all constants (JAX stages those, refjax folds them), so both sides compare.

``jax`` and ``jnp`` are real JAX, imported on first use (``tests.oracle``): without JAX, the
tests that compare with it skip and those against numpy (``check_numpy``) still run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import refjax
import refjax.numpy as rnp
from tests.errors import raised
from tests.oracle import jax, jnp
from tests.tolerances import composite_tol

__all__ = ["assert_same", "assert_values", "check", "check_numpy", "inner_jaxpr", "jax",
           "jax_prim_names", "jnp", "leaves", "refjax_prim_names"]


def leaves(x: Any) -> list[Any]:
    """The arrays of a (nested) tuple or list result."""
    if isinstance(x, (tuple, list)):
        return [leaf for item in x for leaf in leaves(item)]
    return [x]


def assert_same(ours: Any, theirs: Any, tol: float | None = None) -> None:
    """Same structure, shapes, dtypes, weak types and (within ``tol``) values."""
    ours_l, theirs_l = leaves(ours), leaves(theirs)
    assert len(ours_l) == len(theirs_l), (len(ours_l), len(theirs_l))
    for o, t in zip(ours_l, theirs_l, strict=True):
        assert isinstance(o, refjax.Array), type(o)
        assert o.shape == t.shape, (o.shape, t.shape)
        assert o.dtype == t.dtype, (o.dtype, t.dtype)
        assert o.weak_type == t.weak_type, ("weak_type", o.weak_type, t.weak_type)
        assert_values(np.asarray(o), np.asarray(t), tol)


def assert_values(actual: np.ndarray, expected: np.ndarray, tol: float | None = None) -> None:
    """Equal for exact dtypes; close (NaNs equal) for inexact ones."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if actual.dtype.kind in "biu" and expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected)
        return
    tol = composite_tol(actual.dtype) if tol is None else tol
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, equal_nan=True)


def check(f: Callable[..., Any], *args: Any, tol: float | None = None) -> Any:
    """``f(refjax.numpy, *args)`` matches ``f(jax.numpy, *args)`` (or both raise alike)."""
    try:
        theirs = f(jnp, *args)
    except Exception as err:  # any JAX error must be mirrored
        raised(lambda: f(rnp, *args), type(err))
        return None
    ours = f(rnp, *args)
    assert_same(ours, theirs, tol)
    return ours


def check_numpy(f: Callable[..., Any], *args: Any, tol: float | None = None) -> None:
    """``f(refjax.numpy, *args)`` has numpy's values (computed in float64 where inexact)."""
    ours = leaves(f(rnp, *args))
    wide = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in args]
    expected = leaves(f(np, *wide))
    assert len(ours) == len(expected)
    for o, e in zip(ours, expected, strict=True):
        actual = np.asarray(o)
        e = np.asarray(e)
        if actual.dtype.kind == "f" and e.dtype.kind == "f":
            e = e.astype(actual.dtype)
        assert_values(actual, e, tol)


# ---------------------------------------------------------------------------------------------
# jaxpr comparison


def _is_const(atom: Any, consts: set[int]) -> bool:
    return not hasattr(atom, "count") and (type(atom).__name__ == "Literal" or id(atom) in consts)


def _jax_flat(jaxpr: Any, const_ids: set[int], out: list[str]) -> None:
    """Primitive names of a JAX jaxpr with calls inlined and constant equations folded."""
    from jax.extend import core as jcore

    for var in jaxpr.constvars:
        const_ids.add(id(var))
    for eqn in jaxpr.eqns:
        inner = inner_jaxpr(eqn)
        all_const = all(isinstance(a, jcore.Literal) or id(a) in const_ids for a in eqn.invars)
        if inner is not None:
            inner_consts = set(const_ids)
            for outer, var in zip(eqn.invars, inner.invars, strict=True):
                if isinstance(outer, jcore.Literal) or id(outer) in const_ids:
                    inner_consts.add(id(var))
            _jax_flat(inner, inner_consts, out)
            for inner_out, outer_out in zip(inner.outvars, eqn.outvars, strict=True):
                if isinstance(inner_out, jcore.Literal) or id(inner_out) in inner_consts:
                    const_ids.add(id(outer_out))
            continue
        if all_const:
            const_ids.update(id(v) for v in eqn.outvars)
            continue
        out.append(eqn.primitive.name)


def inner_jaxpr(eqn: Any) -> Any:
    """The sub-jaxpr of a JAX call equation (jit, custom_jvp_call ...), else None."""
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        sub = eqn.params.get(key)
        if sub is not None and eqn.primitive.name in ("pjit", "jit", "custom_jvp_call",
                                                       "custom_vjp_call", "closed_call"):
            return getattr(sub, "jaxpr", sub)
    return None


def jax_prim_names(fun: Callable[..., Any], *args: Any) -> list[str]:
    """The primitive names of ``jax.make_jaxpr(fun)(*args)``, flattened and folded."""
    closed = jax.make_jaxpr(fun)(*args)
    out: list[str] = []
    _jax_flat(closed.jaxpr, set(), out)
    return out


def refjax_prim_names(fun: Callable[..., Any], *args: Any) -> list[str]:
    """The primitive names of ``refjax.make_jaxpr(fun)(*args)``, flattened through calls
    (jit, custom_jvp_call, custom_vjp_call) as :func:`jax_prim_names`, constants folded."""
    closed = refjax.make_jaxpr(fun)(*args)
    out: list[str] = []
    _refjax_flat(closed.jaxpr, {id(v) for v in closed.jaxpr.constvars}, out)
    return out


def _refjax_flat(jaxpr: Any, consts: set[int], out: list[str]) -> None:
    from refjax.interp.core import Literal

    def known(a: Any) -> bool:
        return isinstance(a, Literal) or id(a) in consts

    for eqn in jaxpr.eqns:
        inner = next((eqn.params[k] for k in ("jaxpr", "call_jaxpr") if k in eqn.params), None)
        if inner is not None and eqn.primitive.name in ("jit", "custom_jvp_call",
                                                         "custom_vjp_call"):
            inner = getattr(inner, "jaxpr", inner)
            inner_consts = {id(v) for v in inner.constvars}
            n_extra = len(eqn.invars) - len(inner.invars)  # leading consts of the call, if any
            for outer, var in zip(eqn.invars[n_extra:], inner.invars, strict=True):
                if known(outer):
                    inner_consts.add(id(var))
            _refjax_flat(inner, inner_consts, out)
            for inner_out, outer_out in zip(inner.outvars, eqn.outvars, strict=True):
                if isinstance(inner_out, Literal) or id(inner_out) in inner_consts:
                    consts.add(id(outer_out))
            continue
        if all(known(a) for a in eqn.invars):
            consts.update(id(v) for v in eqn.outvars)
            continue
        out.append(eqn.primitive.name)


def _aval_key(atom: Any) -> tuple[Any, ...]:
    aval = atom.aval
    return (tuple(aval.shape), str(aval.dtype), bool(getattr(aval, "weak_type", False)))


def call_tree(jaxpr: Any) -> list[Any]:
    """The named calls of a jaxpr (JAX's or refjax's), nested: for each ``jit`` equation its
    name, its operands' and results' (shape, dtype, weak type), and the calls in its body;
    custom_jvp/custom_vjp calls are looked through. What JAX's jit wrappers of library
    functions make of a program, to compare with refjax's."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    out: list[Any] = []
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name in ("jit", "pjit"):
            body = eqn.params["jaxpr"]
            out.append((eqn.params["name"], [_aval_key(a) for a in eqn.invars],
                        [_aval_key(v) for v in eqn.outvars], call_tree(body)))
        elif name in ("custom_jvp_call", "custom_vjp_call"):
            out.append((name, call_tree(eqn.params["call_jaxpr"])))
        else:
            for value in eqn.params.values():  # the bodies of control flow
                for sub in value if isinstance(value, tuple) else (value,):
                    if hasattr(sub, "eqns") or hasattr(getattr(sub, "jaxpr", None), "eqns"):
                        out.extend(call_tree(sub))
    return out
