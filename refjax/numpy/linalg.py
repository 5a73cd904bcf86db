"""``refjax.numpy.linalg``: norms, decompositions and solves, as ``jax.numpy.linalg``.

The decompositions are ``refjax.lax.linalg``'s primitives (cholesky, eigh, lu, qr, svd,
triangular_solve); determinants, inverses and solves are built on LU with partial pivoting,
pseudo-inverses and least squares on the SVD. Determinants and log-determinants have JAX's
custom JVPs (``det``'s finite at singular matrices, through the cofactor solve), as does
``pinv`` (Golub and Pereyra). ``solve`` differentiates through the LU factorisation (JAX's
goes through ``custom_linear_solve``: the same derivatives, another program).
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import (
    creation,
    indexing,
    manipulation,
    numeric,
    products,
    reductions,
    selection,
    tensor_contractions,
    ufuncs,
)
from refjax.numpy import einsum as einsum_module
from refjax.numpy._util import ensure_arraylike, promote_dtypes_inexact
from refjax.numpy.functional import vectorize
from refjax.numpy.linalg_eig import EigResult, eig, eigvals
from refjax.primitives import solves
from refjax.primitives.calls import library_jit
from refjax.primitives.custom_derivatives import custom_jvp
from refjax.primitives.linalg import PrecisionLike
from refjax.util import canonicalize_axis

__all__ = [
    "EigResult",
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "tensorinv",
    "tensorsolve",
    "trace",
    "vecdot",
    "vector_norm",
]

Order = int | float | str | None


def _sum_of_squares(x: Array, axis: int | tuple[int, ...] | None, keepdims: bool) -> Array:
    return ufuncs.sqrt(
        reductions.sum(ufuncs.real(ufuncs.multiply(x, ufuncs.conj(x))), axis=axis,
                       keepdims=keepdims)
    )


def vector_norm(
    x: ArrayLike,
    /,
    *,
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
    ord: int | float | str = 2,  # noqa: A002  # numpy's name
) -> Array:
    """The vector ``ord``-norm over ``axis`` (all axes by default), as ``jnp.linalg``."""
    (arr,) = ensure_arraylike("jnp.linalg.vector_norm", x)
    if ord is None or ord == 2:
        return _sum_of_squares(arr, axis, keepdims)
    if ord == np.inf:
        return reductions.amax(ufuncs.abs(arr), axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return reductions.amin(ufuncs.abs(arr), axis=axis, keepdims=keepdims)
    if ord == 0:
        count_dtype = dtypes.finfo(dtypes.canonicalize_dtype(arr.dtype)).dtype
        return reductions.sum(ufuncs.not_equal(arr, 0), dtype=count_dtype, axis=axis,
                              keepdims=keepdims)
    if ord == 1:
        return reductions.sum(ufuncs.abs(arr), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        msg = f"Invalid order '{ord}' for vector norm."
        if ord in ("inf", "-inf"):
            msg += f"Use '{ord[:-3]}jax.numpy.inf' instead."
        raise ValueError(msg)
    magnitude = ufuncs.abs(arr)
    power = np.array(ord, magnitude.dtype)
    total = reductions.sum(ufuncs.power(magnitude, power), axis=axis, keepdims=keepdims)
    return ufuncs.power(total, np.array(1.0 / power, magnitude.dtype))


@library_jit(static_argnames=("ord", "axis", "keepdims"))
def norm(
    x: ArrayLike,
    ord: Order = None,  # noqa: A002  # numpy's name
    axis: int | Sequence[int] | None = None,
    keepdims: bool = False,
) -> Array:
    """A vector norm (one axis) or matrix norm (two axes), as ``jnp.linalg.norm``."""
    (arr,) = ensure_arraylike("jnp.linalg.norm", x)
    (arr,) = promote_dtypes_inexact(arr)
    ndim = arr.ndim
    if axis is None:
        if ord is None:  # numpy admits any rank here: the 2-norm of the flattened array
            return _sum_of_squares(arr, None, keepdims)
        axes = tuple(range(ndim))
    elif isinstance(axis, tuple):
        axes = tuple(canonicalize_axis(a, ndim) for a in axis)
    elif isinstance(axis, int | np.integer):
        axes = (canonicalize_axis(axis, ndim),)
    else:
        raise TypeError(f"jnp.linalg.norm: axis must be an int or a tuple of ints; got {axis!r}")
    if len(axes) == 1:
        return vector_norm(arr, ord=2 if ord is None else ord, axis=axes, keepdims=keepdims)
    if len(axes) != 2:
        raise ValueError(
            f"Improper number of axes for norm: axis={axis!r}. Pass one axis to compute a "
            "vector-norm, or two axes to compute a matrix-norm."
        )
    row, col = axes
    if ord is None or ord in ("f", "fro"):
        return _sum_of_squares(arr, axes, keepdims)
    if ord in (1, -1):
        if not keepdims and col > row:
            col -= 1
        sums = reductions.sum(ufuncs.abs(arr), axis=row, keepdims=keepdims)
        if ord == 1:
            return reductions.amax(sums, axis=col, keepdims=keepdims, initial=0)
        return reductions.amin(sums, axis=col, keepdims=keepdims)
    if ord in (np.inf, -np.inf):
        if not keepdims and row > col:
            row -= 1
        sums = reductions.sum(ufuncs.abs(arr), axis=col, keepdims=keepdims)
        if ord == np.inf:
            return reductions.amax(sums, axis=row, keepdims=keepdims, initial=0)
        return reductions.amin(sums, axis=row, keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        moved = manipulation.moveaxis(arr, (row, col), (-2, -1))
        s: Array = svd(moved, compute_uv=False)
        if ord == 2:
            y = reductions.amax(s, axis=-1)
        elif ord == -2:
            y = reductions.amin(s, axis=-1)
        else:
            y = reductions.sum(s, axis=-1)
        return manipulation.expand_dims(y, axes) if keepdims else y
    raise ValueError(f"Invalid order '{ord}' for matrix norm.")


# ---------------------------------------------------------------------------------------------
# Decompositions and what is built on them (``lax.linalg``'s primitives)


class EighResult(NamedTuple):
    """``eigh``'s result: the eigenvalues (ascending) and the eigenvectors (columns)."""

    eigenvalues: Array
    eigenvectors: Array


