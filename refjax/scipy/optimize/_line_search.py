"""An inexact line search satisfying the strong Wolfe conditions (JAX's
``jax/_src/scipy/optimize/line_search.py``): Wright and Nocedal, 'Numerical Optimization',
1999, algorithms 3.5 and 3.6 (zoom), written with ``lax.while_loop`` and selects instead of
branches, so that it runs under ``jit`` and ``vmap``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from refjax import dtypes, lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_dtypes_inexact
from refjax.numpy._util import where_ as _where
from refjax.scipy.optimize._autodiff import value_and_grad

__all__ = ["LineSearchResults", "line_search"]

Scalar = ArrayLike


def _dot(a: ArrayLike, b: ArrayLike) -> Array:
    out: Array = jnp.dot(a, b, precision=lax.Precision.HIGHEST)
    return out


def init_carry(value: bool | float) -> Array:
    """A loop carry's initial Python scalar as the array ``while_loop`` makes of it."""
    return jnp.asarray(value)


def _cubicmin(a: Array, fa: Array, fpa: Array, b: Array, fb: Array, c: Array,
              fc: Array) -> Array:
    """The minimizer of the cubic through (a, fa), (b, fb), (c, fc) with slope fpa at a."""
    dtype = dtypes.result_type(a, fa, fpa, b, fb, c, fc)
    big_c = fpa
    db = b - a
    dc = c - a
    denom = (db * dc) ** 2 * (db - dc)
    d1 = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]], dtype=dtype)
    d2 = jnp.array([fb - fa - big_c * db, fc - fa - big_c * dc], dtype=dtype)
    big_a, big_b = _dot(d1, d2) / denom
    radical = big_b * big_b - 3.0 * big_a * big_c
    xmin: Array = a + (-big_b + jnp.sqrt(radical)) / (3.0 * big_a)
    return xmin


def _quadmin(a: Array, fa: Array, fpa: Array, b: Array, fb: Array) -> Array:
    """The minimizer of the quadratic through (a, fa), (b, fb) with slope fpa at a."""
    d = fa
    c = fpa
    db = b - a
    big_b = (fb - d - c * db) / (db**2)
    xmin: Array = a - c / (2.0 * big_b)
    return xmin


def _binary_replace(replace_bit: Array, original: Mapping[str, Any], new: Mapping[str, Any],
                    keys: list[str] | None = None) -> dict[str, Array]:
    """``new[key]`` where ``replace_bit`` holds, else ``original[key]``, for each key."""
    chosen = list(new.keys()) if keys is None else keys
    return {key: _where(replace_bit, new[key], original[key]) for key in chosen}


class _ZoomState(NamedTuple):
    done: Array
    failed: Array
    j: Array
    a_lo: Array
    phi_lo: Array
    dphi_lo: Array
    a_hi: Array
    phi_hi: Array
    dphi_hi: Array
    a_rec: Array
    phi_rec: Array
    a_star: Array
    phi_star: Array
    dphi_star: Array
    g_star: Array
    nfev: Array
    ngev: Array


FuncAndGrad = Callable[[ArrayLike], tuple[Array, Array, Array]]
WolfeOne = Callable[[Array, Array], Array]
WolfeTwo = Callable[[Array], Array]


