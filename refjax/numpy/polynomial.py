"""Polynomials of ``jax.numpy`` (coefficients highest power first): ``poly``, ``polyadd``,
``polysub``, ``polymul``, ``polydiv``, ``polyder``, ``polyint``, ``polyfit`` and ``roots``
(``polyval`` lives in ``numeric``).

As JAX's (``jax/_src/numpy/polynomial.py``): results are promoted to an inexact dtype except for
``polyadd``/``polysub``; ``roots`` finds the eigenvalues of the companion matrix (always
complex), stripping leading zeros when ``strip_zeros`` (which needs concrete coefficients) or
else returning NaN for the roots they would remove; ``polyfit`` solves the column-scaled
Vandermonde least-squares problem. The functions JAX stages as ``jit`` are staged calls here too.
``vander`` and ``trim_zeros`` are private helpers (the public ones belong to another part of
the port).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType
from refjax.interp.core import Array, ArrayLike, concrete_or_error
from refjax.numpy import reductions, ufuncs
from refjax.numpy._util import (
    as_array,
    ensure_arraylike,
    promote_dtypes,
    promote_dtypes_inexact,
    where_,
)
from refjax.numpy.convolution import convolve
from refjax.numpy.creation import arange, array, empty, full, ones, zeros
from refjax.numpy.linalg import inv, lstsq
from refjax.numpy.linalg_eig import eigvals
from refjax.numpy.manipulation import atleast_1d, concatenate, roll
from refjax.numpy.numerical import vander
from refjax.numpy.selection import diag
from refjax.numpy.tensor_contractions import dot, outer
from refjax.primitives.calls import library_jit

__all__ = [
    "poly",
    "polyadd",
    "polyder",
    "polydiv",
    "polyfit",
    "polyint",
    "polymul",
    "polysub",
    "roots",
]


def _to_complex_dtype(dtype: DType) -> DType:
    return dtypes.canonicalize_dtype(np.result_type(dtype, np.complex64))


# ---------------------------------------------------------------------------------------------
# roots


@library_jit()
def _roots_no_zeros(p: Array) -> Array:
    """The eigenvalues of the companion matrix of ``p`` (leading coefficient nonzero)."""
    if p.size < 2:
        return array([], dtype=_to_complex_dtype(p.dtype))
    a = diag(ones((p.size - 2,), p.dtype), -1)
    a = a.at[0, :].set(-p[1:] / p[0])
    return eigvals(a)


@library_jit()
def _roots_with_zeros(p: Array, num_leading_zeros: Array | int) -> Array:
    """The roots of ``p`` with its leading zeros moved to the end; the roots those zeros add
    become NaN."""
    p = where_(len(p) == num_leading_zeros, 1.0, p)  # no LAPACK errors for an all-zero p
    found = _roots_no_zeros(roll(p, -num_leading_zeros))
    found = lax.sort_key_val(found == 0, found)[1]  # zero roots to the end
    return where_(arange(found.size) < found.size - num_leading_zeros, found,
                  complex(np.nan, np.nan))


def roots(p: ArrayLike, *, strip_zeros: bool = True) -> Array:
    """The (complex) roots of the polynomial with coefficients ``p``. Leading zeros are stripped
    if ``strip_zeros`` (``p`` must then be concrete); otherwise the roots they would remove are
    NaN."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("roots", p))
    p_arr = atleast_1d(arr)
    if p_arr.ndim != 1:
        raise ValueError("Input must be a rank-1 array.")
    if p_arr.size < 2:
        return array([], dtype=_to_complex_dtype(p_arr.dtype))
    is_zero = ufuncs.equal(p_arr, 0)
    num_leading_zeros = where_(reductions.all(is_zero), len(p_arr), reductions.argmin(is_zero))
    if strip_zeros:
        count = int(concrete_or_error(
            num_leading_zeros,
            "The error occurred in the jnp.roots() function. To use this within a "
            "JIT-compiled context, pass strip_zeros=False, but be aware that leading zeros "
            "will result in some returned roots being set to NaN."))
        return _roots_no_zeros(p_arr[count:])
    return _roots_with_zeros(p_arr, num_leading_zeros)


# ---------------------------------------------------------------------------------------------
# polyfit


