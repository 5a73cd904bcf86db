"""``refjax.scipy.optimize.minimize`` against ``jax.scipy.optimize.minimize`` (JAX 0.10.2): BFGS
and the experimental L-BFGS on the Rosenbrock function and on quadratics from several starting
points, where JAX converges and where its line search fails; every field of the results (point,
value, gradient, inverse Hessian, status, success, iteration and evaluation counts) with its
dtype, in float64 and float32; ``jit``, ``vmap`` over starting points, extra ``args``, options,
and JAX's errors. The quadratics' minimizers are also checked against ``numpy.linalg.solve``."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
import refjax.scipy.optimize as ropt
from tests.errors import raised
from tests.oracle import enable_x64, jax, jnp, lazy

jopt: Any = lazy("jax.scipy.optimize")

BFGS = "BFGS"
LBFGS = "l-bfgs-experimental-do-not-rely-on-this"
A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
B = np.array([1.0, -2.0, 0.5])

Objective = Callable[[ModuleType], Callable[..., Any]]


def rosen(m: ModuleType) -> Callable[..., Any]:
    """The Rosenbrock function in ``len(x)`` dimensions."""
    return lambda x: m.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def quadratic(m: ModuleType) -> Callable[..., Any]:
    """``x A x / 2 - b x``, minimal at ``A^-1 b``."""
    return lambda x: 0.5 * x @ (A.astype(x.dtype) @ x) - B.astype(x.dtype) @ x


def quadratic_args(m: ModuleType) -> Callable[..., Any]:
    """The quadratic with ``A`` and ``b`` passed through ``args``."""
    return lambda x, a, b: 0.5 * m.dot(x, m.dot(a, x)) - m.dot(b, x)


CASES: list[tuple[str, Objective, list[float], str]] = [
    ("rosen converges", rosen, [0.5, 0.5], BFGS),
    ("rosen converges 2", rosen, [1.2, 1.2], BFGS),
    ("rosen converges 3", rosen, [2.0, 2.0], BFGS),
    ("rosen 3d", rosen, [0.8, 1.2, 0.9], BFGS),
    ("rosen line search fails", rosen, [-1.2, 1.0], BFGS),
    ("rosen from 0", rosen, [0.0, 0.0], BFGS),
    ("rosen 5d", rosen, [1.3, 0.7, 0.8, 1.9, 1.2], BFGS),
    ("quadratic", quadratic, [1.0, 1.0, 1.0], BFGS),
    ("quadratic far", quadratic, [5.0, -3.0, 2.0], BFGS),
    ("quadratic at minimum", quadratic, list(np.linalg.solve(A, B)), BFGS),
    ("lbfgs rosen", rosen, [1.2, 1.2], LBFGS),
    ("lbfgs rosen fails", rosen, [0.5, 0.5], LBFGS),
    ("lbfgs rosen 5d", rosen, [1.3, 0.7, 0.8, 1.9, 1.2], LBFGS),
    ("lbfgs quadratic", quadratic, [1.0, 1.0, 1.0], LBFGS),
    ("lbfgs quadratic far", quadratic, [5.0, -3.0, 2.0], LBFGS),
]


def assert_results_match(ours: Any, theirs: Any, *, exact_counts: bool, rtol: float,
                         atol: float) -> None:
    """Same fields, dtypes and shapes; counts and flags equal (not compared in float32); the
    arrays within the tolerances."""
    assert type(ours).__name__ == "OptimizeResults"
    assert ours._fields == theirs._fields
    for name, o, t in zip(ours._fields, ours, theirs, strict=True):
        if t is None:
            assert o is None, name
            continue
        o_arr, t_arr = np.asarray(o), np.asarray(t)
        assert o_arr.dtype == t_arr.dtype and o_arr.shape == t_arr.shape, name
        if name in ("success", "status"):
            # (in float32 a last-bit difference in the arithmetic, as between the numpy and
            # OpenCL backends, can move a run across the line search's stopping tests: the
            # point reached is compared below, the flags only in float64)
            if exact_counts:
                assert o_arr.tolist() == t_arr.tolist(), (name, o_arr, t_arr)
        elif name in ("nit", "nfev", "njev"):
            if exact_counts:  # (float32: see the flags above; the point reached is what counts)
                assert int(o_arr) == int(t_arr), (name, o_arr, t_arr)
        else:  # the inverse Hessian estimate accumulates float32 roundings fastest
            scale = 10.0 if name == "hess_inv" and not exact_counts else 1.0
            np.testing.assert_allclose(o_arr, t_arr, rtol=rtol * scale, atol=atol * scale,
                                       err_msg=name)


@pytest.mark.parametrize("objective,x0,method", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_minimize_matches_jax_in_float64(objective: Objective, x0: list[float], method: str
                                         ) -> None:
    with enable_x64():
        start = np.array(x0, np.float64)
        ours = ropt.minimize(objective(rnp), start, method=method)
        theirs = jopt.minimize(objective(jnp), start, method=method)
        assert_results_match(ours, theirs, exact_counts=True, rtol=1e-7, atol=1e-9)


F32_CASES = [c for c in CASES if c[0] in ("rosen converges", "rosen converges 2",
                                            "rosen line search fails", "quadratic",
                                            "quadratic far", "lbfgs rosen",
                                            "lbfgs quadratic far")]


@pytest.mark.parametrize("objective,x0,method", [c[1:] for c in F32_CASES],
                         ids=[c[0] for c in F32_CASES])
def test_minimize_matches_jax_in_float32(objective: Objective, x0: list[float], method: str
                                         ) -> None:
    start = np.array(x0, np.float32)
    ours = ropt.minimize(objective(rnp), start, method=method)
    theirs = jopt.minimize(objective(jnp), start, method=method)
    assert_results_match(ours, theirs, exact_counts=False, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("method", [BFGS, LBFGS])
def test_quadratic_minimum_is_the_linear_solution(method: str) -> None:
    with enable_x64():
        result = ropt.minimize(quadratic(rnp), np.array([4.0, 4.0, -4.0]), method=method)
    assert bool(result.success)
    # gtol = 1e-5 bounds the gradient, so x is within about 1e-5 of the minimum
    np.testing.assert_allclose(np.asarray(result.x), np.linalg.solve(A, B), rtol=1e-4)
    np.testing.assert_allclose(np.asarray(result.jac), 0, atol=1e-5)
    if method == BFGS:  # the inverse Hessian estimate approaches A^-1
        np.testing.assert_allclose(np.asarray(result.hess_inv), np.linalg.inv(A), atol=1e-2)


# Each option is a whole minimization on both sides: two run in make test, the rest under
# -m slow (make test-slow).
_OPTIONS: list[tuple[str, dict[str, float] | None]] = [
    ("bfgs", {"maxiter": 3}), (LBFGS, {"maxcor": 2}), ("bfgs", None), ("bfgs", {"gtol": 1e-2}),
    ("bfgs", {"norm": 2}), ("bfgs", {"line_search_maxiter": 2}), (LBFGS, {"maxiter": 2}),
    (LBFGS, {"maxfun": 4}), (LBFGS, {"ftol": 1e-3}),
]


@pytest.mark.parametrize(
    "method, options",
    [*_OPTIONS[:2], *(pytest.param(*mo, marks=pytest.mark.slow) for mo in _OPTIONS[2:])],
)
def test_args_and_options_match_jax(method: str, options: dict[str, float] | None) -> None:
    with enable_x64():
        if method == "bfgs":
            x0 = np.array([1.0, 1.0, 1.0])
            ours = ropt.minimize(quadratic_args(rnp), x0, (A, B), method=method, options=options)
            theirs = jopt.minimize(quadratic_args(jnp), x0, (A, B), method=method,
                                   options=options)
        else:
            ours = ropt.minimize(rosen(rnp), np.array([1.2, 1.2]), method=method, options=options)
            theirs = jopt.minimize(rosen(jnp), np.array([1.2, 1.2]), method=method,
                                   options=options)
        assert_results_match(ours, theirs, exact_counts=True, rtol=1e-7, atol=1e-9)


def test_jit_matches_eager_and_jax() -> None:
    with enable_x64():
        x0 = np.array([0.5, 0.5])

        def solve(m: ModuleType, minimize: Callable[..., Any]) -> Callable[..., Any]:
            return lambda x: tuple(minimize(rosen(m), x, method=BFGS))

        ours = refjax.jit(solve(rnp, ropt.minimize))(x0)
        eager = solve(rnp, ropt.minimize)(x0)
        theirs = jax.jit(solve(jnp, jopt.minimize))(x0)
        for o, e, t in zip(ours, eager, theirs, strict=True):
            np.testing.assert_array_equal(np.asarray(o), np.asarray(e))
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-7, atol=1e-9)


def test_vmap_over_starting_points_matches_a_loop_and_jax() -> None:
    with enable_x64():
        starts = np.array([[1.0, 1.0, 1.0], [5.0, -3.0, 2.0], [0.0, 0.5, -1.0]])
        ours = refjax.vmap(lambda x: tuple(ropt.minimize(quadratic(rnp), x, method=BFGS)))(
            starts)
        theirs = jax.vmap(lambda x: tuple(jopt.minimize(quadratic(jnp), x, method=BFGS)))(
            starts)
        for i, start in enumerate(starts):
            single = ropt.minimize(quadratic(rnp), start, method=BFGS)
            for name, o, s in zip(single._fields, ours, single, strict=True):
                np.testing.assert_allclose(np.asarray(o)[i], np.asarray(s), rtol=1e-10,
                                           atol=1e-12, err_msg=name)
        for o, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-7, atol=1e-9)


def test_results_type_matches_jax() -> None:
    assert ropt.OptimizeResults._fields == jopt.OptimizeResults._fields


ERRORS: list[tuple[str, Callable[[ModuleType, Any], Any]]] = [
    ("unknown method", lambda m, f: m.minimize(f, np.ones(2, np.float32), method="nelder-mead")),
    ("args not a tuple", lambda m, f: m.minimize(f, np.ones(2, np.float32), [1], method=BFGS)),
    ("unknown option", lambda m, f: m.minimize(f, np.ones(2, np.float32), method=BFGS,
                                               options={"bogus": 1})),
    ("no method", lambda m, f: m.minimize(f, np.ones(2, np.float32))),
    ("vector output", lambda m, f: m.minimize(lambda x: x * 2, np.ones(2, np.float32),
                                              method=BFGS)),
]


@pytest.mark.parametrize("call", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_jax(call: Callable[[ModuleType, Any], Any]) -> None:
    err = raised(lambda: call(jopt, rosen(jnp)))
    raised(lambda: call(ropt, rosen(rnp)), type(err))
