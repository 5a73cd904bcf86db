"""Numpy implementations of the windowed reductions (and of the windows convolutions gather).

Every window is gathered into a trailing axis (:func:`window_patches`), then reduced along it:
sums wrap in integer dtypes and accumulate floats in double precision; maxima and minima
propagate NaN; the generic ``reduce_window`` runs its computation, batched over all windows,
once per window position. Padding and the holes of a base dilation are skipped, as XLA's
``ReduceWindow`` skips them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from refjax.backends.numpy_impls.program import run_inner
from refjax.backends.numpy_impls.table import register
from refjax.dtypes import DType
from refjax.interp.batching import batch_jaxpr
from refjax.interp.core import ClosedJaxpr, Jaxpr, NDArray, Primitive
from refjax.primitives import elementwise as ew
from refjax.primitives import windowed as wd

Dims = tuple[int, ...]
Padding = tuple[tuple[int, int], ...]


def _dilate(size: int, dilation: int) -> int:
    return max(1 + dilation * (size - 1), 0) if dilation != 1 else size


def window_patches(
    x: NDArray,
    fill: object,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    base_dilation: Sequence[int],
    window_dilation: Sequence[int],
) -> tuple[NDArray, NDArray]:
    """``(patches, valid)``: ``patches[*out, k]`` is the k-th element (row-major over the
    window) of the window at output position ``out``, ``fill`` where that window covers padding
    or a hole of the base dilation; ``valid`` (same shape) is True where it covers an element
    of ``x``."""
    ndim = x.ndim
    dilated = tuple(_dilate(d, r) for d, r in zip(x.shape, base_dilation, strict=True))
    every = tuple(slice(None, None, r) for r in base_dilation)
    base = np.full(dilated, fill, x.dtype)
    base[every] = x
    valid = np.zeros(dilated, np.bool_)
    valid[every] = True
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in padding]
    if any(lo or hi for lo, hi in grow):
        base = np.pad(base, grow, constant_values=np.asarray(fill, x.dtype))
        valid = np.pad(valid, grow, constant_values=False)
    crop = tuple(
        slice(max(-lo, 0), max(n - max(-hi, 0), max(-lo, 0)))
        for (lo, hi), n in zip(padding, base.shape, strict=True)
    )
    base, valid = base[crop], valid[crop]
    sizes = [_dilate(w, r) for w, r in zip(window_dimensions, window_dilation, strict=True)]
    out_shape = tuple(
        max((n - w) // s + 1, 0) for n, w, s in zip(base.shape, sizes, window_strides, strict=True)
    )
    index = []
    for i, (o, w, s, r) in enumerate(
        zip(out_shape, window_dimensions, window_strides, window_dilation, strict=True)
    ):
        where = np.arange(o)[:, None] * s + np.arange(w)[None, :] * r
        shape = [1] * (2 * ndim)
        shape[i], shape[ndim + i] = o, w
        index.append(where.reshape(shape))
    count = math.prod(window_dimensions)
    patches = base[tuple(index)].reshape(*out_shape, count)
    covered = valid[tuple(index)].reshape(*out_shape, count)
    return patches, covered


def _sum_dtype(dtype: DType) -> DType:
    """Float sums accumulate in double precision; integer sums wrap in their own dtype."""
    if dtype.kind == "c":
        return np.dtype(np.complex128)
    if dtype.kind == "f" or dtype.kind == "V":  # (bfloat16 and other ml_dtypes floats)
        return np.dtype(np.float64)
    return dtype


@register(wd.reduce_window_sum_p)
def _reduce_window_sum(
    operand: NDArray,
    *,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> NDArray:
    patches, _ = window_patches(operand, 0, window_dimensions, window_strides, padding,
                                base_dilation, window_dilation)
    total = patches.astype(_sum_dtype(operand.dtype)).sum(axis=-1, dtype=_sum_dtype(operand.dtype))
    return np.asarray(total).astype(operand.dtype)


def _register_chooser(
    prim: Primitive, identity: Callable[[DType], NDArray], reduce: np.ufunc
) -> None:
    """Register a max/min over windows: padding and holes hold ``identity``."""

    @register(prim)
    def impl(
        operand: NDArray,
        *,
        window_dimensions: Dims,
        window_strides: Dims,
        padding: Padding,
        base_dilation: Dims,
        window_dilation: Dims,
    ) -> NDArray:
        patches, _ = window_patches(operand, identity(operand.dtype), window_dimensions,
                                    window_strides, padding, base_dilation, window_dilation)
        return np.asarray(reduce.reduce(patches, axis=-1)).astype(operand.dtype)


_register_chooser(wd.reduce_window_max_p, wd.max_identity, np.maximum)
_register_chooser(wd.reduce_window_min_p, wd.min_identity, np.minimum)


@register(wd.reduce_window_p)
def _reduce_window(
    *args: NDArray,
    jaxpr: Jaxpr,
    consts: tuple[NDArray, ...],
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> list[NDArray]:
    """Fold the computation over the window positions in row-major order, every window at
    once (the computation batched over them); positions on padding or holes leave a window's
    accumulator as it is."""
    n = len(args) // 2
    operands, inits = args[:n], args[n:]
    gathered = [
        window_patches(x, np.zeros((), x.dtype), window_dimensions, window_strides, padding,
                       base_dilation, window_dilation)
        for x in operands
    ]
    covered = gathered[0][1]
    out_shape, count = covered.shape[:-1], covered.shape[-1]
    size = math.prod(out_shape)
    accs = [np.full(size, init, init.dtype) for init in inits]
    if size:
        body = batch_jaxpr(ClosedJaxpr(jaxpr, consts), (0,) * (2 * n), size)
        columns = [p.reshape(size, count) for p, _ in gathered]
        valid = covered.reshape(size, count)
        for k in range(count):
            if not valid[:, k].any():
                continue
            with np.errstate(all="ignore"):  # (positions outside the operand are discarded)
                new = run_inner(body, [*accs, *(c[:, k] for c in columns)])
            accs = [np.where(valid[:, k], v, a).astype(a.dtype)
                    for v, a in zip(new, accs, strict=True)]
    return [a.reshape(out_shape) for a in accs]


def _is_ge(select_prim: object) -> bool:
    return wd.select_prim_of(select_prim) is ew.ge_p


@register(wd.select_and_gather_add_p)
def _select_and_gather_add(
    tangents: NDArray,
    operand: NDArray,
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> NDArray:
    """Fold (value, tangent) pairs over each window from (-inf, 0) (``le``: (inf, 0)): a pair
    replaces the accumulator unless ``select(acc, value)`` holds, so ties keep the first."""
    ge = _is_ge(select_prim)
    init = np.array(-np.inf if ge else np.inf, operand.dtype)
    values, valid = window_patches(operand, init, window_dimensions, window_strides, padding,
                                   base_dilation, window_dilation)
    picked, _ = window_patches(tangents, np.zeros((), tangents.dtype), window_dimensions,
                               window_strides, padding, base_dilation, window_dilation)
    best = np.full(values.shape[:-1], init, operand.dtype)
    out = np.zeros(values.shape[:-1], tangents.dtype)
    for k in range(values.shape[-1]):
        x = values[..., k]
        keep = best >= x if ge else best <= x
        take = valid[..., k] & ~keep
        best = np.where(take, x, best)
        out = np.where(take, picked[..., k], out)
    return out


@register(wd.select_and_scatter_add_p)
def _select_and_scatter_add(
    source: NDArray,
    operand: NDArray,
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
) -> NDArray:
    """XLA's SelectAndScatter on the operand padded with the select's identity: per window the
    first element ``e`` such that ``select(e, x)`` holds for every later ``x`` is picked, and
    the window's ``source`` value is added there (or-ed, for bools); padding gets nothing."""
    ge = _is_ge(select_prim)
    fill = wd.max_identity(operand.dtype) if ge else wd.min_identity(operand.dtype)
    ones = (1,) * operand.ndim
    positions = np.arange(operand.size).reshape(operand.shape)
    values, _ = window_patches(operand, fill, window_dimensions, window_strides, padding, ones,
                               ones)
    where, _ = window_patches(positions, -1, window_dimensions, window_strides, padding, ones,
                              ones)
    best, best_at = values[..., 0], where[..., 0]
    for k in range(1, values.shape[-1]):
        x = values[..., k]
        keep = best >= x if ge else best <= x
        best = np.where(keep, best, x)
        best_at = np.where(keep, best_at, where[..., k])
    out = np.zeros(operand.size, source.dtype)
    hit = best_at >= 0
    scatter = np.logical_or if source.dtype == np.bool_ else np.add
    with np.errstate(all="ignore"):
        scatter.at(out, best_at[hit], source.reshape(best_at.shape)[hit])
    return out.reshape(operand.shape)
