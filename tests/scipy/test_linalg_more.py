"""The rest of ``refjax.scipy.linalg`` (``schur``, ``hessenberg``, ``rsf2csf``, ``qr_multiply``,
``polar``, ``sqrtm``, ``funm``, ``expm_frechet``, ``solve_sylvester``, ``eigh_tridiagonal``
and the special matrices) against ``jax.scipy.linalg`` (JAX 0.10.2): values, shapes, dtypes
and weak types, error classes, batches, and gradients where JAX's are defined (also against
finite differences). The complex Schur vectors are checked by what defines them (``Z T Z^H``,
the diagonal of ``T``, unitarity), as they may differ from LAPACK's by a phase per column.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
import refjax.scipy.linalg as rsl
from refjax.test_util import check_grads
from tests.errors import raised
from tests.numpy.helpers import assert_same
from tests.oracle import enable_x64, jax, jnp, lazy

jsl: Any = lazy("jax.scipy.linalg")
_RNG = np.random.default_rng(5)
Fn = Callable[..., Any]


def _f32(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(np.float32)


def _c64(*shape: int) -> np.ndarray:
    return (_RNG.standard_normal(shape) + 1j * _RNG.standard_normal(shape)).astype(np.complex64)


A = _f32(4, 4)
A5 = _f32(5, 5)
BATCH = _f32(2, 3, 3)
CA = _c64(3, 3)
TALL = _f32(5, 3)
WIDE = _f32(3, 5)
V = _f32(4)
SPD = (A @ A.T + 4 * np.eye(4)).astype(np.float32)
STABLE = (A - 5 * np.eye(4)).astype(np.float32)  # eigenvalues with negative real parts
B3 = (_f32(3, 3) + 4 * np.eye(3)).astype(np.float32)
C43 = _f32(4, 3)
INT_V = np.array([3, 1, 4, 1, 5], np.int32)


def check(f: Fn, *args: Any, tol: float | None = 1e-4) -> None:
    """``f(refjax.scipy.linalg, *args)`` matches ``f(jax.scipy.linalg, *args)`` (shapes,
    dtypes, weak types, values), or raises an exception of the class JAX's raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = f(jsl, *args)
    except Exception as err:  # any JAX error must be mirrored
        raised(lambda: f(rsl, *args), type(err))
        return
    ours = f(rsl, *args)
    assert_same(ours, theirs, tol)