def _zoom(restricted_func_and_grad: FuncAndGrad, wolfe_one: WolfeOne, wolfe_two: WolfeTwo,
          a_lo: Array, phi_lo: Array, dphi_lo: Array, a_hi: Array, phi_hi: Array,
          dphi_hi: Array,
          g_0: Array, pass_through: Array) -> _ZoomState:
    """Shrink [a_lo, a_hi] to a step satisfying the strong Wolfe conditions, by cubic, then
    quadratic interpolation, then bisection (Wright and Nocedal's algorithm 3.6)."""
    state = _ZoomState(
        done=init_carry(False), failed=init_carry(False), j=init_carry(0),
        a_lo=a_lo, phi_lo=phi_lo, dphi_lo=dphi_lo,
        a_hi=a_hi, phi_hi=phi_hi, dphi_hi=dphi_hi,
        a_rec=(a_lo + a_hi) / 2.0, phi_rec=(phi_lo + phi_hi) / 2.0,
        a_star=init_carry(1.0), phi_star=phi_lo, dphi_star=dphi_lo, g_star=g_0,
        nfev=init_carry(0), ngev=init_carry(0),
    )  # fmt: skip
    delta1 = 0.2
    delta2 = 0.1

    def body(state: _ZoomState) -> _ZoomState:
        dalpha = state.a_hi - state.a_lo
        a = jnp.minimum(state.a_hi, state.a_lo)
        b = jnp.maximum(state.a_hi, state.a_lo)
        cchk = delta1 * dalpha
        qchk = delta2 * dalpha
        # a bracket this small stops the search, failed: the Wolfe conditions do not hold
        threshold = _where(dtypes.finfo(dalpha.dtype).bits < 64, 1e-5, 1e-10)
        state = state._replace(failed=state.failed | (dalpha <= threshold))
        # the cubic's minimizer may be NaN; the bounds checks then reject it
        a_j_cubic = _cubicmin(state.a_lo, state.phi_lo, state.dphi_lo, state.a_hi,
                              state.phi_hi, state.a_rec, state.phi_rec)
        use_cubic = (state.j > 0) & (a_j_cubic > a + cchk) & (a_j_cubic < b - cchk)
        a_j_quad = _quadmin(state.a_lo, state.phi_lo, state.dphi_lo, state.a_hi, state.phi_hi)
        use_quad = (~use_cubic) & (a_j_quad > a + qchk) & (a_j_quad < b - qchk)
        a_j_bisection = (state.a_lo + state.a_hi) / 2.0
        use_bisection = (~use_cubic) & (~use_quad)
        a_j = _where(use_cubic, a_j_cubic, state.a_rec)
        a_j = _where(use_quad, a_j_quad, a_j)
        a_j = _where(use_bisection, a_j_bisection, a_j)
        phi_j, dphi_j, g_j = restricted_func_and_grad(a_j)
        phi_j = phi_j.astype(state.phi_lo.dtype)
        dphi_j = dphi_j.astype(state.dphi_lo.dtype)
        g_j = g_j.astype(state.g_star.dtype)
        state = state._replace(nfev=state.nfev + 1, ngev=state.ngev + 1)
        hi_to_j = wolfe_one(a_j, phi_j) | (phi_j >= state.phi_lo)
        star_to_j = wolfe_two(dphi_j) & (~hi_to_j)
        hi_to_lo = (dphi_j * (state.a_hi - state.a_lo) >= 0.0) & (~hi_to_j) & (~star_to_j)
        lo_to_j = (~hi_to_j) & (~star_to_j)
        state = state._replace(**_binary_replace(hi_to_j, state._asdict(), dict(
            a_hi=a_j, phi_hi=phi_j, dphi_hi=dphi_j, a_rec=state.a_hi, phi_rec=state.phi_hi)))
        state = state._replace(done=star_to_j | state.done, **_binary_replace(
            star_to_j, state._asdict(),
            dict(a_star=a_j, phi_star=phi_j, dphi_star=dphi_j, g_star=g_j)))
        state = state._replace(**_binary_replace(hi_to_lo, state._asdict(), dict(
            a_hi=state.a_lo, phi_hi=state.phi_lo, dphi_hi=state.dphi_lo, a_rec=state.a_hi,
            phi_rec=state.phi_hi)))
        state = state._replace(**_binary_replace(lo_to_j & ~hi_to_lo, state._asdict(), dict(
            a_rec=state.a_lo, phi_rec=state.phi_lo)))
        state = state._replace(**_binary_replace(lo_to_j, state._asdict(), dict(
            a_lo=a_j, phi_lo=phi_j, dphi_lo=dphi_j)))
        state = state._replace(j=state.j + 1)
        # a higher cap than SciPy's, as JAX
        return state._replace(failed=state.failed | (state.j >= 30))

    out: _ZoomState = lax.while_loop(
        lambda state: (~state.done) & (~pass_through) & (~state.failed), body, state)
    return out


class _LineSearchState(NamedTuple):
    done: Array
    failed: Array
    i: Array
    a_i1: Array
    phi_i1: Array
    dphi_i1: Array
    nfev: Array
    ngev: Array
    a_star: Array
    phi_star: Array
    dphi_star: Array
    g_star: Array


class LineSearchResults(NamedTuple):
    """What the line search found.

    Parameters:
      failed: whether the strong Wolfe conditions could not be satisfied.
      nit: the number of iterations.
      nfev: the number of function evaluations.
      ngev: the number of gradient evaluations.
      k: the final iteration counter.
      a_k: the step size.
      f_k: the function's value at the step.
      g_k: its gradient there.
      status: 0 when it passed, 1 when zoom failed, 3 when it ran out of iterations.
    """

    failed: Array
    nit: Array
    nfev: Array
    ngev: Array
    k: Array
    a_k: Array
    f_k: Array
    g_k: Array
    status: Array


