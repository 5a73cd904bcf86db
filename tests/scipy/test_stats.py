"""``refjax.scipy.stats`` against ``jax.scipy.stats`` (JAX 0.10.2): every function of the twelve
distributions over edge inputs (outside the support, at its ends, ``±inf``, NaN, invalid
parameters) with ``loc``/``scale`` broadcast against them, in float32 and float64; shapes,
dtypes and weak types; gradients against JAX's; ``vmap`` against a loop; ``jit``; errors;
the named calls and primitives of ``make_jaxpr``. SciPy is an independent float64 reference
for the densities and distribution functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.backends.numpy_impls.special  # registers the kernels
import refjax.numpy as rnp
import refjax.scipy.stats as rst
from tests.errors import raised
from tests.numpy.helpers import assert_same, call_tree, jax_prim_names, refjax_prim_names
from tests.oracle import enable_x64, jax, jnp, lazy

jst: Any = lazy("jax.scipy.stats")
scipy_stats: Any = lazy("scipy.stats")

Fn = Callable[..., Any]


def check_st(f: Fn, *args: Any, tol: float) -> None:
    """``f(refjax.scipy.stats, *args)`` matches ``f(jax.scipy.stats, *args)`` (or both raise
    the same class)."""
    try:
        theirs = f(jst, *args)
    except Exception as err:  # any JAX error must be mirrored
        raised(lambda: f(rst, *args), type(err))
        return
    assert_same(f(rst, *args), theirs, tol)


def both_dtypes(f: Fn, *args: Any, tol32: float = 2e-5, tol64: float = 1e-12) -> None:
    """:func:`check_st` in float32, then in float64 with 64-bit mode on."""
    def cast(dtype: type) -> list[Any]:
        return [a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                for a in args]

    check_st(f, *cast(np.float32), tol=tol32)
    with enable_x64():
        check_st(f, *cast(np.float64), tol=tol64)


X = np.array([-np.inf, -3.0, -1.0, -0.0, 0.0, 0.2, 0.5, 0.9, 1.0, 2.5, 10.0, np.inf, np.nan])
LOC = np.array([-1.0, 0.0])[:, None, None]
SCALE = np.array([0.5, 1.0, 3.0, -1.0])[:, None]
SHAPE = np.array([0.5, 2.0, 5.0, 0.0, -1.0])[:, None]
K = np.array([-1.0, 0.0, 1.0, 2.0, 0.5, 3.0, 10.0, np.nan])
P = np.array([-0.1, 0.0, 0.3, 1.0, 1.5])[:, None]

CONTINUOUS = {
    "norm": ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"],
    "uniform": ["cdf", "logpdf", "pdf", "ppf"],
    "expon": ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"],
    "laplace": ["cdf", "logpdf", "pdf"],
    "logistic": ["cdf", "isf", "logpdf", "pdf", "ppf", "sf"],
    "cauchy": ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"],
}
LOC_SCALE = [(mod, fn) for mod, fns in CONTINUOUS.items() for fn in fns]


def _fn(mod: str, fn: str) -> Fn:
    return lambda m, *a: getattr(getattr(m, mod), fn)(*a)


@pytest.mark.parametrize("mod,fn", LOC_SCALE, ids=[f"{m}.{f}" for m, f in LOC_SCALE])
def test_location_scale_families_match_jax(mod: str, fn: str) -> None:
    f = _fn(mod, fn)
    both_dtypes(f, X)
    both_dtypes(f, X, LOC, SCALE)


SHAPED = [("gamma", fn) for fn in ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]] + [
    ("beta", fn) for fn in ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]] + [
    ("t", fn) for fn in ["logpdf", "pdf"]]


@pytest.mark.parametrize("mod,fn", SHAPED, ids=[f"{m}.{f}" for m, f in SHAPED])
def test_shape_families_match_jax(mod: str, fn: str) -> None:
    f = _fn(mod, fn)
    tol32 = 2e-4 if mod in ("gamma", "beta") else 2e-5  # XLA's float32 igamma and betainc
    if mod == "beta":
        both_dtypes(f, X[:, None, None], SHAPE, SHAPE.T, tol32=tol32, tol64=1e-10)
        both_dtypes(lambda m, x, a: f(m, x, a, 2.0, -1.0, 3.0), X, SHAPE, tol32=tol32,
                    tol64=1e-10)
    else:
        both_dtypes(f, X, SHAPE, tol32=tol32, tol64=1e-10)
        both_dtypes(lambda m, x, a: f(m, x, a, -1.0, 2.0), X, SHAPE, tol32=tol32, tol64=1e-10)


DISCRETE = [("poisson", fn) for fn in ["logpmf", "pmf", "cdf"]] + [
    ("bernoulli", fn) for fn in ["logpmf", "pmf", "cdf", "ppf"]]


@pytest.mark.parametrize("mod,fn", DISCRETE, ids=[f"{m}.{f}" for m, f in DISCRETE])
def test_discrete_distributions_match_jax(mod: str, fn: str) -> None:
    f = _fn(mod, fn)
    param = np.abs(SHAPE) * 2 if mod == "poisson" else P
    both_dtypes(f, K, param, tol32=2e-4 if fn == "cdf" else 2e-5, tol64=1e-10)
    if fn != "ppf" and not (mod == "bernoulli" and fn == "cdf"):
        both_dtypes(lambda m, k, p: f(m, k, p, 1), K, param, tol32=2e-4, tol64=1e-10)
    if fn == "ppf":
        both_dtypes(f, np.array([-0.1, 0.0, 0.2, 0.7, 1.0, 1.2, np.nan]), P)


def test_poisson_entropy_matches_jax() -> None:
    mu = np.array([0.0, 0.5, 5.0, 50.0, 500.0, 1e4])
    both_dtypes(lambda m, u: m.poisson.entropy(u), mu, tol32=1e-4, tol64=1e-11)
    both_dtypes(lambda m, u: m.poisson.entropy(u, np.zeros((2, 1))), mu, tol32=1e-4,
                tol64=1e-11)


_RNG = np.random.default_rng(3)
_M = _RNG.standard_normal((3, 3))
COV = _M @ _M.T + np.eye(3)
XS = _RNG.standard_normal((4, 3))
MU = _RNG.standard_normal(3)

MVN: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("batch of points", lambda m, x, u, c: m.multivariate_normal.logpdf(x, u, c), (XS, MU, COV)),
    ("one point", lambda m, x, u, c: m.multivariate_normal.logpdf(x, u, c), (XS[0], MU, COV)),
    ("pdf", lambda m, x, u, c: m.multivariate_normal.pdf(x, u, c), (XS, MU, COV)),
    ("batch of covariances", lambda m, x, u, c: m.multivariate_normal.logpdf(x, u, c),
     (XS[:2], MU, np.stack([COV, 2 * COV]))),
    ("points and means batched", lambda m, x, u, c: m.multivariate_normal.logpdf(x, u, c),
     (XS.reshape(2, 2, 3), XS[:2] + 1, COV)),
    ("scalar covariance", lambda m, x, u: m.multivariate_normal.logpdf(x, u, 2.0), (XS, MU)),
    ("scalar", lambda m, x: m.multivariate_normal.logpdf(x, 0.5, 2.0), (X,)),
    ("incompatible", lambda m, x, u, c: m.multivariate_normal.logpdf(x, u, c),
     (XS, MU, COV[:2, :2])),
    ("allow_singular", lambda m, x, u, c: m.multivariate_normal.logpdf(x, u, c, True),
     (XS, MU, COV)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in MVN], ids=[c[0] for c in MVN])
def test_multivariate_normal_matches_jax(f: Fn, args: tuple[Any, ...]) -> None:
    both_dtypes(f, *args, tol32=1e-4, tol64=1e-11)


PYTHON_SCALARS: list[tuple[str, Fn]] = [
    ("norm.ppf", lambda m: m.norm.ppf(0.3)),
    ("norm.isf", lambda m: m.norm.isf(0.3, 1, 2)),
    ("norm.logpdf", lambda m: m.norm.logpdf(1.0)),
    ("t.pdf", lambda m: m.t.pdf(1, 3)),
    ("poisson.pmf", lambda m: m.poisson.pmf(2, 3)),
    ("expon.cdf", lambda m: m.expon.cdf(2)),
    ("bernoulli.logpmf", lambda m: m.bernoulli.logpmf(1, 0.3)),
    ("gamma.sf", lambda m: m.gamma.sf(np.int32(2), 3.0)),
    ("beta.pdf", lambda m: m.beta.pdf(0.5, 2, 3)),
    ("cauchy.isf", lambda m: m.cauchy.isf(0.25)),
]


@pytest.mark.parametrize("f", [c[1] for c in PYTHON_SCALARS], ids=[c[0] for c in PYTHON_SCALARS])
def test_python_scalars(f: Fn) -> None:
    check_st(f, tol=1e-6)
    with enable_x64():
        check_st(f, tol=1e-6)


ERRORS: list[tuple[str, Fn]] = [
    ("shapes", lambda m: m.norm.logpdf(np.ones(2), np.ones(3))),
    ("ppf int", lambda m: m.norm.ppf(np.int32([1]))),
    ("mvn vector cov", lambda m: m.multivariate_normal.logpdf(np.ones(2), np.ones(2),
                                                              np.ones(2))),
    ("entropy shapes", lambda m: m.poisson.entropy(np.ones(2), np.ones(3))),
    ("missing argument", lambda m: m.gamma.logpdf(np.ones(2))),
]


@pytest.mark.parametrize("f", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_jax(f: Fn) -> None:
    err = raised(lambda: f(jst))
    raised(lambda: f(rst), type(err))


# ---------------------------------------------------------------------------------------------
# Against SciPy (float64)

SCIPY: list[tuple[str, Fn, Fn]] = [
    ("norm.logcdf", lambda m, x: m.norm.logcdf(x, 0.5, 2.0), lambda s, x: s.norm.logcdf(x, 0.5, 2)),
    ("norm.ppf", lambda m, q: m.norm.ppf(q), lambda s, q: s.norm.ppf(q)),
    ("gamma.cdf", lambda m, x: m.gamma.cdf(x, 2.5, 0.0, 1.5),
     lambda s, x: s.gamma.cdf(x, 2.5, 0.0, 1.5)),
    ("gamma.sf", lambda m, x: m.gamma.sf(x, 0.7), lambda s, x: s.gamma.sf(x, 0.7)),
    ("beta.cdf", lambda m, x: m.beta.cdf(x, 2.5, 0.7), lambda s, x: s.beta.cdf(x, 2.5, 0.7)),
    ("beta.logpdf", lambda m, x: m.beta.logpdf(x, 2.5, 0.7),
     lambda s, x: s.beta.logpdf(x, 2.5, 0.7)),
    ("t.logpdf", lambda m, x: m.t.logpdf(x, 3.5, 1.0, 2.0),
     lambda s, x: s.t.logpdf(x, 3.5, 1.0, 2.0)),
    ("poisson.cdf", lambda m, k: m.poisson.cdf(np.floor(10 * k), 4.0),
     lambda s, k: s.poisson.cdf(np.floor(10 * k), 4.0)),
    ("cauchy.logsf", lambda m, x: m.cauchy.logsf(x), lambda s, x: s.cauchy.logsf(x)),
]


@pytest.mark.parametrize("ours,theirs", [c[1:] for c in SCIPY], ids=[c[0] for c in SCIPY])
def test_against_scipy_in_float64(ours: Fn, theirs: Fn) -> None:
    x = np.linspace(0.01, 0.99, 41)
    with enable_x64():
        got = np.asarray(ours(rst, x))
    np.testing.assert_allclose(got, theirs(scipy_stats, x), rtol=1e-9, atol=1e-12)


def test_multivariate_normal_against_scipy() -> None:
    with enable_x64():
        got = np.asarray(rst.multivariate_normal.logpdf(XS, MU, COV))
    np.testing.assert_allclose(got, scipy_stats.multivariate_normal.logpdf(XS, MU, COV),
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Derivatives, transformations, jaxprs

POS = np.array([0.2, 0.5, 1.3, 2.5])
GRADS: list[tuple[str, Fn, tuple[np.ndarray, ...]]] = [
    ("norm.logcdf", lambda m, x, s: m.norm.logcdf(x, 0.5, s), (POS - 1, POS)),
    ("norm.ppf", lambda m, q, s: m.norm.ppf(q, 0.5, s), (POS / 3, POS)),
    ("norm.sf", lambda m, x, s: m.norm.sf(x, 0.5, s), (POS - 1, POS)),
    ("expon.logcdf", lambda m, x, s: m.expon.logcdf(x, 0.0, s), (POS, POS)),
    ("laplace.cdf", lambda m, x, s: m.laplace.cdf(x, 1.0, s), (POS, POS)),
    ("logistic.isf", lambda m, q, s: m.logistic.isf(q, 0.0, s), (POS / 3, POS)),
    ("cauchy.logpdf", lambda m, x, s: m.cauchy.logpdf(x, 0.0, s), (POS, POS)),
    ("gamma.logpdf", lambda m, x, a: m.gamma.logpdf(x, a), (POS, POS + 1)),
    ("gamma.cdf", lambda m, x, a: m.gamma.cdf(x, a), (POS, POS + 1)),
    ("beta.logpdf", lambda m, x, a: m.beta.logpdf(x, a, 2.0), (POS / 3, POS + 1)),
    ("t.logpdf", lambda m, x, df: m.t.logpdf(x, df), (POS, POS + 1)),
    ("poisson.logpmf", lambda m, k, mu: m.poisson.logpmf(k, mu), (np.round(POS * 3), POS)),
    ("bernoulli.logpmf", lambda m, k, p: m.bernoulli.logpmf(k, p),
     (np.array([0.0, 1.0, 1.0, 0.0]), POS / 3)),
    ("uniform.logpdf", lambda m, x, s: m.uniform.logpdf(x, 0.0, s), (POS / 3, POS + 1)),
    ("mvn", lambda m, x, u: m.multivariate_normal.logpdf(x, u, COV), (XS, MU)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_gradients_match_jax(f: Fn, args: tuple[np.ndarray, ...]) -> None:
    for dtype, tol in ((np.float32, 2e-4), (np.float64, 1e-9)):
        with enable_x64(dtype == np.float64):
            cast = [a.astype(dtype) for a in args]
            theirs = jax.grad(lambda *a: jnp.sum(f(jst, *a)), (0, 1))(*cast)
            ours = refjax.grad(lambda *a: rnp.sum(f(rst, *a)), (0, 1))(*cast)
            assert_same(tuple(ours), tuple(theirs), tol)


@pytest.mark.parametrize("f,args", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_vmap_matches_a_loop_and_jit_matches_jax(f: Fn, args: tuple[np.ndarray, ...]) -> None:
    batched = [np.stack([a, a[::-1]]).astype(np.float32) for a in args]
    ours = refjax.vmap(lambda *a: f(rst, *a))(*batched)
    loop = np.stack([np.asarray(f(rst, *(b[i] for b in batched))) for i in range(2)])
    np.testing.assert_allclose(np.asarray(ours), loop, rtol=1e-6, atol=1e-7)
    jitted = refjax.jit(lambda *a: f(rst, *a))(*(b[0] for b in batched))
    assert_same(jitted, f(jst, *(b[0] for b in batched)), 2e-4)


JAXPRS = [*((f"{m}.{fn}", _fn(m, fn), (POS / 3, POS)) for m, fn in LOC_SCALE),
          *((f"{m}.{fn}", _fn(m, fn), (POS / 3, POS + 1) + ((POS + 2,) if m == "beta" else ()))
            for m, fn in SHAPED),
          *((f"{m}.{fn}", _fn(m, fn), (np.round(POS), POS / 3)) for m, fn in DISCRETE),
          ("poisson.entropy", lambda m, u: m.poisson.entropy(u), (POS * 10,)),
          ("mvn one point", lambda m, x, u: m.multivariate_normal.logpdf(x, u, COV),
           (XS[0], MU)),
          ("mvn points", lambda m, x, u: m.multivariate_normal.logpdf(x, u, COV), (XS, MU))]
# refjax.numpy's diagonal is a gather where JAX's is a platform-dependent cond: the named
# calls are the same, the primitives inside differ.
_DIAGONAL = {"mvn one point", "mvn points"}


@pytest.mark.parametrize("name,f,args", JAXPRS, ids=[c[0] for c in JAXPRS])
def test_jaxprs_match_jax(name: str, f: Fn, args: tuple[np.ndarray, ...]) -> None:
    cast = [a.astype(np.float32) for a in args]
    theirs = jax.make_jaxpr(lambda *a: f(jst, *a))(*cast)
    ours = refjax.make_jaxpr(lambda *a: f(rst, *a))(*cast)
    assert call_tree(ours) == call_tree(theirs)
    if name not in _DIAGONAL:
        assert (refjax_prim_names(lambda *a: f(rst, *a), *cast)
                == jax_prim_names(lambda *a: f(jst, *a), *cast))