CASES: list[tuple[str, Fn, tuple[Any, ...]]] = [
    # Schur, Hessenberg, rsf2csf, qr_multiply
    ("schur", lambda m, a: m.schur(a), (A5,)),
    ("schur batch", lambda m, a: m.schur(a), (BATCH,)),
    ("schur bad output", lambda m, a: m.schur(a, output="x"), (A,)),
    ("schur not square", lambda m, a: m.schur(a), (TALL,)),
    ("schur int", lambda m, a: m.schur(a), (np.eye(3, dtype=np.int32),)),
    ("hessenberg", lambda m, a: m.hessenberg(a), (A5,)),
    ("hessenberg calc_q", lambda m, a: m.hessenberg(a, calc_q=True), (A5,)),
    ("hessenberg batch calc_q", lambda m, a: m.hessenberg(a, calc_q=True), (BATCH,)),
    ("hessenberg complex calc_q", lambda m, a: m.hessenberg(a, calc_q=True), (CA,)),
    ("hessenberg empty", lambda m, a: m.hessenberg(a, calc_q=True),
     (np.zeros((0, 0), np.float32),)),
    ("hessenberg not square", lambda m, a: m.hessenberg(a), (TALL,)),
    ("rsf2csf", lambda m, a: m.rsf2csf(*m.schur(a)), (A5,)),
    ("rsf2csf batch", lambda m, a: m.rsf2csf(*m.schur(a)), (BATCH,)),
    ("rsf2csf 1x1", lambda m, a: m.rsf2csf(a, a), (np.ones((1, 1), np.float32),)),
    ("rsf2csf mismatch", lambda m, a, b: m.rsf2csf(a, b), (A, B3)),
    ("rsf2csf not square", lambda m, a: m.rsf2csf(a, a), (TALL,)),
    ("qr_multiply right", lambda m, a, c: m.qr_multiply(a, c), (TALL, _f32(2, 5))),
    ("qr_multiply left", lambda m, a, c: m.qr_multiply(a, c, mode="left"), (TALL, _f32(3, 2))),
    ("qr_multiply wide left", lambda m, a, c: m.qr_multiply(a, c, mode="left"),
     (WIDE, _f32(3, 2))),
    ("qr_multiply vector right", lambda m, a, c: m.qr_multiply(a, c), (TALL, _f32(5))),
    ("qr_multiply vector left", lambda m, a, c: m.qr_multiply(a, c, mode="left"),
     (TALL, _f32(3))),
    ("qr_multiply conjugate", lambda m, a, c: m.qr_multiply(a, c, conjugate=True),
     (_c64(4, 3), _c64(2, 4))),
    ("qr_multiply conjugate left",
     lambda m, a, c: m.qr_multiply(a, c, mode="left", conjugate=True), (_c64(4, 3), _c64(3, 2))),
    ("qr_multiply batch", lambda m, a, c: m.qr_multiply(a, c), (_f32(2, 4, 3), _f32(1, 2, 4))),
    ("qr_multiply bad mode", lambda m, a, c: m.qr_multiply(a, c, mode="x"), (TALL, _f32(2, 5))),
    ("qr_multiply bad right", lambda m, a, c: m.qr_multiply(a, c), (TALL, _f32(2, 4))),
    ("qr_multiply bad left", lambda m, a, c: m.qr_multiply(a, c, mode="left"),
     (TALL, _f32(4, 2))),
    # polar, sqrtm, funm, expm_frechet, solve_sylvester
    ("polar", lambda m, a: m.polar(a), (TALL,)),
    ("polar square", lambda m, a: m.polar(a), (A,)),
    ("polar left wide", lambda m, a: m.polar(a, side="left"), (WIDE,)),
    ("polar svd", lambda m, a: m.polar(a, method="svd"), (TALL,)),
    ("polar svd left", lambda m, a: m.polar(a, side="left", method="svd"), (WIDE,)),
    ("polar batch", lambda m, a: m.polar(a), (BATCH,)),
    ("polar complex", lambda m, a: m.polar(a), (_c64(4, 3),)),
    ("polar qdwh wide right", lambda m, a: m.polar(a), (WIDE,)),
    ("polar bad side", lambda m, a: m.polar(a, side="x"), (A,)),
    ("polar bad method", lambda m, a: m.polar(a, method="x"), (A,)),
    ("polar vector", lambda m, a: m.polar(a), (V,)),
    ("sqrtm", lambda m, a: m.sqrtm(a), (SPD,)),
    ("sqrtm general", lambda m, a: m.sqrtm(a), (A,)),
    ("sqrtm complex", lambda m, a: m.sqrtm(a), (CA,)),
    ("sqrtm blocksize", lambda m, a: m.sqrtm(a, blocksize=2), (A,)),
    ("funm exp", lambda m, a: m.funm(a, rnp.exp if m is rsl else jnp.exp), (A,)),
    ("funm disp", lambda m, a: m.funm(a, rnp.sin if m is rsl else jnp.sin, disp=False), (A,)),
    ("funm not square", lambda m, a: m.funm(a, rnp.exp if m is rsl else jnp.exp), (TALL,)),
    ("expm_frechet", lambda m, a, e: m.expm_frechet(a, e), (0.3 * A, _f32(4, 4))),
    ("expm_frechet only", lambda m, a, e: m.expm_frechet(a, e, compute_expm=False),
     (0.3 * A, _f32(4, 4))),
    ("expm_frechet batch", lambda m, a, e: m.expm_frechet(a, e), (BATCH, _f32(2, 3, 3))),
    ("expm_frechet mismatch", lambda m, a, e: m.expm_frechet(a, e), (A, B3)),
    ("expm_frechet not square", lambda m, a, e: m.expm_frechet(a, e), (TALL, TALL)),
    ("solve_sylvester", lambda m, a, b, c: m.solve_sylvester(a, b, c), (STABLE, -B3, C43)),
    ("solve_sylvester eigen", lambda m, a, b, c: m.solve_sylvester(a, b, c, method="eigen"),
     (SPD, B3 @ B3.T, C43)),
    ("solve_sylvester complex", lambda m, a, b, c: m.solve_sylvester(a, b, c),
     (CA + 3 * np.eye(3, dtype=np.complex64), B3, _c64(3, 3))),
    ("solve_sylvester batch", lambda m, a, b, c: m.solve_sylvester(a, b, c),
     (BATCH + 4 * np.eye(3, dtype=np.float32), B3, _f32(2, 3, 3))),
    ("solve_sylvester singular", lambda m, a, b, c: m.solve_sylvester(a, b, c),
     (np.eye(3, dtype=np.float32), -np.eye(3, dtype=np.float32), B3)),
    ("solve_sylvester bad shapes", lambda m, a, b, c: m.solve_sylvester(a, b, c), (A, B3, B3)),
    ("solve_sylvester bad method", lambda m, a, b, c: m.solve_sylvester(a, b, c, method="x"),
     (B3, B3, B3)),
    # eigh_tridiagonal
    ("eigh_tridiagonal values", lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True),
     (_f32(6), _f32(5))),
    ("eigh_tridiagonal vectors", lambda m, d, e: m.eigh_tridiagonal(d, e), (_f32(5), _f32(4))),
    ("eigh_tridiagonal select i",
     lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True, select="i",
                                        select_range=(1, 3)), (_f32(6), _f32(5))),
    ("eigh_tridiagonal one", lambda m, d, e: m.eigh_tridiagonal(d, e),
     (_f32(1), np.zeros(0, np.float32))),
    ("eigh_tridiagonal complex", lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True),
     (_f32(4).astype(np.complex64), _c64(3))),
    ("eigh_tridiagonal dtypes", lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True),
     (_f32(4), _f32(3).astype(np.float16))),
    ("eigh_tridiagonal int", lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True),
     (INT_V, INT_V[:4])),
    ("eigh_tridiagonal select v",
     lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True, select="v"),
     (_f32(4), _f32(3))),
    ("eigh_tridiagonal bad select",
     lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True, select="x"),
     (_f32(4), _f32(3))),
    ("eigh_tridiagonal empty range",
     lambda m, d, e: m.eigh_tridiagonal(d, e, eigvals_only=True, select="i",
                                        select_range=(3, 1)), (_f32(4), _f32(3))),
    # special matrices
    ("hankel", lambda m, c: m.hankel(c), (V,)),
    ("hankel r", lambda m, c, r: m.hankel(c, r), (V, _f32(3))),
    ("hankel batch", lambda m, c, r: m.hankel(c, r), (_f32(2, 3), _f32(4))),
    ("hankel int", lambda m, c, r: m.hankel(c, r), (INT_V, INT_V[:2])),
    ("hankel empty", lambda m, c: m.hankel(c), (np.zeros(0, np.float32),)),
    ("hankel scalar", lambda m, c: m.hankel(c), (np.float32(1),)),
    ("hankel list", lambda m: m.hankel([1.0, 2.0]), ()),
    ("circulant", lambda m, c: m.circulant(c), (V,)),
    ("circulant batch", lambda m, c: m.circulant(c), (_f32(2, 3),)),
    ("circulant int", lambda m, c: m.circulant(c), (INT_V,)),
    ("circulant scalar", lambda m: m.circulant(2.0), ()),
    ("leslie", lambda m, f, s: m.leslie(f, s), (V, _f32(3))),
    ("leslie int float", lambda m, f, s: m.leslie(f, s), (INT_V, _f32(4))),
    ("leslie batch", lambda m, f, s: m.leslie(f, s), (_f32(2, 3), _f32(2))),
    ("leslie short", lambda m, f, s: m.leslie(f, s), (_f32(1), _f32(0))),
    ("leslie mismatch", lambda m, f, s: m.leslie(f, s), (V, _f32(2))),
    ("companion", lambda m, a: m.companion(a), (V,)),
    ("companion int", lambda m, a: m.companion(a), (INT_V,)),
    ("companion batch", lambda m, a: m.companion(a), (_f32(2, 3),)),
    ("companion short", lambda m, a: m.companion(a), (_f32(1),)),
    ("fiedler", lambda m, a: m.fiedler(a), (V,)),
    ("fiedler int", lambda m, a: m.fiedler(a), (INT_V,)),
    ("fiedler batch", lambda m, a: m.fiedler(a), (_f32(2, 3),)),
    ("fiedler_companion", lambda m, a: m.fiedler_companion(a), (_f32(7),)),
    ("fiedler_companion 2", lambda m, a: m.fiedler_companion(a), (_f32(2),)),
    ("fiedler_companion 1", lambda m, a: m.fiedler_companion(a), (_f32(1),)),
    ("fiedler_companion batch", lambda m, a: m.fiedler_companion(a), (_f32(2, 5),)),
    ("fiedler_companion empty", lambda m, a: m.fiedler_companion(a), (_f32(0),)),
    ("convolution_matrix full", lambda m, a: m.convolution_matrix(a, 4), (_f32(3),)),
    ("convolution_matrix same", lambda m, a: m.convolution_matrix(a, 5, "same"), (_f32(3),)),
    ("convolution_matrix valid", lambda m, a: m.convolution_matrix(a, 2, "valid"), (_f32(4),)),
    ("convolution_matrix batch", lambda m, a: m.convolution_matrix(a, 3), (_f32(2, 3),)),
    ("convolution_matrix int", lambda m, a: m.convolution_matrix(a, 3), (INT_V,)),
    ("convolution_matrix bad n", lambda m, a: m.convolution_matrix(a, 0), (_f32(3),)),
    ("convolution_matrix bad mode", lambda m, a: m.convolution_matrix(a, 2, "x"), (_f32(3),)),
    ("convolution_matrix scalar", lambda m, a: m.convolution_matrix(a, 2), (np.float32(1),)),
    ("invhilbert", lambda m: m.invhilbert(4), ()),
    ("pascal", lambda m: m.pascal(5), ()),
    ("pascal lower", lambda m: m.pascal(4, kind="lower"), ()),
    ("pascal upper", lambda m: m.pascal(4, kind="upper"), ()),
    ("pascal bad kind", lambda m: m.pascal(4, kind="x"), ()),
    ("invpascal", lambda m: m.invpascal(5), ()),
    ("invpascal lower", lambda m: m.invpascal(4, kind="lower"), ()),
    ("invpascal upper", lambda m: m.invpascal(4, kind="upper"), ()),
    ("invpascal bad kind", lambda m: m.invpascal(4, kind="x"), ()),
    ("helmert", lambda m: m.helmert(4), ()),
    ("helmert full", lambda m: m.helmert(4, full=True), ()),
    ("helmert bad", lambda m: m.helmert(0), ()),
    ("hadamard", lambda m: m.hadamard(8), ()),
    ("hadamard float", lambda m: m.hadamard(4, dtype=np.float32), ()),
    ("hadamard bad", lambda m: m.hadamard(6), ()),
    ("dft", lambda m: m.dft(4), ()),
    ("dft sqrtn", lambda m: m.dft(3, "sqrtn"), ()),
    ("dft n", lambda m: m.dft(3, "n"), ()),
    ("dft bad scale", lambda m: m.dft(3, "x"), ()),
    ("dft real dtype", lambda m: m.dft(3, dtype=np.float32), ()),
]


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(name: str, f: Fn, args: tuple[Any, ...]) -> None:
    check(f, *args)


