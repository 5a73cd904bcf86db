"""The rest of ``refjax.scipy.special`` (``special_functions``, ``special_hypergeometric``)
against ``jax.scipy.special`` (JAX 0.10.2) and SciPy.

Values on grids of points with edge inputs, with shapes, dtypes and weak types, in float32 and in
float64 (64-bit mode); SciPy as an independent float64 reference where JAX's algorithm is
accurate; gradients against JAX's (the custom JVPs) and against finite differences; ``vmap``
against a loop; ``jit`` against eager; the errors JAX raises.

refjax evaluates the same float32 polynomials as XLA but in numpy's order of operations, so
float32 values agree to a few ulp (tolerance 2e-5 relative), float64 ones to 1e-12.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
import refjax.scipy.special as rsp
from refjax.test_util import check_grads
from tests.errors import raised
from tests.numpy.helpers import assert_same
from tests.oracle import enable_x64, jax, jnp, lazy
from tests.scipy.test_special import check_sp

jsp: Any = lazy("jax.scipy.special")
scipy_special: Any = lazy("scipy.special")

F32_TOL = 2e-5
F64_TOL = 1e-12

Fn = Callable[..., Any]


def both_dtypes(f: Fn, *args: np.ndarray, tol32: float = F32_TOL, tol64: float = F64_TOL
                ) -> None:
    """:func:`check_sp` in float32, then in float64 with 64-bit mode on."""
    check_sp(f, *(a.astype(np.float32) if a.dtype.kind == "f" else a for a in args), tol=tol32)
    with enable_x64():
        check_sp(f, *(a.astype(np.float64) if a.dtype.kind == "f" else a for a in args),
                 tol=tol64)


# ---------------------------------------------------------------------------------------------
# Values against JAX

EDGES = np.array([-np.inf, -40.0, -7.0, -3.5, -1.0, -0.5, -0.0, 0.0, 1e-3, 0.3, 1.0, 1.5, 2.5,
                  3.0, 4.5, 6.0, 7.5, 9.0, 12.0, 20.0, 40.0, 70.0, 200.0, np.inf, np.nan])
# (near 0, expn's continued fraction, which runs for every element once batched, takes
# thousands of steps: 1e-3 is checked alone)
POSITIVE = np.array([0.0, 0.3, 0.5, 1.0, 1.5, 1.9, 2.0, 2.5, 3.5, 5.0, 9.0, 17.0, 33.0,
                     65.0, 100.0, np.inf, np.nan, -1.0])
UNIT = np.array([-0.5, 0.0, 0.1, 0.3, 0.5, 0.8, 0.95, 1.0])

UNARY: list[tuple[str, np.ndarray]] = [
    ("erfcx", EDGES), ("dawsn", EDGES), ("expi", EDGES), ("exp1", POSITIVE),
    ("spence", POSITIVE), ("sici", EDGES), ("fresnel", EDGES),
    ("fresnel large", np.array([3.0e4, 4.0e4, -5.0e4, 1e6])),
    ("sici large", np.array([1e8, 2e9, -3e9])),
    ("dawsn regions", np.array([3.2, 3.3, 6.2, 6.3, 1e3, -4.0])),
    ("erfcx large", np.array([9.0, 9.5, 26.0, 27.0, 1e3])),
]


@pytest.mark.parametrize("name,x", [(n.split()[0], x) for n, x in UNARY],
                         ids=[n for n, _ in UNARY])
def test_unary_functions_match_jax(name: str, x: np.ndarray) -> None:
    both_dtypes(lambda m, v: getattr(m, name)(v), x)


def test_wofz_and_complex_erfcx_match_jax() -> None:
    re = np.array([-6.0, -2.0, -0.5, 0.0, 0.7, 3.0, 10.0])
    z = (re[:, None] + 1j * re[None, :]).ravel()
    check_sp(lambda m, v: m.wofz(v), z.astype(np.complex64), tol=1e-4)
    check_sp(lambda m, v: m.wofz(v), re.astype(np.float32), tol=1e-5)
    check_sp(lambda m, v: m.erfcx(v), z.astype(np.complex64), tol=1e-4)
    with enable_x64():
        check_sp(lambda m, v: m.wofz(v), z, tol=1e-12)
        check_sp(lambda m, v: m.erfcx(v), z, tol=1e-12)


def test_expn_matches_jax() -> None:
    n = np.array([0, 1, 2, 7, -1], np.int32)[:, None]
    both_dtypes(lambda m, k, v: m.expn(k, v), n, POSITIVE[::2])
    both_dtypes(lambda m, k, v: m.expn(k, v), n.astype(np.float64), np.array([0.3, 2.0]))
    # n >= 5000 (the asymptotic branch) one element at a time: batched, every branch runs, and
    # the series' digamma loop would take 5000 steps
    for x in (0.0, 0.5, 2.0, 300.0):
        both_dtypes(lambda m, v: m.expn(5000, v), np.array(x))
    both_dtypes(lambda m, v: m.expn(3, v), np.array(1e-3))


def test_owens_t_matches_jax() -> None:
    h = np.array([-2.0, -0.5, 0.0, 0.3, 0.6, 1.0, 2.5, 6.0, np.nan])[:, None]
    a = np.array([-3.0, -1.0, -0.4, 0.0, 0.5, 1.0, 1.2, 4.0, 50.0, np.inf, np.nan])
    both_dtypes(lambda m, u, v: m.owens_t(u, v), h, a)


def test_poch_matches_jax() -> None:
    z = np.array([-2.5, -1.0, 0.5, 1.0, 3.0, 10.0])[:, None]
    both_dtypes(lambda m, u, v: m.poch(u, v), z, np.array([-1.5, 0.0, 0.5, 2.0, 4.0]),
                tol64=1e-11)


def test_hyp1f1_matches_jax() -> None:
    a = np.array([-2.0, 0.0, 0.5, 1.0, 3.0])[:, None, None]
    b = np.array([0.0, 0.5, 1.0, 2.5])[:, None]
    x = np.array([-5.0, 0.0, 0.3, 2.0, 20.0, 150.0])
    both_dtypes(lambda m, u, v, w: m.hyp1f1(u, v, w), a, b, x, tol32=1e-4, tol64=1e-10)


# hyp2f1 has many regimes and each takes seconds on JAX: the first c (every regime of x) runs
# in make test, the rest under -m slow (make test-slow).
_HYP2F1_C_X = [(3.0, [-0.5, 0.0, 0.3, 0.95, 1.0, 1.5]), (0.0, [0.5]), (-2.0, [0.5]),
               (2.5, [0.5, 0.95]), (3.5, [0.97])]


@pytest.mark.parametrize(
    "c, x",
    [_HYP2F1_C_X[0], *(pytest.param(*cx, marks=pytest.mark.slow) for cx in _HYP2F1_C_X[1:])],
)
def test_hyp2f1_matches_jax(c: float, x: list[float]) -> None:
    a = np.array([-3.0, 0.0, 0.5, 2.0])[:, None, None]
    b = np.array([-2.0, 1.5])[:, None]
    both_dtypes(lambda m, u, v, w, y: m.hyp2f1(u, v, w, y), a, b, np.array(c), np.array(x),
                tol32=1e-4, tol64=1e-9)


def test_hyp2f1_special_parameters_match_jax() -> None:
    # b == c, a == c, c - a - b an integer near x = 1 (the digamma transformation)
    rows = np.array([[1.0, 2.0, 2.0, 0.5], [2.0, 1.5, 2.0, 0.4], [0.5, 1.5, 4.0, 0.95],
                     [1.0, 1.0, 2.0, 0.93], [1.0, 2.0, 2.0, 0.99], [0.3, 0.7, 3.0, 0.96]])
    both_dtypes(lambda m, r: m.hyp2f1(r[:, 0], r[:, 1], r[:, 2], r[:, 3]), rows,
                tol32=1e-4, tol64=1e-9)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 10, 25])
def test_bernoulli_matches_jax(n: int) -> None:
    check_sp(lambda m: m.bernoulli(n), tol=1e-6)
    with enable_x64():
        check_sp(lambda m: m.bernoulli(n), tol=1e-12)


def test_bessel_jn_matches_jax() -> None:
    z = np.array([[2.0, 5.0, 10.0], [17.0, 30.0, 45.0]])
    both_dtypes(lambda m, v: m.bessel_jn(v, v=3), z, tol32=1e-4, tol64=1e-10)
    both_dtypes(lambda m, v: m.bessel_jn(v, v=0, n_iter=30), z[0], tol32=1e-4, tol64=1e-10)
    both_dtypes(lambda m, v: m.bessel_jn(v, v=2), np.array(3.0), tol32=1e-4, tol64=1e-10)


def test_sph_harm_y_matches_jax() -> None:
    n = np.array([0, 1, 2, 3, 4, 4, 5], np.int32)
    m = np.array([0, -1, 2, -3, 1, -4, 5], np.int32)
    theta = np.linspace(0.1, 3.0, 7)
    phi = np.linspace(0.0, 6.0, 7)
    both_dtypes(lambda s, *a: s.sph_harm_y(*a), n, m, theta, phi, tol32=1e-4, tol64=1e-10)
    both_dtypes(lambda s, *a: s.sph_harm_y(*a, n_max=7), n, m, theta, phi, tol32=1e-4,
                tol64=1e-10)
    both_dtypes(lambda s, *a: s.sph_harm_y(*a, n_max=3), n, m, theta, phi, tol32=1e-4,
                tol64=1e-10)
    both_dtypes(lambda s, *a: s.sph_harm_y(n, m, 0.7, a[0]), phi, tol32=1e-4, tol64=1e-10)


PYTHON_SCALARS: list[tuple[str, Fn]] = [
    ("erfcx", lambda m: m.erfcx(1.5)),
    ("erfcx int", lambda m: m.erfcx(2)),
    ("dawsn", lambda m: m.dawsn(0.5)),
    ("wofz", lambda m: m.wofz(1.0)),
    ("wofz complex", lambda m: m.wofz(1.0 + 0.5j)),
    ("expi", lambda m: m.expi(1.5)),
    ("exp1 int", lambda m: m.exp1(2)),
    ("expn", lambda m: m.expn(2, 1.5)),
    ("sici", lambda m: m.sici(2.0)),
    ("fresnel", lambda m: m.fresnel(0.5)),
    ("spence", lambda m: m.spence(0.5)),
    ("poch", lambda m: m.poch(2.0, 3)),
    ("owens_t", lambda m: m.owens_t(0.5, 2.0)),
    ("hyp1f1", lambda m: m.hyp1f1(1.0, 2.0, 0.5)),
    ("hyp2f1", lambda m: m.hyp2f1(1.0, 2.0, 3.0, 0.5)),
    ("float16 erfcx", lambda m: m.erfcx(np.array([0.5, 30.0], np.float16))),
    ("float16 dawsn", lambda m: m.dawsn(np.array([0.5, 4.0, 8.0], np.float16))),
    ("float16 fresnel", lambda m: m.fresnel(np.array([0.5, 4.0], np.float16))),
]


@pytest.mark.parametrize("f", [c[1] for c in PYTHON_SCALARS], ids=[c[0] for c in PYTHON_SCALARS])
def test_python_scalars_and_other_dtypes(f: Fn) -> None:
    check_sp(f, tol=2e-3)
    with enable_x64():
        check_sp(f, tol=2e-3)


# ---------------------------------------------------------------------------------------------
# Values against SciPy (float64), where JAX's algorithms are accurate

SCIPY_CASES: list[tuple[str, Fn, Fn, tuple[np.ndarray, ...], float]] = [
    ("erfcx", lambda m, x: m.erfcx(x), lambda x: scipy_special.erfcx(x), (EDGES[1:-2],), 1e-12),
    ("dawsn", lambda m, x: m.dawsn(x), lambda x: scipy_special.dawsn(x), (EDGES[1:-2],), 1e-12),
    ("expi", lambda m, x: m.expi(x), lambda x: scipy_special.expi(x),
     (np.delete(EDGES[1:-2], [5, 6]),), 1e-12),  # at ±0 SciPy's -inf, JAX's NaN
    ("exp1", lambda m, x: m.exp1(x), lambda x: scipy_special.exp1(x), (POSITIVE[1:-3],), 1e-12),
    ("exp1 near 0", lambda m, x: m.exp1(x), lambda x: scipy_special.exp1(x), (np.array(1e-3),),
     1e-12),
    ("spence", lambda m, x: m.spence(x), lambda x: scipy_special.spence(x), (POSITIVE[:-3],),
     1e-12),
    ("sici", lambda m, x: m.sici(x), lambda x: scipy_special.sici(x), (EDGES[1:-2],), 1e-12),
    ("fresnel", lambda m, x: m.fresnel(x), lambda x: scipy_special.fresnel(x),
     (EDGES[1:-5],), 1e-12),
    ("expn", lambda m, n, x: m.expn(n, x), lambda n, x: scipy_special.expn(n, x),
     (np.array([1, 2, 5])[:, None], POSITIVE[1:-3:2]), 1e-11),
    ("owens_t", lambda m, h, a: m.owens_t(h, a), lambda h, a: scipy_special.owens_t(h, a),
     (np.array([0.0, 0.3, 1.0, 2.0])[:, None], np.array([-2.0, 0.3, 1.0, 3.0])), 1e-7),
    ("wofz", lambda m, z: m.wofz(z), lambda z: scipy_special.wofz(z),
     (np.array([0.5 + 1j, -2 - 0.5j, 3j, 4.0 + 0j]),), 1e-12),
    ("poch", lambda m, z, k: m.poch(z, k), lambda z, k: scipy_special.poch(z, k),
     (np.array([0.5, 3.0])[:, None], np.array([0.0, 1.5, 3.0])), 1e-12),
    ("hyp1f1", lambda m, a, b, x: m.hyp1f1(a, b, x), lambda a, b, x: scipy_special.hyp1f1(a, b, x),
     (np.array([0.5, 2.0])[:, None], np.array([1.5, 3.0]), np.array([0.7])), 1e-12),
    ("hyp2f1", lambda m, a, b, c, x: m.hyp2f1(a, b, c, x),
     lambda a, b, c, x: scipy_special.hyp2f1(a, b, c, x),
     (np.array([0.5, 1.0, -2.0])[:, None], np.array([1.5, 2.0]), np.array([3.0]),
      np.array([0.3])), 1e-12),
    # 50 terms of zeta(2k): B_4 is 8e-8 off in JAX's formula too
    ("bernoulli", lambda m: m.bernoulli(12), lambda: scipy_special.bernoulli(12), (), 1e-7),
]


@pytest.mark.parametrize("ours,theirs,args,tol", [c[1:] for c in SCIPY_CASES],
                         ids=[c[0] for c in SCIPY_CASES])
def test_float64_values_match_scipy(ours: Fn, theirs: Fn, args: tuple[np.ndarray, ...],
                                    tol: float) -> None:
    with enable_x64():
        got = ours(rsp, *args)
    expected = theirs(*args)
    for g, e in zip(got if isinstance(got, tuple) else (got,),
                    expected if isinstance(expected, tuple) else (expected,), strict=True):
        np.testing.assert_allclose(np.asarray(g), e, rtol=tol, atol=tol)


def test_sph_harm_y_matches_scipy() -> None:
    n = np.array([0, 1, 2, 3, 4, 5])
    m = np.array([0, -1, 2, -3, 1, 5])
    theta = np.linspace(0.2, 2.9, 6)
    phi = np.linspace(0.1, 5.0, 6)
    with enable_x64():
        ours = rsp.sph_harm_y(n, m, theta, phi)
    np.testing.assert_allclose(np.asarray(ours), scipy_special.sph_harm_y(n, m, theta, phi),
                               rtol=1e-10, atol=1e-12)


def test_bessel_jn_matches_scipy() -> None:
    z = np.array([1.0, 4.0, 12.0, 25.0])
    with enable_x64():
        ours = np.asarray(rsp.bessel_jn(z, v=4))
    np.testing.assert_allclose(ours, scipy_special.jv(np.arange(5)[:, None], z), atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Errors

ERRORS: list[tuple[str, Fn]] = [
    ("dawsn complex", lambda m: m.dawsn(np.array([1.0], np.complex64))),
    ("expi complex", lambda m: m.expi(np.array([1.0], np.complex64))),
    ("exp1 complex", lambda m: m.exp1(np.array([1.0], np.complex64))),
    ("sici complex", lambda m: m.sici(np.array([1.0], np.complex64))),
    ("fresnel complex", lambda m: m.fresnel(np.array([1.0], np.complex64))),
    ("poch complex", lambda m: m.poch(np.array([1.0], np.complex64), 2.0)),
    ("hyp1f1 complex", lambda m: m.hyp1f1(1.0, 2.0, np.complex64(1.0))),
    ("spence int", lambda m: m.spence(np.array([1], np.int32))),
    ("spence float16", lambda m: m.spence(np.array([1], np.float16))),
    ("bernoulli negative", lambda m: m.bernoulli(-1)),
    ("bernoulli float", lambda m: m.bernoulli(2.0)),
    ("bessel_jn complex", lambda m: m.bessel_jn(np.array([1.0], np.complex64), v=2)),
    ("bessel_jn float order", lambda m: m.bessel_jn(np.array([1.0], np.float32), v=2.5)),
    ("sph_harm_y diff_n", lambda m: m.sph_harm_y(np.array([1]), np.array([0]),
                                                  np.array([0.5]), np.array([0.5]), diff_n=1)),
]


@pytest.mark.parametrize("f", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_match_jax(f: Fn) -> None:
    err = raised(lambda: f(jsp))
    raised(lambda: f(rsp), type(err))


def test_traced_arguments_that_must_be_concrete() -> None:
    n = np.array([1, 2], np.int32)
    x = np.array([0.5, 0.6], np.float32)
    for lib, mod in ((jax, jsp), (refjax, rsp)):
        raised(lambda: lib.jit(lambda k: mod.bernoulli(k))(3),  # noqa: B023
               lib.errors.ConcretizationTypeError)
        raised(lambda: lib.jit(lambda k: mod.sph_harm_y(k, k, x, x))(n),  # noqa: B023
               (lib.errors.ConcretizationTypeError, lib.errors.TracerArrayConversionError))


# ---------------------------------------------------------------------------------------------
# Derivatives: against JAX's custom JVPs and against finite differences

X = np.array([0.3, 0.7, 1.5, 2.5, 4.5, 9.0])
H = np.array([0.2, 0.9, 1.1, 3.0, 0.4, 0.0])


def grads_match(f: Fn, *args: np.ndarray, argnums: int | tuple[int, ...] = 0,
                tol32: float = 1e-4, tol64: float = 1e-9) -> None:
    """``grad(sum(f))`` matches JAX's in float32 and float64."""
    for dtype, tol in ((np.float32, tol32), (np.float64, tol64)):
        with enable_x64(dtype == np.float64):
            cast = [a.astype(dtype) for a in args]
            theirs = jax.grad(lambda *a: jnp.sum(f(jsp, jnp, *a)), argnums)(*cast)
            ours = refjax.grad(lambda *a: rnp.sum(f(rsp, rnp, *a)), argnums)(*cast)
            assert_same(ours, theirs, tol)