class QRResult(NamedTuple):
    """``qr``'s result."""

    Q: Array  # numpy's name
    R: Array  # numpy's name


class SlogdetResult(NamedTuple):
    """``slogdet``'s result: the determinant is ``sign * exp(logabsdet)``."""

    sign: Array
    logabsdet: Array


class SVDResult(NamedTuple):
    """``svd``'s result: ``a = U @ diag(S) @ Vh``."""

    U: Array  # numpy's name
    S: Array  # numpy's name
    Vh: Array  # numpy's name


def _T(x: Array) -> Array:  # noqa: N802  # JAX's name
    return manipulation.swapaxes(x, -1, -2)


def _H(x: Array) -> Array:  # noqa: N802  # JAX's name
    return ufuncs.conj(_T(x))


def _square(name: str, a: Array) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Argument to {name} must have shape [..., n, n], got {a.shape}.")


def _mm(a: Array, b: Array) -> Array:
    return tensor_contractions.matmul(a, b, precision=lax.Precision.HIGHEST)


@library_jit(static_argnames=("upper", "symmetrize_input"))
def cholesky(a: ArrayLike, *, upper: bool = False, symmetrize_input: bool = True) -> Array:
    """The Cholesky factor of Hermitian positive-definite ``a``: lower ``L`` with
    ``a = L @ L^H`` (or upper ``U = L^H`` with ``upper``); NaNs if ``a`` is not positive
    definite."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.cholesky", a))
    factor = lax.linalg.cholesky(arr, symmetrize_input=symmetrize_input)
    return _H(factor) if upper else factor


@library_jit(static_argnames=("full_matrices", "compute_uv", "hermitian", "subset_by_index"))
def svd(
    a: ArrayLike,
    full_matrices: bool = True,
    compute_uv: bool = True,
    hermitian: bool = False,
    subset_by_index: tuple[int, int] | None = None,
) -> Any:
    """``SVDResult(U, S, Vh)`` with ``a = U @ diag(S) @ Vh`` and ``S`` descending (only ``S``
    unless ``compute_uv``). With ``hermitian``, from the eigendecomposition of ``a``."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.svd", a))
    if hermitian:
        vecs, w = lax.linalg.eigh(arr, subset_by_index=subset_by_index)
        s = lax.abs(w)
        if not compute_uv:
            out = lax.sort(s, dimension=s.ndim - 1)
            assert isinstance(out, Array)
            return lax.rev(out, (s.ndim - 1,))
        sign = lax.sign(w)
        idx = lax.broadcasted_iota(np.dtype(np.uint32) if s.shape[-1] < 2**32 else
                                   np.dtype(np.uint64), s.shape, s.ndim - 1)
        s, idx, sign = lax.sort((s, idx, sign), dimension=s.ndim - 1, num_keys=1)
        last = (s.ndim - 1,)
        s, idx, sign = lax.rev(s, last), lax.rev(idx, last), lax.rev(sign, last)
        u = indexing.take_along_axis(vecs, idx[..., None, :], axis=-1)
        vh = _H(ufuncs.multiply(u, sign[..., None, :].astype(u.dtype)))
        return SVDResult(u, s, vh)
    if compute_uv:
        u, s, vh = lax.linalg.svd(arr, full_matrices=full_matrices, compute_uv=True,
                                  subset_by_index=subset_by_index)
        return SVDResult(u, s, vh)
    return lax.linalg.svd(arr, full_matrices=full_matrices, compute_uv=False,
                          subset_by_index=subset_by_index)