def line_search(f: Callable[[Array], ArrayLike], xk: ArrayLike, pk: ArrayLike,
                old_fval: ArrayLike | None = None, old_old_fval: ArrayLike | None = None,
                gfk: ArrayLike | None = None, c1: float = 1e-4, c2: float = 0.9,
                maxiter: int = 20) -> LineSearchResults:
    """A step along ``pk`` from ``xk`` satisfying the strong Wolfe conditions with constants
    ``c1`` and ``c2`` (at most ``maxiter`` doublings of the trial step); ``old_fval`` and
    ``gfk`` save the evaluation at ``xk``, and ``old_old_fval`` sets the first trial step as
    SciPy does."""
    xk_arr, pk_arr = promote_dtypes_inexact(xk, pk)

    def restricted_func_and_grad(t: ArrayLike) -> tuple[Array, Array, Array]:
        t_arr = jnp.array(t, dtype=pk_arr.dtype)
        phi, g = value_and_grad(f)(xk_arr + t_arr * pk_arr)
        dphi = jnp.real(_dot(g, pk_arr))
        return phi, dphi, g

    if old_fval is None or gfk is None:
        phi_0, dphi_0, gfk_arr = restricted_func_and_grad(0)
    else:
        phi_0 = jnp.asarray(old_fval)
        gfk_arr = jnp.asarray(gfk)
        dphi_0 = jnp.real(_dot(gfk_arr, pk_arr))
    start_value: ArrayLike
    if old_old_fval is not None:
        candidate_start_value = 1.01 * 2 * (phi_0 - old_old_fval) / dphi_0
        start_value = _where(candidate_start_value > 1, 1.0, candidate_start_value)
    else:
        start_value = 1

    def wolfe_one(a_i: Array, phi_i: Array) -> Array:
        """The negation of the sufficient decrease condition."""
        out: Array = phi_i > phi_0 + c1 * a_i * dphi_0
        return out

    def wolfe_two(dphi_i: Array) -> Array:
        """The curvature condition."""
        out: Array = jnp.abs(dphi_i) <= -c2 * dphi_0
        return out

    evaluated = old_fval is None or gfk is None
    state = _LineSearchState(
        done=jnp.array(False, dtype=bool),
        failed=jnp.array(False, dtype=bool),
        # from 1 as in Wright and Nocedal (SciPy starts at 0: scipy/scipy#12157)
        i=init_carry(1),
        a_i1=init_carry(0.0), phi_i1=phi_0, dphi_i1=dphi_0,
        nfev=init_carry(1 if evaluated else 0), ngev=init_carry(1 if evaluated else 0),
        a_star=init_carry(0.0), phi_star=phi_0, dphi_star=dphi_0, g_star=gfk_arr,
    )  # fmt: skip

    def body(state: _LineSearchState) -> _LineSearchState:
        # no amax: the step doubles, as in SciPy; the next trial step is chosen first
        a_i = _where(state.i == 1, start_value, state.a_i1 * 2.0)
        phi_i, dphi_i, g_i = restricted_func_and_grad(a_i)
        state = state._replace(nfev=state.nfev + 1, ngev=state.ngev + 1)
        star_to_zoom1 = wolfe_one(a_i, phi_i) | ((phi_i >= state.phi_i1) & (state.i > 1))
        star_to_i = wolfe_two(dphi_i) & (~star_to_zoom1)
        star_to_zoom2 = (dphi_i >= 0.0) & (~star_to_zoom1) & (~star_to_i)
        zoom1 = _zoom(restricted_func_and_grad, wolfe_one, wolfe_two, state.a_i1,
                      state.phi_i1, state.dphi_i1, a_i, phi_i, dphi_i, gfk_arr, ~star_to_zoom1)
        state = state._replace(nfev=state.nfev + zoom1.nfev, ngev=state.ngev + zoom1.ngev)
        zoom2 = _zoom(restricted_func_and_grad, wolfe_one, wolfe_two, a_i, phi_i, dphi_i,
                      state.a_i1, state.phi_i1, state.dphi_i1, gfk_arr, ~star_to_zoom2)
        state = state._replace(nfev=state.nfev + zoom2.nfev, ngev=state.ngev + zoom2.ngev)
        keys = ["a_star", "phi_star", "dphi_star", "g_star"]
        state = state._replace(
            done=star_to_zoom1 | state.done,
            failed=(star_to_zoom1 & zoom1.failed) | state.failed,
            **_binary_replace(star_to_zoom1, state._asdict(), zoom1._asdict(), keys=keys))
        state = state._replace(done=star_to_i | state.done, **_binary_replace(
            star_to_i, state._asdict(),
            dict(a_star=a_i, phi_star=phi_i, dphi_star=dphi_i, g_star=g_i)))
        state = state._replace(
            done=star_to_zoom2 | state.done,
            failed=(star_to_zoom2 & zoom2.failed) | state.failed,
            **_binary_replace(star_to_zoom2, state._asdict(), zoom2._asdict(), keys=keys))
        return state._replace(i=state.i + 1, a_i1=a_i, phi_i1=phi_i, dphi_i1=dphi_i)

    state = lax.while_loop(
        lambda state: (~state.done) & (state.i <= maxiter) & (~state.failed), body, state)
    status = _where(state.failed, jnp.array(1),  # zoom failed
                    _where(state.i > maxiter, jnp.array(3),  # maxiter reached
                           jnp.array(0)))  # passed
    # Steps too small get the optimizer stuck in under 64 bits: a floor on the step size.
    alpha_k = jnp.asarray(state.a_star)
    alpha_k = _where((dtypes.finfo(alpha_k.dtype).bits != 64) & (jnp.abs(alpha_k) < 1e-8),
                     jnp.sign(alpha_k) * 1e-8, alpha_k)
    return LineSearchResults(
        failed=state.failed | (~state.done),
        nit=state.i - 1,  # iterations start at 1
        nfev=state.nfev,
        ngev=state.ngev,
        k=state.i,
        a_k=alpha_k,
        f_k=state.phi_star,
        g_k=state.g_star,
        status=status,
    )


