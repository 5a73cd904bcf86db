"""The limited-memory BFGS algorithm (JAX's experimental ``_lbfgs.py``): Wright and Nocedal,
'Numerical Optimization', 1999, algorithm 7.5, generalized to complex variables (Sorber, Barel
and Lathauwer, 2012), as one ``lax.while_loop``."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike, get_aval
from refjax.numpy._util import where_ as _where
from refjax.scipy.optimize._autodiff import value_and_grad
from refjax.scipy.optimize._line_search import init_carry, line_search

__all__ = ["LBFGSResults", "minimize_lbfgs"]


def _dot(a: ArrayLike, b: ArrayLike) -> Array:
    out: Array = jnp.dot(a, b, precision=lax.Precision.HIGHEST)
    return out


class LBFGSResults(NamedTuple):
    """The state and results of L-BFGS.

    Parameters:
      converged: whether the gradient's norm fell below ``gtol``.
      failed: whether it stopped (non-zero status) without converging.
      k: the number of iterations.
      nfev: the number of function evaluations.
      ngev: the number of gradient evaluations.
      x_k: the last point.
      f_k: the function's value there.
      g_k: its gradient there.
      s_history, y_history, rho_history: the last ``maxcor`` steps, gradient changes and
        their inverse inner products.
      gamma: the scale of the initial inverse Hessian.
      status: 0 nominal, 1 out of iterations, 2 out of function evaluations, 3 out of
        gradient evaluations, 4 insufficient progress (``ftol``), 5 the line search failed.
      ls_status: the last line search's status.
    """

    converged: Array
    failed: Array
    k: Array
    nfev: Array
    ngev: Array
    x_k: Array
    f_k: Array
    g_k: Array
    s_history: Array
    y_history: Array
    rho_history: Array
    gamma: Array
    status: Array
    ls_status: Array


def minimize_lbfgs(fun: Callable[[Array], ArrayLike], x0: Array, maxiter: float | None = None,
                   norm: float = np.inf, maxcor: int = 10, ftol: float = 2.220446049250313e-09,
                   gtol: float = 1e-05, maxfun: float | None = None,
                   maxgrad: float | None = None, maxls: int = 20) -> LBFGSResults:
    """Minimize ``fun`` from ``x0`` (a vector) by L-BFGS with ``maxcor`` corrections, until
    the ``norm`` of the gradient is below ``gtol`` or a limit is reached (``maxiter``,
    ``maxfun``, ``maxgrad``; ``200 * len(x0)`` iterations when none is given)."""
    d = len(x0)
    dtype = get_aval(x0).dtype
    if maxiter is None and maxfun is None and maxgrad is None:
        maxiter = d * 200
    max_iterations = np.inf if maxiter is None else maxiter
    max_fun = np.inf if maxfun is None else maxfun
    max_grad = np.inf if maxgrad is None else maxgrad
    f_0, g_0 = value_and_grad(fun)(x0)
    state_initial = LBFGSResults(
        converged=jnp.array(False, dtype=bool),
        failed=jnp.array(False, dtype=bool),
        k=init_carry(0), nfev=init_carry(1), ngev=init_carry(1),
        x_k=x0, f_k=f_0, g_k=g_0,
        s_history=jnp.zeros((maxcor, d), dtype=dtype),
        y_history=jnp.zeros((maxcor, d), dtype=dtype),
        rho_history=jnp.zeros((maxcor,), dtype=dtype),
        gamma=init_carry(1.0), status=init_carry(0), ls_status=init_carry(0),
    )  # fmt: skip

    def cond_fun(state: LBFGSResults) -> Array:
        out: Array = (~state.converged) & (~state.failed)
        return out

    def body_fun(state: LBFGSResults) -> LBFGSResults:
        p_k = _two_loop_recursion(state)
        ls = line_search(f=fun, xk=state.x_k, pk=p_k, old_fval=state.f_k, gfk=state.g_k,
                         maxiter=maxls)
        s_k = jnp.asarray(ls.a_k).astype(p_k.dtype) * p_k
        x_kp1 = state.x_k + s_k
        f_kp1 = ls.f_k
        g_kp1 = ls.g_k
        y_k = g_kp1 - state.g_k
        rho_k_inv = jnp.real(_dot(y_k, s_k))
        rho_k = jnp.reciprocal(rho_k_inv).astype(y_k.dtype)
        gamma = rho_k_inv / jnp.real(_dot(jnp.conj(y_k), y_k))
        status = jnp.array(0)
        status = _where(state.f_k - f_kp1 < ftol, 4, status)
        status = _where(state.ngev >= max_grad, 3, status)
        status = _where(state.nfev >= max_fun, 2, status)
        status = _where(state.k >= max_iterations, 1, status)
        status = _where(ls.failed, 5, status)
        converged = jnp.linalg.norm(g_kp1, ord=norm) < gtol
        return state._replace(
            converged=converged,
            failed=(status > 0) & (~converged),
            k=state.k + 1,
            nfev=state.nfev + ls.nfev,
            ngev=state.ngev + ls.ngev,
            x_k=x_kp1.astype(state.x_k.dtype),
            f_k=f_kp1.astype(state.f_k.dtype),
            g_k=g_kp1.astype(state.g_k.dtype),
            s_history=_update_history_vectors(state.s_history, s_k),
            y_history=_update_history_vectors(state.y_history, y_k),
            rho_history=_update_history_scalars(state.rho_history, rho_k),
            gamma=gamma.astype(state.g_k.dtype),
            status=_where(converged, 0, status),
            ls_status=ls.status,
        )

    out: LBFGSResults = lax.while_loop(cond_fun, body_fun, state_initial)
    return out


def _two_loop_recursion(state: LBFGSResults) -> Array:
    """The search direction ``-H_k g_k`` from the stored corrections."""
    dtype = state.rho_history.dtype
    his_size = len(state.rho_history)
    curr_size = _where(state.k < his_size, state.k, his_size)
    q = -jnp.conj(state.g_k)
    a_his = jnp.zeros_like(state.rho_history)

    def body_fun1(j: Array, carry: tuple[Array, Array]) -> tuple[Array, Array]:
        i = his_size - 1 - j
        q_, a_his_ = carry
        a_i = state.rho_history[i] * _dot(jnp.conj(state.s_history[i]), q_).real.astype(dtype)
        a_his_ = a_his_.at[i].set(a_i)
        q_ = q_ - a_i * jnp.conj(state.y_history[i])
        return q_, a_his_

    q, a_his = lax.fori_loop(0, curr_size, body_fun1, (q, a_his))
    q = state.gamma * q

    def body_fun2(j: Array, q_: Array) -> Array:
        i = his_size - curr_size + j
        b_i = state.rho_history[i] * _dot(state.y_history[i], q_).real.astype(dtype)
        out: Array = q_ + (a_his[i] - b_i) * state.s_history[i]
        return out

    out: Array = lax.fori_loop(0, curr_size, body_fun2, q)
    return out


def _update_history_vectors(history: Array, new: Array) -> Array:
    """The rows shifted up by one, ``new`` last."""
    out: Array = jnp.roll(history, -1, axis=0).at[-1, :].set(new)
    return out


def _update_history_scalars(history: Array, new: Array) -> Array:
    """The entries shifted by one, ``new`` last."""
    out: Array = jnp.roll(history, -1, axis=0).at[-1].set(new)
    return out