def svdvals(x: ArrayLike, /) -> Array:
    """The singular values of ``x``, descending."""
    (arr,) = ensure_arraylike("jnp.linalg.svdvals", x)
    out: Array = svd(arr, compute_uv=False, hermitian=False)
    return out


@library_jit(static_argnames=("n",))
def matrix_power(a: ArrayLike, n: int) -> Array:
    """``a`` multiplied by itself ``n`` times (the inverse's power for negative ``n``)."""
    (arr,) = ensure_arraylike("jnp.linalg.matrix_power", a)
    if arr.ndim < 2:
        raise TypeError(f"{arr.ndim}-dimensional array given. Array must be at least "
                        "two-dimensional")
    if arr.shape[-2] != arr.shape[-1]:
        raise TypeError("Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError as err:
        raise TypeError(f"exponent must be an integer, got {n}") from err
    if n == 0:
        return manipulation.broadcast_to(creation.eye(arr.shape[-2], dtype=arr.dtype),
                                         arr.shape)
    if n < 0:
        arr, n = inv(arr), -n
    if n == 1:
        return arr
    if n == 2:
        return tensor_contractions.matmul(arr, arr)
    if n == 3:
        return tensor_contractions.matmul(tensor_contractions.matmul(arr, arr), arr)
    z: Array | None = None
    result: Array | None = None
    while n > 0:  # square-and-multiply
        z = arr if z is None else tensor_contractions.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else tensor_contractions.matmul(result, z)
    assert result is not None
    return result


@library_jit(static_argnames=("hermitian",))
def matrix_rank(m: ArrayLike, rtol: ArrayLike | None = None, *, hermitian: bool = False,
                tol: ArrayLike | None = None) -> Array:
    """The number of singular values above ``rtol`` times the largest (by default
    ``max(m, n) * eps``)."""
    (arr,) = ensure_arraylike("jnp.linalg.matrix_rank", m)
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified.")
        rtol = tol
    (arr,) = promote_dtypes_inexact(arr)
    if arr.ndim < 2:
        return reductions.any(ufuncs.not_equal(arr, 0)).astype(np.int32)
    s: Array = svd(arr, full_matrices=False, compute_uv=False, hermitian=hermitian)
    if rtol is None:
        cutoff = ufuncs.multiply(
            reductions.max(s, axis=-1),
            np.asarray(max(arr.shape[-2:]) * np.finfo(s.dtype).eps, s.dtype))
    else:
        cutoff = creation.asarray(rtol)
    cutoff = manipulation.expand_dims(cutoff, cutoff.ndim)
    return reductions.sum(ufuncs.greater(s, cutoff), axis=-1)


def _slogdet_from_lu(a: Array) -> tuple[Array, Array]:
    dtype = a.dtype
    factor, pivots, _ = lax.linalg.lu(a)
    diag = selection.diagonal(factor, axis1=-2, axis2=-1)
    is_zero = reductions.any(ufuncs.equal(diag, creation.array(0, dtype=dtype)), axis=-1)
    iota = lax.expand_dims(creation.arange(a.shape[-1], dtype=pivots.dtype),
                           tuple(range(pivots.ndim - 1)))
    parity = reductions.count_nonzero(ufuncs.not_equal(pivots, iota), axis=-1)
    if dtype.kind == "c":
        sign = reductions.prod(ufuncs.divide(diag, ufuncs.abs(diag).astype(dtype)), axis=-1)
    else:
        sign = creation.array(1, dtype=dtype)
        parity = ufuncs.add(parity, reductions.count_nonzero(ufuncs.less(diag, 0), axis=-1))
    flip = creation.asarray(ufuncs.add(ufuncs.multiply(-2, ufuncs.remainder(parity, 2)), 1),
                            dtype=dtype)
    sign = selection.where(is_zero, creation.array(0, dtype=dtype),
                           ufuncs.multiply(sign, flip))
    logdet = selection.where(
        is_zero, creation.array(-np.inf, dtype=dtype),
        reductions.sum(ufuncs.log(ufuncs.abs(diag)).astype(dtype), axis=-1))
    return sign, ufuncs.real(logdet)


def _slogdet_small_values(a: Array) -> tuple[Array, Array]:
    """Analytic ``slogdet`` of 1x1 and 2x2 matrices (no factorisation), as JAX's."""
    det = a[..., 0, 0] if a.shape[-1] == 1 else ufuncs.subtract(
        ufuncs.multiply(a[..., 0, 0], a[..., 1, 1]), ufuncs.multiply(a[..., 0, 1], a[..., 1, 0]))
    return ufuncs.sign(det), ufuncs.real(ufuncs.log(ufuncs.abs(det)))


def _slogdet_tangents(x: Array, sign: Array, ans_dot: Array) -> tuple[Array, Array]:
    if x.dtype.kind == "c":
        sign_dot = ufuncs.multiply(
            ufuncs.subtract(ans_dot, ufuncs.real(ans_dot).astype(ans_dot.dtype)), sign)
        return sign_dot, ufuncs.real(ans_dot)
    return creation.zeros_like(sign), ans_dot


_slogdet_lu = custom_jvp(_slogdet_from_lu)
_slogdet_small = custom_jvp(_slogdet_small_values)


@_slogdet_lu.defjvp
def _slogdet_lu_jvp(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
    (x,), (g,) = primals, tangents
    sign, ans = slogdet(x)
    ans_dot = selection.trace(solve(x, g), axis1=-1, axis2=-2)
    return (sign, ans), _slogdet_tangents(x, sign, ans_dot)


@_slogdet_small.defjvp
def _slogdet_small_jvp(primals: tuple[Any, ...], tangents: tuple[Any, ...]
                       ) -> tuple[Any, Any]:
    (x,), (g,) = primals, tangents
    sign, ans = _slogdet_small(x)
    if x.shape[-1] == 1:
        ans_dot = ufuncs.divide(g[..., 0, 0], x[..., 0, 0])
    else:
        det = ufuncs.subtract(ufuncs.multiply(x[..., 0, 0], x[..., 1, 1]),
                              ufuncs.multiply(x[..., 0, 1], x[..., 1, 0]))
        num = ufuncs.add(
            ufuncs.subtract(
                ufuncs.subtract(ufuncs.multiply(g[..., 0, 0], x[..., 1, 1]),
                                ufuncs.multiply(g[..., 0, 1], x[..., 1, 0])),
                ufuncs.multiply(g[..., 1, 0], x[..., 0, 1])),
            ufuncs.multiply(g[..., 1, 1], x[..., 0, 0]))
        ans_dot = ufuncs.divide(num, det)
    return (sign, ans), _slogdet_tangents(x, sign, ans_dot)


@library_jit(static_argnames=("method",))
def slogdet(a: ArrayLike, *, method: str | None = None) -> SlogdetResult:
    """``SlogdetResult(sign, logabsdet)`` of the determinant of square ``a`` (by LU)."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.slogdet", a))
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"Argument to slogdet() must have shape [..., n, n], got {arr.shape}")
    if method is None or method == "lu":
        if arr.shape[-1] in (1, 2):
            return SlogdetResult(*_slogdet_small(arr))
        return SlogdetResult(*_slogdet_lu(arr))
    if method == "qr":
        raise NotImplementedError("slogdet(method='qr') needs lax.linalg.geqrf, which refjax "
                                  "does not have")
    raise ValueError(f"Unknown slogdet method '{method}'. Supported methods are 'lu' (`None`), "
                     "and 'qr'.")


def _cofactor_solve(a: Array, b: Array) -> tuple[Array, Array]:
    """``(det(a), adj(a) @ b)``, finite where ``a`` is singular too (JAX's rule for det's
    JVP): from ``a``'s LU factors with the last pivot replaced, the not-full-rank matrices
    masked out."""
    n = a.shape[-1]
    if n == 1:
        return a[..., 0, 0], b
    factor, pivots, permutation = lax.linalg.lu(a)
    dtype = a.dtype
    batch = manipulation.broadcast_shapes(factor.shape[:-2], b.shape[:-2])
    x = manipulation.broadcast_to(b, (*batch, *b.shape[-2:]))
    factor = manipulation.broadcast_to(factor, (*batch, *factor.shape[-2:]))
    diag = selection.diagonal(factor, axis1=-2, axis2=-1)
    iota = lax.expand_dims(creation.arange(n, dtype=pivots.dtype),
                           tuple(range(pivots.ndim - 1)))
    parity = reductions.count_nonzero(ufuncs.not_equal(pivots, iota), axis=-1)
    sign = creation.asarray(ufuncs.add(ufuncs.multiply(-2, ufuncs.remainder(parity, 2)), 1),
                            dtype=dtype)
    partial_det = ufuncs.multiply(reductions.cumprod(diag, axis=-1), sign[..., None])
    factor = factor.at[..., -1, -1].set(ufuncs.divide(1.0, partial_det[..., -2]))
    permutation = manipulation.broadcast_to(permutation, (*batch, n))
    ones = creation.ones(x.shape[:-1], x.dtype)
    d = lax.linalg.triangular_solve(factor, ones, left_side=True, lower=False)
    bad = reductions.any(ufuncs.logical_or(ufuncs.isnan(d), ufuncs.isinf(d)), axis=-1)
    bad = manipulation.broadcast_to(bad[..., None, None], x.shape)
    x = selection.where(bad, creation.zeros_like(x), x)  # first filter
    x = indexing.take_along_axis(x, permutation[..., None], axis=-2)
    x = lax.linalg.triangular_solve(factor, x, left_side=True, lower=True, unit_diagonal=True)
    x = manipulation.concatenate(
        (ufuncs.multiply(x[..., :-1, :], partial_det[..., -1, None, None]), x[..., -1:, :]),
        axis=-2)
    x = lax.linalg.triangular_solve(factor, x, left_side=True, lower=False)
    x = selection.where(bad, creation.zeros_like(x), x)  # second filter
    return partial_det[..., -1], x


def _det_from_slogdet(a: Array) -> Array:
    sign, logdet = slogdet(a)
    return ufuncs.multiply(sign, ufuncs.exp(logdet).astype(sign.dtype))


_det = custom_jvp(_det_from_slogdet)


@_det.defjvp
def _det_jvp(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
    (x,), (g,) = primals, tangents
    y, z = _cofactor_solve(x, g)
    return y, selection.trace(z, axis1=-1, axis2=-2)


@library_jit()
def det(a: ArrayLike) -> Array:
    """The determinant of square ``a`` (closed forms for 2x2 and 3x3, else by LU)."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.det", a))
    if arr.ndim >= 2 and arr.shape[-2:] == (2, 2):
        return ufuncs.subtract(ufuncs.multiply(arr[..., 0, 0], arr[..., 1, 1]),
                               ufuncs.multiply(arr[..., 0, 1], arr[..., 1, 0]))
    if arr.ndim >= 2 and arr.shape[-2:] == (3, 3):
        def e(i: int, j: int) -> Array:
            return arr[..., i, j]

        m = ufuncs.multiply
        plus = ufuncs.add(ufuncs.add(m(m(e(0, 0), e(1, 1)), e(2, 2)),
                                     m(m(e(0, 1), e(1, 2)), e(2, 0))),
                          m(m(e(0, 2), e(1, 0)), e(2, 1)))
        out = ufuncs.subtract(plus, m(m(e(0, 2), e(1, 1)), e(2, 0)))
        out = ufuncs.subtract(out, m(m(e(0, 0), e(1, 2)), e(2, 1)))
        return ufuncs.subtract(out, m(m(e(0, 1), e(1, 0)), e(2, 2)))
    if arr.ndim >= 2 and arr.shape[-1] == arr.shape[-2]:
        general: Array = _det(arr)
        return general
    raise ValueError(f"Argument to _det() must have shape [..., n, n], got {arr.shape}")


