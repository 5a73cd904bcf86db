"""``lax.linalg``'s Householder reductions, Schur form, ``symmetric_product``,
``cholesky_update`` and ``qdwh`` beyond the shared op table (records_decompositions_more.py):
complex dtypes and ``cholesky_update`` against real JAX and SciPy, JAX's errors for bad shapes
and dtypes, the missing JVP and batching rules JAX lacks too, and ``qdwh`` (values, convergence
flags, derivatives through its compositions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from refjax import lax
from refjax.test_util import check_grads
from tests.errors import raised
from tests.numpy.helpers import assert_same
from tests.oracle import enable_x64, jax

_RNG = np.random.default_rng(3)
Fn = Callable[..., Any]


def _c64(*shape: int) -> np.ndarray:
    return (_RNG.standard_normal(shape) + 1j * _RNG.standard_normal(shape)).astype(np.complex64)


def _f32(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(np.float32)


def _matches_jax(f: Fn, *args: Any, tol: float = 1e-4) -> None:
    """``f(lax, *args)`` matches ``f(jax.lax, *args)``, or raises the class JAX's raises."""
    try:
        theirs = f(jax.lax, *args)
    except Exception as err:  # any JAX error must be mirrored
        raised(lambda: f(lax, *args), type(err))
        return
    assert_same(f(lax, *args), theirs, tol)


