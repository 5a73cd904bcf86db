"""Collective primitives: reductions, gathers, scatters and permutations over named axes.

A collective acts across the instances of a mapped axis (``vmap(axis_name=)`` now; ``pmap`` and
``shard_map`` later): ``psum(x, 'i')`` is the sum of ``x`` over every instance along ``'i'``.
Its abstract eval checks that the name is bound (``interp.axes``) and gives one instance's
result; its batching rule is the reference semantics, computing every instance at once on the
batch axis: ``psum`` over the batched name sums over the batch dim, ``all_gather`` stacks the
batch, ``ppermute`` permutes its slices, ``axis_index`` is an iota along it. A collective over
another name commutes with the batch and is bound again with its axes shifted.

``psum``/``pmax``/``pmin`` also take positional (integer) axes, reduced like ``reduce_sum``:
that is how a batched ``psum`` reads in a jaxpr (``psum[axes=(0,) axis_index_groups=None]``),
and the only form that runs outside a mapped axis. The linear collectives have JAX's transposes:
``psum`` (as ``psum`` followed by a broadcast) transposes to ``psum``, ``all_gather`` to
``reduce_scatter`` and back, ``ppermute`` to the inverse permutation, ``all_to_all`` to the
swapped one. ``pmax``/``pmin`` have no JVP, as in JAX.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from refjax import dtypes
from refjax.interp.axes import (
    AxisName,
    axis_frames,
    axis_names_rules,
    axis_size,
    check_axis_names,
    pvary_p,
    vma_axes,
)
from refjax.interp.batching import BatchDim, batch_axis, batching_rules, bdim_at, moveaxis
from refjax.interp.core import (
    Array,
    ArrayLike,
    Params,
    Primitive,
    ShapedArray,
    abstract_eval_rules,
    get_aval,
    ordered_axes,
    vma_rules,
    vma_sources,
)
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives.common import standard_primitive
from refjax.primitives.constants import as_array, full_like_scalar

Groups = tuple[tuple[int, ...], ...] | None
BatchResult = tuple[list[Array], list[BatchDim]]

_NO_GROUPS_IN_VMAP = ("axis_index_groups not supported in vmap collectives. "
                      "Please open a feature request!")


def names_of(axis_name: AxisName) -> tuple[AxisName, ...]:
    """An axis-name param as a tuple of names (a single name, a tuple or a list of them)."""
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def named_axes(axes: Sequence[AxisName]) -> tuple[AxisName, ...]:
    """The names among ``axes`` (without the positional, integer, ones)."""
    return tuple(a for a in axes if not isinstance(a, int))


def group_size(axis_name: AxisName, groups: Groups) -> int:
    """The number of instances a collective over ``axis_name`` combines: the product of the
    bound sizes of the names, or the size of one of ``groups``."""
    if groups is not None:
        return len(groups[0])
    return math.prod(axis_size(n) for n in names_of(axis_name))


def _fold(x: ArrayLike, axis: int) -> Array:
    """``x`` with axes ``axis`` and ``axis + 1`` merged into one."""
    shape = list(get_aval(x).shape)
    shape[axis : axis + 2] = [shape[axis] * shape[axis + 1]]
    return sh.reshape(x, tuple(shape))


def _split(x: ArrayLike, axis: int, factor: int) -> Array:
    """``x`` with axis ``axis`` split into ``(factor, size // factor)``."""
    shape = list(get_aval(x).shape)
    shape[axis : axis + 1] = [factor, shape[axis] // factor]
    return sh.reshape(x, tuple(shape))


def _swap(x: ArrayLike, a: int, b: int) -> Array:
    """``x`` with axes ``a`` and ``b`` exchanged."""
    perm = list(range(get_aval(x).ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return sh.transpose(x, tuple(perm))


# ---------------------------------------------------------------------------------------------
# psum, pmax, pmin: all-reduce over named and positional axes


def _allreduce_rule(
    aval: ShapedArray, *, axes: tuple[AxisName, ...], axis_index_groups: Groups
) -> ShapedArray:
    """One instance's result: positional axes reduced, dtype kept, never weakly typed."""
    check_axis_names(axes, "psum")
    positional = tuple(a for a in axes if isinstance(a, int))
    if axis_index_groups is not None and positional:
        raise ValueError("axis_index_groups can only be used with reductions over named axes, "
                         f"but got: {axes}")
    return ShapedArray(rd.reduced_shape(aval, positional), aval.dtype)


def _defallreduce(
    name: str, if_unmapped: Callable[[ArrayLike, int], ArrayLike]
) -> Primitive:
    """An all-reduce primitive with its batching rule; ``if_unmapped(x, n)`` is its value on
    ``n`` equal instances ``x``."""
    prim = standard_primitive(name, _allreduce_rule)
    axis_names_rules[prim] = lambda params: tuple(params["axes"])

    def batch(
        args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
        axes: tuple[AxisName, ...], axis_index_groups: Groups,
    ) -> BatchResult:
        (x,), (d,) = args, dims
        frame = batch_axis()
        over_batch = frame.name in axes
        if d is None and not over_batch:
            return [prim.bind(x, axes=axes, axis_index_groups=axis_index_groups)], [None]
        if d is None:  # equal instances
            if axis_index_groups is not None:
                raise NotImplementedError
            rest = tuple(a for a in axes if a != frame.name)
            if rest:
                x = prim.bind(x, axes=rest, axis_index_groups=axis_index_groups)
            return [as_array(if_unmapped(x, frame.size))], [None]
        if not over_batch and len(named_axes(axes)) == len(axes):
            return [prim.bind(x, axes=axes, axis_index_groups=axis_index_groups)], [d]
        if axis_index_groups is not None:
            raise NotImplementedError(_NO_GROUPS_IN_VMAP)
        shifted = tuple(0 if a == frame.name else a + 1 if isinstance(a, int) else a
                        for a in axes)
        out = prim.bind(moveaxis(x, d, 0), axes=shifted, axis_index_groups=None)
        return [out], [None if over_batch else 0]

    batching_rules[prim] = batch
    return prim


psum_p = _defallreduce("psum", lambda x, n: ew.mul(full_like_scalar(x, n), x))
pmax_p = _defallreduce("pmax", lambda x, n: x)
pmin_p = _defallreduce("pmin", lambda x, n: x)


def _psum_transpose(
    ct: Array, x: UndefinedPrimal, *, axes: tuple[AxisName, ...], axis_index_groups: Groups
) -> list[Cotangent]:
    """Positional axes broadcast back; named ones summed again (psum is a psum + broadcast)."""
    positional = tuple(a for a in axes if isinstance(a, int))
    if positional:
        shape = x.aval.shape
        ct = sh.broadcast_in_dim(ct, shape, tuple(i for i in range(len(shape))
                                                  if i not in positional))
    return [psum_p.bind(ct, axes=named_axes(axes), axis_index_groups=axis_index_groups)]


deflinear2(psum_p, _psum_transpose)


# ---------------------------------------------------------------------------------------------
# all_gather and reduce_scatter (psum_scatter)


def _all_gather_rule(
    x: ShapedArray, *, all_gather_dimension: int, axis_name: tuple[AxisName, ...],
    axis_index_groups: Groups, axis_size: int, tiled: bool,
) -> ShapedArray:
    """Every instance's ``x`` stacked at ``all_gather_dimension`` (joined there if tiled)."""
    check_axis_names(axis_name, "all_gather")
    shape = list(x.shape)
    if tiled:
        shape[all_gather_dimension] *= axis_size
    else:
        shape.insert(all_gather_dimension, axis_size)
    return x.update(shape=tuple(shape))


all_gather_p = standard_primitive("all_gather", _all_gather_rule)
axis_names_rules[all_gather_p] = lambda params: names_of(params["axis_name"])


def _all_gather_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, all_gather_dimension: int,
    axis_name: tuple[AxisName, ...], axis_index_groups: Groups, axis_size: int, tiled: bool,
) -> BatchResult:
    (x,), (d,) = args, dims
    frame = batch_axis()
    params = dict(axis_name=axis_name, axis_index_groups=axis_index_groups,
                  axis_size=axis_size, tiled=tiled)
    dim = all_gather_dimension
    if frame.name not in axis_name:  # an untiled gather adds its dimension
        return _over_other_axes(all_gather_p, "all_gather_dimension", x, d, dim, +1, params)
    if axis_index_groups is not None:
        raise NotImplementedError("axis_index_groups not supported in vmap")
    if len(axis_name) > 1:
        raise NotImplementedError("all_gather over several axis names, one of them vmapped")
    y = bdim_at(x, d, frame.size, dim)
    return [_fold(y, dim) if tiled else y], [None]


batching_rules[all_gather_p] = _all_gather_batch


def _over_other_axes(
    prim: Primitive, dim_param: str, x: ArrayLike, d: BatchDim, dim: int, untiled_shift: int,
    params: Params,
) -> BatchResult:
    """A gather or scatter over axes other than the one being vmapped: the collective itself,
    its dimension moved past a batch axis before it; an untiled result gains (``+1``) or loses
    (``-1``) that dimension, which moves a batch axis after it by as much."""
    if d is not None:
        if d <= dim:
            dim += 1
        elif not params["tiled"]:
            d += untiled_shift
    return [prim.bind(x, **{dim_param: dim}, **params)], [d]


def _reduce_scatter_rule(
    x: ShapedArray, *, scatter_dimension: int, axis_name: tuple[AxisName, ...],
    axis_index_groups: Groups, axis_size: int, tiled: bool,
) -> ShapedArray:
    """This instance's block of the sum: ``scatter_dimension`` divided (removed if not tiled)."""
    check_axis_names(axis_name, "reduce_scatter")
    shape = list(x.shape)
    _check_scatter_size(shape[scatter_dimension], axis_size, tiled)
    if tiled:
        shape[scatter_dimension] //= axis_size
    else:
        del shape[scatter_dimension]
    return x.update(shape=tuple(shape))


def _check_scatter_size(size: int, count: int, tiled: bool) -> None:
    """JAX's ValueError for a scatter dimension that does not split into ``count`` blocks."""
    if tiled and size % count != 0:
        raise ValueError(f"tiled reduce_scatter operand scatter dimension size {size} must be "
                         f"divisible by shard_count {count}")
    if not tiled and size != count:
        raise ValueError(f"reduce_scatter operand scatter dimension size {size} must match "
                         f"shard count {count}")


reduce_scatter_p = standard_primitive("reduce_scatter", _reduce_scatter_rule)
axis_names_rules[reduce_scatter_p] = lambda params: names_of(params["axis_name"])


def _reduce_scatter_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, scatter_dimension: int,
    axis_name: tuple[AxisName, ...], axis_index_groups: Groups, axis_size: int, tiled: bool,
) -> BatchResult:
    (x,), (d,) = args, dims
    frame = batch_axis()
    params = dict(axis_name=axis_name, axis_index_groups=axis_index_groups,
                  axis_size=axis_size, tiled=tiled)
    dim = scatter_dimension
    if frame.name not in axis_name:  # an untiled scatter removes its dimension
        return _over_other_axes(reduce_scatter_p, "scatter_dimension", x, d, dim, -1, params)
    if axis_index_groups is not None:
        raise NotImplementedError("axis_index_groups not supported in vmap")
    if len(axis_name) > 1:
        raise NotImplementedError("psum_scatter over several axis names, one of them vmapped")
    if d is None:
        total = ew.mul(full_like_scalar(x, frame.size), x)
    else:
        total = rd.reduce_sum(x, (d,))
    _check_scatter_size(get_aval(total).shape[dim], frame.size, tiled)
    return [_split(total, dim, frame.size) if tiled else total], [dim]


batching_rules[reduce_scatter_p] = _reduce_scatter_batch


def _all_gather_transpose(
    ct: Array, x: UndefinedPrimal, *, all_gather_dimension: int,
    axis_name: tuple[AxisName, ...], axis_index_groups: Groups, axis_size: int, tiled: bool,
) -> list[Cotangent]:
    return [reduce_scatter_p.bind(ct, scatter_dimension=all_gather_dimension,
                                  axis_name=axis_name, axis_index_groups=axis_index_groups,
                                  axis_size=axis_size, tiled=tiled)]


def _reduce_scatter_transpose(
    ct: Array, x: UndefinedPrimal, *, scatter_dimension: int,
    axis_name: tuple[AxisName, ...], axis_index_groups: Groups, axis_size: int, tiled: bool,
) -> list[Cotangent]:
    return [all_gather_p.bind(ct, all_gather_dimension=scatter_dimension,
                              axis_name=axis_name, axis_index_groups=axis_index_groups,
                              axis_size=axis_size, tiled=tiled)]


deflinear2(all_gather_p, _all_gather_transpose)
deflinear2(reduce_scatter_p, _reduce_scatter_transpose)


# ---------------------------------------------------------------------------------------------
# ppermute


Perm = tuple[tuple[int, int], ...]


def check_perm(perm: Perm, size: int | None) -> None:
    """JAX's ValueError for a permutation with a repeated source or destination (or, with the
    axis ``size`` known, an index outside it)."""
    sources, destinations = [s for s, _ in perm], [t for _, t in perm]
    if len(set(sources)) != len(sources) or len(set(destinations)) != len(destinations):
        raise ValueError(f"ppermute sources and destinations must be unique, got {perm}.")
    if size is not None and not all(0 <= i < size for i in (*sources, *destinations)):
        raise ValueError(f"ppermute indices must lie in [0, {size}) (the axis size), "
                         f"got {perm}.")


def _ppermute_rule(x: ShapedArray, *, axis_name: tuple[AxisName, ...], perm: Perm) -> ShapedArray:
    check_axis_names(axis_name, "ppermute")
    check_perm(perm, None)
    return x


ppermute_p = standard_primitive("ppermute", _ppermute_rule)
axis_names_rules[ppermute_p] = lambda params: names_of(params["axis_name"])


def _ppermute_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
    axis_name: tuple[AxisName, ...], perm: Perm,
) -> BatchResult:
    """Instance ``dst`` gets instance ``src``'s slice; an instance no pair sends to gets zeros."""
    (x,), (d,) = args, dims
    frame = batch_axis()
    if frame.name not in axis_name:
        return [ppermute_p.bind(x, axis_name=axis_name, perm=perm)], [d]
    if len(axis_name) > 1:
        raise NotImplementedError("ppermute over several axis names, one of them vmapped")
    check_perm(perm, frame.size)
    if d is None and len(perm) == frame.size:
        return [as_array(x)], [None]
    x, d = bdim_at(x, d, frame.size, 0 if d is None else d), 0 if d is None else d
    source = dict((t, s) for s, t in perm)
    one = list(get_aval(x).shape)
    one[d] = 1
    zero = sh.broadcast_in_dim(full_like_scalar(x, 0), tuple(one), ())
    parts = [zero if i not in source else sl.slice_in_dim(x, source[i], source[i] + 1, axis=d)
             for i in range(frame.size)]
    return [sh.concatenate(parts, d)], [d]


def _ppermute_transpose(
    ct: Array, x: UndefinedPrimal, *, axis_name: tuple[AxisName, ...], perm: Perm
) -> list[Cotangent]:
    return [ppermute_p.bind(ct, axis_name=axis_name, perm=tuple((t, s) for s, t in perm))]


batching_rules[ppermute_p] = _ppermute_batch
deflinear2(ppermute_p, _ppermute_transpose)


# ---------------------------------------------------------------------------------------------
# all_to_all


def _all_to_all_rule(
    x: ShapedArray, *, axis_name: AxisName, split_axis: int, concat_axis: int,
    axis_index_groups: Groups, tiled: bool,
) -> ShapedArray:
    """``split_axis`` divided among the instances, ``concat_axis`` joined from them."""
    names = names_of(axis_name)
    check_axis_names(names, "all_to_all")
    count = group_size(names, axis_index_groups)
    shape = list(x.shape)
    if shape[split_axis] % count != 0:
        raise ValueError(f"The size of all_to_all split_axis ({shape[split_axis]}) has to be "
                         f"divisible by the size of the named axis {axis_name} ({count})")
    shape[split_axis] //= count
    shape[concat_axis] *= count
    return ShapedArray(tuple(shape), x.dtype)


all_to_all_p = standard_primitive("all_to_all", _all_to_all_rule)
axis_names_rules[all_to_all_p] = lambda params: names_of(params["axis_name"])


def _all_to_all_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, axis_name: AxisName,
    split_axis: int, concat_axis: int, axis_index_groups: Groups, tiled: bool,
) -> BatchResult:
    (x,), (d,) = args, dims
    frame = batch_axis()
    params = dict(axis_name=axis_name, axis_index_groups=axis_index_groups, tiled=tiled)
    if frame.name not in names_of(axis_name):
        if d is None:
            return [all_to_all_p.bind(x, split_axis=split_axis, concat_axis=concat_axis,
                                      **params)], [None]
        return [all_to_all_p.bind(x, split_axis=split_axis + (d <= split_axis),
                                  concat_axis=concat_axis + (d <= concat_axis), **params)], [d]
    if axis_index_groups is not None:
        raise NotImplementedError("Please open a feature request!")
    if len(names_of(axis_name)) > 1:
        raise NotImplementedError("all_to_all over several axis names, one of them vmapped")
    size = frame.size
    x, d = bdim_at(x, d, size, 0 if d is None else d), 0 if d is None else d
    if split_axis == concat_axis:  # chunk k of instance j goes to instance k's chunk j
        axis = split_axis + (d <= split_axis)
        out_dim = d
        x = _split(x, axis, size)
        d += axis <= d
        return [_fold(_swap(x, d, axis), axis)], [out_dim]
    joined = _fold(moveaxis(x, d, concat_axis), concat_axis)
    return [_split(joined, split_axis, size)], [split_axis]