def _uplo(name: str, uplo: str | None) -> bool:
    if uplo is None or uplo == "L":
        return True
    if uplo == "U":
        return False
    raise ValueError(f"UPLO must be one of None, 'L', or 'U', got {uplo}")


@library_jit(static_argnames=("UPLO", "symmetrize_input"))
def eigh(a: ArrayLike, UPLO: str | None = None,  # noqa: N803  # numpy's name
         symmetrize_input: bool = True) -> EighResult:
    """``EighResult(eigenvalues, eigenvectors)`` of Hermitian ``a``, eigenvalues ascending."""
    (arr,) = ensure_arraylike("jnp.linalg.eigh", a)
    lower = _uplo("eigh", UPLO)
    (arr,) = promote_dtypes_inexact(arr)
    v, w = lax.linalg.eigh(arr, lower=lower, symmetrize_input=symmetrize_input)
    return EighResult(w, v)


@library_jit(static_argnames=("UPLO", "symmetrize_input"))
def eigvalsh(a: ArrayLike, UPLO: str | None = "L", *,  # noqa: N803  # numpy's name
             symmetrize_input: bool = True) -> Array:
    """The eigenvalues of Hermitian ``a``, ascending."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.eigvalsh", a))
    w, _ = eigh(arr, UPLO, symmetrize_input=symmetrize_input)
    return w


@library_jit(static_argnames=("hermitian",))
def _pinv(a: ArrayLike, rtol: ArrayLike | None = None, hermitian: bool = False
                 ) -> Array:
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.pinv", a))
    m, n = arr.shape[-2:]
    if m == 0 or n == 0:
        return creation.empty((*arr.shape[:-2], n, m), arr.dtype)
    arr = ufuncs.conj(arr)
    if rtol is None:
        rtol = 10.0 * max(m, n) * creation.array(np.finfo(arr.dtype).eps)
    cutoff_rel = creation.asarray(rtol)
    u, s, vh = svd(arr, full_matrices=False, hermitian=hermitian)
    cutoff_rel = lax.expand_dims(cutoff_rel[..., None],
                                 tuple(range(s.ndim - cutoff_rel.ndim - 1)))
    cutoff = ufuncs.multiply(cutoff_rel, s[..., 0:1])
    s = selection.where(ufuncs.greater(s, cutoff), s, np.inf).astype(u.dtype)
    res = tensor_contractions.matmul(_T(vh), ufuncs.divide(_T(u), s[..., None]),
                                     precision=lax.Precision.HIGHEST)
    return lax.convert_element_type(res, arr.dtype)


_pinv_rule = custom_jvp(_pinv, nondiff_argnums=(1, 2))


@_pinv_rule.defjvp
def _pinv_jvp(rtol: ArrayLike | None, hermitian: bool, primals: tuple[Any, ...],
              tangents: tuple[Any, ...]) -> tuple[Any, Any]:
    (a,), (a_dot,) = primals, tangents
    p = pinv(a, rtol=rtol, hermitian=hermitian)
    if hermitian:
        a = ufuncs.divide(ufuncs.add(a, _H(a)), 2)
        a_dot = ufuncs.divide(ufuncs.add(a_dot, _H(a_dot)), 2)
    m, n = a.shape[-2:]
    if m >= n:
        s = _mm(_mm(p, _H(p)), _H(a_dot))
        t = _mm(_mm(_H(a_dot), _H(p)), p)
        p_dot = ufuncs.add(ufuncs.subtract(ufuncs.add(
            ufuncs.negative(_mm(_mm(p, a_dot), p)), s), _mm(_mm(s, a), p)),
            ufuncs.subtract(t, _mm(_mm(p, a), t)))
    else:
        s = _mm(p, _mm(_H(p), _H(a_dot)))
        t = _mm(_H(a_dot), _mm(_H(p), p))
        p_dot = ufuncs.add(ufuncs.subtract(ufuncs.add(
            ufuncs.negative(_mm(p, _mm(a_dot, p))), s), _mm(s, _mm(a, p))),
            ufuncs.subtract(t, _mm(p, _mm(a, t))))
    return p, p_dot


def pinv(a: ArrayLike, rtol: ArrayLike | None = None, hermitian: bool = False, *,
         rcond: ArrayLike | None = None) -> Array:
    """The Moore-Penrose pseudo-inverse (singular values at most ``rtol`` times the largest
    dropped)."""
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: only one of rtol and rcond may be specified.")
        rtol = rcond
    out: Array = _pinv_rule(a, rtol, hermitian)
    return out


@library_jit()
def inv(a: ArrayLike) -> Array:
    """The inverse of square ``a`` (by LU)."""
    (arr,) = ensure_arraylike("jnp.linalg.inv", a)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"Argument to inv must have shape [..., n, n], got {arr.shape}.")
    eye = lax.broadcast(creation.eye(arr.shape[-1], dtype=arr.dtype), arr.shape[:-2])
    return solve(arr, eye)


@library_jit(static_argnames=("mode",))
def qr(a: ArrayLike, mode: str = "reduced") -> Any:
    """``QRResult(Q, R)`` (``mode`` "reduced" or "complete"), or ``R`` alone ("r")."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.qr", a))
    if mode == "raw":
        raise NotImplementedError("qr(mode='raw') needs lax.linalg.geqrf, which refjax does "
                                  "not have")
    if mode in ("reduced", "r", "full"):
        full_matrices = False
    elif mode == "complete":
        full_matrices = True
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    q, r = lax.linalg.qr(arr, pivoting=False, full_matrices=full_matrices)
    return r if mode == "r" else QRResult(q, r)