def _geqrf(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from jax._src.lax.linalg import geqrf

    r, taus = geqrf(a)
    return np.asarray(r), np.asarray(taus)


CA, CR = _c64(2, 4, 4), _c64(5, 3)
R_PACKED, TAUS = _geqrf(CR)
SPD_UPPER = np.linalg.cholesky(
    (lambda m: m @ m.T + 4 * np.eye(4))(_f32(4, 4).astype(np.float64))).T.astype(np.float32)

CASES: list[tuple[str, Fn, tuple[Any, ...]]] = [
    # complex values (the op table covers float32 and float64)
    ("hessenberg complex", lambda m, a: m.linalg.hessenberg(a), (CA,)),
    ("tridiagonal complex lower", lambda m, a: m.linalg.tridiagonal(a), (CA,)),
    ("tridiagonal complex upper", lambda m, a: m.linalg.tridiagonal(a, lower=False), (CA,)),
    ("householder_product complex", lambda m, a, t: m.linalg.householder_product(a, t),
     (R_PACKED, TAUS)),
    ("ormqr complex", lambda m, a, t, c: m.linalg.ormqr(a, t, c, transpose=True),
     (R_PACKED, TAUS, _c64(5, 2))),
    ("ormqr complex right", lambda m, a, t, c: m.linalg.ormqr(a, t, c, left=False),
     (R_PACKED, TAUS, _c64(2, 5))),
    ("cholesky_update", lambda m, r, w: m.linalg.cholesky_update(r, w), (SPD_UPPER, _f32(4))),
    ("symmetrize_output",
     lambda m, a, c: m.linalg.symmetric_product(a, c, alpha=0.5, symmetrize_output=True),
     (_f32(3, 2), _f32(3, 3))),
    ("weak input", lambda m, a: m.linalg.hessenberg(m.full((3, 3), 2.0)), (0,)),
    # JAX's errors
    ("hessenberg not square", lambda m, a: m.linalg.hessenberg(a), (_f32(3, 4),)),
    ("hessenberg vector", lambda m, a: m.linalg.hessenberg(a), (_f32(3),)),
    ("hessenberg int", lambda m, a: m.linalg.hessenberg(a), (np.eye(3, dtype=np.int32),)),
    ("tridiagonal not square", lambda m, a: m.linalg.tridiagonal(a), (_f32(3, 4),)),
    ("tridiagonal empty", lambda m, a: m.linalg.tridiagonal(a), (_f32(0, 0),)),
    ("schur not square", lambda m, a: m.linalg.schur(a), (_f32(3, 4),)),
    ("householder_product wide", lambda m, a, t: m.linalg.householder_product(a, t),
     (_f32(3, 4), _f32(2))),
    ("householder_product long taus", lambda m, a, t: m.linalg.householder_product(a, t),
     (_f32(4, 3), _f32(4))),
    ("householder_product dtypes", lambda m, a, t: m.linalg.householder_product(a, t),
     (_f32(4, 3), _f32(3).astype(np.float64))),
    ("householder_product batch dims", lambda m, a, t: m.linalg.householder_product(a, t),
     (_f32(2, 4, 3), _f32(3))),
    ("ormqr left rows", lambda m, a, t, c: m.linalg.ormqr(a, t, c), (_f32(4, 3), _f32(3),
                                                                     _f32(3, 2))),
    ("ormqr right columns", lambda m, a, t, c: m.linalg.ormqr(a, t, c, left=False),
     (_f32(4, 3), _f32(3), _f32(4, 3))),
    ("symmetric_product shapes", lambda m, a, c: m.linalg.symmetric_product(a, c),
     (_f32(3, 2), _f32(2, 2))),
    ("symmetric_product complex", lambda m, a, c: m.linalg.symmetric_product(a, c),
     (_c64(3, 2), _c64(3, 3))),
    ("cholesky_update batch", lambda m, r, w: m.linalg.cholesky_update(r, w),
     (_f32(2, 3, 3), _f32(2, 3))),
    ("cholesky_update sizes", lambda m, r, w: m.linalg.cholesky_update(r, w),
     (SPD_UPPER, _f32(3))),
    ("cholesky_update complex", lambda m, r, w: m.linalg.cholesky_update(r, w),
     (_c64(3, 3), _c64(3))),
    ("qdwh wide", lambda m, x: m.linalg.qdwh(x), (_f32(3, 4),)),
]


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(name: str, f: Fn, args: tuple[Any, ...]) -> None:
    _matches_jax(f, *args)


def test_cholesky_update_is_the_factor_of_the_update() -> None:
    """``R'^T R' = R^T R + w w^T`` with ``R'`` upper triangular (float64)."""
    with enable_x64():
        r = SPD_UPPER.astype(np.float64)
        w = _f32(4).astype(np.float64)
        out = np.asarray(lax.linalg.cholesky_update(r, w))
        np.testing.assert_allclose(out.T @ out, r.T @ r + np.outer(w, w), rtol=1e-12)
        np.testing.assert_allclose(np.tril(out, -1), 0, atol=1e-15)  # rounding, as JAX


def test_complex_schur_defines_the_form() -> None:
    t, q = (np.asarray(x) for x in lax.linalg.schur(CA))
    for k in range(CA.shape[0]):
        np.testing.assert_allclose(q[k] @ t[k] @ q[k].conj().T, CA[k], atol=1e-4)
        np.testing.assert_allclose(q[k].conj().T @ q[k], np.eye(4), atol=1e-5)
    assert np.all(np.tril(t, -1) == 0)
    jt = np.asarray(jax.lax.linalg.schur(CA)[0])
    np.testing.assert_allclose(np.diagonal(t, 0, -2, -1), np.diagonal(jt, 0, -2, -1), atol=1e-4)


def test_schur_sort_eig_vals_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="sort feature"):
        lax.linalg.schur(_f32(3, 3), sort_eig_vals=True)


