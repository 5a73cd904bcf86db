"""Decompositions of convolution and the windowed reductions into primitives with kernel forms.

Every windowed operation reads the same thing: the elements of the windows of an array that is
first dilated (holes between its elements) and padded. The padding is ``pad``, a view; the
dilation is interior padding, which is no affine view: each element gets a unit axis padded with
``interior`` fill values, and the planner writes that array once before it is reshaped flat.
The windows are then strided ``slice``\\ s, views again, one per window position:

- ``reduce_window_sum``/``max``/``min`` combine the slices of their window positions
  elementwise (one map kernel); along a dim whose window is longer than its output, the output
  positions are enumerated instead and the window's elements reduced (a reduce kernel).
- ``conv_general_dilated`` is im2col: the slices, enumerated over the kernel's positions (or the
  output's, where fewer), are concatenated into patches (one map kernel), contracted with the
  kernel by one ``dot_general`` batched over the feature or batch groups, and moved to the output
  layout.
- ``reduce_window`` (a computation given as a jaxpr) folds its computation, vmapped over the
  output, over the window positions in row-major order, skipping padding and holes.
- ``select_and_gather_add`` folds (value, tangent) pairs over the window positions as the numpy
  backend does: a pair replaces the accumulator where it is inside the operand and the select
  does not hold.
- ``select_and_scatter_add`` picks each window's position (an index, folded as above), then adds
  each window's source value at that position. Along an axis with stride ``s``, padded position
  ``p = q s + r`` receives from kernel positions ``k = a s + r`` exactly the window ``q - a``:
  for each phase ``r`` a sum of shifted slices; the phases are interleaved by a reshape.
- ``pad`` with interior padding is the dilation above (a pad without it is a view already).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np

from refjax.dtypes import DType
from refjax.interp.batching import batch_jaxpr
from refjax.interp.core import (
    Array,
    ClosedJaxpr,
    Params,
    Primitive,
    ShapedArray,
    call_jaxpr,
)
from refjax.interp.staging import trace_to_jaxpr
from refjax.primitives import convolution as cv
from refjax.primitives import elementwise as ew
from refjax.primitives import linalg as la
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives import windowed as wd

Decomposition: TypeAlias = Callable[[Sequence[ShapedArray], Params], ClosedJaxpr | None]
Dims: TypeAlias = tuple[int, ...]
Config: TypeAlias = Sequence[tuple[int, int, int]]

INT32: Final = np.dtype(np.int32)
BOOL: Final = np.dtype(np.bool_)


def _trace(fn: Callable[..., Sequence[Array]], in_avals: Sequence[ShapedArray]) -> ClosedJaxpr:
    """``fn`` (a list of results) staged out on strongly typed arguments of ``in_avals``."""
    return trace_to_jaxpr(lambda *xs: list(fn(*xs)), [a.strip_weak_type() for a in in_avals])


def _full(value: object, dtype: DType, shape: Sequence[int]) -> Array:
    """``value`` in ``dtype`` broadcast to ``shape``."""
    return sh.broadcast_in_dim(np.array(value, dtype), tuple(shape), ())


# ---------------------------------------------------------------------------------------------
# Padding with holes, and the windows of the padded array


def pad(x: Array, fill: Array | np.ndarray, config: Config) -> Array:
    """``lax.pad`` written with pads that have no interior padding (those are views).

    An axis of ``n`` elements with ``interior`` holes each gets a unit axis after it, padded to
    ``interior + 1`` (element, then holes), and the two are reshaped into one of ``n (interior +
    1)``: the last ``interior`` holes are taken off the high padding.
    """
    config = [(lo, hi, i if n else 0) for (lo, hi, i), n in zip(config, x.shape, strict=True)]
    if all(i == 0 for _, _, i in config):
        if all(lo == 0 and hi == 0 for lo, hi, _ in config):
            return x
        return sh.pad(x, fill, config)
    wide: list[int] = []
    dims: list[int] = []
    holes: list[tuple[int, int, int]] = []
    for n, (_, _, i) in zip(x.shape, config, strict=True):
        dims.append(len(wide))
        wide.append(n)
        holes.append((0, 0, 0))
        if i:
            wide.append(1)
            holes.append((0, i, 0))
    spread = sh.pad(sh.broadcast_in_dim(x, tuple(wide), tuple(dims)), fill, holes)
    flat = sh.reshape(spread, tuple(n * (i + 1) for n, (_, _, i) in zip(x.shape, config,
                                                                       strict=True)))
    return sh.pad(flat, fill, [(lo, hi - i, 0) for lo, hi, i in config])


@dataclass(frozen=True, slots=True)
class Windows:
    """Windows over the trailing axes of an array (padded and dilated): ``size`` elements
    ``dilation`` apart per axis, one window every ``stride`` elements, ``count`` of them."""

    size: Dims
    stride: Dims
    dilation: Dims
    count: Dims

    @staticmethod
    def over(shape: Sequence[int], size: Dims, stride: Dims, dilation: Dims) -> Windows:
        """The windows that fit in the trailing axes ``shape``."""
        count = tuple(
            max((n - max(1 + r * (k - 1), 0)) // s + 1, 0)  # (the dilated window's length)
            for n, k, s, r in zip(shape, size, stride, dilation, strict=True)
        )
        return Windows(size, stride, dilation, count)

    def positions(self, dims: Sequence[int]) -> list[tuple[int, ...]]:
        """The window positions along ``dims``, in row-major order."""
        return list(itertools.product(*(range(self.size[d]) for d in dims)))


def gather(x: Array, w: Windows, fixed: Sequence[int | None]) -> Array:
    """The windows' elements: shape (leading axes..., count..., size[d] for each free d).

    Along a dim ``d`` with ``fixed[d] = k``, only element ``k`` of each window is kept; along a
    free dim every element is, in an axis of its own. One strided slice per position of the
    free dims' windows (or of their outputs, where fewer), concatenated.
    """
    lead = x.ndim - len(w.size)
    free = [d for d, k in enumerate(fixed) if k is None]
    by_window = {d: w.size[d] <= w.count[d] for d in free}  # enumerate the window's elements
    counts = [min(w.size[d], w.count[d]) for d in free]
    pieces = []
    for e in itertools.product(*(range(c) for c in counts)):
        starts, limits, steps = [0] * lead, list(x.shape[:lead]), [1] * lead
        for d, k in enumerate(fixed):
            if k is None and by_window[d]:
                k = e[free.index(d)]
            if k is not None:  # element k of every window
                start, n, step = k * w.dilation[d], w.count[d], w.stride[d]
            else:  # every element of window o
                start, n, step = e[free.index(d)] * w.stride[d], w.size[d], w.dilation[d]
            starts.append(start)
            limits.append(start + (n - 1) * step + 1)
            steps.append(step)
        pieces.append(sl.slice(x, starts, limits, steps))
    # axes: leading, one per free dim (the enumerated), one per dim (the piece's)
    piece_shape = pieces[0].shape
    shape = (*piece_shape[:lead], *counts, *piece_shape[lead:])
    at = (*range(lead), *range(lead + len(free), len(shape)))
    if len(pieces) == 1:
        stacked = sh.broadcast_in_dim(pieces[0], shape, at)
    else:
        unit = (*piece_shape[:lead], 1, *piece_shape[lead:])
        column = (*range(lead), *range(lead + 1, len(unit)))
        stacked = sh.concatenate([sh.broadcast_in_dim(p, unit, column) for p in pieces], lead)
        stacked = sh.reshape(stacked, shape)
    enumerated = {d: lead + j for j, d in enumerate(free)}
    sliced = {d: lead + len(free) + d for d in range(len(fixed))}
    outs = [enumerated[d] if d in free and not by_window[d] else sliced[d]
            for d in range(len(fixed))]
    elements = [sliced[d] if not by_window[d] else enumerated[d] for d in free]
    return _transpose(stacked, (*range(lead), *outs, *elements))


def _fold(pieces: Sequence[Array], combine: Callable[[Array, Array], Array]) -> Array:
    """``combine`` folded over ``pieces`` from the first, in order."""
    acc = pieces[0]
    for piece in pieces[1:]:
        acc = combine(acc, piece)
    return acc


def _window_params(params: Params, ndim: int) -> tuple[Dims, Dims, Config, Dims]:
    """Window, strides, the padding config (base dilation as interior), window dilation."""
    ones = (1,) * ndim
    base = params.get("base_dilation", ones)
    config = [(lo, hi, b - 1) for (lo, hi), b in zip(params["padding"], base, strict=True)]
    return (params["window_dimensions"], params["window_strides"], config,
            params.get("window_dilation", ones))


# ---------------------------------------------------------------------------------------------
# Windowed reductions


def _monoid(combine: Callable[[Array, Array], Array], reduce: Callable[[Array, Sequence[int]],
            Array], fill: Callable[[DType], np.ndarray]) -> Decomposition:
    """``reduce_window_sum``/``max``/``min``: padding and holes hold the identity ``fill``."""

    def rule(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
        dtype = in_avals[0].dtype
        size, stride, config, dilation = _window_params(params, in_avals[0].ndim)

        def fn(x: Array) -> list[Array]:
            padded = pad(x, fill(dtype), config)
            w = Windows.over(padded.shape, size, stride, dilation)
            if math.prod(w.count) == 0:
                return [_full(fill(dtype), dtype, w.count)]
            folded = [d for d in range(x.ndim) if w.size[d] <= w.count[d]]
            pieces = []
            for ks in w.positions(folded):
                fixed: list[int | None] = [None] * x.ndim
                for d, k in zip(folded, ks, strict=True):
                    fixed[d] = k
                pieces.append(gather(padded, w, fixed))
            acc = _fold(pieces, combine)
            if acc.ndim > x.ndim:  # windows longer than their output: reduce their elements
                acc = reduce(acc, tuple(range(x.ndim, acc.ndim)))
            return [acc]

        return _trace(fn, in_avals)

    return rule


def _reduce_window(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """The generic ``reduce_window``: its computation, vmapped over the output, folded over the
    window positions in row-major order; padding and holes leave the accumulators as they are."""
    n = len(in_avals) // 2
    ndim = in_avals[0].ndim
    size, stride, config, dilation = _window_params(params, ndim)
    body = ClosedJaxpr(params["jaxpr"], params["consts"])

    def fn(*args: Array) -> list[Array]:
        operands, inits = args[:n], args[n:]
        inside = pad(_full(True, BOOL, operands[0].shape), np.array(False), config)
        w = Windows.over(inside.shape, size, stride, dilation)
        accs = [sh.broadcast_in_dim(i, w.count, ()) for i in inits]
        if math.prod(w.count) == 0:
            return accs
        batched = body
        for count in reversed(w.count):
            batched = batch_jaxpr(batched, (0,) * (2 * n), count)
        padded = [pad(x, np.zeros((), x.dtype), config) for x in operands]
        for ks in w.positions(range(ndim)):
            valid = gather(inside, w, ks)
            new = call_jaxpr(batched, [*accs, *(gather(x, w, ks) for x in padded)])
            accs = [ew.select(valid, v, a) for v, a in zip(new, accs, strict=True)]
        return accs

    return _trace(fn, in_avals)


def _chooser_fill(select_prim: Primitive, dtype: DType) -> np.ndarray:
    """What padding holds for a select: never picked over an element (-inf for ``ge``)."""
    ge = wd.select_prim_of(select_prim) is ew.ge_p
    return wd.max_identity(dtype) if ge else wd.min_identity(dtype)


def _keeps(select_prim: Primitive) -> Callable[[Array, Array], Array]:
    return ew.ge if wd.select_prim_of(select_prim) is ew.ge_p else ew.le


def _select_and_gather_add(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """Fold (value, tangent) pairs: a pair inside the operand replaces the accumulator unless
    ``select(best, value)`` holds (so ties keep the first, and a NaN best is replaced)."""
    t_dtype, x_dtype = in_avals[0].dtype, in_avals[1].dtype
    ndim = in_avals[1].ndim
    size, stride, config, dilation = _window_params(params, ndim)
    keep = _keeps(params["select_prim"])
    init = _chooser_fill(params["select_prim"], x_dtype)

    def fn(t: Array, x: Array) -> list[Array]:
        inside = pad(_full(True, BOOL, x.shape), np.array(False), config)
        w = Windows.over(inside.shape, size, stride, dilation)
        best, out = _full(init, x_dtype, w.count), _full(0, t_dtype, w.count)
        if math.prod(w.count) == 0:
            return [out]
        values, tangents = pad(x, init, config), pad(t, np.zeros((), t_dtype), config)
        for ks in w.positions(range(ndim)):
            value = gather(values, w, ks)
            take = ew.bitwise_and(gather(inside, w, ks), ew.bitwise_not(keep(best, value)))
            best = ew.select(take, value, best)
            out = ew.select(take, gather(tangents, w, ks), out)
        return [out]

    return _trace(fn, in_avals)


def _select_and_scatter_add(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """Each window's pick (the first position whose value the select keeps against every later
    one; padding may be picked, and then gets the source value nowhere), then the source added
    at the picks, one phase of the strides at a time."""
    s_dtype, x_dtype = in_avals[0].dtype, in_avals[1].dtype
    ndim = in_avals[1].ndim
    size, stride, config, dilation = _window_params(params, ndim)
    keep = _keeps(params["select_prim"])
    add = ew.bitwise_or if s_dtype == BOOL else ew.add

    def fn(source: Array, x: Array) -> list[Array]:
        padded = pad(x, _chooser_fill(params["select_prim"], x_dtype), config)
        w = Windows.over(padded.shape, size, stride, dilation)
        if math.prod(w.count) == 0 or x.size == 0:
            return [_full(0, s_dtype, x.shape)]
        positions = w.positions(range(ndim))
        best, pick = gather(padded, w, positions[0]), _full(0, INT32, w.count)
        for j, ks in enumerate(positions[1:], start=1):
            value = gather(padded, w, ks)
            kept = keep(best, value)
            best = ew.select(kept, best, value)
            pick = ew.select(kept, pick, _full(j, INT32, w.count))
        # padded position p = q s + r: window q - a gives it element k = a s + r
        phases = tuple(-(-n // s) for n, s in zip(padded.shape, stride, strict=True))
        reach = [(k - 1) // s for k, s in zip(size, stride, strict=True)]
        grow = [(a, q - o, 0) for a, q, o in zip(reach, phases, w.count, strict=True)]
        picks, sources = pad(pick, np.array(-1, INT32), grow), pad(source, np.zeros((), s_dtype),
                                                                  grow)
        sums: dict[tuple[int, ...], Array] = {}
        for j, ks in enumerate(positions):
            starts = [a - k // s for a, k, s in zip(reach, ks, stride, strict=True)]
            limits = [b + q for b, q in zip(starts, phases, strict=True)]
            hit = ew.eq(sl.slice(picks, starts, limits), _full(j, INT32, phases))
            term = ew.select(hit, sl.slice(sources, starts, limits), _full(0, s_dtype, phases))
            phase = tuple(k % s for k, s in zip(ks, stride, strict=True))
            sums[phase] = add(sums[phase], term) if phase in sums else term
        total = _interleave(sums, stride, phases, s_dtype)
        total = sl.slice(total, (0,) * ndim, padded.shape)
        return [pad(total, np.zeros((), s_dtype), [(-lo, -hi, 0) for lo, hi, _ in config])]

    return _trace(fn, in_avals)


def _interleave(sums: dict[tuple[int, ...], Array], stride: Dims, phases: Dims,
                dtype: DType) -> Array:
    """``out[q s + r] = sums[r][q]`` (zeros for a phase no kernel position has)."""
    every = list(itertools.product(*(range(s) for s in stride)))
    if len(every) == 1:
        return sums[every[0]]
    ndim = len(stride)
    unit = (1, *phases)
    column = tuple(range(1, ndim + 1))
    stacked = sh.concatenate(
        [sh.broadcast_in_dim(sums.get(r, _full(0, dtype, phases)), unit, column) for r in every],
        0,
    )
    split = sh.reshape(stacked, (*stride, *phases))
    paired = sh.transpose(split, tuple(a for d in range(ndim) for a in (ndim + d, d)))
    return sh.reshape(paired, tuple(q * s for q, s in zip(phases, stride, strict=True)))


def _pad(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr | None:
    """``pad`` with interior padding (None without: that is a view already)."""
    config = params["padding_config"]
    if not any(i for _, _, i in config):
        return None
    return _trace(lambda x, fill: [pad(x, fill, config)], in_avals)


# ---------------------------------------------------------------------------------------------
# Convolution


def _conv(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """im2col: the input in (N, C, spatial...) padded and dilated, its windows gathered into
    patches (N, out..., C, window...), one ``dot_general`` with the kernel, batched over the
    groups, and the result moved to the output layout."""
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    strides: Dims = params["window_strides"]
    ndim = len(strides)
    groups: int = params["feature_group_count"]
    batch_groups: int = params["batch_group_count"]
    out_dtype = cv.conv_result_dtype(in_avals[0].dtype, params["preferred_element_type"])
    compute = INT32 if out_dtype == BOOL else out_dtype
    config = [(0, 0, 0), (0, 0, 0)] + [
        (lo, hi, d - 1) for (lo, hi), d in zip(params["padding"], params["lhs_dilation"],
                                               strict=True)
    ]
    # contract the kernel's input features and window in its own layout's order (read in place)
    order = sorted(range(ndim + 1), key=lambda j: rhs_spec[1 + j])

    def fn(lhs: Array, rhs: Array) -> list[Array]:
        x = ew.convert_element_type(sh.transpose(lhs, lhs_spec), compute)
        k = ew.convert_element_type(sh.transpose(rhs, rhs_spec), compute)
        x = pad(x, np.zeros((), compute), config)
        w = Windows.over(x.shape[2:], k.shape[2:], strides, params["rhs_dilation"])
        canonical = (x.shape[0] // batch_groups, k.shape[0], *w.count)
        final = tuple(canonical[a] for a in np.argsort(out_spec))
        if math.prod(canonical) == 0 or math.prod(k.shape[1:]) == 0:
            return [_full(False if out_dtype == BOOL else 0, out_dtype, final)]
        out, axes = _contract(gather(x, w, (None,) * ndim), k, groups, batch_groups, order)
        if out_dtype == BOOL:
            out = ew.ne(out, _full(0, compute, out.shape))
        # one transpose (none, for an output in the order the contraction gives) and a reshape
        # merging the groups into the features
        perm = tuple(a for c in np.argsort(out_spec) for a in axes[c])
        return [sh.reshape(_transpose(out, perm), final)]

    return _trace(fn, in_avals)


def _transpose(x: Array, perm: Sequence[int]) -> Array:
    """``x`` transposed (no equation for the identity)."""
    return x if tuple(perm) == tuple(range(x.ndim)) else sh.transpose(x, perm)


def _contract(patches: Array, kernel: Array, groups: int, batch_groups: int,
              order: Sequence[int]) -> tuple[Array, list[list[int]]]:
    """The patches (N, C, out..., window...) contracted with the kernel (O, C/groups,
    window...), and the axes of the result holding each of (N/batch_groups, O, out...):
    feature ``g (O/groups) + o`` is feature ``o`` of group ``g`` (batch groups likewise)."""
    ndim = kernel.ndim - 2
    n, c = patches.shape[:2]
    space = patches.shape[2:2 + ndim]
    features = kernel.shape[0]
    count = max(groups, batch_groups)
    lhs = _transpose(patches, (0, *range(2, 2 + ndim), 1, *range(2 + ndim, 2 + 2 * ndim)))
    if count == 1:  # (N, out..., C, window...) . (O, C, window...) -> (N, out..., O)
        lhs_c = tuple(1 + ndim + j for j in order)
        rhs_c = tuple(1 + j for j in order)
        out = la.dot_general(lhs, kernel, ((lhs_c, rhs_c), ((), ())))
        return out, [[0], [1 + ndim], *([1 + i] for i in range(ndim))]
    if groups > 1:  # (N, out..., G, C/G, window...)
        lhs = sh.reshape(lhs, (n, *space, groups, c // groups, *lhs.shape[2 + ndim:]))
        batch = 1 + ndim
    else:  # (B, N/B, out..., C, window...)
        lhs = sh.reshape(lhs, (batch_groups, n // batch_groups, *lhs.shape[1:]))
        batch = 0
    lhs_c = tuple(2 + ndim + j for j in order)
    rhs = sh.reshape(kernel, (count, features // count, *kernel.shape[1:]))
    rhs_c = tuple(2 + j for j in order)
    out = la.dot_general(lhs, rhs, ((lhs_c, rhs_c), ((batch,), (0,))))
    # (G, N', out..., O/G)
    return out, [[1], [0, 2 + ndim], *([2 + i] for i in range(ndim))]


window_decompositions: Final[dict[Primitive, Decomposition]] = {
    cv.conv_general_dilated_p: _conv,
    wd.reduce_window_sum_p: _monoid(ew.add, rd.reduce_sum, lambda t: np.zeros((), t)),
    wd.reduce_window_max_p: _monoid(ew.max, rd.reduce_max, wd.max_identity),
    wd.reduce_window_min_p: _monoid(ew.min, rd.reduce_min, wd.min_identity),
    wd.reduce_window_p: _reduce_window,
    wd.select_and_gather_add_p: _select_and_gather_add,
    wd.select_and_scatter_add_p: _select_and_scatter_add,
    sh.pad_p: _pad,
}
