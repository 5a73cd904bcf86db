"""``jnp.geomspace``: numbers evenly spaced on a log scale, as JAX computes them
(``jax/_src/numpy/array_creation.py``): ``sign(start) * logspace(log10(start / sign),
log10(stop / sign))`` in the inexact computation dtype, the new axis moved to ``axis``, then cast
to ``dtype``. ``num`` and ``axis`` must be static; a zero bound gives NaNs (numpy raises).
"""

from __future__ import annotations

import operator

from refjax import dtypes, lax
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import ufuncs
from refjax.numpy._util import ensure_arraylike, to_inexact_dtype, user_dtype
from refjax.numpy.creation import logspace
from refjax.primitives.calls import library_jit
from refjax.util import canonicalize_axis

__all__ = ["geomspace"]


def geomspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    dtype: DTypeLike | None = None,
    axis: int = 0,
) -> Array:
    """``num`` numbers from ``start`` to ``stop`` (included if ``endpoint``) in geometric
    progression; array bounds give one sequence per element, along ``axis``."""
    return _geomspace(start, stop, operator.index(num), endpoint, dtype, operator.index(axis))


@library_jit(static_argnames=("num", "endpoint", "dtype", "axis"))
def _geomspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    dtype: DTypeLike | None = None,
    axis: int = 0,
) -> Array:
    out_dtype = (to_inexact_dtype(dtypes.result_type(start, stop)) if dtype is None
                 else user_dtype(dtype, "geomspace"))
    computation_dtype = to_inexact_dtype(out_dtype)
    lo, hi = ensure_arraylike("geomspace", start, stop)
    lo = lo.astype(computation_dtype)
    hi = hi.astype(computation_dtype)
    sign = ufuncs.sign(lo)
    res = sign * logspace(ufuncs.log10(lo / sign), ufuncs.log10(hi / sign), num,
                          endpoint=endpoint, base=10.0, dtype=computation_dtype, axis=0)
    axis = canonicalize_axis(axis, res.ndim)
    if axis != 0:
        res = lax.transpose(res, (*range(1, axis + 1), 0, *range(axis + 1, res.ndim)))
    return lax.convert_element_type(res, out_dtype)