@pytest.mark.parametrize("name,f,args", [
    ("hessenberg", lambda a: lax.linalg.hessenberg(a)[0], (_f32(3, 3),)),
    ("tridiagonal", lambda a: lax.linalg.tridiagonal(a)[0], (_f32(3, 3),)),
    ("schur", lambda a: lax.linalg.schur(a)[0], (_f32(3, 3),)),
    ("householder_product", lambda a: lax.linalg.householder_product(a, a[:, 0]),
     (_f32(3, 3),)),
    ("ormqr", lambda a: lax.linalg.ormqr(a, a[:, 0], a), (_f32(3, 3),)),
    ("symmetric_product", lambda a: lax.linalg.symmetric_product(a, a), (_f32(3, 3),)),
    ("cholesky_update", lambda a: lax.linalg.cholesky_update(a, a[0]), (_f32(3, 3),)),
])
def test_no_jvp_rule(name: str, f: Fn, args: tuple[Any, ...]) -> None:
    """As in JAX: differentiating raises NotImplementedError naming the primitive."""
    with pytest.raises(NotImplementedError, match=f"Differentiation rule for '{name}'"):
        refjax.jvp(f, args, tuple(np.ones_like(a) for a in args))
    with pytest.raises(NotImplementedError, match=f"Differentiation rule for '{name}'"):
        jax.jvp(lambda *a: getattr(jax.lax.linalg, name)(*(
            [a[0]] if name in ("hessenberg", "tridiagonal", "schur") else
            [a[0], a[0][:, 0]] if name in ("householder_product",) else
            [a[0], a[0][:, 0], a[0]] if name == "ormqr" else
            [a[0], a[0]] if name == "symmetric_product" else [a[0], a[0][0]])), args,
            tuple(np.ones_like(a) for a in args))


def test_hessenberg_of_an_empty_matrix_is_an_error() -> None:
    """(JAX's fails when it compiles taus of shape (-1,); refjax's abstract eval says so.)"""
    with pytest.raises(ValueError, match="must not be empty"):
        lax.linalg.hessenberg(_f32(0, 0))


def test_cholesky_update_has_no_batching_rule() -> None:
    with pytest.raises(NotImplementedError, match="Batching rule for 'cholesky_update'"):
        refjax.vmap(lax.linalg.cholesky_update)(np.stack([SPD_UPPER] * 2), _f32(2, 4))


def test_jaxpr_names_the_primitives() -> None:
    text = str(refjax.make_jaxpr(lambda a: lax.linalg.schur(lax.linalg.hessenberg(a)[0]))(
        _f32(3, 3)))
    assert "hessenberg" in text and "schur[" in text


@pytest.mark.parametrize("shape,dtype", [((5, 3), np.float32), ((4, 4), np.float64),
                                         ((4, 2), np.complex64)])
def test_qdwh_matches_jax(shape: tuple[int, int], dtype: type) -> None:
    x = _f32(*shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x = (x + 1j * _f32(*shape)).astype(dtype)
    with enable_x64(np.dtype(dtype) == np.float64):
        ours = lax.linalg.qdwh(x)
        theirs = jax.lax.linalg.qdwh(x)
        tol = 1e-9 if np.dtype(dtype) == np.float64 else 1e-4
        for o, t in zip(ours[:2], theirs[:2], strict=True):
            assert o.dtype == t.dtype
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=tol, atol=tol)
        assert int(ours[2]) == int(theirs[2]) and bool(ours[3]) == bool(theirs[3])
        u, h = np.asarray(ours[0]), np.asarray(ours[1])
        np.testing.assert_allclose(u @ h, x, rtol=10 * tol, atol=10 * tol)


def test_qdwh_dynamic_shape_and_derivatives() -> None:
    with enable_x64():
        x = np.zeros((5, 4))
        x[:4, :3] = _f32(4, 3)
        ours = lax.linalg.qdwh(x, dynamic_shape=(4, 3))
        theirs = jax.lax.linalg.qdwh(x, dynamic_shape=(4, 3))
        for o, t in zip(ours[:2], theirs[:2], strict=True):
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), atol=1e-9)
        a = _f32(4, 3).astype(np.float64)
        check_grads(lambda v: lax.linalg.qdwh(v)[1], [a], order=1, modes=("fwd",), eps=1e-6)
        t_in = np.ones_like(a)
        ours_t = refjax.jvp(lambda v: lax.linalg.qdwh(v)[0], (a,), (t_in,))[1]
        theirs_t = jax.jvp(lambda v: jax.lax.linalg.qdwh(v)[0], (a,), (t_in,))[1]
        np.testing.assert_allclose(np.asarray(ours_t), np.asarray(theirs_t), atol=1e-9)
        assert rnp.allclose(ours[0][:4, :3].T @ ours[0][:4, :3], np.eye(3))