GRADS: list[tuple[str, Fn, tuple[np.ndarray, ...], int | tuple[int, ...]]] = [
    ("erfcx", lambda m, n, x: m.erfcx(x), (np.concatenate([-X, X, [30.0]]),), 0),
    ("dawsn", lambda m, n, x: m.dawsn(x), (np.concatenate([-X, X]),), 0),
    ("expi", lambda m, n, x: m.expi(x), (np.concatenate([-X, X]),), 0),
    ("exp1", lambda m, n, x: m.exp1(x), (X,), 0),
    ("expn", lambda m, n, x: m.expn(3, x), (X,), 0),
    ("sici", lambda m, n, x: m.sici(x)[0] + 2 * m.sici(x)[1], (X,), 0),
    ("fresnel", lambda m, n, x: m.fresnel(x)[0] - 3 * m.fresnel(x)[1], (X - 2,), 0),
    ("spence", lambda m, n, x: m.spence(x), (X,), 0),
    ("owens_t", lambda m, n, h, a: m.owens_t(h, a), (H, X - 2), (0, 1)),
    ("poch", lambda m, n, z, k: m.poch(z, k), (X, H + 0.5), (0, 1)),
    ("hyp1f1", lambda m, n, a, b, x: m.hyp1f1(a, b, x), (H + 0.5, X + 1, X / 3), (0, 1, 2)),
    ("hyp2f1", lambda m, n, a, b, c, x: m.hyp2f1(a, b, c, x),
     (H + 0.5, X / 2, X + 2, H / 4), (0, 1, 2, 3)),
    ("wofz", lambda m, n, x: n.real(m.wofz(x * (1 + 0.5j))) + n.imag(m.wofz(x - 1j)), (X,), 0),
    # Miller's recurrence overflows float32 below about 4
    ("bessel_jn", lambda m, n, x: m.bessel_jn(x, v=2)[2], (X + 4,), 0),
    ("sph_harm_y", lambda m, n, t: n.real(m.sph_harm_y(np.arange(6), np.arange(6) - 2, t, t)),
     (X / 3,), 0),
]