@library_jit(static_argnames=("deg", "rcond", "full", "cov"))
def polyfit(
    x: ArrayLike,
    y: ArrayLike,
    deg: int,
    rcond: float | None = None,
    full: bool = False,
    w: ArrayLike | None = None,
    cov: bool | str = False,
) -> Array | tuple[Array, ...]:
    """The least-squares polynomial of degree ``deg`` through the points ``(x, y)`` (``y`` may
    hold several columns): its coefficients; with ``full`` also the residuals, the rank, the
    singular values and ``rcond``; with ``cov`` also the coefficients' covariance."""
    if w is None:
        x_arr, y_arr = ensure_arraylike("polyfit", x, y)
    else:
        x_arr, y_arr, w = ensure_arraylike("polyfit", x, y, w)
    deg = operator.index(deg)
    order = deg + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x_arr.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x_arr.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y_arr.ndim < 1 or y_arr.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if x_arr.shape[0] != y_arr.shape[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = len(x_arr) * float(dtypes.finfo(x_arr.dtype).eps)
    rcond = float(rcond)
    lhs = vander(x_arr, order)
    rhs = y_arr
    if w is not None:
        (w_arr,) = promote_dtypes_inexact(w)
        if w_arr.ndim != 1:
            raise TypeError("expected a 1-d array for weights")
        if w_arr.shape[0] != y_arr.shape[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w_arr[:, np.newaxis]
        rhs = rhs * w_arr[:, np.newaxis] if rhs.ndim == 2 else rhs * w_arr
    scale = ufuncs.sqrt((lhs * lhs).sum(axis=0))
    lhs = lhs / scale[np.newaxis, :]
    c, resids, rank, s = lstsq(lhs, rhs, rcond)
    c = (c.T / scale[np.newaxis, :]).T if c.ndim > 1 else c / scale
    if full:
        return c, resids, rank, s, as_array(rcond)
    if cov:
        vbase = inv(dot(lhs.T, lhs))
        vbase = vbase / outer(scale, scale)
        if cov == "unscaled":
            fac = array(1.0)
        else:
            if len(x_arr) <= order:
                raise ValueError("the number of data points must exceed order to scale the "
                                 "covariance matrix")
            fac = resids / (len(x_arr) - order)
        if y_arr.ndim == 1:
            return c, vbase * atleast_1d(fac)[np.newaxis]
        return c, vbase[:, :, np.newaxis] * atleast_1d(fac)[np.newaxis, np.newaxis, :]
    return c


# ---------------------------------------------------------------------------------------------
# Arithmetic


@library_jit()
def poly(seq_of_zeros: ArrayLike) -> Array:
    """The coefficients of the monic polynomial with roots ``seq_of_zeros`` (or with the
    eigenvalues of a square matrix as roots)."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("poly", seq_of_zeros))
    zeros_arr = atleast_1d(arr)
    shape = zeros_arr.shape
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        zeros_arr = eigvals(zeros_arr)
    if zeros_arr.ndim != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    dt = zeros_arr.dtype
    if len(zeros_arr) == 0:
        return ones((), dtype=dt)
    out = ones((1,), dtype=dt)
    for k in range(len(zeros_arr)):
        out = convolve(out, array([1, -zeros_arr[k]], dtype=dt), mode="full")
    return out


@library_jit()
def polyadd(a1: ArrayLike, a2: ArrayLike) -> Array:
    """The coefficients of the sum of two polynomials (the shorter aligned to the end)."""
    a1_arr, a2_arr = promote_dtypes(*ensure_arraylike("polyadd", a1, a2))
    longer, shorter = (a1_arr, a2_arr) if a2_arr.shape[0] <= a1_arr.shape[0] else (a2_arr,
                                                                                    a1_arr)
    out: Array = longer.at[-shorter.shape[0]:].add(shorter)
    return out


@library_jit()
def polysub(a1: ArrayLike, a2: ArrayLike) -> Array:
    """The coefficients of the difference of two polynomials."""
    b1, b2 = promote_dtypes(*ensure_arraylike("polysub", a1, a2))
    out: Array = polyadd(b1, ufuncs.negative(b2))
    return out


@library_jit(static_argnames=("m",))
def polyint(p: ArrayLike, m: int = 1, k: ArrayLike | None = None) -> Array:
    """The coefficients of the ``m``-th antiderivative of ``p``, with integration constants
    ``k`` (a scalar or ``m`` values; 0 by default)."""
    m = operator.index(m)
    k = 0 if k is None else k
    p_arr, k_arr = promote_dtypes_inexact(*ensure_arraylike("polyint", p, k))
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k_arr = atleast_1d(k_arr)
    if len(k_arr) == 1:
        k_arr = full((m,), k_arr[0])
    if k_arr.shape != (m,):
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or m.")
    if m == 0:
        return p_arr
    grid = (arange(len(p_arr) + m, dtype=p_arr.dtype)[np.newaxis]
            - arange(m, dtype=p_arr.dtype)[:, np.newaxis])
    coeff = ufuncs.maximum(1, grid).prod(0)[::-1]
    return ufuncs.true_divide(concatenate((p_arr, k_arr)), coeff)


@library_jit(static_argnames=("m",))
def polyder(p: ArrayLike, m: int = 1) -> Array:
    """The coefficients of the ``m``-th derivative of ``p``."""
    (arr,) = ensure_arraylike("polyder", p)
    m = operator.index(m)
    (p_arr,) = promote_dtypes_inexact(arr)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    if m == 0:
        return p_arr
    coeff = (arange(m, len(p_arr), dtype=p_arr.dtype)[np.newaxis]
             - arange(m, dtype=p_arr.dtype)[:, np.newaxis]).prod(0)
    return p_arr[:-m] * coeff[::-1]


def _trim_leading_zeros(x: Array) -> Array:
    """``x`` (concrete, 1-D) without its leading zeros (``jnp.trim_zeros(x, 'f')``)."""
    nonzero = np.flatnonzero(concrete_or_error(
        x, "Error arose in the `filt` argument of trim_zeros()"))
    return x[int(nonzero[0]):] if nonzero.size else x[0:0]


def _trim_leading_small(x: Array, tol: Any) -> Array:
    """``x`` (concrete, 1-D) without its leading entries of magnitude below ``tol`` (JAX's
    ``trim_zeros_tol(x, tol, trim='f')``)."""
    small = np.abs(concrete_or_error(
        x, "Error arose in the `filt` argument of trim_zeros_tol()")) < np.asarray(tol)
    if small.all():
        return empty(0, x.dtype)
    return x[int(np.argmin(small)):]


def polymul(a1: ArrayLike, a2: ArrayLike, *, trim_leading_zeros: bool = False) -> Array:
    """The coefficients of the product of two polynomials (their convolution); leading zeros
    removed if ``trim_leading_zeros`` (which needs concrete inputs)."""
    a1_arr, a2_arr = promote_dtypes_inexact(*ensure_arraylike("polymul", a1, a2))
    if trim_leading_zeros and (len(a1_arr) > 1 or len(a2_arr) > 1):
        a1_arr, a2_arr = _trim_leading_zeros(a1_arr), _trim_leading_zeros(a2_arr)
    if len(a1_arr) == 0:
        a1_arr = zeros(1, dtype=a2_arr.dtype)
    if len(a2_arr) == 0:
        a2_arr = zeros(1, dtype=a1_arr.dtype)
    return convolve(a1_arr, a2_arr, mode="full")


def polydiv(
    u: ArrayLike, v: ArrayLike, *, trim_leading_zeros: bool = False
) -> tuple[Array, Array]:
    """The quotient and remainder of dividing polynomial ``u`` by ``v`` (the remainder as long
    as ``u``, unless ``trim_leading_zeros`` strips its near-zero leading terms)."""
    u_arr, v_arr = promote_dtypes_inexact(*ensure_arraylike("polydiv", u, v))
    m = len(u_arr) - 1
    n = len(v_arr) - 1
    scale = 1.0 / v_arr[0]
    q = zeros(max(m - n + 1, 1), dtype=u_arr.dtype)
    for k in range(0, m - n + 1):
        d = scale * u_arr[k]
        q = q.at[k].set(d)
        u_arr = u_arr.at[k:k + n + 1].add(-d * v_arr)
    if trim_leading_zeros:
        tol = ufuncs.sqrt(dtypes.finfo(u_arr.dtype).eps)
        u_arr = _trim_leading_small(u_arr, tol)
    return q, u_arr