@pytest.mark.parametrize("f,args", [
    (lambda m, a: m.sqrtm(a), (A,)),
    (lambda m, a: m.polar(a), (TALL,)),
    (lambda m, a, b, c: m.solve_sylvester(a, b, c), (STABLE, -B3, C43)),
    (lambda m, a, e: m.expm_frechet(a, e), (0.3 * A, _f32(4, 4))),
    (lambda m, d, e: m.eigh_tridiagonal(d, e), (_f32(5), _f32(4))),
    (lambda m, a: m.hessenberg(a, calc_q=True), (A5,)),
    (lambda m: m.dft(4), ()),
], ids=["sqrtm", "polar", "solve_sylvester", "expm_frechet", "eigh_tridiagonal", "hessenberg",
        "dft"])
def test_float64_matches_jax(f: Fn, args: tuple[Any, ...]) -> None:
    with enable_x64():
        check(f, *(a.astype(np.result_type(a, np.float64)) for a in args), tol=1e-9)


def test_complex_schur_defines_the_form() -> None:
    """``Z`` unitary, ``T`` upper triangular, ``a = Z T Z^H``, and the eigenvalues (``T``'s
    diagonal) in LAPACK's order, as JAX's."""
    for a in (CA, A5):
        t, z = (np.asarray(x) for x in rsl.schur(a, output="complex"))
        jt, _ = (np.asarray(x) for x in jsl.schur(a, output="complex"))
        assert t.dtype == z.dtype == np.complex64
        np.testing.assert_allclose(z @ t @ z.conj().T, a, atol=1e-4)
        np.testing.assert_allclose(z.conj().T @ z, np.eye(a.shape[0]), atol=1e-5)
        assert np.all(np.tril(t, -1) == 0)
        np.testing.assert_allclose(np.diag(t), np.diag(jt), atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Derivatives: where JAX's are defined (through qdwh, expm, the Schur-free compositions) they
# agree with JAX's and with finite differences; through the Schur form there are none, as in
# JAX.


def _grad_pair(f: Fn, *args: np.ndarray) -> tuple[Any, Any]:
    def loss(m: Any, np_: Any) -> Fn:
        return lambda *xs: np_.sum(np_.real(f(m, *xs)) ** 2)

    ours = refjax.grad(loss(rsl, rnp), argnums=tuple(range(len(args))))(*args)
    theirs = jax.grad(loss(jsl, jnp), argnums=tuple(range(len(args))))(*args)
    return ours, theirs


@pytest.mark.parametrize("f,args", [
    (lambda m, a: m.polar(a, method="svd")[1], (TALL.astype(np.float64),)),
    (lambda m, a, e: m.expm_frechet(a, e, compute_expm=False),
     (0.3 * A.astype(np.float64), _f32(4, 4).astype(np.float64))),
    (lambda m, c: m.hankel(c), (V.astype(np.float64),)),
    (lambda m, a: m.companion(a), (V.astype(np.float64) + 3,)),
    (lambda m, a: m.fiedler_companion(a), (_f32(6).astype(np.float64) + 3,)),
    (lambda m, a: m.convolution_matrix(a, 3, "same"), (_f32(4).astype(np.float64),)),
], ids=["polar svd", "expm_frechet", "hankel", "companion", "fiedler_companion",
        "convolution_matrix"])
def test_gradients(f: Fn, args: tuple[np.ndarray, ...]) -> None:
    with enable_x64():
        ours, theirs = _grad_pair(f, *args)
        for o, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-7, atol=1e-9)
        check_grads(lambda *xs: f(rsl, *xs), list(args), order=1, modes=("rev",), eps=1e-6)


