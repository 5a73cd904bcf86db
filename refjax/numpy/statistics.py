"""``jnp.cov`` and ``jnp.corrcoef``, written as JAX's are (weighted averages and one ``dot``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from refjax import dtypes
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import lax_numpy as lnp
from refjax.numpy import reductions, ufuncs
from refjax.numpy._util import check_arraylike, ensure_arraylike, promote_args_inexact
from refjax.numpy.tensor_contractions import dot

__all__ = ["corrcoef", "cov"]


def _weights(name: str, value: ArrayLike, n: int, integer: bool) -> Array:
    (w,) = ensure_arraylike("cov", value)
    if w.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {name}")
    if w.shape[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {name}")
    if integer and w.dtype.kind not in "iu":
        raise TypeError("fweights must be integer.")
    return ufuncs.abs(w)


def cov(
    m: ArrayLike,
    y: ArrayLike | None = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: int | None = None,
    fweights: ArrayLike | None = None,
    aweights: ArrayLike | None = None,
    dtype: DTypeLike | None = None,
) -> Array:
    """The covariance matrix of the variables in the rows of ``m`` (columns, if not
    ``rowvar``), with optional frequency and analytic weights."""
    if y is not None:
        m_arr, y_arr = promote_args_inexact("cov", m, y)
        if y_arr.ndim > 2:
            raise ValueError("y has more than 2 dimensions")
    else:
        (m_arr,) = promote_args_inexact("cov", m)
    if m_arr.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise ValueError(f"cov: dtype must be a subclass of float or complex; got dtype={dtype}")
    x: Array = lnp.atleast_2d(m_arr)
    if not rowvar and m_arr.ndim != 1:
        x = x.T
    if x.shape[0] == 0:
        return lnp.reshape(lnp.array([]), (0, 0))
    if y is not None:
        extra: Array = lnp.atleast_2d(y_arr)
        if not rowvar and extra.shape[0] != 1:
            extra = extra.T
        x = lnp.concatenate((x, extra), axis=0)
    if x.shape[1] == 0:
        shape = () if x.shape[0] == 1 else (x.shape[0], x.shape[0])
        return lnp.full(shape, np.nan, dtype=x.dtype)
    if ddof is None:
        ddof = 1 if not bias else 0
    w: Array | None = None
    a_w: Array | None = None
    if fweights is not None:
        w = _weights("fweights", fweights, x.shape[1], integer=True)
    if aweights is not None:
        a_w = _weights("aweights", aweights, x.shape[1], integer=False)
        w = a_w if w is None else ufuncs.multiply(w, a_w)
    if dtype is not None:
        x = x.astype(dtype)
        w = None if w is None else w.astype(dtype)
    avg, w_sums = reductions.average(x, axis=1, weights=w, returned=True)
    w_sum = w_sums[0]
    f: Any
    if w is None:
        f = x.shape[1] - ddof
    elif ddof == 0:
        f = w_sum
    elif a_w is None:
        f = ufuncs.subtract(w_sum, ddof)
    else:
        f = ufuncs.subtract(w_sum, ufuncs.divide(
            ufuncs.multiply(ddof, reductions.sum(ufuncs.multiply(w, a_w))), w_sum))
    centered = ufuncs.subtract(x, avg[:, None])
    weighted = centered if w is None else ufuncs.multiply(centered, w[None, :])
    return lnp.squeeze(ufuncs.true_divide(dot(centered, ufuncs.conj(weighted.T)), f))


def corrcoef(
    x: ArrayLike, y: ArrayLike | None = None, rowvar: bool = True, dtype: DTypeLike | None = None
) -> Array:
    """Pearson correlation coefficients: the covariance scaled to a unit diagonal."""
    check_arraylike("corrcoef", x)
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise ValueError(
            f"corrcoef: dtype must be a subclass of float or complex; got dtype={dtype}"
        )
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return ufuncs.divide(c, c)
    stddev = ufuncs.sqrt(ufuncs.real(lnp.diag(c))).astype(c.dtype)
    c = ufuncs.divide(ufuncs.divide(c, stddev[:, None]), stddev[None, :])
    real_part = lnp.clip(ufuncs.real(c), -1, 1)
    if dtypes.issubdtype(c.dtype, np.complexfloating):
        return ufuncs.make_complex(real_part, lnp.clip(ufuncs.imag(c), -1, 1), c.dtype)
    return real_part