@library_jit()
def solve(a: ArrayLike, b: ArrayLike) -> Array:
    """``x`` with ``a @ x = b``: ``b`` a vector (``(m,)``) or matrices (``(..., m, n)``),
    batch dims broadcast; by LU with partial pivoting through ``custom_linear_solve``, as
    JAX (derivatives reuse the factors)."""
    arr, rhs = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.solve", a, b))
    if arr.ndim < 2:
        raise ValueError(f"left hand array must be at least two dimensional; got a.shape="
                         f"{arr.shape}")
    if (rhs.ndim > 1 and arr.ndim == rhs.ndim + 1 and arr.shape[-1] == rhs.shape[-1]
            and arr.shape[-1] != rhs.shape[-2]):
        raise ValueError(
            f"Invalid shapes for solve: {arr.shape}, {rhs.shape}. Prior to JAX v0.5.0, this "
            "would have been treated as a batched 1-dimensional solve. To recover this "
            "behavior, use solve(a, b[..., None]).squeeze(-1).")
    signature = "(m,m),(m)->(m)" if rhs.ndim == 1 else "(m,m),(m,n)->(m,n)"
    out: Array = vectorize(solves.solve, signature=signature)(arr, rhs)
    return out


def _lstsq(a: Array, b: Array, rcond: ArrayLike | None, numpy_resid: bool
           ) -> tuple[Array, Array, Array, Array]:
    a, b = promote_dtypes_inexact(a, b)
    if a.shape[0] != b.shape[0]:
        raise ValueError("Leading dimensions of input arrays must match")
    b_ndim = b.ndim
    if b_ndim == 1:
        b = b[:, None]
    if a.ndim != 2:
        raise TypeError(f"{a.ndim}-dimensional array given. Array must be two-dimensional")
    if b.ndim != 2:
        raise TypeError(f"{b.ndim}-dimensional array given. Array must be one or "
                        "two-dimensional")
    m, n = a.shape
    dtype = a.dtype
    if a.size == 0:
        s = creation.empty(0, dtype=a.dtype)
        rank = creation.array(0, dtype=int)
        x = creation.zeros((n, *b.shape[1:]), dtype=a.dtype)
    else:
        eps = float(np.finfo(dtype).eps)
        cut = eps * max(n, m) if rcond is None else selection.where(
            ufuncs.less(rcond, 0), eps, rcond)
        u, s, vt = svd(a, full_matrices=False)
        mask = ufuncs.logical_and(ufuncs.greater(s, 0), ufuncs.greater_equal(
            s, ufuncs.multiply(creation.array(cut, dtype=s.dtype), s[0])))
        rank = reductions.sum(mask)
        safe_s = selection.where(mask, s, 1).astype(a.dtype)
        s_inv = selection.where(mask, ufuncs.divide(1, safe_s), 0)[:, None]
        utb = _mm(_T(ufuncs.conj(u)), b)
        x = _mm(_T(ufuncs.conj(vt)), ufuncs.multiply(s_inv, utb))
    if numpy_resid and (int(rank) < n or m <= n):
        resid = creation.asarray([])
    else:
        resid = ufuncs.power(norm(ufuncs.subtract(b, _mm(a, x)), axis=0), 2)
    if b_ndim == 1:
        x = manipulation.ravel(x)
    return x, resid, rank, s


