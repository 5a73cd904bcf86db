"""More of ``jax.scipy.linalg`` (JAX 0.10.2), re-exported by :mod:`refjax.scipy.linalg`.

Decompositions on ``lax.linalg``'s Householder and Schur primitives: ``schur``, ``rsf2csf``
(Givens rotations on each 2 x 2 block), ``hessenberg``, ``qr_multiply`` (``geqrf`` then
``ormqr``), ``polar`` (by ``lax.linalg.qdwh`` or the SVD); matrix functions built on the
complex Schur form: ``sqrtm`` (Björck and Hammarling's recurrence), ``funm`` (Parlett's
recurrence, Golub and Van Loan's Algorithm 11.1.1); ``expm_frechet`` (the JVP of ``expm``);
``solve_sylvester`` (Bartels-Stewart on the Schur forms, or by eigendecompositions);
``eigh_tridiagonal`` (bisection on Sturm counts, then inverse iteration from random vectors
of a fixed key, as JAX's); and special matrices (``circulant``, ``companion``,
``convolution_matrix``, ``dft``, ``fiedler``, ``fiedler_companion``, ``hadamard``,
``hankel``, ``helmert``, ``invhilbert``, ``invpascal``, ``leslie``, ``pascal``).

Each is JAX's algorithm, written with the same operations, so values (and derivatives, which
flow through the compositions where JAX's do) agree to rounding; the functions JAX wraps in
``jit`` are wrapped in ``library_jit`` with the same static arguments. Departures:
``qr_multiply(pivoting=True)`` raises ``NotImplementedError`` (refjax has no pivoted QR);
``polar``'s ``eps`` is a static argument (JAX traces it, and then cannot pass it on to
``qdwh``); the complex Schur vectors (so ``sqrtm``'s and ``funm``'s intermediate factors, not
their results) may differ from LAPACK's by a unimodular factor per column.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

import refjax.numpy as jnp
from refjax import dtypes, lax, random
from refjax.interp.core import Array, ArrayLike
from refjax.interp.jvp import instantiate, jvp_flat
from refjax.numpy import linalg as jnp_linalg
from refjax.numpy._util import (
    check_arraylike,
    promote_args_inexact,
    promote_dtypes,
    promote_dtypes_inexact,
    user_dtype,
)
from refjax.primitives.calls import library_jit
from refjax.primitives.decompositions_more import geqrf
from refjax.scipy.special import comb

__all__ = [
    "circulant",
    "companion",
    "convolution_matrix",
    "dft",
    "eigh_tridiagonal",
    "expm_frechet",
    "fiedler",
    "fiedler_companion",
    "funm",
    "hadamard",
    "hankel",
    "helmert",
    "hessenberg",
    "invhilbert",
    "invpascal",
    "leslie",
    "pascal",
    "polar",
    "qr_multiply",
    "rsf2csf",
    "schur",
    "solve_sylvester",
    "sqrtm",
]


def _complex_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """JAX's ``to_complex_dtype``: complex128 for 64-bit inputs, complex64 otherwise."""
    wide = dtype in (np.dtype(np.float64), np.dtype(np.complex128))
    return np.dtype(np.complex128 if wide else np.complex64)


def _highest(a: ArrayLike, b: ArrayLike) -> Array:
    return jnp.matmul(a, b, precision=lax.Precision.HIGHEST)


# ---------------------------------------------------------------------------------------------
# Schur, Hessenberg, QR multiply


@library_jit(static_argnames=("output",))
def _schur(a: Any, output: str) -> list[Array]:
    if output == "complex":
        a = a.astype(_complex_dtype(np.dtype(a.dtype)))
    return lax.linalg.schur(a)


def schur(a: ArrayLike, output: str = "real") -> list[Array]:
    """``[T, Z]`` with ``a = Z T Z^H``, ``Z`` unitary and ``T`` quasi upper triangular
    (``output`` "real": 2 x 2 blocks for complex pairs) or upper triangular ("complex")."""
    if output not in ("real", "complex"):
        raise ValueError(f"Expected 'output' to be either 'real' or 'complex', got "
                         f"output={output!r}.")
    return _schur(a, output)


