"""The distributions and sample statistics added to ``refjax.scipy.stats`` (betabinom, binom,
chi2, dirichlet, gennorm, geom, gumbel_l, gumbel_r, multinomial, nbinom, pareto, truncnorm,
vonmises, wrapcauchy; mode, rankdata, sem) against ``jax.scipy.stats`` (JAX 0.10.2).

Values on grids with edge inputs (outside the support, invalid parameters, NaN), with shapes,
dtypes and weak types, in float32 and float64; SciPy as an independent float64 reference;
gradients against JAX's; ``vmap`` against a loop; ``jit`` against eager; JAX's errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
import refjax.scipy.stats as rst
from tests.errors import raised
from tests.numpy.helpers import assert_same
from tests.oracle import enable_x64, jax, jnp, lazy
from tests.scipy.test_stats import check_st

jst: Any = lazy("jax.scipy.stats")
scipy_stats: Any = lazy("scipy.stats")

Fn = Callable[..., Any]




def both_dtypes(f: Fn, *args: np.ndarray, tol32: float = 2e-5, tol64: float = 1e-12) -> None:
    """:func:`check_st` in float32, then in float64 with 64-bit mode on."""
    check_st(f, *(a.astype(np.float32) if a.dtype.kind == "f" else a for a in args), tol=tol32)
    with enable_x64():
        check_st(f, *(a.astype(np.float64) if a.dtype.kind == "f" else a for a in args),
                 tol=tol64)


X = np.array([-np.inf, -3.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.7, 6.0, 20.0, np.inf, np.nan])
K = np.array([-1.0, 0.0, 1.0, 2.0, 2.5, 3.0, 5.0, 9.0, np.nan])
P = np.array([-0.1, 0.0, 0.2, 0.5, 0.9, 1.0, 1.2])[:, None]
SHAPE = np.array([-1.0, 0.0, 0.5, 1.0, 2.5])[:, None]

CONTINUOUS: dict[str, tuple[list[str], Fn]] = {
    "chi2": (["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"],
             lambda f, x, s: f(x, s, 0.5, 1.5)),
    "gennorm": (["logpdf", "pdf", "cdf"], lambda f, x, s: f(x, s)),
    "gumbel_l": (["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"],
                 lambda f, x, s: f(x, 0.3, s)),
    "gumbel_r": (["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"],
                 lambda f, x, s: f(x, 0.3, s)),
    "pareto": (["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"],
               lambda f, x, s: f(x, s, 0.5, 1.5)),
    "vonmises": (["logpdf", "pdf"], lambda f, x, s: f(x, s)),
    "wrapcauchy": (["logpdf", "pdf"], lambda f, x, s: f(x, s / 3)),
}


@pytest.mark.parametrize("dist,fn", [(d, f) for d, (fs, _) in CONTINUOUS.items() for f in fs],
                         ids=[f"{d}.{f}" for d, (fs, _) in CONTINUOUS.items() for f in fs])
def test_continuous_distributions_match_jax(dist: str, fn: str) -> None:
    call = CONTINUOUS[dist][1]
    both_dtypes(lambda m, x, s: call(getattr(getattr(m, dist), fn), x, s), X, SHAPE,
                tol32=1e-5, tol64=1e-11)


@pytest.mark.parametrize("dist", ["gumbel_l", "gumbel_r", "pareto"])
def test_quantile_functions_match_jax(dist: str) -> None:
    args = (np.array(2.0),) if dist == "pareto" else ()
    both_dtypes(lambda m, p: getattr(m, dist).ppf(p, *args), P.ravel())
    both_dtypes(lambda m, p, s: getattr(m, dist).ppf(p, *args, 0.3, s), P, SHAPE[2:].T,
                tol32=1e-5, tol64=1e-11)


DISCRETE: list[tuple[str, Fn]] = [
    ("binom", lambda d, k, p: d.binom.logpmf(k, 6.0, p, 0.0)),
    ("binom pmf", lambda d, k, p: d.binom.pmf(k, 6.0, p)),
    ("binom loc", lambda d, k, p: d.binom.logpmf(k, 4.0, p, 1.0)),
    ("binom n=0", lambda d, k, p: d.binom.logpmf(k, 0.0, p)),
    ("nbinom", lambda d, k, p: d.nbinom.logpmf(k, 3.0, p)),
    ("nbinom pmf", lambda d, k, p: d.nbinom.pmf(k, 2.5, p, 1.0)),
    ("geom", lambda d, k, p: d.geom.logpmf(k, p)),
    ("geom pmf", lambda d, k, p: d.geom.pmf(k, p, -1.0)),
    ("betabinom", lambda d, k, p: d.betabinom.logpmf(k, 6.0, p + 0.5, 2.0 - p)),
    ("betabinom pmf", lambda d, k, p: d.betabinom.pmf(k, 5.0, 2.0, p, 1.0)),
    ("betabinom n=0", lambda d, k, p: d.betabinom.logpmf(k, 0.0, 1.0, p)),
]


@pytest.mark.parametrize("f", [c[1] for c in DISCRETE], ids=[c[0] for c in DISCRETE])
def test_discrete_distributions_match_jax(f: Fn) -> None:
    both_dtypes(f, K, P, tol32=2e-5, tol64=1e-11)


def test_multinomial_matches_jax() -> None:
    x = np.array([[1, 2, 0], [0, 0, 3], [3, 0, 0], [1, 1, 2]], np.int32)
    p = np.array([0.2, 0.5, 0.3])
    for n in (3, np.int32(3)):
        both_dtypes(lambda m, xs, ps: m.multinomial.logpmf(xs, n, ps), x, p)  # noqa: B023
        both_dtypes(lambda m, xs, ps: m.multinomial.pmf(xs, n, ps), x, p)  # noqa: B023
    both_dtypes(lambda m, xs, ps: m.multinomial.logpmf(xs, 3, ps), x[0], p)


def test_dirichlet_matches_jax() -> None:
    alpha = np.array([0.5, 2.0, 3.0])
    full = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.5, 0.6, -0.1]]).T
    both_dtypes(lambda m, x, a: m.dirichlet.logpdf(x, a), full, alpha, tol32=1e-5)
    both_dtypes(lambda m, x, a: m.dirichlet.pdf(x, a), full[:2], alpha, tol32=1e-5)
    both_dtypes(lambda m, x, a: m.dirichlet.logpdf(x, a), full[:, 0], alpha, tol32=1e-5)
    both_dtypes(lambda m, x, a: m.dirichlet.logpdf(x, a), full[:2, 0], alpha, tol32=1e-5)


TRUNCNORM = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


@pytest.mark.parametrize("fn", TRUNCNORM)
def test_truncnorm_matches_jax(fn: str) -> None:
    bounds = [(-1.0, 2.0), (1.0, 3.0), (-4.0, -2.0), (-np.inf, 0.5), (0.5, np.inf), (2.0, 1.0),
              (9.0, 10.0)]
    a = np.array([b[0] for b in bounds])[:, None]
    b = np.array([b[1] for b in bounds])[:, None]
    both_dtypes(lambda m, x, lo, hi: getattr(m.truncnorm, fn)(x, lo, hi), X, a, b,
                tol32=1e-4, tol64=1e-10)
    both_dtypes(lambda m, x, lo, hi: getattr(m.truncnorm, fn)(x, lo, hi, 0.5, 2.0), X, a, b,
                tol32=1e-4, tol64=1e-10)


PYTHON_SCALARS: list[tuple[str, Fn]] = [
    ("chi2", lambda m: m.chi2.logpdf(2.0, 3)),
    ("gennorm", lambda m: m.gennorm.cdf(0.5, 2)),
    ("gumbel_r logsf", lambda m: m.gumbel_r.logsf(0.5)),
    ("pareto ppf", lambda m: m.pareto.ppf(0.5, 2)),
    ("binom int", lambda m: m.binom.pmf(2, 5, 0.5)),
    ("geom", lambda m: m.geom.logpmf(3, 0.5)),
    ("vonmises", lambda m: m.vonmises.pdf(0.5, 2)),
    ("truncnorm", lambda m: m.truncnorm.cdf(0.5, -1, 2)),
    ("betabinom", lambda m: m.betabinom.pmf(2, 5, 2, 3)),
]


@pytest.mark.parametrize("f", [c[1] for c in PYTHON_SCALARS], ids=[c[0] for c in PYTHON_SCALARS])
def test_python_scalars(f: Fn) -> None:
    check_st(f, tol=1e-5)
    with enable_x64():
        check_st(f, tol=1e-12)


# ---------------------------------------------------------------------------------------------
# Against SciPy (float64)

SCIPY: list[tuple[str, Fn, Fn]] = [
    ("chi2", lambda m, x: m.chi2.logpdf(x, 3.0, 0.5, 2.0),
     lambda x: scipy_stats.chi2.logpdf(x, 3.0, 0.5, 2.0)),
    ("chi2 sf", lambda m, x: m.chi2.sf(x, 3.0), lambda x: scipy_stats.chi2.sf(x, 3.0)),
    ("gennorm", lambda m, x: m.gennorm.cdf(x, 1.5), lambda x: scipy_stats.gennorm.cdf(x, 1.5)),
    ("gumbel_l", lambda m, x: m.gumbel_l.logcdf(x, 0.2, 2.0),
     lambda x: scipy_stats.gumbel_l.logcdf(x, 0.2, 2.0)),
    ("gumbel_r", lambda m, x: m.gumbel_r.logsf(x, 0.2, 2.0),
     lambda x: scipy_stats.gumbel_r.logsf(x, 0.2, 2.0)),
    ("pareto", lambda m, x: m.pareto.logpdf(x, 2.0, 0.1), lambda x: scipy_stats.pareto.logpdf(
        x, 2.0, 0.1)),
    ("vonmises", lambda m, x: m.vonmises.logpdf(x, 2.0),
     lambda x: scipy_stats.vonmises.logpdf(x, 2.0)),
    ("truncnorm", lambda m, x: m.truncnorm.logcdf(x, -1.0, 4.0),
     lambda x: scipy_stats.truncnorm.logcdf(x, -1.0, 4.0)),
    ("binom", lambda m, k: m.binom.logpmf(np.floor(k), 8.0, 0.3),
     lambda k: scipy_stats.binom.logpmf(np.floor(k), 8, 0.3)),
    ("nbinom", lambda m, k: m.nbinom.logpmf(np.floor(k), 3.0, 0.4),
     lambda k: scipy_stats.nbinom.logpmf(np.floor(k), 3, 0.4)),
    ("betabinom", lambda m, k: m.betabinom.logpmf(np.floor(k), 8.0, 2.0, 3.0),
     lambda k: scipy_stats.betabinom.logpmf(np.floor(k), 8, 2.0, 3.0)),
]


@pytest.mark.parametrize("ours,theirs", [c[1:] for c in SCIPY], ids=[c[0] for c in SCIPY])
def test_float64_values_match_scipy(ours: Fn, theirs: Fn) -> None:
    x = np.array([0.3, 1.2, 2.0, 3.5, 5.0])
    with enable_x64():
        got = np.asarray(ours(rst, x))
    # betabinom: JAX's (and refjax's) betaln is 5e-7 off SciPy's at these arguments
    tol = 1e-6 if ours is SCIPY[-1][1] else 1e-10
    np.testing.assert_allclose(got, theirs(x), rtol=tol, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# mode, rankdata, sem

DATA = np.array([[3.0, 1.0, 2.0, 2.0, 5.0], [1.0, 1.0, 4.0, 4.0, 0.0], [7.0, 7.0, 7.0, 2.0, 2.0]])


@pytest.mark.parametrize("method", ["average", "min", "max", "dense", "ordinal"])
def test_rankdata_matches_jax(method: str) -> None:
    check_st(lambda m, a: m.rankdata(a, method), DATA, tol=0)
    check_st(lambda m, a: m.rankdata(a, method, axis=1), DATA, tol=0)
    check_st(lambda m, a: m.rankdata(a, method, axis=0), DATA.astype(np.int32), tol=0)
    check_st(lambda m, a: m.rankdata(a, method), np.array([1.0, np.nan, 2.0]), tol=0)
    np.testing.assert_array_equal(np.asarray(rst.rankdata(DATA[0], method)),
                                  scipy_stats.rankdata(DATA[0], method))


MODE_SEM: list[tuple[str, Fn]] = [
    ("mode", lambda m, a: m.mode(a)),
    ("mode axis 1", lambda m, a: m.mode(a, axis=1)),
    ("mode axis -1 keepdims", lambda m, a: m.mode(a, -1, keepdims=True)),
    ("mode all", lambda m, a: m.mode(a, None)),
    ("mode all keepdims", lambda m, a: m.mode(a, None, keepdims=True)),
    ("mode ints", lambda m, a: m.mode(a.astype(np.int32), 1)),
    ("mode scalar", lambda m, a: m.mode(a[0, 0])),
    ("sem", lambda m, a: m.sem(a)),
    ("sem axis None ddof 0", lambda m, a: m.sem(a, None, 0)),
    ("sem keepdims", lambda m, a: m.sem(a, 1, keepdims=True)),
    ("sem omit", lambda m, a: m.sem(np.where(a == 7.0, np.nan, a), 1, nan_policy="omit")),
]


@pytest.mark.parametrize("f", [c[1] for c in MODE_SEM], ids=[c[0] for c in MODE_SEM])
def test_mode_and_sem_match_jax(f: Fn) -> None:
    both_dtypes(f, DATA, tol32=1e-6, tol64=1e-14)


def test_sem_of_integers_matches_jax() -> None:
    """Integers become float32 even in 64-bit mode: float32 tolerance in both."""
    for x64 in (False, True):
        with enable_x64(x64):
            check_st(lambda m, a: m.sem(a), DATA.astype(np.int32), tol=1e-6)


def test_mode_and_sem_match_scipy() -> None:
    ours = rst.mode(DATA, axis=1)
    theirs = scipy_stats.mode(DATA, axis=1)
    np.testing.assert_array_equal(np.asarray(ours.mode), theirs.mode)
    np.testing.assert_array_equal(np.asarray(ours.count), theirs.count)
    with enable_x64():
        got = np.asarray(rst.sem(DATA, axis=1))
    np.testing.assert_allclose(got, scipy_stats.sem(DATA, axis=1), rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# Errors

ERRORS: list[tuple[str, Fn]] = [
    ("multinomial float counts", lambda m: m.multinomial.logpmf(np.array([1.0, 2.0]), 3,
                                                                 np.array([0.5, 0.5]))),
    ("dirichlet 2-D alpha", lambda m: m.dirichlet.logpdf(np.ones(2) / 2, np.ones((2, 1)))),
    ("dirichlet x length", lambda m: m.dirichlet.logpdf(np.ones(4) / 4, np.ones(2))),
    ("mode nan_policy", lambda m: m.mode(DATA, nan_policy="bad")),
    ("mode omit", lambda m: m.mode(DATA, nan_policy="omit")),
    ("mode raise", lambda m: m.mode(DATA, nan_policy="raise")),
    ("mode axis", lambda m: m.mode(DATA, axis=2)),
    ("mode list", lambda m: m.mode([1.0, 2.0])),
    ("rankdata method", lambda m: m.rankdata(DATA, "bad")),
    ("rankdata omit", lambda m: m.rankdata(DATA, nan_policy="omit")),
    ("rankdata list", lambda m: m.rankdata([1.0, 2.0])),
    ("sem raise", lambda m: m.sem(DATA, nan_policy="raise")),
]


@pytest.mark.parametrize("f", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_jax(f: Fn) -> None:
    err = raised(lambda: f(jst))
    raised(lambda: f(rst), type(err))


# ---------------------------------------------------------------------------------------------
# Derivatives and transformations

XS = np.array([0.3, 0.9, 1.7, 2.4, 4.0])
PS = np.array([0.2, 0.35, 0.5, 0.6, 0.8])

GRADS: list[tuple[str, Fn, tuple[np.ndarray, ...], tuple[int, ...]]] = [
    ("chi2", lambda m, x, s: m.chi2.logpdf(x, s + 1, 0.1, 1.3), (XS, PS), (0, 1)),
    ("chi2 cdf", lambda m, x, s: m.chi2.cdf(x, s + 1), (XS, PS), (0,)),
    ("gennorm", lambda m, x, s: m.gennorm.logpdf(x, s + 1), (XS - 2, PS), (0, 1)),
    ("gumbel_l", lambda m, x, s: m.gumbel_l.logcdf(x, s, 1.5), (XS - 2, PS), (0, 1)),
    ("gumbel_r", lambda m, x, s: m.gumbel_r.logsf(x, s, 1.5), (XS - 2, PS), (0, 1)),
    ("pareto", lambda m, x, s: m.pareto.logpdf(x + 1.5, s + 1), (XS, PS), (0, 1)),
    ("vonmises", lambda m, x, s: m.vonmises.logpdf(x, s + 1), (XS, PS), (0, 1)),
    ("wrapcauchy", lambda m, x, s: m.wrapcauchy.logpdf(x, s), (XS, PS), (0, 1)),
    ("truncnorm", lambda m, x, s: m.truncnorm.logcdf(x, -s, 3.0), (XS - 1, PS), (0, 1)),
    ("truncnorm logpdf", lambda m, x, s: m.truncnorm.logpdf(x, -s - 1, 3.0, 0.2, 1.5),
     (XS - 1, PS), (0, 1)),
    ("binom", lambda m, k, p: m.binom.logpmf(k, 6.0, p), (np.floor(XS), PS), (1,)),
    ("nbinom", lambda m, k, p: m.nbinom.logpmf(k, 3.0 + p, p), (np.floor(XS), PS), (1,)),
    ("geom", lambda m, k, p: m.geom.logpmf(k, p), (np.floor(XS) + 1, PS), (1,)),
    ("betabinom", lambda m, k, p: m.betabinom.logpmf(k, 6.0, p + 1, 2.0), (np.floor(XS), PS),
     (1,)),
    ("dirichlet", lambda m, x, a: m.dirichlet.logpdf(x[:3] / x[:3].sum(), a[:3] + 1), (XS, PS),
     (0, 1)),
    ("sem", lambda m, x, s: m.sem(x * s), (XS, PS), (0, 1)),
]


@pytest.mark.parametrize("f,args,argnums", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_gradients_match_jax(f: Fn, args: tuple[np.ndarray, ...],
                             argnums: tuple[int, ...]) -> None:
    for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-10)):
        with enable_x64(dtype == np.float64):
            cast = [a.astype(dtype) for a in args]
            theirs = jax.grad(lambda *a: jnp.sum(f(jst, *a)), argnums)(*cast)
            ours = refjax.grad(lambda *a: rnp.sum(f(rst, *a)), argnums)(*cast)
            assert_same(ours, theirs, tol)


BATCHED: list[tuple[str, Fn, tuple[np.ndarray, ...]]] = [
    ("chi2", lambda m, x, s: m.chi2.cdf(x, s + 1), (XS[:, None] * PS, PS[:, None] + XS)),
    ("truncnorm", lambda m, x, s: m.truncnorm.logcdf(x, -s, 2.0), (XS[:, None] - PS, PS[:, None]
                                                                   + 0 * XS)),
    ("binom", lambda m, k, p: m.binom.logpmf(k, 6.0, p), (np.floor(XS)[:, None] + 0 * PS,
                                                          PS[:, None] + 0 * XS)),
    ("gumbel_r", lambda m, x, s: m.gumbel_r.logsf(x, 0.0, s + 1), (XS[:, None] - PS,
                                                                  PS[:, None] + 0 * XS)),
    ("rankdata", lambda m, x, s: m.rankdata(x * s), (np.round(XS[:, None] * PS * 3),
                                                     PS[:, None] + 0 * XS)),
    ("mode", lambda m, x, s: m.mode(x + s).mode, (np.round(XS[:, None] * PS * 3),
                                                            0 * XS[:, None] + PS)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in BATCHED], ids=[c[0] for c in BATCHED])
def test_vmap_matches_a_loop_and_jit_matches_eager(f: Fn, args: tuple[np.ndarray, ...]) -> None:
    cast = [a.astype(np.float32) for a in args]
    ours = refjax.vmap(lambda *a: f(rst, *a))(*cast)
    loop = np.stack([np.asarray(f(rst, *(a[i] for a in cast))) for i in range(len(cast[0]))])
    np.testing.assert_allclose(np.asarray(ours), loop, rtol=1e-6, atol=1e-7)
    assert_same(ours, jax.vmap(lambda *a: f(jst, *a))(*cast), 1e-5)
    assert_same(refjax.jit(lambda *a: f(rst, *a))(*cast), f(rst, *cast), 1e-6)