@pytest.mark.parametrize("f,args,argnums", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_gradients_match_jax(f: Fn, args: tuple[np.ndarray, ...],
                             argnums: int | tuple[int, ...]) -> None:
    grads_match(f, *args, argnums=argnums, tol32=5e-4 if f is GRADS[-2][1] else 1e-4)


FINITE_DIFFERENCES: list[tuple[str, Fn, tuple[float, ...]]] = [
    ("erfcx", rsp.erfcx, (0.7,)),
    ("dawsn", rsp.dawsn, (-1.3,)),
    ("expi", rsp.expi, (2.5,)),
    ("exp1", rsp.exp1, (0.8,)),
    ("expn", lambda x: rsp.expn(2, x), (1.7,)),
    ("sici", rsp.sici, (3.0,)),
    ("fresnel", rsp.fresnel, (1.2,)),
    ("owens_t", rsp.owens_t, (0.6, 1.7)),
    ("poch", rsp.poch, (1.5, 2.5)),
    ("hyp1f1", rsp.hyp1f1, (0.5, 1.5, 0.8)),
    ("hyp2f1", rsp.hyp2f1, (0.5, 1.5, 3.0, 0.4)),
    ("wofz", lambda x: rnp.real(rsp.wofz(x * (1 + 1j))), (0.6,)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in FINITE_DIFFERENCES],
                         ids=[c[0] for c in FINITE_DIFFERENCES])
def test_first_derivatives_against_finite_differences(f: Fn, args: tuple[float, ...]) -> None:
    with enable_x64():
        check_grads(f, tuple(np.float64(a) for a in args), order=1, modes=("fwd", "rev"))


def test_expn_has_no_derivative_in_n() -> None:
    """``n`` is a non-differentiable argument of expn's custom JVP: its gradient is zero."""
    x = np.float32(1.5)
    assert_same(refjax.grad(rsp.expn)(np.float32(2.0), x),
                jax.grad(jsp.expn)(np.float32(2.0), x))


# ---------------------------------------------------------------------------------------------
# Transformations: vmap against a loop, jit against eager

BATCHED: list[tuple[str, Fn, tuple[np.ndarray, ...]]] = [
    ("erfcx", lambda m, x: m.erfcx(x), (X[:, None] * H - 1,)),
    ("expi", lambda m, x: m.expi(x), (X[:, None] * H - 1,)),
    ("expn", lambda m, n, x: m.expn(n, x), (np.array([1.0, 2.0, 4.0]), X[::2] + 0.5)),
    ("sici", lambda m, x: m.sici(x), (X[:, None] * H * 2,)),
    ("owens_t", lambda m, h, a: m.owens_t(h, a), (X[:, None] * H, H[:, None] - X)),
    ("hyp1f1", lambda m, a, b, x: m.hyp1f1(a, b, x), (H + 0.5, X + 1, X * 2)),
    ("hyp2f1", lambda m, a, b, c, x: m.hyp2f1(a, b, c, x), (H + 0.5, X / 2, X + 2, H / 4)),
    ("bessel_jn", lambda m, x: m.bessel_jn(x, v=2), (X[:, None] + H + 1,)),
    ("spence", lambda m, x: m.spence(x), (X[:, None] * H,)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in BATCHED], ids=[c[0] for c in BATCHED])
def test_vmap_matches_a_loop_and_jax(f: Fn, args: tuple[np.ndarray, ...]) -> None:
    cast = [a.astype(np.float32) for a in args]
    ours = refjax.vmap(lambda *a: f(rsp, *a))(*cast)
    loop = [f(rsp, *(a[i] for a in cast)) for i in range(len(cast[0]))]
    per_output = zip(*loop, strict=True) if isinstance(ours, tuple) else (loop,)
    for got, each in zip(ours if isinstance(ours, tuple) else (ours,), per_output, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.stack([np.asarray(e) for e in each]),
                                   rtol=1e-6, atol=1e-7)
    assert_same(ours, jax.vmap(lambda *a: f(jsp, *a))(*cast), 1e-4)


@pytest.mark.parametrize("f,args", [c[1:] for c in BATCHED], ids=[c[0] for c in BATCHED])
def test_jit_matches_eager(f: Fn, args: tuple[np.ndarray, ...]) -> None:
    cast = [a.astype(np.float32) for a in args]
    ours = refjax.jit(lambda *a: f(rsp, *a))(*cast)
    eager = f(rsp, *cast)
    assert_same(ours, eager, 1e-6)


def test_jit_reruns_of_a_shared_literal_stay_right() -> None:
    """The numpy backend's compiled program (from the fourth run) names a Literal read by two
    equations once; it used to give the next constant the same name (bessel_jn's parity test
    ``mod(k, 2) == 0`` compared against 2 from then on)."""
    f = refjax.jit(lambda k: rnp.mod(k, 2) == 0)
    assert [bool(f(np.float32(i))) for i in range(8)] == [i % 2 == 0 for i in range(8)]
