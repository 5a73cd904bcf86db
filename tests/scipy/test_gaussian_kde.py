"""``refjax.scipy.stats.gaussian_kde`` against ``jax.scipy.stats.gaussian_kde`` (JAX 0.10.2).

Every field and method on 1-D and 2-D data, with and without weights, for each bandwidth method
(Scott's and Silverman's rules, a scalar, a callable), in float32 and in float64 (64-bit mode);
points given in each accepted form and promoted as JAX does; every error JAX raises, with its
message. ``resample`` draws the same samples as JAX for the same key (``choice``'s indices are
exact; the kernel noise goes through ``normal``, whose ``erf_inv`` XLA approximates, so it is
compared with ``test_random``'s sampler tolerances), and its sample mean and covariance are
checked against the density's own moments. ``jit``, ``grad`` (with respect to the points and to
the estimator as a pytree) and ``vmap`` of the construction are compared with JAX's, and the
gradient with finite differences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.backends.numpy_impls.special  # registers the kernels
import refjax.numpy as rnp
import refjax.scipy.stats as rst
from refjax import random as rr
from refjax import tree_util
from refjax.scipy.stats import gaussian_kde
from refjax.test_util import check_grads
from tests.errors import assert_same_error
from tests.numpy.helpers import assert_same
from tests.oracle import enable_x64, jax, jnp, lazy
from tests.tolerances import SAMPLER_ATOL, SAMPLER_RTOL

jst: Any = lazy("jax.scipy.stats")

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
TOL = {F32: 2e-5, F64: 1e-12}  # compositions of a Cholesky, an inverse and sums of exponentials
FIELDS = ("neff", "dataset", "weights", "covariance", "inv_cov")

_RNG = np.random.RandomState(0)
DATA = {"1d": _RNG.randn(7), "2d": _RNG.randn(2, 9) * [[1.0], [0.5]] + [[0.0], [1.0]]}
WEIGHTS = {"1d": _RNG.rand(7) + 0.1, "2d": _RNG.rand(9) + 0.1}
POINTS = {"1d": np.linspace(-2.0, 2.0, 5), "2d": _RNG.randn(2, 4)}
BANDWIDTHS: dict[str, Any] = {
    "default": None,
    "scott": "scott",
    "silverman": "silverman",
    "scalar": 0.4,
    "callable": lambda kde: kde.neff ** (-1.0 / (kde.d + 3)),
}


def make(mod: Any, case: str, dtype: np.dtype[Any], weighted: bool, bw: Any = None) -> Any:
    """``mod.gaussian_kde`` on the case's data (and weights) in ``dtype``."""
    weights = WEIGHTS[case].astype(dtype) if weighted else None
    return mod.gaussian_kde(DATA[case].astype(dtype), bw, weights)


def check_fields(ours: Any, theirs: Any, tol: float) -> None:
    """Same five fields (shape, dtype, weak type, value) and the same ``d`` and ``n``."""
    assert isinstance(ours, gaussian_kde)
    for name in FIELDS:
        assert_same(getattr(ours, name), getattr(theirs, name), tol)
    assert (ours.d, ours.n) == (theirs.d, theirs.n)


def check_methods(case: str, dtype: np.dtype[Any], weighted: bool) -> None:
    """Every method of the estimator matches JAX's."""
    ours, theirs = make(rst, case, dtype, weighted), make(jst, case, dtype, weighted)
    tol = TOL[dtype]
    check_fields(ours, theirs, tol)
    pts = POINTS[case].astype(dtype)
    for method in ("evaluate", "__call__", "pdf", "logpdf"):
        assert_same(getattr(ours, method)(pts), getattr(theirs, method)(pts), tol)
    d = ours.d
    mean, cov = np.full(d, 0.3, dtype), (np.eye(d) * 0.7 + 0.1).astype(dtype)
    assert_same(ours.integrate_gaussian(mean, cov), theirs.integrate_gaussian(mean, cov), tol)
    other = DATA[case][..., :5].astype(dtype) * 1.5  # fewer points: the roles swap
    small, their_small = gaussian_kde(other), jst.gaussian_kde(other)
    assert_same(ours.integrate_kde(small), theirs.integrate_kde(their_small), tol)
    assert_same(small.integrate_kde(ours), their_small.integrate_kde(theirs), tol)
    if d == 1:
        for low, high in [(-0.5, 1.0), (-np.inf, np.inf)]:
            assert_same(ours.integrate_box_1d(low, high), theirs.integrate_box_1d(low, high), tol)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(DATA))
