"""The Broyden-Fletcher-Goldfarb-Shanno minimization algorithm (JAX's
``jax/_src/scipy/optimize/bfgs.py``): Wright and Nocedal, 'Numerical Optimization', 1999,
algorithm 6.1, as one ``lax.while_loop``."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import where_ as _where
from refjax.scipy.optimize._autodiff import value_and_grad
from refjax.scipy.optimize._line_search import init_carry, line_search

__all__ = ["BFGSResults", "minimize_bfgs"]


class BFGSResults(NamedTuple):
    """The state and results of BFGS.

    Parameters:
      converged: whether the gradient's norm fell below ``gtol``.
      failed: whether the line search failed.
      k: the number of iterations.
      nfev: the number of function evaluations.
      ngev: the number of gradient evaluations.
      nhev: the number of Hessian evaluations (0).
      x_k: the last point.
      f_k: the function's value there.
      g_k: its gradient there.
      H_k: the estimate of the inverse Hessian.
      old_old_fval: the function's value at the point before.
      status: 0 converged, 1 out of iterations, 2 + the line search's status when it failed,
        -1 otherwise.
      line_search_status: the last line search's status.
    """

    converged: Array
    failed: Array
    k: Array
    nfev: Array
    ngev: Array
    nhev: Array
    x_k: Array
    f_k: Array
    g_k: Array
    H_k: Array
    old_old_fval: Array
    status: Array
    line_search_status: Array


def _dot(a: ArrayLike, b: ArrayLike) -> Array:
    out: Array = jnp.dot(a, b, precision=lax.Precision.HIGHEST)
    return out


def _einsum(subscripts: str, *operands: ArrayLike) -> Array:
    out: Array = jnp.einsum(subscripts, *operands, precision=lax.Precision.HIGHEST)
    return out


def minimize_bfgs(fun: Callable[[Array], ArrayLike], x0: Array, maxiter: int | None = None,
                  norm: float = np.inf, gtol: float = 1e-5,
                  line_search_maxiter: int = 10) -> BFGSResults:
    """Minimize ``fun`` from ``x0`` (a vector) by BFGS: until the ``norm`` of the gradient is
    below ``gtol``, a line search fails, or ``maxiter`` iterations (``200 * x0.size``)."""
    if maxiter is None:
        maxiter = int(np.size(x0)) * 200
    d = x0.shape[0]
    initial_h = jnp.eye(d, dtype=x0.dtype)
    f_0, g_0 = value_and_grad(fun)(x0)
    state = BFGSResults(
        converged=jnp.linalg.norm(g_0, ord=norm) < gtol,
        failed=init_carry(False),
        k=init_carry(0),
        nfev=init_carry(1),
        ngev=init_carry(1),
        nhev=init_carry(0),
        x_k=x0,
        f_k=f_0,
        g_k=g_0,
        H_k=initial_h,
        old_old_fval=f_0 + jnp.linalg.norm(g_0) / 2,
        status=init_carry(0),
        line_search_status=init_carry(0),
    )

    def cond_fun(state: BFGSResults) -> Array:
        out: Array = (jnp.logical_not(state.converged) & jnp.logical_not(state.failed)
                      & (state.k < maxiter))
        return out

    def body_fun(state: BFGSResults) -> BFGSResults:
        p_k = -_dot(state.H_k, state.g_k)
        ls = line_search(fun, state.x_k, p_k, old_fval=state.f_k,
                         old_old_fval=state.old_old_fval, gfk=state.g_k,
                         maxiter=line_search_maxiter)
        state = state._replace(nfev=state.nfev + ls.nfev, ngev=state.ngev + ls.ngev,
                               failed=ls.failed, line_search_status=ls.status)
        s_k = ls.a_k * p_k
        x_kp1 = state.x_k + s_k
        f_kp1 = ls.f_k
        g_kp1 = ls.g_k
        y_k = g_kp1 - state.g_k
        rho_k = jnp.reciprocal(_dot(y_k, s_k))
        sy_k = s_k[:, np.newaxis] * y_k[np.newaxis, :]
        w = jnp.eye(d, dtype=rho_k.dtype) - rho_k * sy_k
        h_kp1 = (_einsum("ij,jk,lk", w, state.H_k, w)
                 + rho_k * s_k[:, np.newaxis] * s_k[np.newaxis, :])
        h_kp1 = _where(jnp.isfinite(rho_k), h_kp1, state.H_k)
        converged = jnp.linalg.norm(g_kp1, ord=norm) < gtol
        return state._replace(converged=converged, k=state.k + 1, x_k=x_kp1, f_k=f_kp1,
                              g_k=g_kp1, H_k=h_kp1, old_old_fval=state.f_k)

    state = lax.while_loop(cond_fun, body_fun, state)
    status = _where(
        state.converged,
        0,  # converged
        _where(state.k == maxiter,
               1,  # out of iterations
               _where(state.failed,
                      2 + state.line_search_status,  # the line search failed (+ why)
                      -1)),  # undefined
    )
    out: BFGSResults = state._replace(status=status)
    return out
