"""``minimize``: SciPy's interface to the optimizers (JAX's
``jax/_src/scipy/optimize/minimize.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from refjax import numpy as jnp
from refjax.interp.core import Array
from refjax.scipy.optimize._bfgs import minimize_bfgs
from refjax.scipy.optimize._lbfgs import minimize_lbfgs

__all__ = ["OptimizeResults", "minimize"]


class OptimizeResults(NamedTuple):
    """What ``minimize`` found.

    Parameters:
      x: the final point.
      success: whether the optimization succeeded.
      status: the solver's end state: 0 converged, 1 out of iterations, 3 zoom failed,
        4 saddle point reached, 5 out of line search iterations, -1 undefined.
      fun: the function's value at ``x``.
      jac: its gradient there.
      hess_inv: the estimate of the inverse Hessian (None for L-BFGS).
      nfev: the number of function evaluations.
      njev: the number of gradient evaluations.
      nit: the number of iterations.
    """

    x: Array
    success: bool | Array
    status: int | Array
    fun: Array
    jac: Array
    hess_inv: Array | None
    nfev: int | Array
    njev: int | Array
    nit: int | Array


def minimize(
    fun: Callable[..., Any],
    x0: Array,
    args: tuple[Any, ...] = (),
    *,
    method: str,
    tol: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> OptimizeResults:
    """Minimize ``fun(x, *args)``, a real scalar function of a vector ``x``, from ``x0``.

    As JAX's: ``method`` is required, ``"BFGS"`` (or the experimental
    ``"l-bfgs-experimental-do-not-rely-on-this"``); gradients come from automatic
    differentiation; ``tol`` is accepted and unused (the methods' ``options`` set tolerances:
    ``maxiter``, ``norm``, ``gtol``, ``line_search_maxiter`` for BFGS); it runs under ``jit``.
    """
    if options is None:
        options = {}
    if not isinstance(args, tuple):
        raise TypeError(
            f"args argument to jax.scipy.optimize.minimize must be a tuple, got {args}"
        )

    def fun_with_args(x: Array) -> Any:
        return fun(x, *args)

    if method.lower() == "bfgs":
        results = minimize_bfgs(fun_with_args, x0, **options)
        success = results.converged & jnp.logical_not(results.failed)
        return OptimizeResults(x=results.x_k, success=success, status=results.status,
                               fun=results.f_k, jac=results.g_k, hess_inv=results.H_k,
                               nfev=results.nfev, njev=results.ngev, nit=results.k)
    if method.lower() == "l-bfgs-experimental-do-not-rely-on-this":
        lresults = minimize_lbfgs(fun_with_args, x0, **options)
        success = lresults.converged & jnp.logical_not(lresults.failed)
        return OptimizeResults(x=lresults.x_k, success=success, status=lresults.status,
                               fun=lresults.f_k, jac=lresults.g_k, hess_inv=None,
                               nfev=lresults.nfev, njev=lresults.ngev, nit=lresults.k)
    raise ValueError(f"Method {method} not recognized")
