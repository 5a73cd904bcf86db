"""Checking derivatives numerically: ``check_grads``, ``check_jvp``, ``check_vjp`` (as JAX's).

``check_jvp`` compares a JVP with central finite differences along a random tangent;
``check_vjp`` checks the transposition identity ``<t, vjp(c)> == <jvp(t), c>`` with the JVP
taken numerically; ``check_grads`` applies both recursively up to ``order``. Tolerances default
to JAX's gradient tolerances by dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from refjax import api, dtypes, tree_util
from refjax.interp.core import NDArray
from refjax.tree_util import PyTree

EPS: Final = 1e-4

DEFAULT_GRADIENT_TOLERANCE: Final[dict[np.dtype[Any], float]] = {
    np.dtype(np.float16): 1e-2,
    np.dtype(np.float32): 2e-3,
    np.dtype(np.float64): 1e-5,
    np.dtype(np.complex64): 1e-3,
    np.dtype(np.complex128): 1e-5,
}


def _tolerance(value: Any, given: float | None) -> float:
    if given is not None:
        return given
    dtype = np.asarray(value).dtype
    return DEFAULT_GRADIENT_TOLERANCE.get(dtype, 0.0)


def check_close(actual: PyTree, expected: PyTree, atol: float | None = None,
                rtol: float | None = None, err_msg: str = "") -> None:
    """Assert two pytrees of arrays are equal within tolerances chosen by dtype."""
    a_leaves, a_tree = tree_util.tree_flatten(actual)
    e_leaves, e_tree = tree_util.tree_flatten(expected)
    if a_tree != e_tree:
        raise AssertionError(f"{err_msg}: tree structures differ: {a_tree} vs {e_tree}")
    for a, e in zip(a_leaves, e_leaves, strict=True):
        a_np, e_np = np.asarray(a), np.asarray(e)
        if a_np.dtype == dtypes.float0 or e_np.dtype == dtypes.float0:
            continue
        tol_a = _tolerance(a_np, atol)
        tol_r = _tolerance(a_np, rtol)
        np.testing.assert_allclose(
            a_np.astype(np.result_type(a_np, e_np)), e_np, atol=tol_a, rtol=tol_r,
            err_msg=err_msg,
        )


def _rand_like(rng: np.random.RandomState, tree: PyTree) -> PyTree:
    """Random normal values shaped like ``tree``'s float leaves; float0 zeros for the others."""

    def one(x: Any) -> NDArray:
        value = np.asarray(x)
        if not dtypes.is_float(value.dtype):
            return np.zeros(value.shape, dtypes.float0)
        out = rng.standard_normal(value.shape)
        if value.dtype.kind == "c":
            out = out + 1j * rng.standard_normal(value.shape)
        return np.asarray(out, dtype=value.dtype)

    return tree_util.tree_map(one, tree)


def _axpy(a: float, x: PyTree, y: PyTree) -> PyTree:
    """``a * x + y`` leafwise on host arrays (float0 leaves pass through ``y``)."""

    def one(xi: Any, yi: Any) -> NDArray:
        xv, yv = np.asarray(xi), np.asarray(yi)
        if xv.dtype == dtypes.float0:
            return yv
        return np.asarray(a * xv + yv, dtype=yv.dtype)

    return tree_util.tree_map(one, x, y)


def numerical_jvp(f: Callable[..., PyTree], primals: Sequence[Any], tangents: Sequence[Any],
                  eps: float = EPS) -> PyTree:
    """The JVP of ``f`` by central differences: ``(f(x + eps t) - f(x - eps t)) / (2 eps)``."""
    plus = f(*_axpy(eps, tuple(tangents), tuple(primals)))
    minus = f(*_axpy(-eps, tuple(tangents), tuple(primals)))

    def diff(p: Any, m: Any) -> NDArray:
        pv, mv = np.asarray(p), np.asarray(m)
        if not dtypes.is_float(pv.dtype):
            return np.zeros(pv.shape, dtypes.float0)
        return np.asarray((pv - mv) / (2 * eps), dtype=pv.dtype)

    return tree_util.tree_map(diff, plus, minus)


