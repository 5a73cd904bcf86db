"""``jax.numpy``'s one-dimensional ``convolve`` and ``correlate``, as one ``conv_general_dilated``.

Both are staged as JAX stages them (``jit``-wrapped, with the mode and precision static): the
shorter input slides over the longer one (``convolve`` flipped, ``correlate`` conjugated; a
correlation whose inputs were swapped is reversed back), padded for the mode: ``"full"`` every
overlap, ``"same"`` as long as the first input, ``"valid"`` only full overlaps. Without a
``preferred_element_type`` the inputs are promoted to an inexact dtype, as numpy computes.
"""

from __future__ import annotations

from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import ufuncs
from refjax.numpy._util import ensure_arraylike, promote_dtypes, promote_dtypes_inexact
from refjax.numpy.manipulation import flip
from refjax.primitives.calls import library_jit
from refjax.primitives.convolution import conv_general_dilated
from refjax.primitives.linalg import PrecisionLike

__all__ = ["convolve", "correlate"]


@library_jit(static_argnames=("mode", "op", "precision", "preferred_element_type"))
def _conv(
    x: Array,
    y: Array,
    mode: str,
    op: str,
    precision: PrecisionLike,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{op}() only support 1-dimensional inputs.")
    if preferred_element_type is None:
        x, y = promote_dtypes_inexact(x, y)
    else:
        x, y = promote_dtypes(x, y)
    if x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError(f"{op}: inputs cannot be empty, got shapes {x.shape} and {y.shape}.")
    out_order = slice(None)
    if op == "correlate":
        y = ufuncs.conj(y)
        if x.shape[0] < y.shape[0]:
            x, y = y, x
            out_order = slice(None, None, -1)
    elif op == "convolve":
        if x.shape[0] < y.shape[0]:
            x, y = y, x
        y = flip(y)
    n = y.shape[0]
    if mode == "valid":
        padding = [(0, 0)]
    elif mode == "same":
        padding = [(n // 2, n - n // 2 - 1)]
    elif mode == "full":
        padding = [(n - 1, n - 1)]
    else:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    result = conv_general_dilated(
        x[None, None, :], y[None, None, :], (1,), padding, precision=precision,
        preferred_element_type=preferred_element_type,
    )
    return result[0, 0, out_order]


@library_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def convolve(
    a: ArrayLike,
    v: ArrayLike,
    mode: str = "full",
    *,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """numpy's ``convolve``: ``c[k] = sum_j a[k - j] v[j]`` for 1-D ``a`` and ``v``; ``mode``
    ``"full"`` (every overlap), ``"same"`` (``a``'s length) or ``"valid"`` (full overlaps)."""
    x, y = ensure_arraylike("convolve", a, v)
    return _conv(x, y, mode=mode, op="convolve", precision=precision,
                 preferred_element_type=preferred_element_type)


@library_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def correlate(
    a: ArrayLike,
    v: ArrayLike,
    mode: str = "valid",
    *,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """numpy's ``correlate``: ``c[k] = sum_j a[k + j] conj(v[j])`` for 1-D ``a`` and ``v``;
    ``mode`` ``"valid"`` (full overlaps, the default), ``"same"`` or ``"full"``."""
    x, y = ensure_arraylike("correlate", a, v)
    return _conv(x, y, mode=mode, op="correlate", precision=precision,
                 preferred_element_type=preferred_element_type)
