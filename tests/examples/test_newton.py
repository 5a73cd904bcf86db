"""examples/newton.py: Newton's method in float64 against SciPy, closed forms and real JAX."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import partial
from typing import Any

import newton as ex
import numpy as np
import pytest

import refjax
from tests.oracle import enable_x64, jax
from tests.tolerances import COMPOSITE, F64, SAMPLER_ATOL, SAMPLER_RTOL

N, D, LAM = 60, 4, 1e-2
SCIPY_TOL = 1e-8  # SciPy's BFGS stops at a gradient norm of 1e-12, the minimiser ~1e-9 from it
QUADRATIC = 20.0  # |g_k+1| <= QUADRATIC |g_k|^2 near the minimiser (observed: about 5)


@pytest.fixture
def x64_both() -> Iterator[None]:
    """64-bit mode in refjax and, if installed, in JAX (restored after the test)."""
    with enable_x64():
        yield


def logistic(lib: Any, seed: int = 0) -> tuple[Any, Any, Any]:
    """The logistic problem made with ``lib`` from ``seed``: its loss (of ``w``), xs and ys."""
    xs, ys = ex.make_data(lib.random.key(seed), N, D, lib)
    return partial(ex.logistic_loss, xs=xs, ys=ys, lam=LAM, lib=lib), xs, ys


def assert_quadratic(history: list[ex.Iterate]) -> None:
    """The gradient norm falls to the tolerance, squaring from step to step at the end."""
    norms = [it.grad_norm for it in history]
    assert norms[-1] < 1e-10
    near = [(a, b) for a, b in itertools.pairwise(norms) if a < 1e-2 and b > 1e-14]
    assert near, norms
    for a, b in near:
        assert b <= QUADRATIC * a * a, norms


def test_logistic_matches_scipy(backend: str, x64_both: None) -> None:
    f, xs, ys = logistic(refjax)
    w0 = refjax.numpy.zeros(D, "float64")
    w, history = ex.newton(f, w0)
    assert np.asarray(w).dtype == np.float64
    assert_quadratic(history)
    assert all(b.loss <= a.loss for a, b in itertools.pairwise(history))
    np.testing.assert_allclose(w, ex.scipy_minimiser(xs, ys, LAM, w0), rtol=0, atol=SCIPY_TOL)


def test_hessian_and_gradient_in_closed_form(x64_both: None) -> None:
    """Logistic loss: gradient X^T (p - y) / n + lam w; hessian X^T diag(p (1-p)) X / n + lam I."""
    f, xs, ys = logistic(refjax)
    x, y = np.asarray(xs), np.asarray(ys)
    w = np.linspace(-1.0, 1.0, D)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    hessian = x.T @ (x * (p * (1 - p))[:, None]) / N + LAM * np.eye(D)
    np.testing.assert_allclose(refjax.hessian(f)(w), hessian, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(refjax.grad(f)(w), ex.numpy_logistic(w, x, y, LAM)[1],
                               rtol=1e-13, atol=1e-15)


def test_same_program_in_jax(x64_both: None) -> None:
    """Same seed: the same data (up to XLA's erf_inv), the same Newton iterates and minimiser."""
    f, xs, ys = logistic(refjax)
    _, jxs, jys = logistic(jax)
    np.testing.assert_array_equal(np.asarray(ys), np.asarray(jys))
    np.testing.assert_allclose(np.asarray(xs), np.asarray(jxs),
                               rtol=SAMPLER_RTOL["normal"][F64], atol=SAMPLER_ATOL[F64])
    # On the same arrays, step for step.
    same = partial(ex.logistic_loss, xs=np.asarray(xs), ys=np.asarray(ys), lam=LAM, lib=jax)
    w, history = ex.newton(f, np.zeros(D))
    jw, jhistory = ex.newton(same, jax.numpy.zeros(D), lib=jax)
    assert len(history) == len(jhistory)
    tol = COMPOSITE[F64]
    np.testing.assert_allclose([it.loss for it in history], [it.loss for it in jhistory],
                               rtol=tol)
    np.testing.assert_allclose(w, jw, rtol=tol, atol=tol)
    assert np.asarray(jw).dtype == np.float64


def test_rosenbrock_reaches_its_minimiser(x64_both: None) -> None:
    w, history = ex.newton(ex.rosenbrock, refjax.numpy.asarray([-1.2, 1.0]))
    np.testing.assert_allclose(w, np.ones(2), rtol=0, atol=1e-12)
    assert history[0].loss == pytest.approx(24.2)  # 100 (1 - 1.44)^2 + 2.2^2, by hand
    # Pure Newton on this badly scaled valley: the gradient norm jumps about (the hessian's
    # condition number is ~2500 at the minimiser), but the loss falls ~quadratically at the end.
    assert len(history) <= 10
    assert history[-2].loss < 1e-18 and history[-3].loss < 1e-9


def test_x64_is_restored() -> None:
    assert not refjax.config.jax_enable_x64
    with ex.x64():
        assert refjax.config.jax_enable_x64
        assert refjax.numpy.zeros(2).dtype == np.float64
    assert not refjax.config.jax_enable_x64


@pytest.mark.parametrize("problem", ["logistic", "rosenbrock"])
def test_main(problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert ex.main(["--backend", "numpy", "--problem", problem, "--examples", "50"]) == 0
    out = capsys.readouterr().out
    assert "float64" in out
    assert "agrees with the independent answer" in out
    assert not refjax.config.jax_enable_x64