def _all_to_all_transpose(
    ct: Array, x: UndefinedPrimal, *, axis_name: AxisName, split_axis: int,
    concat_axis: int, axis_index_groups: Groups, tiled: bool,
) -> list[Cotangent]:
    return [all_to_all_p.bind(ct, axis_name=axis_name, split_axis=concat_axis,
                              concat_axis=split_axis, axis_index_groups=axis_index_groups,
                              tiled=tiled)]


batching_rules[all_to_all_p] = _all_to_all_batch
deflinear2(all_to_all_p, _all_to_all_transpose)


# ---------------------------------------------------------------------------------------------
# axis_index


def _axis_index_rule(*, axis_name: AxisName) -> ShapedArray:
    """This instance's index along ``axis_name``: an int32 scalar."""
    check_axis_names(names_of(axis_name), "axis_index")
    return ShapedArray((), dtypes.int32)


axis_index_p = standard_primitive("axis_index", _axis_index_rule)
axis_names_rules[axis_index_p] = lambda params: names_of(params["axis_name"])


def _axis_index_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, axis_name: AxisName
) -> BatchResult:
    frame = batch_axis()
    if frame.name not in names_of(axis_name):
        return [axis_index_p.bind(axis_name=axis_name)], [None]
    return [sh.iota(np.int32, frame.size)], [0]


