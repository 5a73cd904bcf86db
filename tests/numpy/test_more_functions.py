"""diff, meshgrid, append, kron, rot90, nan_to_num, angle and sinc against ``jax.numpy``:
values, dtypes, weak types, errors; derivatives where a rule decides them (sinc at 0)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.numpy.helpers import check, jax, jnp

X = np.arange(12, dtype=np.float32).reshape(3, 4) ** 2 / 7
B = np.array([[True, False, False], [True, True, False]])
SPECIAL = np.float32([np.nan, np.inf, -np.inf, 0.0, -2.5])
Z = np.complex64([1 + 1j, -2 + 0.5j, np.nan + 1j, 3j])

CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("diff", lambda m, a: m.diff(a), (X,)),
    ("diff n2 axis0", lambda m, a: m.diff(a, n=2, axis=0), (X,)),
    ("diff n0", lambda m, a: m.diff(a, n=0), (X,)),
    ("diff prepend append", lambda m, a: m.diff(a, prepend=1.0, append=X[:, :1]), (X,)),
    ("diff bool", lambda m, a: m.diff(a), (B,)),
    ("diff ints", lambda m, a: m.diff(a, axis=0), (np.int8([[1, 5], [3, -2]]),)),
    ("diff negative n", lambda m, a: m.diff(a, n=-1), (X,)),
    ("diff scalar", lambda m, a: m.diff(a), (np.float32(2),)),
    ("meshgrid xy", lambda m, a: m.meshgrid(a[0], a[1, :3], a[2, :2]), (X,)),
    ("meshgrid ij sparse", lambda m, a: m.meshgrid(a[0], a[1, :3], indexing="ij",
                                                   sparse=True), (X,)),
    ("meshgrid one", lambda m, a: m.meshgrid(a[0]), (X,)),
    ("meshgrid bad indexing", lambda m, a: m.meshgrid(a[0], indexing="xx"), (X,)),
    ("meshgrid 2d", lambda m, a: m.meshgrid(a), (X,)),
    ("append flat", lambda m, a: m.append(a, a[0]), (X,)),
    ("append axis", lambda m, a: m.append(a, a[:1], axis=0), (X,)),
    ("append scalar", lambda m, a: m.append(a, 2), (np.int32([1, 2]),)),
    ("kron", lambda m, a: m.kron(a[:2, :2], a[1:, 1:3]), (X,)),
    ("kron ranks", lambda m, a: m.kron(a[0], np.int32([[1, 2], [3, 4]])), (X,)),
    ("rot90", lambda m, a: m.rot90(a), (X,)),
    ("rot90 k2", lambda m, a: m.rot90(a, 2), (X,)),
    ("rot90 k3 axes", lambda m, a: m.rot90(a, -1, axes=(1, 0)), (X,)),
    ("rot90 k4", lambda m, a: m.rot90(a, 4), (X,)),
    ("rot90 1d", lambda m, a: m.rot90(a[0]), (X,)),
    ("rot90 same axes", lambda m, a: m.rot90(a, axes=(1, 1)), (X,)),
    ("nan_to_num", lambda m, a: m.nan_to_num(a), (SPECIAL,)),
    ("nan_to_num given", lambda m, a: m.nan_to_num(a, nan=-1.0, posinf=9.0, neginf=-9.0),
     (SPECIAL,)),
    ("nan_to_num ints", lambda m, a: m.nan_to_num(a), (np.int32([1, 2]),)),
    ("nan_to_num complex", lambda m, a: m.nan_to_num(a), (Z,)),
    ("nan_to_num float16", lambda m, a: m.nan_to_num(a), (SPECIAL.astype(np.float16),)),
    ("angle", lambda m, a: m.angle(a), (Z,)),
    ("angle deg", lambda m, a: m.angle(a, deg=True), (Z,)),
    ("angle real", lambda m, a: m.angle(a), (SPECIAL,)),
    ("angle int", lambda m, a: m.angle(a), (np.int32([-1, 2]),)),
    ("angle scalar", lambda m, a: m.angle(a), (-2.0,)),
    ("sinc", lambda m, a: m.sinc(a), (np.float32([0.0, 0.5, -1.5, 1e-8, 3.0]),)),
    ("sinc int", lambda m, a: m.sinc(a), (np.int32([0, 1, 2]),)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    check(f, *args)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_sinc_derivatives_at_zero_match_jax(order: int) -> None:
    """JAX differentiates sinc at 0 through the Maclaurin series: 0, -pi^2/3, 0 ..."""
    ours: Any = rnp.sinc
    theirs: Any = jnp.sinc
    for _ in range(order):
        ours, theirs = refjax.grad(ours), jax.grad(theirs)
    x = np.float32([0.0, 0.25, -1.5])
    got = [float(ours(v)) for v in x]
    want = [float(theirs(v)) for v in x]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def test_diff_and_kron_match_numpy() -> None:
    np.testing.assert_allclose(rnp.diff(X, n=2), np.diff(X.astype(np.float64), n=2), rtol=1e-5)
    a, b = X[:2, :2], X[1:, 1:3]
    np.testing.assert_allclose(rnp.kron(a, b), np.kron(a.astype(np.float64), b), rtol=1e-6)
    np.testing.assert_array_equal(rnp.rot90(X, 3), np.rot90(X, 3))


W = np.float32([1, 2, 0.5, 3])
MORE: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("average", lambda m, a: m.average(a), (X,)),
    ("average axis", lambda m, a: m.average(a, axis=0), (X,)),
    ("average weights", lambda m, a: m.average(a, axis=1, weights=W), (X,)),
    ("average full weights returned", lambda m, a: m.average(a, weights=a + 1, returned=True),
     (X,)),
    ("average returned keepdims", lambda m, a: m.average(a, axis=1, returned=True,
                                                         keepdims=True), (X,)),
    ("average ints", lambda m, a: m.average(a, axis=0), (np.int32([[1, 2], [4, 7]]),)),
    ("average weights no axis", lambda m, a: m.average(a, weights=W), (X,)),
    ("average bad weights", lambda m, a: m.average(a, axis=0, weights=W), (X,)),
    ("cumulative_sum", lambda m, a: m.cumulative_sum(a[0]), (X,)),
    ("cumulative_sum axis initial", lambda m, a: m.cumulative_sum(a, axis=1,
                                                                  include_initial=True), (X,)),
    ("cumulative_sum ints", lambda m, a: m.cumulative_sum(a), (np.int8([1, 2, 3]),)),
    ("cumulative_sum bool", lambda m, a: m.cumulative_sum(a, axis=0), (B,)),
    ("cumulative_sum needs axis", lambda m, a: m.cumulative_sum(a), (X,)),
    ("cumulative_sum scalar", lambda m, a: m.cumulative_sum(a), (np.float32(1),)),
    ("select", lambda m, a: m.select([a > 5, a < 1], [a, -a], 7.0), (X,)),
    ("select ints default", lambda m, a: m.select([a > 2], [a]), (np.int32([1, 5, 3]),)),
    ("select lengths", lambda m, a: m.select([a > 2], [a, a]), (X,)),
    ("select empty", lambda m, a: m.select([], []), (X,)),
    ("cross 3", lambda m, a: m.cross(a[:, :3], a[:, 1:]), (X,)),
    ("cross 2", lambda m, a: m.cross(a[:, :2], a[:, 2:]), (X,)),
    ("cross 2x3", lambda m, a: m.cross(a[:, :2], a[:, 1:]), (X,)),
    ("cross axis", lambda m, a: m.cross(a[:, :3].T, a[:, 1:].T, axis=0), (X,)),
    ("cross axisc", lambda m, a: m.cross(a[:, :3], a[:, 1:], axisc=0), (X,)),
    ("cross bad", lambda m, a: m.cross(a, a), (X,)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in MORE], ids=[c[0] for c in MORE])
def test_more_match_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    check(f, *args)


SORTED = np.float32([-np.inf, -1, -0.0, 0.0, 0.0, 2, 2, 5, np.inf, np.nan])
QUERIES = np.float32([[-np.inf, -0.0, 0.0, 2], [3, np.inf, np.nan, -7]])
SEARCH: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("searchsorted left", lambda m, a, v: m.searchsorted(a, v), (SORTED, QUERIES)),
    ("searchsorted right", lambda m, a, v: m.searchsorted(a, v, side="right"),
     (SORTED, QUERIES)),
    ("searchsorted scalar", lambda m, a, v: m.searchsorted(a, 2.0), (SORTED, QUERIES)),
    ("searchsorted ints", lambda m, a, v: m.searchsorted(a, v, side="right"),
     (np.int32([1, 3, 3, 9]), np.int32([0, 3, 10]))),
    ("searchsorted bools", lambda m, a, v: m.searchsorted(a, v),
     (np.array([False, True, True]), np.array([True, False]))),
    ("searchsorted complex", lambda m, a, v: m.searchsorted(a, v),
     (np.complex64([1 + 0j, 1 + 2j, 3 - 1j]), np.complex64([1 + 1j, 3 - 2j, 0j]))),
    ("searchsorted sorter", lambda m, a, v: m.searchsorted(a, v, sorter=np.int32([2, 0, 1])),
     (np.float32([3, 5, 1]), np.float32([2, 4]))),
    ("searchsorted 2d", lambda m, a, v: m.searchsorted(a, v), (QUERIES, SORTED)),
    ("searchsorted bad side", lambda m, a, v: m.searchsorted(a, v, side="middle"),
     (SORTED, QUERIES)),
    ("searchsorted mixed dtypes", lambda m, a, v: m.searchsorted(a, v),
     (np.int32([1, 2, 3]), np.float32([1.5, 3]))),
    ("isin", lambda m, a, v: m.isin(a, v), (QUERIES, SORTED)),
    ("isin invert", lambda m, a, v: m.isin(a, v, invert=True), (QUERIES, SORTED)),
    ("isin ints", lambda m, a, v: m.isin(a, v), (np.int32([[1, 2], [3, 4]]), np.int8([4, 1]))),
    ("isin empty", lambda m, a, v: m.isin(a, v[:0], invert=True), (QUERIES, SORTED)),
    ("logspace", lambda m, a, v: m.logspace(0, 2, 5), (SORTED, QUERIES)),
    ("logspace base dtype", lambda m, a, v: m.logspace(1, 3, 3, base=2, dtype=m.int32,
                                                       endpoint=False), (SORTED, QUERIES)),
    ("logspace arrays axis", lambda m, a, v: m.logspace(v[0], v[0] + 1, 4, axis=1),
     (SORTED, np.float32([[0, 1], [2, 3]]))),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in SEARCH], ids=[c[0] for c in SEARCH])
def test_search_and_sets_match_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    check(f, *args)


def test_searchsorted_under_jit_and_vmap_matches_a_loop() -> None:
    a = np.sort(np.random.default_rng(0).standard_normal(20).astype(np.float32))
    v = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    got = refjax.jit(refjax.vmap(lambda row: rnp.searchsorted(a, row, side="right")))(v)
    want = np.stack([np.searchsorted(a, row, side="right") for row in v])
    np.testing.assert_array_equal(np.asarray(got), want)


SAMPLES = np.float32([[1, 2, 4, 7], [2, 1, 0, -1], [0.5, 0.5, 3, 3]])
STATS: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("trapezoid", lambda m, a: m.trapezoid(a), (SAMPLES,)),
    ("trapezoid dx axis", lambda m, a: m.trapezoid(a, dx=0.5, axis=0), (SAMPLES,)),
    ("trapezoid x", lambda m, a: m.trapezoid(a, x=a[0] ** 2), (SAMPLES,)),
    ("trapezoid x 2d", lambda m, a: m.trapezoid(a, x=a * 2, axis=0), (SAMPLES,)),
    ("trapezoid dx array", lambda m, a: m.trapezoid(a, dx=a[:, 1:] - a[:, :-1]), (SAMPLES,)),
    ("trapezoid ints", lambda m, a: m.trapezoid(a), (np.int32([1, 4, 9]),)),
    ("unravel_index", lambda m, a: m.unravel_index(a, (3, 4)),
     (np.int32([0, 5, 11, 12, -1, -13, 40]),)),
    ("unravel_index scalar shape", lambda m, a: m.unravel_index(a, 5), (np.int32([3, 7]),)),
    ("unravel_index unsigned", lambda m, a: m.unravel_index(a, (2, 3)), (np.uint8([4, 9]),)),
    ("polyval", lambda m, a: m.polyval(a[0], a[1]), (SAMPLES,)),
    ("polyval ints", lambda m, a: m.polyval(np.int32([1, -2, 3]), a), (np.int32([0, 2, 5]),)),
    ("polyval broadcast", lambda m, a: m.polyval(a[:, :1], a[1]), (SAMPLES,)),
    ("cov", lambda m, a: m.cov(a), (SAMPLES,)),
    ("cov not rowvar bias", lambda m, a: m.cov(a, rowvar=False, bias=True), (SAMPLES,)),
    ("cov y ddof", lambda m, a: m.cov(a[0], a[1], ddof=0), (SAMPLES,)),
    ("cov fweights", lambda m, a: m.cov(a, fweights=np.int32([1, 2, 1, 3])), (SAMPLES,)),
    ("cov aweights", lambda m, a: m.cov(a, aweights=np.float32([0.5, 1, 2, 1])), (SAMPLES,)),
    ("cov both weights", lambda m, a: m.cov(a, fweights=np.int32([1, 2, 1, 3]),
                                            aweights=np.float32([0.5, 1, 2, 1])), (SAMPLES,)),
    ("cov one variable", lambda m, a: m.cov(a[0]), (SAMPLES,)),
    ("cov ints dtype", lambda m, a: m.cov(a, dtype=m.float32), (np.int32([[1, 2, 5]]),)),
    ("cov float fweights", lambda m, a: m.cov(a, fweights=np.float32([1, 2, 1, 3])),
     (SAMPLES,)),
    ("cov 3d", lambda m, a: m.cov(a[None]), (SAMPLES,)),
    ("corrcoef", lambda m, a: m.corrcoef(a), (SAMPLES,)),
    ("corrcoef y", lambda m, a: m.corrcoef(a[0], a[2]), (SAMPLES,)),
    ("corrcoef one", lambda m, a: m.corrcoef(a[0]), (SAMPLES,)),
    ("corrcoef complex", lambda m, a: m.corrcoef(a), (SAMPLES + 1j * SAMPLES[::-1],)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in STATS], ids=[c[0] for c in STATS])
def test_statistics_match_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    check(f, *args, tol=1e-5)


def test_cov_and_trapezoid_match_numpy() -> None:
    np.testing.assert_allclose(rnp.cov(SAMPLES, aweights=np.float32([1, 2, 3, 4])),
                               np.cov(SAMPLES.astype(np.float64), aweights=[1, 2, 3, 4]),
                               rtol=1e-5)
    np.testing.assert_allclose(rnp.trapezoid(SAMPLES, dx=0.3),
                               np.trapezoid(SAMPLES.astype(np.float64), dx=0.3), rtol=1e-6)


QX = np.float32([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, np.nan, 9, 7, 9]])
QUANTILE_KW: list[dict[str, Any]] = [
    {}, {"axis": 1}, {"axis": 0, "keepdims": True}, {"axis": (1, 0)},
    {"axis": 1, "method": "lower"}, {"axis": 1, "method": "higher"},
    {"axis": 1, "method": "nearest"}, {"axis": 1, "method": "midpoint"}, {"keepdims": True},
]


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("q", [0.5, np.float32([0.0, 0.1, 0.9, 1.0])], ids=["scalar", "vector"])
@pytest.mark.parametrize("kw", QUANTILE_KW, ids=[str(k) for k in QUANTILE_KW])
def test_quantiles_match_jax(name: str, q: Any, kw: dict[str, Any]) -> None:
    check(lambda m, a: getattr(m, name)(a, q, **kw), QX)


QUANTILE_OTHERS: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("percentile", lambda m, a: m.percentile(a, np.float32([10, 50]), axis=1), (QX,)),
    ("nanpercentile", lambda m, a: m.nanpercentile(a, 25.0, axis=1, keepdims=True), (QX,)),
    ("median", lambda m, a: m.median(a, axis=1), (QX,)),
    ("median all", lambda m, a: m.median(a), (QX,)),
    ("nanmedian", lambda m, a: m.nanmedian(a, axis=(0, 1), keepdims=True), (QX,)),
    ("median ints", lambda m, a: m.median(a, axis=1), (np.int32([[1, 2, 3, 4]]),)),
    ("quantile 3d axes", lambda m, a: m.quantile(a, 0.3, axis=(0, 2), keepdims=True),
     (np.arange(24, dtype=np.float32).reshape(2, 3, 4),)),
    ("quantile complex", lambda m, a: m.quantile(a, 0.5), (np.complex64([1, 2j]),)),
    ("quantile bad method", lambda m, a: m.quantile(a, 0.5, method="mean"), (QX,)),
    ("quantile q rank 2", lambda m, a: m.quantile(a, np.float32([[0.5]])), (QX,)),
    ("quantile out", lambda m, a: m.quantile(a, 0.5, overwrite_input=True), (QX,)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in QUANTILE_OTHERS],
                         ids=[c[0] for c in QUANTILE_OTHERS])
def test_quantile_family_matches_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    check(f, *args)


def test_quantile_gradient_and_missing_weights() -> None:
    q = np.float32([0.3, 0.7])
    ours = refjax.grad(lambda x: rnp.sum(rnp.nanquantile(x, q, axis=1)))(QX)
    theirs = jax.grad(lambda x: jnp.sum(jnp.nanquantile(x, q, axis=1)))(QX)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), equal_nan=True)
    with pytest.raises(NotImplementedError, match="weights"):
        rnp.quantile(QX, 0.5, method="inverted_cdf", weights=np.ones_like(QX))