def _lstsq_staged(a: Array, b: Array, rcond: ArrayLike | None
                  ) -> tuple[Array, Array, Array, Array]:
    return _lstsq(a, b, rcond, numpy_resid=False)


_jit_lstsq = library_jit(name="_lstsq")(_lstsq_staged)


def lstsq(a: ArrayLike, b: ArrayLike, rcond: float | None = None, *,
          numpy_resid: bool = False) -> tuple[Array, Array, Array, Array]:
    """The least-squares solution of ``a @ x = b``: ``(x, residuals, rank, singular values)``
    (by SVD)."""
    arr, rhs = ensure_arraylike("jnp.linalg.lstsq", a, b)
    if numpy_resid:
        return _lstsq(arr, rhs, rcond, numpy_resid=True)
    out: tuple[Array, Array, Array, Array] = _jit_lstsq(arr, rhs, rcond)
    return out


def multi_dot(arrays: Sequence[ArrayLike], *, precision: PrecisionLike = None) -> Array:
    """The product of a chain of matrices (the first and last may be vectors)."""
    arrs = list(ensure_arraylike("jnp.linalg.multi_dot", *arrays))
    if len(arrs) < 2:
        raise ValueError(f"multi_dot requires at least two arrays; got len(arrays)={len(arrs)}")
    if not (arrs[0].ndim in (1, 2) and arrs[-1].ndim in (1, 2)
            and all(a.ndim == 2 for a in arrs[1:-1])):
        raise ValueError("multi_dot: input arrays must all be two-dimensional, except for the "
                         "first and last array which may be 1 or 2 dimensional. Got array "
                         f"shapes {[a.shape for a in arrs]}")
    if any(a.shape[-1] != b.shape[0] for a, b in itertools.pairwise(arrs)):
        raise ValueError("multi_dot: last dimension of each array must match first dimension "
                         f"of following array. Got array shapes {[a.shape for a in arrs]}")
    axes: list[tuple[int, ...]] = [(i, i + 1) for i in range(len(arrs))]
    if arrs[0].ndim == 1:
        axes[0] = axes[0][1:]
    if arrs[-1].ndim == 1:
        axes[-1] = axes[-1][:1]
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if len(arrs) + 1 > len(letters):
        raise ValueError(f"multi_dot: too many arrays ({len(arrs)})")
    ins = ["".join(letters[i] for i in ax) for ax in axes]
    ends = sorted({i for ax in axes for i in ax if sum(i in bx for bx in axes) == 1})
    spec = ",".join(ins) + "->" + "".join(letters[i] for i in ends)
    out: Array = einsum_module.einsum(spec, *arrs, optimize="auto", precision=precision)
    return out