def test_methods_match_jax_float32(case: str, weighted: bool) -> None:
    check_methods(case, F32, weighted)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(DATA))
def test_methods_match_jax_float64(case: str, weighted: bool) -> None:
    with enable_x64():
        check_methods(case, F64, weighted)


@pytest.mark.parametrize("bw", list(BANDWIDTHS))
@pytest.mark.parametrize("case", list(DATA))
def test_bandwidth_methods_match_jax(case: str, bw: str) -> None:
    ours = make(rst, case, F32, True, BANDWIDTHS[bw])
    theirs = make(jst, case, F32, True, BANDWIDTHS[bw])
    check_fields(ours, theirs, TOL[F32])
    pts = POINTS[case].astype(F32)
    assert_same(ours.logpdf(pts), theirs.logpdf(pts), TOL[F32])


def test_bandwidth_rules_follow_scipy() -> None:
    """An independent reference: SciPy's estimator (float64) has the same kernel covariance and
    density for each named rule and a scalar factor."""
    scipy_stats = pytest.importorskip("scipy.stats")
    with enable_x64():
        for case in DATA:
            for bw in ("scott", "silverman", 0.4):
                ours = gaussian_kde(DATA[case], bw, WEIGHTS[case])
                ref = scipy_stats.gaussian_kde(DATA[case], bw, WEIGHTS[case])
                np.testing.assert_allclose(np.asarray(ours.covariance), ref.covariance, rtol=1e-12)
                np.testing.assert_allclose(np.asarray(ours.pdf(POINTS[case])),
                                           ref.pdf(POINTS[case]), rtol=1e-12)
                np.testing.assert_allclose(float(ours.neff), ref.neff, rtol=1e-12)


POINT_FORMS: list[tuple[str, str, Callable[[np.ndarray], Any]]] = [
    ("1d", "python scalar", lambda p: 0.25),
    ("1d", "0-d array", lambda p: np.float32(0.25)),
    ("1d", "row", lambda p: p[None, :]),
    ("1d", "int points", lambda p: np.arange(-2, 3)),
    ("2d", "one point as a vector", lambda p: p[:, 0]),
    ("2d", "one point as a row", lambda p: p[:, :1].T),
    ("2d", "one column", lambda p: p[:, :1]),
]


@pytest.mark.parametrize("case,form,points", POINT_FORMS,
                         ids=[f"{c}-{f}" for c, f, _ in POINT_FORMS])
def test_point_forms_match_jax(case: str, form: str, points: Callable[[np.ndarray], Any]) -> None:
    ours, theirs = make(rst, case, F32, True), make(jst, case, F32, True)
    pts = points(POINTS[case].astype(F32))
    assert_same(ours.evaluate(pts), theirs.evaluate(pts), TOL[F32])
    assert_same(ours.logpdf(pts), theirs.logpdf(pts), TOL[F32])


def test_dtype_promotion_matches_jax() -> None:
    """Integer data and weights become floats; under x64 float32 data with float64 weights (or
    points) promote to float64, a weak scalar bandwidth does not."""
    ints = np.array([1, 2, 4, 4, 7])
    check_fields(gaussian_kde(ints), jst.gaussian_kde(ints), TOL[F32])
    check_fields(gaussian_kde(ints, weights=ints), jst.gaussian_kde(ints, weights=ints), TOL[F32])
    with enable_x64():
        data32, w64 = DATA["1d"].astype(F32), WEIGHTS["1d"]
        check_fields(gaussian_kde(data32, 0.5, w64), jst.gaussian_kde(data32, 0.5, w64), TOL[F32])
        ours, theirs = gaussian_kde(data32), jst.gaussian_kde(data32)
        check_fields(ours, theirs, TOL[F32])
        assert_same(ours.logpdf(POINTS["1d"]), theirs.logpdf(POINTS["1d"]), TOL[F32])
        bw = np.float64(0.3)
        check_fields(gaussian_kde(data32, bw), jst.gaussian_kde(data32, bw), TOL[F32])