batching_rules[axis_index_p] = _axis_index_batch



# ---------------------------------------------------------------------------------------------
# Varying manual axes (``vma``) inside shard_map: a reduction makes its result invariant over
# the axes it reduces; gathers, scatters and permutations leave a value varying over their axes
# (their operand was cast there first); ``axis_index`` varies over its axes.


def _vma_minus_axes(avals: Sequence[ShapedArray], params: Params) -> list[frozenset[AxisName]]:
    return [avals[0].vma - frozenset(named_axes(params["axes"]))]


def _vma_plus_names(avals: Sequence[ShapedArray], params: Params) -> list[frozenset[AxisName]]:
    names = frozenset(names_of(params["axis_name"]))
    return [frozenset().union(*(a.vma for a in avals)) | names]


for _prim in (psum_p, pmax_p, pmin_p):
    vma_rules[_prim] = _vma_minus_axes
for _prim in (all_gather_p, reduce_scatter_p, ppermute_p, all_to_all_p):
    vma_rules[_prim] = _vma_plus_names
vma_sources.update((pvary_p, axis_index_p))
vma_rules[axis_index_p] = lambda avals, params: [frozenset(names_of(params["axis_name"]))
                                                 & vma_axes()]


# ---------------------------------------------------------------------------------------------
# pvary: the no-op cast of a value invariant over ``axes`` to one varying over them (JAX 0.10's
# ``pcast(x, axes, to='varying')``, inserted where an invariant value meets a varying one)