@library_jit(static_argnames=("calc_q", "check_finite", "overwrite_a"))
def hessenberg(a: ArrayLike, *, calc_q: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> Array | tuple[Array, Array]:
    """The upper Hessenberg form ``H = Q^H a Q`` of square ``a`` (``..., n, n``), and the
    unitary ``Q`` with ``calc_q``."""
    del overwrite_a, check_finite
    n = np.shape(a)[-1]
    if n == 0:
        zeros = jnp.zeros_like(a)
        return (zeros, jnp.zeros_like(a)) if calc_q else zeros
    a_out, taus = lax.linalg.hessenberg(a)
    h = jnp.triu(a_out, -1)
    if not calc_q:
        return h
    q = lax.linalg.householder_product(a_out[..., 1:, :-1], taus)
    batch = a_out.shape[:-2]
    dtype = a_out.dtype
    top = jnp.concatenate([jnp.ones((*batch, 1, 1), dtype=dtype),
                           jnp.zeros((*batch, 1, n - 1), dtype=dtype)], axis=-1)
    bottom = jnp.concatenate([jnp.zeros((*batch, n - 1, 1), dtype=dtype), q], axis=-1)
    return h, jnp.concatenate([top, bottom], axis=-2)


def qr_multiply(a: ArrayLike, c: ArrayLike, mode: str = "right", pivoting: bool = False,
                conjugate: bool = False, overwrite_a: bool = False, overwrite_c: bool = False
                ) -> tuple[Array, Array] | tuple[Array, Array, Array]:
    """``(Q @ c, R)`` (``mode`` "left", ``c`` with ``min(m, n)`` rows) or ``(c @ Q, R)``
    ("right", ``c`` with ``m`` columns; the result's first ``min(m, n)`` columns) for the QR
    factorisation ``a = Q R``, ``Q`` never formed; ``conj(Q)`` with ``conjugate``. A vector
    ``c`` is a column ("left") or a row ("right") and the result is raveled."""
    del overwrite_a, overwrite_c
    a_arr, c_arr = promote_dtypes_inexact(jnp.asarray(a), jnp.asarray(c))
    if mode not in ("right", "left"):
        raise ValueError(f"mode must be 'right' or 'left', got {mode!r}")
    onedim = c_arr.ndim == 1
    if onedim:
        c_arr = c_arr[:, None] if mode == "left" else c_arr[None, :]
    m, n = a_arr.shape[-2:]
    k = min(m, n)
    if mode == "left":
        if c_arr.shape[-2] != k:
            raise ValueError(
                f"Array shapes are not compatible for Q @ c operation: a has shape "
                f"{tuple(a_arr.shape)} so Q has {k} columns, but c has {c_arr.shape[-2]} rows "
                f"(expected {k}).")
    elif c_arr.shape[-1] != m:
        raise ValueError(
            f"Array shapes are not compatible for c @ Q operation: a has shape "
            f"{tuple(a_arr.shape)} so Q has {m} rows, but c has {c_arr.shape[-1]} columns "
            f"(expected {m}).")
    batch = jnp.broadcast_shapes(a_arr.shape[:-2], c_arr.shape[:-2])
    a_arr = jnp.broadcast_to(a_arr, batch + a_arr.shape[-2:])
    c_arr = jnp.broadcast_to(c_arr, batch + c_arr.shape[-2:])
    if pivoting:
        raise NotImplementedError("refjax.scipy.linalg.qr_multiply(pivoting=True): refjax has "
                                  "no QR with column pivoting (LAPACK's geqp3)")
    r, taus = geqrf(a_arr)
    if m > n and mode == "left":
        zeros = jnp.zeros((*c_arr.shape[:-2], m - k, c_arr.shape[-1]), dtype=c_arr.dtype)
        c_arr = jnp.concatenate([c_arr, zeros], axis=-2)
    if conjugate:
        c_arr = c_arr.swapaxes(-1, -2)
    left = (mode == "left") != conjugate
    cq = lax.linalg.ormqr(r, taus, c_arr, left=left, transpose=conjugate)
    if conjugate:
        cq = cq.swapaxes(-1, -2)
    if mode == "right":
        cq = cq[..., :k]
    if onedim:
        cq = cq.ravel()
    return cq, jnp.triu(r[..., :k, :])


# ---------------------------------------------------------------------------------------------
# rsf2csf, sqrtm, funm


@library_jit()
def _rsf2csf_2d(t: Array, z: Array) -> tuple[Array, Array]:
    dtype = _complex_dtype(np.dtype(dtypes.result_type(t, z)))
    t, z = t.astype(dtype), z.astype(dtype)
    eps = float(dtypes.finfo(dtype).eps)
    n = t.shape[0]
    if n == 1:
        return t, z

    def update(m: Array, t: Array, z: Array) -> tuple[Array, Array]:
        mu = jnp_linalg.eigvals(lax.dynamic_slice(t, (m - 1, m - 1), (2, 2))) - t[m, m]
        r = jnp_linalg.norm(jnp.array([mu[0], t[m, m - 1]])).astype(dtype)
        c = mu[0] / r
        s = t[m, m - 1] / r
        g = jnp.array([[c.conj(), s], [-s, c]], dtype=dtype)
        rows = lax.dynamic_slice_in_dim(t, m - 1, 2, axis=0)
        col_mask = jnp.arange(n) >= m - 1
        rotated = g @ jnp.where(col_mask, rows, 0)
        t = lax.dynamic_update_slice_in_dim(t, jnp.where(~col_mask, rows, rotated), m - 1,
                                            axis=0)
        cols = lax.dynamic_slice_in_dim(t, m - 1, 2, axis=1)
        row_mask = jnp.arange(n)[:, np.newaxis] < m + 1
        rotated = jnp.where(row_mask, cols, 0) @ g.conj().T
        t = lax.dynamic_update_slice_in_dim(t, jnp.where(~row_mask, cols, rotated), m - 1,
                                            axis=1)
        z_cols = lax.dynamic_slice_in_dim(z, m - 1, 2, axis=1)
        z = lax.dynamic_update_slice_in_dim(z, z_cols @ g.conj().T, m - 1, axis=1)
        return t, z

    def step(i: Array, tz: tuple[Array, Array]) -> tuple[Array, Array]:
        m = n - i
        t, z = tz
        t, z = lax.cond(
            jnp.abs(t[m, m - 1]) > eps * (jnp.abs(t[m - 1, m - 1]) + jnp.abs(t[m, m])),
            update, lambda m, t, z: (t, z), m, t, z)
        return t.at[m, m - 1].set(0.0), z

    out: tuple[Array, Array] = lax.fori_loop(1, n, step, (t, z))
    return out


@library_jit(static_argnames=("check_finite",))
def rsf2csf(T: ArrayLike, Z: ArrayLike,  # noqa: N803  # SciPy's names
            check_finite: bool = True) -> tuple[Array, Array]:
    """The complex Schur form ``(T, Z)`` of a real one (``T`` quasi upper triangular, its
    2 x 2 blocks split by Givens rotations); batch dims broadcast."""
    del check_finite
    t_arr, z_arr = jnp.asarray(T), jnp.asarray(Z)
    if t_arr.ndim < 2 or t_arr.shape[-1] != t_arr.shape[-2]:
        raise ValueError("Input 'T' must be square.")
    if z_arr.ndim < 2 or z_arr.shape[-1] != z_arr.shape[-2]:
        raise ValueError("Input 'Z' must be square.")
    if t_arr.shape[-1] != z_arr.shape[-1]:
        raise ValueError(f"Input array shapes must match: Z: {z_arr.shape} vs. T: "
                         f"{t_arr.shape}")
    out: tuple[Array, Array] = jnp.vectorize(
        _rsf2csf_2d, signature="(n,n),(n,n)->(n,n),(n,n)")(t_arr, z_arr)
    return out


@library_jit()
def _sqrtm_triu(t: Array) -> Array:
    """The upper-triangular square root of upper-triangular ``t`` (Björck and Hammarling)."""
    diag = jnp.sqrt(jnp.diag(t))
    n = diag.size
    u = jnp.diag(diag)
    zero = jnp.zeros((), u.dtype)

    def i_loop(step: Array, data: tuple[Array, Array]) -> tuple[Array, Array]:
        j, u = data
        i = j - 1 - step
        s = lax.fori_loop(i + 1, j, lambda k, val: val + u[i, k] * u[k, j], zero)
        value = jnp.where(t[i, j] == s, 0.0, (t[i, j] - s) / (diag[i] + diag[j]))
        return j, u.at[i, j].set(value)

    def j_loop(j: Array, u: Array) -> Array:
        _, u = lax.fori_loop(0, j, i_loop, (j, u))
        return u

    out: Array = lax.fori_loop(0, n, j_loop, u)
    return out


@library_jit()
def _sqrtm(a: ArrayLike) -> Array:
    t, z = schur(a, output="complex")
    return _highest(_highest(z, _sqrtm_triu(t)), jnp.conj(z.T))


def sqrtm(A: ArrayLike, blocksize: int = 1) -> Array:  # noqa: N803  # SciPy's name
    """The principal square root of square ``A`` (complex), by the complex Schur method;
    only ``blocksize=1``."""
    if blocksize > 1:
        raise NotImplementedError("Blocked version is not implemented yet.")
    return _sqrtm(A)


@library_jit()
def _algorithm_11_1_1(f: Array, t: Array) -> tuple[Array, Array]:
    """Parlett's recurrence for the strict upper triangle of ``f(T)`` (Golub and Van Loan,
    Algorithm 11.1.1), and the smallest diagonal difference it divided by."""
    n = t.shape[0]
    minden = jnp.abs(t[0, 0])

    def inner(i: Array, p_f_minden: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        p, f, minden = p_f_minden
        j = i + p
        s = t[i - 1, j - 1] * (f[j - 1, j - 1] - f[i - 1, i - 1])
        t_row, t_col = t[i - 1], t[:, j - 1]
        f_row, f_col = f[i - 1], f[:, j - 1]
        ind = (jnp.arange(n) >= i) & (jnp.arange(n) < j - 1)
        val = (jnp.where(ind, t_row, 0) @ jnp.where(ind, f_col, 0)
               - jnp.where(ind, f_row, 0) @ jnp.where(ind, t_col, 0))
        s = s + val
        den = t[j - 1, j - 1] - t[i - 1, i - 1]
        s = jnp.where(den != 0, s / den, s)
        f = f.at[i - 1, j - 1].set(s)
        minden = jnp.minimum(minden, jnp.abs(den))
        return p, f, minden

    def outer(p: Array, f_minden: tuple[Array, Array]) -> tuple[Array, Array]:
        _, f, minden = lax.fori_loop(1, n - p + 1, inner, (p, *f_minden))
        return f, minden

    out: tuple[Array, Array] = lax.fori_loop(1, n, outer, (f, minden))
    return out


def funm(A: ArrayLike, func: Callable[[Array], Array],  # noqa: N803  # SciPy's name
         disp: bool = True) -> Array | tuple[Array, Array]:
    """The matrix function of square ``A`` given by scalar ``func`` (applied to the
    eigenvalues), by the complex Schur form and Parlett's recurrence; with ``disp=False`` also
    an estimate of its relative error."""
    a_arr = jnp.asarray(A)
    if a_arr.ndim != 2 or a_arr.shape[0] != a_arr.shape[1]:
        raise ValueError("expected square array_like input")
    t, z = schur(a_arr)
    t, z = rsf2csf(t, z)
    f = jnp.diag(func(jnp.diag(t)))
    f = f.astype(t.dtype.char)
    f, minden = _algorithm_11_1_1(f, t)
    f = z @ f @ z.conj().T
    if disp:
        return f
    # (JAX's choice, float16 included: f32's eps for 'f' and 'F', else f64's)
    if f.dtype.char.lower() == "f":
        tol = float(dtypes.finfo(np.float32).eps)
    else:
        tol = float(dtypes.finfo(np.float64).eps)
    minden = jnp.where(minden == 0.0, tol, minden)
    err = jnp.where(jnp.any(jnp.isinf(f)), np.inf, jnp.minimum(1, jnp.maximum(
        tol, (tol / minden) * jnp_linalg.norm(jnp.triu(t, 1), 1))))
    return f, err


# ---------------------------------------------------------------------------------------------
# polar, expm_frechet, solve_sylvester


@library_jit(static_argnames=("side", "method", "eps", "max_iterations"))
def _polar_2d(a: Array, side: str, method: str, eps: float | None,
              max_iterations: int | None) -> tuple[Array, Array]:
    m, n = a.shape
    if method == "qdwh":
        if m >= n and side == "right":
            unitary, posdef, _, _ = lax.linalg.qdwh(a, is_hermitian=False, eps=eps)
        elif m < n and side == "left":
            a = a.T.conj()
            unitary, posdef, _, _ = lax.linalg.qdwh(a, is_hermitian=False, eps=eps)
            posdef = posdef.T.conj()
            unitary = unitary.T.conj()
        else:
            raise NotImplementedError("method='qdwh' only supports mxn matrices where m < n "
                                      "where side='right' and m >= n side='left', got "
                                      f"{a.shape} with side={side!r}")
    elif method == "svd":
        u_svd, s_svd, vh_svd = lax.linalg.svd(a, full_matrices=False)
        s_svd = s_svd.astype(u_svd.dtype)
        unitary = u_svd @ vh_svd
        if side == "right":
            posdef = (vh_svd.T.conj() * s_svd[None, :]) @ vh_svd
        else:
            posdef = (u_svd * s_svd[None, :]) @ (u_svd.T.conj())
    else:
        raise ValueError(f"Unknown polar decomposition method {method}.")
    return unitary, posdef


def polar(a: ArrayLike, side: str = "right", *, method: str = "qdwh", eps: float | None = None,
          max_iterations: int | None = None) -> tuple[Array, Array]:
    """``(u, p)``: the polar decomposition ``a = u p`` (``side`` "right", ``p`` ``n x n``)
    or ``a = p u`` ("left", ``p`` ``m x m``), ``p`` Hermitian positive semidefinite and ``u``
    with orthonormal columns (rows if ``n > m``), by QDWH or the SVD (``method``)."""
    arr = jnp.asarray(a)
    if arr.ndim < 2:
        raise ValueError("The input `a` must be at least a 2-D array.")
    if side not in ["right", "left"]:
        raise ValueError("The argument `side` must be either 'right' or 'left'.")
    sig = "(m,n)->(m,n),(n,n)" if side == "right" else "(m,n)->(m,n),(m,m)"
    fun = functools.partial(_polar_2d, side=side, method=method, eps=eps,
                            max_iterations=max_iterations)
    out: tuple[Array, Array] = jnp.vectorize(fun, signature=sig)(arr)
    return out


@library_jit(static_argnames=("method", "compute_expm"))
def expm_frechet(A: ArrayLike, E: ArrayLike, *,  # noqa: N803  # SciPy's names
                 method: str | None = None, compute_expm: bool = True
                 ) -> Array | tuple[Array, Array]:
    """The Fréchet derivative of the matrix exponential at ``A`` in direction ``E`` (the JVP
    of ``expm``), with ``expm(A)`` first when ``compute_expm``."""
    from refjax.scipy.linalg import expm

    del method
    a_arr, e_arr = jnp.asarray(A), jnp.asarray(E)
    # (JAX compares A.shape[-2] with A.shape[1]; kept, as are its messages)
    if a_arr.ndim < 2 or a_arr.shape[-2] != a_arr.shape[1]:
        raise ValueError(f"expected A to be a (batched) square matrix, got "
                         f"A.shape={a_arr.shape}")
    if e_arr.ndim < 2 or e_arr.shape[-2] != e_arr.shape[-1]:
        raise ValueError(f"expected E to be a (batched) square matrix, got "
                         f"E.shape={e_arr.shape}")
    if a_arr.shape != e_arr.shape:
        raise ValueError("expected A and E to be the same shape, got "
                         f"A.shape={a_arr.shape} E.shape={e_arr.shape}")
    bound = functools.partial(expm, upper_triangular=False, max_squarings=16)
    (expm_a,), (frechet,) = jvp_flat(lambda x: [bound(x)], [a_arr], [e_arr])
    frechet_ae = instantiate(frechet)
    return (expm_a, frechet_ae) if compute_expm else frechet_ae


def _solve_sylvester_triangular_scan(r: Array, s: Array, f: Array) -> Array:
    """``Y`` with ``R Y + Y S^T = F`` for upper-triangular ``R`` and ``S`` (Bartels-Stewart,
    one element at a time from the bottom right)."""
    r, s, f = promote_args_inexact("_solve_sylvester_triangular_scan", r, s, f)
    m, n = f.shape
    total = m * n
    flat_indices = jnp.arange(total - 1, -1, -1)
    y0 = jnp.zeros((m * n,), dtype=f.dtype)

    def scan_fn(y_flat: Array, idx: Array) -> tuple[Array, None]:
        i = idx // n
        j = idx % n
        y = y_flat.reshape((m, n))
        rhs = f[i, j]
        row_term = jnp.sum(jnp.where(jnp.arange(m) > i, r[i, :] * y[:, j], 0.0))
        col_term = jnp.sum(jnp.where(jnp.arange(n) > j, y[i, :] * s[:, j], 0.0))
        rhs -= row_term + col_term
        val = rhs / (r[i, i] + s[j, j])
        return y_flat.at[i * n + j].set(val), None

    y_final, _ = lax.scan(scan_fn, y0, flat_indices)
    out: Array = y_final.reshape((m, n))
    return out


@library_jit(static_argnames=("method",))
def _solve_sylvester_2d(a: Array, b: Array, c: Array, *, method: str, tol: float) -> Array:
    m, n = c.shape[-2:]
    if method == "schur":
        r, u = schur(a, output="complex")
        s, v = schur(b.conj().T, output="complex")
        f = u.conj().T @ c.astype(r.dtype) @ v
        y = _solve_sylvester_triangular_scan(r, s.conj().T, f)
        x = u @ y @ v.conj().T
    elif method == "eigen":
        ra, ua = jnp_linalg.eig(a)
        rb, ub = jnp_linalg.eig(b)
        f = jnp_linalg.solve(ua, c.astype(ra.dtype) @ ub)
        w = ra[:, None] + rb[None, :]
        y = f / w
        x = ua[:m, :m] @ y[:m, :n] @ jnp_linalg.inv(ub)[:n, :n]
    else:
        raise ValueError(f"Unrecognized method {method}. The two valid methods are either "
                         "\"schur\" or \"eigen\".")
    if not dtypes.issubdtype(c.dtype, np.complexfloating):
        x = x.real
    near = jnp.abs(jnp_linalg.eigvals(a)[:, None] + jnp_linalg.eigvals(b)[None, :]) < tol
    out: Array = lax.cond(jnp.any(near), lambda: jnp.zeros_like(x) * np.nan, lambda: x)
    return out


@library_jit(static_argnames=("method",))
def solve_sylvester(A: ArrayLike, B: ArrayLike, C: ArrayLike, *,  # noqa: N803  # SciPy's
                    method: str = "schur", tol: float = 1e-8) -> Array:
    """``X`` with ``A X + X B = C`` (``A`` ``m x m``, ``B`` ``n x n``, ``C`` ``m x n``, batch
    dims broadcast), by Bartels-Stewart on the complex Schur forms (``method`` "schur") or by
    eigendecompositions ("eigen"); NaNs where an eigenvalue of ``A`` plus one of ``B`` is
    within ``tol`` of zero."""
    a, b, c = promote_dtypes_inexact(jnp.asarray(A), jnp.asarray(B), jnp.asarray(C))
    m, n = c.shape[-2:]
    if a.shape[-2:] != (m, m) or b.shape[-2:] != (n, n):
        raise ValueError(f"Incompatible shapes for Sylvester equation:\nA: {a.shape}\n"
                         f"B: {b.shape}\nC: {c.shape}")
    fun = functools.partial(_solve_sylvester_2d, method=method, tol=tol)
    out: Array = jnp.vectorize(fun, signature="(m,m),(n,n),(m,n)->(m,n)")(a, b, c)
    return out


# ---------------------------------------------------------------------------------------------
# eigh_tridiagonal


def _sturm(alpha: Array, beta_sq: Array, pivmin: Array, alpha0_perturbation: Array,
           x: Array) -> Array:
    """How many eigenvalues of the tridiagonal matrix lie below each ``x`` (Sturm counts)."""
    n = alpha.shape[0]
    zeros = jnp.zeros(x.shape, dtype=np.int32)
    ones = jnp.ones(x.shape, dtype=np.int32)
    q = alpha[0] - x
    count = jnp.where(q < 0, ones, zeros)
    q = jnp.where(alpha[0] == x, alpha0_perturbation, q)

    def step(i: Array, qc: tuple[Array, Array]) -> tuple[Array, Array]:
        q, count = qc
        q = alpha[i] - beta_sq[i - 1] / q - x
        count = jnp.where(q <= pivmin, count + 1, count)
        q = jnp.where(q <= pivmin, jnp.minimum(q, -pivmin), q)
        return q, count

    counts: tuple[Array, Array] = lax.fori_loop(1, n, step, (q, count))
    return counts[1]


def _eigenvectors(alpha: Array, beta: Array, eigvals: Array, key: Any) -> Array:
    """Inverse iteration from random vectors for the eigenvectors (rows), clusters of close
    eigenvalues orthogonalised by QR after each step."""
    n = alpha.shape[0]
    k = eigvals.shape[0]
    dl = jnp.pad(jnp.conj(beta), (1, 0))
    du = jnp.pad(beta, (0, 1))
    gap = eigvals[1:] - eigvals[:-1]
    eps = float(np.finfo(eigvals.dtype).eps)
    t_norm = jnp.maximum(jnp.abs(eigvals[0]), jnp.abs(eigvals[-1]))
    gaptol = np.sqrt(eps) * t_norm
    close = gap < gaptol
    left_close = jnp.pad(close, (1, 0), constant_values=False)
    right_close = jnp.pad(close, (0, 1), constant_values=False)
    interval_start = jnp.logical_and(jnp.logical_not(left_close), right_close)
    interval_end = jnp.logical_and(left_close, jnp.logical_not(right_close))
    max_clusters = k // 2 + 1
    starts = jnp.nonzero(interval_start, size=max_clusters)[0]
    ends = jnp.nonzero(interval_end, size=max_clusters)[0] + 1
    num_clusters = jnp.sum(interval_start)
    arange_k = jnp.arange(k)
    solve_dtype = np.result_type(alpha.dtype, beta.dtype)
    base_dtype = np.finfo(solve_dtype).dtype
    v = random.normal(key, (k, n), dtype=base_dtype).astype(solve_dtype)
    v = v / jnp_linalg.norm(v, axis=-1, keepdims=True).astype(solve_dtype)

    def orthogonalize(ev: Array) -> Array:
        def cluster(i: Array, ev: Array) -> Array:
            start, end = starts[i], ends[i]
            count = end - start
            padded = jnp.pad(ev, ((0, k), (0, 0)))
            block = lax.dynamic_slice(padded, (start, 0), (k, n))
            mask = (arange_k < count).astype(ev.dtype)
            q, _ = jnp_linalg.qr((block * mask[:, None]).T)
            qt = q.T * mask[:, None]
            big = lax.dynamic_update_slice(jnp.zeros((2 * k, n), dtype=ev.dtype), qt,
                                           (start, 0))
            inside = (arange_k >= start) & (arange_k < end)
            updated: Array = jnp.where(inside[:, None], big[:k, :], ev)
            return updated

        out: Array = lax.fori_loop(0, num_clusters, cluster, ev)
        return out

    alpha_shifted = alpha[None, :] - eigvals[:, None]
    dl_batched = jnp.broadcast_to(dl[None, :], (k, n))
    du_batched = jnp.broadcast_to(du[None, :], (k, n))

    def step(state: tuple[Array, Array, Array, Array]) -> tuple[Array, Array, Array, Array]:
        i, v, nrm_v, _ = state
        v_new = lax.linalg.tridiagonal_solve(
            dl_batched.astype(solve_dtype), alpha_shifted.astype(solve_dtype),
            du_batched.astype(solve_dtype), v[:, :, None].astype(solve_dtype),
            perturb_singular=True)
        v_new = jnp.squeeze(v_new, axis=-1)
        nrm_new = jnp_linalg.norm(v_new, axis=-1, keepdims=True)
        v_new = v_new / nrm_new.astype(v_new.dtype)
        return i + 1, orthogonalize(v_new), jnp.squeeze(nrm_new, axis=-1), nrm_v

    def keep_going(state: tuple[Array, Array, Array, Array]) -> Array:
        i, _, nrm_v, nrm_v_old = state
        return jnp.logical_and(i < 5, jnp.any(nrm_v >= 1.1 * nrm_v_old))  # LAPACK's xSTEIN

    init = (0, v, jnp.ones(k, dtype=eigvals.dtype), jnp.zeros(k, dtype=eigvals.dtype))
    _, v_final, _, _ = lax.while_loop(keep_going, step, init)
    out: Array = v_final
    return out


@library_jit(static_argnames=("eigvals_only", "select", "select_range"))
def eigh_tridiagonal(d: ArrayLike, e: ArrayLike, *, eigvals_only: bool = False,
                     select: str = "a", select_range: tuple[float, float] | None = None,
                     tol: float | None = None, key: Any = None) -> Array | tuple[Array, Array]:
    """The eigenvalues (ascending; and eigenvectors, as columns) of the real symmetric (or
    Hermitian) tridiagonal matrix with diagonal ``d`` and off-diagonal ``e``: all
    (``select`` "a") or those of indices ``select_range[0] .. select_range[1]`` ("i"), by
    bisection to ``tol``; eigenvectors by inverse iteration from random vectors of ``key``
    (``random.key(42)`` by default)."""
    if not eigvals_only and key is None:
        key = random.key(42)
    alpha, beta = jnp.asarray(d), jnp.asarray(e)
    supported = (np.float32, np.float64, np.complex64, np.complex128)
    if alpha.dtype != beta.dtype:
        raise TypeError("diagonal and off-diagonal values must have same dtype, got "
                        f"{alpha.dtype} and {beta.dtype}")
    if alpha.dtype not in supported or beta.dtype not in supported:
        raise TypeError("Only float32 and float64 inputs are supported as inputs to "
                        f"jax.scipy.linalg.eigh_tridiagonal, got {alpha.dtype} and "
                        f"{beta.dtype}")
    n = alpha.shape[0]
    if n <= 1:
        real = jnp.real(alpha)
        return real if eigvals_only else (real, jnp.eye(n, dtype=alpha.dtype))
    if dtypes.issubdtype(alpha.dtype, np.complexfloating):
        alpha = jnp.real(alpha)
        beta_sq = jnp.real(beta * jnp.conj(beta))
        beta_abs = jnp.sqrt(beta_sq)
    else:
        beta_abs = jnp.abs(beta)
        beta_sq = jnp.square(beta)
    row_sum = jnp.concatenate([beta_abs[:1], beta_abs[:-1] + beta_abs[1:], beta_abs[-1:]],
                              axis=0)
    lambda_max = jnp.amax(alpha + row_sum)
    lambda_min = jnp.amin(alpha - row_sum)
    t_norm = jnp.maximum(jnp.abs(lambda_min), jnp.abs(lambda_max))
    finfo = np.finfo(alpha.dtype)
    one = np.ones([], dtype=alpha.dtype)
    safemin = np.maximum(one / finfo.max, (one + finfo.eps) * finfo.tiny)
    pivmin = safemin * jnp.maximum(1, jnp.amax(beta_sq))
    alpha0_perturbation = jnp.square(finfo.eps * beta_abs[0])
    abs_tol = finfo.eps * t_norm
    if tol is not None:
        abs_tol = jnp.maximum(tol, abs_tol)
    max_it = finfo.nmant + 1
    if select == "a":
        target_counts = jnp.arange(n, dtype=np.int32)
    elif select == "i":
        if select_range is None:
            raise ValueError("for select='i', select_range must be specified.")
        if select_range[0] > select_range[1]:
            raise ValueError("Got empty index range in select_range.")
        target_counts = jnp.arange(select_range[0], select_range[1] + 1, dtype=np.int32)
    elif select == "v":
        raise NotImplementedError("eigh_tridiagonal(..., select='v') is not implemented")
    else:
        raise ValueError("'select must have a value in {'a', 'i', 'v'}.")
    fudge = 2.1
    norm_slack = jnp.array(n, alpha.dtype) * fudge * finfo.eps * t_norm
    lower = lambda_min - norm_slack - 2 * fudge * pivmin
    upper = lambda_max + norm_slack + fudge * pivmin
    shape = np.shape(target_counts)
    lower = jnp.broadcast_to(lower, shape=shape)
    upper = jnp.broadcast_to(upper, shape=shape)
    mid = 0.5 * (upper + lower)
    pivmin = jnp.broadcast_to(pivmin, shape)
    alpha0_perturbation = jnp.broadcast_to(alpha0_perturbation, shape)

    def cond(args: tuple[Array, Array, Array, Array]) -> Array:
        i, lower, _, upper = args
        return jnp.logical_and(jnp.less(i, max_it), jnp.less(abs_tol, jnp.amax(upper - lower)))

    def body(args: tuple[Array, Array, Array, Array]) -> tuple[Array, Array, Array, Array]:
        i, lower, mid, upper = args
        counts = _sturm(alpha, beta_sq, pivmin, alpha0_perturbation, mid)
        lower = jnp.where(counts <= target_counts, mid, lower)
        upper = jnp.where(counts > target_counts, mid, upper)
        return i + 1, lower, 0.5 * (lower + upper), upper

    state: tuple[Array, Array, Array, Array] = lax.while_loop(cond, body,
                                                              (0, lower, mid, upper))
    mid = state[2]
    if eigvals_only:
        return mid
    return mid, _eigenvectors(alpha, beta, mid, key).T


# ---------------------------------------------------------------------------------------------
# Special matrices


def hankel(c: ArrayLike, r: ArrayLike | None = None) -> Array:
    """The Hankel matrix ``H[i, j] = v[i + j]`` of ``v = concatenate([c, r[1:]])`` (first
    column ``c``, last row ``r``, zeros by default); leading dims are batch dims."""
    if r is None:
        check_arraylike("hankel", c)
        c_arr = jnp.asarray(c)
        r_arr = jnp.zeros_like(c_arr)
    else:
        check_arraylike("hankel", c, r)
        c_arr, r_arr = jnp.asarray(c), jnp.asarray(r)
    if c_arr.ndim == 0:
        raise ValueError("hankel: c must be at least 1-dimensional, got a scalar.")
    if r_arr.ndim == 0:
        raise ValueError("hankel: r must be at least 1-dimensional, got a scalar.")
    if c_arr.ndim < r_arr.ndim:
        c_arr = lax.expand_dims(c_arr, range(r_arr.ndim - c_arr.ndim))
    elif r_arr.ndim < c_arr.ndim:
        r_arr = lax.expand_dims(r_arr, range(c_arr.ndim - r_arr.ndim))
    out: Array = jnp.vectorize(_hankel, signature="(m),(n)->(m,n)")(c_arr, r_arr)
    return out


def _hankel(c: Array, r: Array) -> Array:
    (ncols,), (nrows,) = c.shape, r.shape
    dtype = jnp.result_type(c, r)
    if ncols == 0 or nrows == 0:
        return jnp.empty((ncols, nrows), dtype=dtype)
    c, r = promote_dtypes(c, r)
    v = jnp.concatenate((c, r[1:]))
    rows = lax.broadcasted_iota(np.dtype(np.int32), (ncols, nrows), 0)
    cols = lax.broadcasted_iota(np.dtype(np.int32), (ncols, nrows), 1)
    windows = v[rows + cols]
    # (JAX takes the windows with conv_general_dilated_patches, whose result is never weak)
    return lax.convert_element_type(windows, windows.dtype)


def circulant(c: ArrayLike) -> Array:
    """The circulant matrix ``A[i, j] = c[(i - j) % n]`` of first column ``c``; leading dims
    are batch dims."""
    check_arraylike("circulant", c)
    out: Array = jnp.vectorize(_circulant, signature="(n)->(n,n)")(
        jnp.atleast_1d(jnp.asarray(c)))
    return out


def _circulant(c: Array) -> Array:
    (n,) = c.shape
    idx = (jnp.arange(n)[:, None] - jnp.arange(n)[None, :]) % n
    return c[idx]


def leslie(f: ArrayLike, s: ArrayLike) -> Array:
    """The Leslie matrix: fecundities ``f`` (``N >= 2``) as its first row, survival rates
    ``s`` (``N - 1``) on its first subdiagonal; leading dims are batch dims."""
    check_arraylike("leslie", f, s)
    f_arr, s_arr = jnp.atleast_1d(f), jnp.atleast_1d(s)
    if f_arr.shape[-1] < 2:
        raise ValueError("The length of f along the last axis must be at least 2; got shape "
                         f"{f_arr.shape}.")
    if s_arr.shape[-1] != f_arr.shape[-1] - 1:
        raise ValueError("Incorrect lengths for f and s. The length of s along the last axis "
                         f"must be one less than the length of f; got f shape {f_arr.shape} "
                         f"and s shape {s_arr.shape}.")
    out: Array = jnp.vectorize(_leslie, signature="(n),(m)->(n,n)")(f_arr, s_arr)
    return out


def _leslie(f: Array, s: Array) -> Array:
    f, s = promote_dtypes(f, s)
    out: Array = jnp.diag(s, k=-1).at[0].set(f)
    return out


def companion(a: ArrayLike) -> Array:
    """The companion matrix of the polynomial with coefficients ``a`` (``N >= 2``, highest
    degree first): ``-a[1:] / a[0]`` as its first row, ones on its first subdiagonal."""
    (arr,) = promote_args_inexact("companion", a)
    arr = jnp.atleast_1d(arr)
    if arr.shape[-1] < 2:
        raise ValueError("The length of `a` along the last axis must be at least 2; got shape "
                         f"{arr.shape}.")
    out: Array = jnp.vectorize(_companion, signature="(n)->(m,m)")(arr)
    return out


def _companion(a: Array) -> Array:
    first_row = -a[1:] / a[0]
    m = a.shape[0] - 1
    out: Array = jnp.eye(m, m, k=-1, dtype=first_row.dtype).at[0].set(first_row)
    return out


def fiedler(a: ArrayLike) -> Array:
    """The symmetric Fiedler matrix ``F[i, j] = |a[i] - a[j]|``; leading dims are batch
    dims."""
    check_arraylike("fiedler", a)
    arr = jnp.atleast_1d(a)
    return jnp.abs(arr[..., None] - arr[..., None, :])


def fiedler_companion(a: ArrayLike) -> Array:
    """The pentadiagonal Fiedler companion matrix of the polynomial with coefficients ``a``
    (highest degree first), whose eigenvalues are its roots."""
    (arr,) = promote_args_inexact("fiedler_companion", a)
    arr = jnp.atleast_1d(arr)
    if arr.shape[-1] == 0:
        raise ValueError("fiedler_companion requires the last axis of 'a' to have nonzero "
                         f"length, but got an array of shape {arr.shape}.")
    out: Array = jnp.vectorize(_fiedler_companion, signature="(n)->(m,m)")(arr)
    return out


def _fiedler_companion(a: Array) -> Array:
    n = a.shape[0] - 1
    if n == 0:
        return jnp.empty_like(a, shape=(0, 0))
    a = a / a[0]
    if n == 1:
        return -a[1:].reshape(1, 1)
    i = jnp.arange(n)[:, None]
    j = jnp.arange(n)[None, :]
    super_val = -a[jnp.minimum(i + 2, n)]
    sub_val = -a[jnp.minimum(i + 1, n)]
    i_even = i % 2 == 0
    i_odd = i % 2 == 1
    one = jnp.array(1, dtype=a.dtype)
    zero = jnp.array(0, dtype=a.dtype)
    conditions = [
        (i == 0) & (j == 0),
        (i == 1) & (j == 0),
        (j == i + 1) & i_even,
        (j == i + 2) & i_even,
        (j == i - 1) & i_even & (i >= 2),
        (j == i - 2) & i_odd & (i >= 3),
    ]
    choices = [-a[1], one, super_val, one, sub_val, one]
    return jnp.select(conditions, choices, default=zero)


@library_jit(static_argnames=("n", "mode"))
def convolution_matrix(a: ArrayLike, n: int, mode: str = "full") -> Array:
    """The Toeplitz matrix ``A`` (``n`` columns) with ``A @ v == jnp.convolve(a, v, mode)``
    (``mode`` "full", "same" or "valid"); leading dims of ``a`` are batch dims."""
    from refjax.scipy.linalg import toeplitz

    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"n must be a positive integer; got {n}.")
    check_arraylike("convolution_matrix", a)
    a_arr = jnp.asarray(a)
    if a_arr.ndim == 0:
        raise ValueError("convolution_matrix: a must be at least 1-dimensional, got a scalar.")
    m = a_arr.shape[-1]
    if m < 1:
        raise ValueError(f"len(a) must be at least 1; got shape {a_arr.shape}.")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"mode must be one of 'full', 'valid', 'same'; got {mode!r}.")
    pad_widths = [(0, 0)] * (a_arr.ndim - 1) + [(0, n - 1)]
    az = jnp.pad(a_arr, pad_widths)
    raz = jnp.pad(jnp.flip(a_arr, axis=-1), pad_widths)
    length = m + n - 1
    if mode == "same":
        trim = min(n, m) - 1
        tb = trim // 2
        te = trim - tb
    elif mode == "valid":
        tb = te = min(n, m) - 1
    else:
        tb = te = 0
    col0 = lax.slice_in_dim(az, tb, length - te, axis=-1)
    row0 = lax.slice_in_dim(raz, length - n - tb, length - tb, axis=-1)
    return toeplitz(col0, row0)