@pytest.mark.parametrize("f", [
    lambda a: rsl.schur(a)[0],
    lambda a: rsl.hessenberg(a),
    lambda a: rsl.sqrtm(a),
], ids=["schur", "hessenberg", "sqrtm"])
def test_no_derivatives_through_schur_or_hessenberg(f: Fn) -> None:
    with pytest.raises(NotImplementedError, match=r"Differentiation rule for '(schur|hessenberg)'"):
        refjax.grad(lambda a: rnp.sum(rnp.real(f(a))))(A)


def test_polar_qdwh_forward_mode_only() -> None:
    """QDWH iterates in a ``while_loop``: its JVP is JAX's, reverse mode raises as JAX's."""
    with enable_x64():
        a = TALL.astype(np.float64)
        t = _f32(5, 3).astype(np.float64)
        ours = refjax.jvp(lambda x: rsl.polar(x)[1], (a,), (t,))
        theirs = jax.jvp(lambda x: jsl.polar(x)[1], (a,), (t,))
        for o, e in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(np.asarray(o), np.asarray(e), rtol=1e-7, atol=1e-9)
        check_grads(lambda x: rsl.polar(x)[1], [a], order=1, modes=("fwd",), eps=1e-6)
        with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
            refjax.grad(lambda x: rnp.sum(rsl.polar(x)[0]))(a)