def _pvary_rule(aval: ShapedArray, *, axes: tuple[AxisName, ...]) -> ShapedArray:
    if axis_frames():  # (a shard run by the lock-step runner binds no names: a no-op there)
        check_axis_names(axes, "pvary")
    return aval  # (a value already varying over ``axes``: ``pcast`` rejects it first)


abstract_eval_rules[pvary_p] = lambda aval, **params: [_pvary_rule(aval, **params)]
vma_rules[pvary_p] = lambda avals, params: [avals[0].vma | frozenset(params["axes"])]


def _pvary_transpose(ct: Array, x: UndefinedPrimal, *,
                     axes: tuple[AxisName, ...]) -> list[Cotangent]:
    """The sum over ``axes`` (``psum_invariant``), as JAX 0.10: a value invariant over them
    was used on every device, so its cotangent gathers every device's part."""
    return [psum_invariant(ct, axes)]


def _pvary_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                 axes: tuple[AxisName, ...]) -> BatchResult:
    return [pvary_p.bind(args[0], axes=axes)], [dims[0]]


deflinear2(pvary_p, _pvary_transpose)
batching_rules[pvary_p] = _pvary_batch


# ---------------------------------------------------------------------------------------------
# psum_invariant: ``psum`` of a value varying over ``axes`` inside a ``check_vma`` shard_map body
# (JAX 0.10 binds it there instead of ``psum``); its result is invariant over ``axes``, and it
# transposes to ``pvary`` (and ``pvary`` to it).