@library_jit(static_argnames=("n",))
def invhilbert(n: int) -> Array:
    """The inverse of the ``n x n`` Hilbert matrix, from its closed form with binomial
    coefficients (in floating point)."""
    a = jnp.arange(n, dtype=dtypes.default_float_dtype())
    i, j = a[:, None], a[None, :]
    s = i + j
    return ((-1.0) ** s * (s + 1.0) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1)
            * comb(s, i) ** 2)


def _kind(kind: str | None, article: str) -> str:
    """``kind`` checked (symmetric by default); JAX's message, whose wording differs between
    ``pascal`` ("on of") and ``invpascal`` ("one of")."""
    kind = "symmetric" if kind is None else kind
    valid = ["symmetric", "lower", "upper"]
    if kind not in valid:
        raise ValueError(f"Expected kind to be {article} of: {valid}; got {kind}")
    return kind


@library_jit()
def _binom(n: Array, k: Array) -> Array:
    return lax.exp(lax.lgamma(n + 1.0) - lax.lgamma(n - k + 1.0) - lax.lgamma(k + 1.0))


@library_jit(static_argnames=("n", "kind"))
def pascal(n: int, kind: str | None = None) -> Array:
    """The ``n x n`` Pascal matrix (``kind`` "symmetric", "lower" or "upper"), binomial
    coefficients in float32 from ``lgamma``."""
    kind = _kind(kind, "on")
    a = jnp.arange(n, dtype=np.float32)
    lower = _binom(a[:, None], a[None, :])
    if kind == "lower":
        return lower
    if kind == "upper":
        return lower.T
    return jnp.dot(lower, lower.T)


