"""``refjax.numpy.linalg``: norms, as ``jax.numpy.linalg`` computes them.

Only the norms that need no matrix factorisation are here: every vector norm, and the
Frobenius, 1, -1, inf and -inf matrix norms. The nuclear and spectral (2, -2) matrix norms need
a singular value decomposition, which refjax does not have; they raise NotImplementedError.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import reductions, ufuncs
from refjax.numpy._util import ensure_arraylike, promote_dtypes_inexact
from refjax.primitives.calls import library_jit
from refjax.util import canonicalize_axis

__all__ = ["norm", "vector_norm"]

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
        raise NotImplementedError(
            f"jnp.linalg.norm: the matrix norm ord={ord!r} needs a singular value "
            "decomposition, which refjax does not implement"
        )
    raise ValueError(f"Invalid order '{ord}' for matrix norm.")