ERRORS: list[tuple[str, Callable[[Any], Any]]] = [
    ("list dataset", lambda m: m.gaussian_kde([1.0, 2.0])),
    ("complex dataset", lambda m: m.gaussian_kde(np.array([1.0, 2.0j]))),
    ("one element", lambda m: m.gaussian_kde(np.array([1.0]))),
    ("2-D weights", lambda m: m.gaussian_kde(DATA["1d"], weights=np.ones((7, 1)))),
    ("weights length", lambda m: m.gaussian_kde(DATA["1d"], weights=np.ones(6))),
    ("list weights", lambda m: m.gaussian_kde(DATA["1d"], weights=[1.0] * 7)),
    ("unknown rule", lambda m: m.gaussian_kde(DATA["1d"], "foo")),
    # (a numpy array: JAX fails on ``array == "scott"`` with numpy's truth-value error)
    ("array bandwidth",
     lambda m: m.gaussian_kde(DATA["1d"], (rnp if m is rst else jnp).array([0.5, 0.5]))),
    ("points dimension", lambda m: m.gaussian_kde(DATA["2d"]).evaluate(np.ones((3, 2)))),
    ("logpdf points dimension", lambda m: m.gaussian_kde(DATA["2d"]).logpdf(np.ones(3))),
    ("list points", lambda m: m.gaussian_kde(DATA["1d"]).evaluate([0.5])),
    ("complex points", lambda m: m.gaussian_kde(DATA["1d"]).logpdf(np.array([1j]))),
    ("mean dimension",
     lambda m: m.gaussian_kde(DATA["2d"]).integrate_gaussian(np.ones(3), np.eye(2))),
    ("cov dimension",
     lambda m: m.gaussian_kde(DATA["2d"]).integrate_gaussian(np.ones(2), np.eye(3))),
    ("box on 2-D", lambda m: m.gaussian_kde(DATA["2d"]).integrate_box_1d(0.0, 1.0)),
    ("box limits", lambda m: m.gaussian_kde(DATA["1d"]).integrate_box_1d(np.zeros(2), 1.0)),
    ("kde dimensions",
     lambda m: m.gaussian_kde(DATA["2d"]).integrate_kde(m.gaussian_kde(DATA["1d"]))),
    ("integrate_box", lambda m: m.gaussian_kde(DATA["2d"]).integrate_box(np.zeros(2), np.ones(2))),
    ("set_bandwidth", lambda m: m.gaussian_kde(DATA["1d"]).set_bandwidth("silverman")),
]


@pytest.mark.parametrize("label,call", ERRORS, ids=[label for label, _ in ERRORS])
def test_errors_match_jax(label: str, call: Callable[[Any], Any]) -> None:
    assert_same_error(lambda: call(rst), lambda: call(jst))


# ---------------------------------------------------------------------------------------------
# resample


RESAMPLES = [
    ("1d", False, F32, ()),
    ("1d", True, F32, (6,)),
    ("2d", True, F32, (5,)),
    ("2d", False, F32, (3, 3)),
    ("2d", True, F64, (4,)),
]


@pytest.mark.parametrize("case,weighted,dtype,shape", RESAMPLES)
@pytest.mark.parametrize("typed", [True, False], ids=["key", "PRNGKey"])
def test_resample_matches_jax_bits(case: str, weighted: bool, dtype: np.dtype[Any],
                                   shape: tuple[int, ...], typed: bool) -> None:
    with enable_x64(dtype == F64):
        ours, theirs = make(rst, case, dtype, weighted), make(jst, case, dtype, weighted)
        key = (rr.key if typed else rr.PRNGKey)(7)
        their_key = (jax.random.key if typed else jax.random.PRNGKey)(7)
        got, want = ours.resample(key, shape), theirs.resample(their_key, shape)
        assert (got.shape, got.dtype) == (want.shape, want.dtype) == ((ours.d, *shape), dtype)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want),
                                   rtol=SAMPLER_RTOL["normal"][dtype], atol=SAMPLER_ATOL[dtype])


def test_resample_default_shape_and_classic_threefry() -> None:
    """``shape=()`` by default; the classic Threefry derivation draws JAX's samples too."""
    ours, theirs = make(rst, "2d", F32, True), make(jst, "2d", F32, True)
    got = ours.resample(rr.PRNGKey(1))
    assert got.shape == (2,)
    old_jax = jax.config.jax_threefry_partitionable
    old_ref = refjax.config.read("jax_threefry_partitionable")
    jax.config.update("jax_threefry_partitionable", False)
    refjax.config.update("jax_threefry_partitionable", False)
    try:
        got = ours.resample(rr.PRNGKey(3), (6,))
        want = theirs.resample(jax.random.PRNGKey(3), (6,))
    finally:
        jax.config.update("jax_threefry_partitionable", old_jax)
        refjax.config.update("jax_threefry_partitionable", old_ref)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want),
                               rtol=SAMPLER_RTOL["normal"][F32], atol=SAMPLER_ATOL[F32])