def tensorsolve(a: ArrayLike, b: ArrayLike, axes: tuple[int, ...] | None = None) -> Array:
    """``x`` with ``tensordot(a, x, x.ndim) = b``."""
    a_arr, b_arr = ensure_arraylike("tensorsolve", a, b)
    if axes is not None:
        a_arr = manipulation.moveaxis(a_arr, axes, len(axes) * (a_arr.ndim - 1,))
    out_shape = a_arr.shape[b_arr.ndim:]
    if a_arr.shape[: b_arr.ndim] != b_arr.shape:
        raise ValueError("After moving axes to end, leading shape of a must match shape of b. "
                         f"got a.shape={a_arr.shape}, b.shape={b_arr.shape}")
    if b_arr.size != math.prod(out_shape):
        raise ValueError("Input arrays must have prod(a.shape[:b.ndim]) == "
                         f"prod(a.shape[b.ndim:]); got a.shape={a_arr.shape}, "
                         f"b.ndim={b_arr.ndim}.")
    flat = manipulation.reshape(a_arr, (b_arr.size, math.prod(out_shape)))
    return manipulation.reshape(solve(flat, manipulation.ravel(b_arr)), out_shape)


def tensorinv(a: ArrayLike, ind: int = 2) -> Array:
    """The inverse of ``a`` as a map from its last dims to its first ``ind`` dims."""
    (arr,) = ensure_arraylike("tensorinv", a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer; got ind={ind}")
    contracting, batch = arr.shape[:ind], arr.shape[ind:]
    flat = (math.prod(contracting), math.prod(batch))
    if flat[0] != flat[1]:
        raise ValueError("tensorinv is only possible when the product of the first `ind` "
                         "dimensions equals that of the remaining dimensions. got "
                         f"arr.shape={arr.shape} with ind={ind}.")
    return manipulation.reshape(inv(manipulation.reshape(arr, flat)), (*batch, *contracting))


@library_jit(static_argnames=("p",))
def cond(x: ArrayLike, p: Order = None) -> Array:
    """The condition number of ``x`` in the ``p`` norm (2 by default: by singular values)."""
    (arr,) = ensure_arraylike("cond", x)
    if arr.ndim < 2:
        raise ValueError(f"jnp.linalg.cond: input array must be at least 2D; got "
                         f"arr.shape={arr.shape}")
    if arr.shape[-1] == 0 or arr.shape[-2] == 0:
        raise ValueError(f"jnp.linalg.cond: input array must not be empty; got "
                         f"arr.shape={arr.shape}")
    if p is None or p == 2:
        s = svdvals(arr)
        return ufuncs.divide(s[..., 0], s[..., -1])
    if p == -2:
        s = svdvals(arr)
        r = ufuncs.divide(s[..., -1], s[..., 0])
    else:
        if arr.shape[-2] != arr.shape[-1]:
            raise ValueError(f"jnp.linalg.cond: for p={p}, array must be square; got "
                             f"arr.shape={arr.shape}")
        r = ufuncs.multiply(norm(arr, ord=p, axis=(-2, -1)),
                            norm(inv(arr), ord=p, axis=(-2, -1)))
    no_nan = ufuncs.logical_not(reductions.any(ufuncs.isnan(arr), axis=(-2, -1)))
    out: Array = selection.where(ufuncs.logical_and(ufuncs.isnan(r), no_nan), np.inf, r)
    return out


def matrix_norm(x: ArrayLike, /, *, keepdims: bool = False, ord: Order = "fro"  # noqa: A002
                ) -> Array:
    """The ``ord`` norm of the trailing matrices."""
    (arr,) = ensure_arraylike("jnp.linalg.matrix_norm", x)
    return norm(arr, ord=ord, keepdims=keepdims, axis=(-2, -1))


def matrix_transpose(x: ArrayLike, /) -> Array:
    """The trailing matrices transposed."""
    return manipulation.matrix_transpose(x)


def vecdot(x1: ArrayLike, x2: ArrayLike, /, *, axis: int = -1,
           precision: PrecisionLike = None,
           preferred_element_type: DTypeLike | None = None) -> Array:
    """The dot product of vectors along ``axis`` (the first conjugated)."""
    a, b = ensure_arraylike("jnp.linalg.vecdot", x1, x2)
    return products.vecdot(a, b, axis=axis, precision=precision,
                           preferred_element_type=preferred_element_type)


def outer(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """The outer product of two vectors."""
    a, b = ensure_arraylike("jnp.linalg.outer", x1, x2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are x1.ndim={a.ndim} "
                         f"and x2.ndim={b.ndim}")
    return ufuncs.multiply(a[:, None], b[None, :])


def diagonal(x: ArrayLike, /, *, offset: int = 0) -> Array:
    """The ``offset`` diagonal of the trailing matrices."""
    return selection.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def trace(x: ArrayLike, /, *, offset: int = 0, dtype: DTypeLike | None = None) -> Array:
    """The sum along the ``offset`` diagonal of the trailing matrices."""
    return selection.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def cross(x1: ArrayLike, x2: ArrayLike, /, *, axis: int = -1) -> Array:
    """The cross product of 3-vectors along ``axis``."""
    a, b = ensure_arraylike("jnp.linalg.outer", x1, x2)
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but "
                         f"they have x1.shape[axis]={a.shape[axis]} and "
                         f"x2.shape[axis]={b.shape[axis]}")
    return numeric.cross(a, b, axis=axis)


def matmul(x1: ArrayLike, x2: ArrayLike, /, *, precision: PrecisionLike = None,
           preferred_element_type: DTypeLike | None = None) -> Array:
    """The matrix product."""
    return tensor_contractions.matmul(x1, x2, precision=precision,
                                      preferred_element_type=preferred_element_type)


def tensordot(x1: ArrayLike, x2: ArrayLike, /, *, axes: Any = 2,
              precision: PrecisionLike = None,
              preferred_element_type: DTypeLike | None = None) -> Array:
    """The tensor dot product over ``axes``."""
    return tensor_contractions.tensordot(x1, x2, axes=axes, precision=precision,
                                         preferred_element_type=preferred_element_type)
