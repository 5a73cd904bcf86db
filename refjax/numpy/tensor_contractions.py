"""Products of ``jax.numpy``: dot, matmul, vdot, tensordot, inner, outer.

Each one is a single ``dot_general`` with the contracting and batch dimensions numpy's function
implies, accumulating in the promoted dtype (``preferred_element_type``) as JAX does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import ufuncs
from refjax.numpy._util import ensure_arraylike, promote_dtypes, user_dtype
from refjax.primitives.constants import convert
from refjax.util import canonicalize_axis

Precision = Any


def _preferred(
    name: str, a: Array, b: Array, preferred_element_type: DTypeLike | None
) -> tuple[DType, bool]:
    """The accumulation dtype of a product and whether its result is weakly typed."""
    if preferred_element_type is None:
        dtype, weak = dtypes.lattice_result_type(a, b)
        return dtype, bool(weak)
    return user_dtype(preferred_element_type, name), False


def dot(
    a: ArrayLike,
    b: ArrayLike,
    *,
    precision: Precision = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """numpy's ``dot``: contract ``a``'s last axis with ``b``'s second-to-last (or only) axis."""
    x, y = ensure_arraylike("dot", a, b)
    dtype, weak = _preferred("dot", x, y, preferred_element_type)
    if x.ndim == 0 or y.ndim == 0:
        contract: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    elif y.ndim == 1:
        contract = ((x.ndim - 1,), (0,))
    else:
        contract = ((x.ndim - 1,), (y.ndim - 2,))
    result = lax.dot_general(x, y, (contract, ((), ())), precision=precision,
                             preferred_element_type=dtype)
    return convert(result, dtype, weak)