def _psum_invariant_rule(aval: ShapedArray, *, axes: tuple[AxisName, ...]) -> ShapedArray:
    check_axis_names(axes, "psum")
    if aval.vma and not set(axes) & aval.vma:  # (a shard run alone has no vma: not checked)
        raise ValueError(
            "psum is a variant->invariant collective. This means that the axis names mentioned "
            "in `axes` passed to `psum` must be present in `jax.typeof(inp).mat.varying`. Got "
            f"axes={axes} and jax.typeof(inp).mat.varying={aval.vma}")
    if any(isinstance(a, int) for a in axes):
        raise ValueError(f"psum_invariant does not accept integer axes. Got {axes}")
    return ShapedArray(aval.shape, aval.dtype)


psum_invariant_p = standard_primitive("psum_invariant", _psum_invariant_rule)
axis_names_rules[psum_invariant_p] = lambda params: tuple(params["axes"])
vma_rules[psum_invariant_p] = _vma_minus_axes


def psum_invariant(x: ArrayLike, axes: Sequence[AxisName]) -> Array:
    """``psum_invariant`` of ``x`` over ``axes``, ``x`` first cast (``pvary``) to vary over
    those of them it is invariant over (JAX's ``auto_pcast``): the cast sums ``n`` equal
    copies."""
    axes = tuple(axes)
    missing = ordered_axes(frozenset(axes) - get_aval(x).vma)
    if missing:
        x = pvary_p.bind(x, axes=missing)
    return psum_invariant_p.bind(x, axes=axes)


def _psum_invariant_transpose(ct: Array, x: UndefinedPrimal, *,
                              axes: tuple[AxisName, ...]) -> list[Cotangent]:
    return [pvary_p.bind(ct, axes=axes)]


def _psum_invariant_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                          axes: tuple[AxisName, ...]) -> BatchResult:
    (x,), (d,) = args, dims
    frame = batch_axis()
    if frame.name not in axes:
        return [psum_invariant_p.bind(x, axes=axes)], [d]
    rest = tuple(a for a in axes if a != frame.name)
    if rest:
        x = psum_invariant_p.bind(x, axes=rest)
    if d is None:
        return [ew.mul(full_like_scalar(x, frame.size), x)], [None]
    return [rd.reduce_sum(x, (d,))], [None]


deflinear2(psum_invariant_p, _psum_invariant_transpose)
batching_rules[psum_invariant_p] = _psum_invariant_batch