@library_jit(static_argnames=("n", "kind"))
def invpascal(n: int, kind: str | None = None) -> Array:
    """The inverse of the ``n x n`` Pascal matrix of ``kind``, from the closed form
    ``(-1)^(i-j) binom(i, j)`` of the lower one's inverse."""
    kind = _kind(kind, "one")
    a = jnp.arange(n, dtype=dtypes.default_float_dtype())
    i, j = a[:, None], a[None, :]
    l_inv = ((-1.0) ** (i - j)) * _binom(i, j)
    if kind == "lower":
        return l_inv
    if kind == "upper":
        return l_inv.T
    return jnp.dot(l_inv.T, l_inv)


@library_jit(static_argnames=("n", "full"))
def helmert(n: int, full: bool = False) -> Array:
    """The Helmert matrix: ``n - 1`` orthonormal contrast rows of length ``n`` (and a first
    row of ``1 / sqrt(n)`` with ``full``)."""
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}.")
    i = jnp.arange(n - 1)[:, None]
    j = jnp.arange(n)[None, :]
    k = i + 1
    k_f = k.astype(dtypes.default_float_dtype())
    denom = jnp.sqrt(k_f * (k_f + 1))
    h: Array = jnp.where(j <= i, 1.0 / denom,
                         jnp.where(j == k, -k_f / denom, jnp.zeros_like(denom)))
    if full:
        first_row = jnp.full((1, n), 1.0 / jnp.sqrt(n), dtype=h.dtype)
        h = jnp.concatenate([first_row, h], axis=0)
    return h