def matmul(
    a: ArrayLike,
    b: ArrayLike,
    *,
    precision: Precision = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """``a @ b``: matrix products over the last two axes, broadcasting the leading ones."""
    x, y = ensure_arraylike("matmul", a, b)
    for i, arr in enumerate((x, y)):
        if arr.ndim < 1:
            raise ValueError(f"matmul input operand {i} must have ndim at least 1, "
                             f"but it has ndim {arr.ndim}")
    dtype, weak = _preferred("matmul", x, y, preferred_element_type)
    x_is_mat, y_is_mat = x.ndim > 1, y.ndim > 1
    x_batch = x.shape[:-2] if x_is_mat else ()
    y_batch = y.shape[:-2] if y_is_mat else ()
    nbatch = max(len(x_batch), len(y_batch))
    x_dims: tuple[int | None, ...] = (None,) * (nbatch - len(x_batch)) + x_batch
    y_dims: tuple[int | None, ...] = (None,) * (nbatch - len(y_batch)) + y_batch
    plan = _MatmulPlan.build(x_dims, y_dims, x, y)
    if x_is_mat:
        plan.idx_a_other.append(nbatch)
    if y_is_mat:
        plan.idx_b_other.append(nbatch + int(x_is_mat))
    perm = np.argsort(np.concatenate([plan.idx_batch, plan.idx_a_other, plan.idx_b_other]))
    x = lax.squeeze(x, tuple(plan.a_squeeze))
    y = lax.squeeze(y, tuple(plan.b_squeeze))
    dims = (((x.ndim - 1,), (y.ndim - 1 - int(y_is_mat),)), (tuple(plan.a_batch),
                                                               tuple(plan.b_batch)))
    out = lax.dot_general(x, y, dims, precision=precision, preferred_element_type=dtype)
    result = lax.transpose(out, tuple(int(p) for p in perm))
    if plan.both_squeeze:
        result = lax.expand_dims(result, tuple(plan.both_squeeze))
    return convert(result, dtype, weak)


class _MatmulPlan:
    """How ``matmul`` lines up the broadcast batch dimensions of its operands."""

    def __init__(self) -> None:
        self.a_squeeze: list[int] = []
        self.b_squeeze: list[int] = []
        self.both_squeeze: list[int] = []
        self.a_batch: list[int] = []
        self.b_batch: list[int] = []
        self.idx_batch: list[int] = []
        self.idx_a_other: list[int] = []
        self.idx_b_other: list[int] = []

    @classmethod
    def build(
        cls, a_dims: Sequence[int | None], b_dims: Sequence[int | None], a: Array, b: Array
    ) -> _MatmulPlan:
        """Classify each leading dimension: batch, broadcast from one side, or squeezed."""
        p = cls()
        for i, (ba, bb) in enumerate(zip(a_dims, b_dims, strict=True)):
            if ba is None:
                p.idx_b_other.append(i)
            elif bb is None:
                p.idx_a_other.append(i)
            elif ba == 1 and bb == 1:
                p.a_squeeze.append(len(p.idx_batch) + len(p.idx_a_other) + len(p.a_squeeze))
                p.b_squeeze.append(len(p.idx_batch) + len(p.idx_b_other) + len(p.b_squeeze))
                p.both_squeeze.append(i)
            elif ba == 1:
                p.idx_b_other.append(i)
                p.a_squeeze.append(len(p.idx_batch) + len(p.idx_a_other) + len(p.a_squeeze))
            elif bb == 1:
                p.idx_a_other.append(i)
                p.b_squeeze.append(len(p.idx_batch) + len(p.idx_b_other) + len(p.b_squeeze))
            elif ba == bb:
                p.a_batch.append(len(p.idx_batch) + len(p.idx_a_other))
                p.b_batch.append(len(p.idx_batch) + len(p.idx_b_other))
                p.idx_batch.append(i)
            else:
                raise ValueError(
                    f"Incompatible types for matmul arguments: {_aval_str(a)} and {_aval_str(b)}"
                )
        return p


def _aval_str(x: Array) -> str:
    return f"{x.dtype.name}[{','.join(map(str, x.shape))}]"


def vdot(
    a: ArrayLike,
    b: ArrayLike,
    *,
    precision: Precision = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """The dot product of the flattened arrays (conjugating ``a``)."""
    x, y = ensure_arraylike("vdot", a, b)
    if x.dtype.kind == "c":
        x = ufuncs.conjugate(x)
    from refjax.numpy.manipulation import ravel

    return dot(ravel(x), ravel(y), precision=precision,
               preferred_element_type=preferred_element_type)


def tensordot(
    a: ArrayLike,
    b: ArrayLike,
    axes: int | Sequence[int] | Sequence[Sequence[int]] = 2,
    *,
    precision: Precision = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """Contraction of ``a`` and ``b`` over the given pairs of axes."""
    x, y = ensure_arraylike("tensordot", a, b)
    dtype, weak = _preferred("tensordot", x, y, preferred_element_type)
    contracting = _tensordot_axes(axes, x, y)
    result = lax.dot_general(x, y, (contracting, ((), ())), precision=precision,
                             preferred_element_type=dtype)
    return convert(result, dtype, weak)


def _tensordot_axes(axes: Any, x: Array, y: Array) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """tensordot's ``axes`` argument as (axes of ``x``, axes of ``y``)."""
    if type(axes) is int:
        if axes > min(x.ndim, y.ndim):
            raise TypeError(f"Number of tensordot axes (axes {axes}) exceeds input ranks "
                            f"({x.shape} and {y.shape})")
        return tuple(range(x.ndim - axes, x.ndim)), tuple(range(axes))
    if isinstance(axes, (tuple, list)) and len(axes) == 2:
        ax1, ax2 = axes
        if isinstance(ax1, int) and isinstance(ax2, int):
            return (canonicalize_axis(ax1, x.ndim),), (canonicalize_axis(ax2, y.ndim),)
        if isinstance(ax1, (tuple, list)) and isinstance(ax2, (tuple, list)):
            if len(ax1) != len(ax2):
                raise TypeError("tensordot requires axes lists to have equal length, "
                                f"got {ax1} and {ax2}.")
            return (tuple(canonicalize_axis(i, x.ndim) for i in ax1),
                    tuple(canonicalize_axis(i, y.ndim) for i in ax2))
        raise TypeError("tensordot requires both axes lists to be either ints, tuples or "
                        f"lists, got {ax1} and {ax2}")
    raise TypeError("tensordot axes argument must be an int, a pair of ints, or a pair of "
                    "lists/tuples of ints.")


def inner(
    a: ArrayLike,
    b: ArrayLike,
    *,
    precision: Precision = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """Contraction over the last axes of ``a`` and ``b``."""
    x, y = ensure_arraylike("inner", a, b)
    if x.ndim == 0 or y.ndim == 0:
        if preferred_element_type is not None:
            x = convert(x, user_dtype(preferred_element_type, "inner"))
            y = convert(y, user_dtype(preferred_element_type, "inner"))
        return ufuncs.multiply(x, y)
    return tensordot(x, y, (-1, -1), precision=precision,
                     preferred_element_type=preferred_element_type)


def outer(a: ArrayLike, b: ArrayLike, out: None = None) -> Array:
    """Every product ``a[i] * b[j]`` of the flattened arrays."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.outer is not supported.")
    from refjax.numpy.manipulation import ravel

    x, y = promote_dtypes(*ensure_arraylike("outer", a, b))
    col = lax.expand_dims(ravel(x), (1,))
    row = lax.expand_dims(ravel(y), (0,))
    return ufuncs.multiply(col, row)