def _conj(tree: PyTree) -> PyTree:
    """Complex conjugate of every complex leaf (others unchanged)."""

    def one(x: Any) -> Any:
        value = np.asarray(x)
        return np.conj(value) if value.dtype.kind == "c" else x

    return tree_util.tree_map(one, tree)


def _inner(x: PyTree, y: PyTree) -> float:
    total = 0.0
    for a, b in zip(tree_util.tree_leaves(x), tree_util.tree_leaves(y), strict=True):
        av, bv = np.asarray(a), np.asarray(b)
        if av.dtype == dtypes.float0 or bv.dtype == dtypes.float0:
            continue
        total += float(np.real(np.vdot(av.astype(np.complex128), bv.astype(np.complex128))))
    return total


def check_jvp(f: Callable[..., PyTree], f_jvp: Callable[..., Any], args: Sequence[Any],
              atol: float | None = None, rtol: float | None = None, eps: float = EPS,
              err_msg: str = "") -> None:
    """Check ``f_jvp(primals, tangents)`` against ``f`` and central finite differences."""
    rng = np.random.RandomState(0)
    tangent = _rand_like(rng, tuple(args))
    v_out, t_out = f_jvp(tuple(args), tangent)
    check_close(v_out, f(*args), atol, rtol, f"{err_msg} primal")
    expected = numerical_jvp(f, args, tangent, eps)
    check_close(t_out, expected, atol, rtol, f"{err_msg} tangent")


def check_vjp(f: Callable[..., PyTree], f_vjp: Callable[..., Any], args: Sequence[Any],
              atol: float | None = None, rtol: float | None = None, eps: float = EPS,
              err_msg: str = "") -> None:
    """Check ``f_vjp`` by the transposition identity against a numerical JVP."""
    rng = np.random.RandomState(0)
    v_out, vjp_fun = f_vjp(*args)
    check_close(v_out, f(*args), atol, rtol, f"{err_msg} primal")
    tangent = _rand_like(rng, tuple(args))
    tangent_out = numerical_jvp(f, args, tangent, eps)
    cotangent = _rand_like(rng, v_out)
    # conj(vjp(conj(c))): the pullback of a holomorphic function, as JAX's check_vjp takes it
    cotangent_out = _conj(vjp_fun(_conj(cotangent)))
    ip = _inner(tangent, cotangent_out)
    ip_expected = _inner(tangent_out, cotangent)
    leaves = [x for x in tree_util.tree_leaves(v_out) if dtypes.is_float(np.asarray(x).dtype)]
    tol = _tolerance(leaves[0], atol) if leaves else 0.0
    scale = max(1.0, abs(ip_expected))
    if abs(ip - ip_expected) > tol * scale * 10:
        raise AssertionError(
            f"{err_msg} VJP transposition identity: <t, vjp(c)> = {ip} but <jvp(t), c> = "
            f"{ip_expected}"
        )


def check_grads(f: Callable[..., PyTree], args: Sequence[Any], order: int,
                modes: Sequence[str] = ("fwd", "rev"), atol: float | None = None,
                rtol: float | None = None, eps: float | None = None) -> None:
    """Check ``f``'s derivatives up to ``order`` in forward and/or reverse mode numerically."""
    step = EPS if eps is None else eps

    def recurse(fun: Callable[..., PyTree], fun_args: tuple[Any, ...], k: int, msg: str) -> None:
        if "fwd" in modes:
            fwd_msg = f"JVP of {msg}" if msg else "JVP"
            check_jvp(fun, functools.partial(api.jvp, fun), fun_args, atol, rtol, step, fwd_msg)
            if k > 1:
                recurse(functools.partial(api.jvp, fun), (fun_args, fun_args), k - 1, fwd_msg)
        if "rev" in modes:
            rev_msg = f"VJP of {msg}" if msg else "VJP"
            check_vjp(fun, functools.partial(api.vjp, fun), fun_args, atol, rtol, step, rev_msg)
            if k > 1:

                def f_vjp(*a: Any) -> Any:
                    out, pullback = api.vjp(fun, *a)
                    return pullback(out)

                recurse(f_vjp, fun_args, k - 1, rev_msg)

    recurse(f, tuple(args), order, "")
