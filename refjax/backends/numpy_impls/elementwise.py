"""Numpy implementations of the elementwise primitives (exact lax semantics, not numpy's)."""

from __future__ import annotations

import numpy as np

from refjax.backends.numpy_impls.table import impls, register
from refjax.dtypes import DType
from refjax.interp.core import NDArray
from refjax.primitives import elementwise as ew

impls[ew.neg_p] = np.negative
impls[ew.sign_p] = np.sign
impls[ew.abs_p] = np.abs
impls[ew.add_p] = np.add
impls[ew.sub_p] = np.subtract
impls[ew.mul_p] = np.multiply


@register(ew.div_p)
def _div(x: NDArray, y: NDArray) -> NDArray:
    if np.issubdtype(x.dtype, np.integer):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.floor_divide(x, y)
            fix = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
        return np.where(fix, q + 1, q)
    return np.divide(x, y)


@register(ew.convert_element_type_p)
def _convert_element_type(x: NDArray, *, new_dtype: DType, weak_type: bool) -> NDArray:
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(new_dtype)