@library_jit(static_argnames=("n", "dtype"))
def hadamard(n: int, dtype: Any = int) -> Array:
    """The ``n x n`` Hadamard matrix of Sylvester's construction (``n`` a power of 2)."""
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"n must be a positive power of 2; got {n}.")
    h = jnp.ones((1, 1), dtype=dtype)
    for _ in range(int(math.log2(n))):
        h = jnp.concatenate([jnp.concatenate([h, h], axis=1),
                             jnp.concatenate([h, -h], axis=1)], axis=0)
    return h


@library_jit(static_argnames=("n", "scale", "dtype"))
def dft(n: int, scale: str | None = None, *, dtype: Any = None) -> Array:
    """The ``n x n`` discrete Fourier transform matrix ``exp(-2 pi i j k / n)``, unscaled or
    divided by ``sqrt(n)`` (``scale`` "sqrtn") or ``n`` ("n"), in a complex ``dtype``."""
    if scale is not None and scale not in ("sqrtn", "n"):
        raise ValueError(f"scale must be None, 'sqrtn', or 'n'; got {scale!r}.")
    if dtype is None:
        dtype = dtypes.canonicalize_dtype(complex)
    else:
        dtype = user_dtype(dtype, "dft")
        if not dtypes.issubdtype(dtype, np.complexfloating):
            raise ValueError(f"dtype must be a complex floating-point type; got {dtype}.")
    a = jnp.arange(n, dtype=dtype)
    omegas = jnp.exp(-2j * np.pi * a[:, None] * a[None, :] / n)
    if scale == "sqrtn":
        omegas = omegas / jnp.sqrt(n)
    elif scale == "n":
        omegas = omegas / n
    return omegas