def test_resample_moments() -> None:
    """Samples have the density's mean (the weighted data mean) and covariance (the data's
    covariance plus the kernel's), within sampling error."""
    with enable_x64():
        kde = gaussian_kde(DATA["2d"], weights=WEIGHTS["2d"])
        samples = np.asarray(kde.resample(rr.key(0), (4000,)))
        w = np.asarray(kde.weights)
        mean = DATA["2d"] @ w
        centred = DATA["2d"] - mean[:, None]
        cov = (centred * w) @ centred.T + np.asarray(kde.covariance)
        np.testing.assert_allclose(samples.mean(axis=1), mean, atol=0.06)
        np.testing.assert_allclose(np.cov(samples), cov, atol=0.08)


# ---------------------------------------------------------------------------------------------
# Transformations and the pytree


def test_is_a_pytree() -> None:
    kde = make(rst, "2d", F32, True)
    leaves, treedef = tree_util.tree_flatten(kde)
    assert len(leaves) == 5
    for leaf, name in zip(leaves, FIELDS, strict=True):
        assert leaf is getattr(kde, name)
    again = tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(again, gaussian_kde)
    assert all(getattr(again, name) is getattr(kde, name) for name in FIELDS)
    doubled = tree_util.tree_map(lambda x: x * 2, kde)
    np.testing.assert_array_equal(np.asarray(doubled.dataset), 2 * np.asarray(kde.dataset))
    assert kde.tree_flatten()[1] is None
    theirs_leaves = jax.tree_util.tree_leaves(make(jst, "2d", F32, True))
    assert [leaf.shape for leaf in leaves] == [leaf.shape for leaf in theirs_leaves]


def test_passes_through_jit() -> None:
    kde = make(rst, "2d", F32, True)
    out = refjax.jit(lambda k: k)(kde)
    assert isinstance(out, gaussian_kde)
    check_fields(out, make(jst, "2d", F32, True), TOL[F32])
    pts = POINTS["2d"].astype(F32)
    jitted = refjax.jit(lambda k, x: k.logpdf(x))(kde, pts)
    assert_same(jitted, kde.logpdf(pts), TOL[F32])
    made = refjax.jit(lambda d: gaussian_kde(d).pdf(pts))(DATA["2d"].astype(F32))
    assert_same(made, jst.gaussian_kde(DATA["2d"].astype(F32)).pdf(pts), TOL[F32])
    assert_same(refjax.jit(lambda k, key: k.resample(key, (3,)))(kde, rr.key(2)),
                kde.resample(rr.key(2), (3,)), 0.0)


@pytest.mark.parametrize("case", list(DATA))
def test_grad_of_logpdf_matches_jax(case: str) -> None:
    ours, theirs = make(rst, case, F32, True), make(jst, case, F32, True)
    pts = POINTS[case].astype(F32)
    got = refjax.jit(refjax.grad(lambda x: rnp.sum(ours.logpdf(x))))(pts)
    want = jax.jit(jax.grad(lambda x: jnp.sum(theirs.logpdf(x))))(pts)
    assert_same(got, want, 1e-4)
    got_kde = refjax.grad(lambda k: rnp.sum(k.logpdf(pts)))(ours)
    want_kde = jax.grad(lambda k: jnp.sum(k.logpdf(pts)))(theirs)
    assert isinstance(got_kde, gaussian_kde)
    for name in FIELDS:
        assert_same(getattr(got_kde, name), getattr(want_kde, name), 1e-4)


def test_grads_against_finite_differences() -> None:
    with enable_x64():
        kde = gaussian_kde(DATA["2d"], weights=WEIGHTS["2d"])
        check_grads(kde.logpdf, (POINTS["2d"],), order=2)
        pts = POINTS["2d"]
        check_grads(lambda d: gaussian_kde(d, "silverman").pdf(pts), (DATA["2d"],), order=1)
        box = gaussian_kde(DATA["1d"])
        check_grads(lambda lo: box.integrate_box_1d(lo, 1.0), (-0.3,), order=1)


def test_vmap_of_construction_matches_a_loop() -> None:
    batch = np.stack([DATA["2d"], DATA["2d"] * 1.3 + 0.2]).astype(F32)
    pts = POINTS["2d"].astype(F32)
    got = refjax.vmap(lambda d: gaussian_kde(d).logpdf(pts))(batch)
    for i in range(len(batch)):
        assert_same(got[i], jst.gaussian_kde(batch[i]).logpdf(pts), TOL[F32])
