"""``jax.lax``'s collectives: wrappers over the primitives of ``refjax.primitives.collectives``.

Each wrapper maps over a pytree, canonicalises its axis names and checks its arguments as JAX
does. A collective needs its axis names bound by a mapping transformation (``vmap(axis_name=)``;
``pmap``/``shard_map`` later): an unbound name is JAX's ``NameError``. ``psum`` of a value that
is not traced (a constant in every instance) is computed at once from the axis size, as in JAX:
``psum(1, 'i')`` is the size of ``'i'``, a Python int.

``pcast`` follows JAX 0.10, which tracks varying and replicated values only inside
``shard_map``: with no ``shard_map`` yet, a cast to ``'varying'`` or ``'reduced'`` over named
axes is JAX's ValueError outside one, and an empty ``axis_name`` returns ``x``. (``lax.pvary``
was removed in JAX 0.10; ``pcast(x, name, to='varying')`` replaces it.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, tree_util
from refjax.interp.axes import AxisName, check_axis_names, pvary_p, vma_axes
from refjax.interp.axes import axis_size as bound_axis_size
from refjax.interp.core import Array, ArrayLike, Tracer, get_aval, ordered_axes
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives.collectives import (
    Groups,
    all_gather_p,
    all_to_all_p,
    axis_index_p,
    names_of,
    pmax_p,
    pmin_p,
    ppermute_p,
    psum_invariant,
    psum_p,
    reduce_scatter_p,
)
from refjax.primitives.constants import as_array, constant, full_like_scalar
from refjax.util import canonicalize_axis

__all__ = [
    "all_gather",
    "all_gather_p",
    "all_to_all",
    "all_to_all_p",
    "axis_index",
    "axis_index_p",
    "axis_size",
    "pcast",
    "pmax",
    "pmax_p",
    "pmean",
    "pmin",
    "pmin_p",
    "ppermute",
    "ppermute_p",
    "pshuffle",
    "psum",
    "psum_p",
    "psum_scatter",
    "pswapaxes",
]

PyTree = Any
AxisNames = AxisName  # a name, or a tuple/list of names (positional ints too, for psum)


def _groups(axis_index_groups: Sequence[Sequence[int]] | None) -> Groups:
    """Groups as a tuple of tuples, JAX's ValueError if they do not cover the indices once."""
    if axis_index_groups is None:
        return None
    groups = tuple(tuple(g) for g in axis_index_groups)
    if sorted(i for g in groups for i in g) != list(range(sum(len(g) for g in groups))):
        raise ValueError("axis_index_groups must cover all indices exactly once")
    return groups


def _check_named_only(axes: tuple[AxisName, ...], groups: Groups) -> None:
    if groups is not None and any(isinstance(a, int) for a in axes):
        raise ValueError("axis_index_groups only supported for sums over just named axes")


def _size(axes: Sequence[AxisName], groups: Groups) -> int:
    """How many instances a reduction over the named ``axes`` combines."""
    if groups is not None:
        return len(groups[0])
    return math.prod(bound_axis_size(a) for a in axes if not isinstance(a, int))


# ---------------------------------------------------------------------------------------------
# All-reduce


def psum(x: PyTree, axis_name: AxisNames, *,
         axis_index_groups: Sequence[Sequence[int]] | None = None) -> PyTree:
    """The sum of ``x`` over the instances along ``axis_name`` (booleans are summed as int32)."""
    axes = names_of(axis_name)
    if not axes:
        return x
    _check_named_only(axes, axis_index_groups)  # type: ignore[arg-type]  # checked as given
    groups = _groups(axis_index_groups)
    leaves, tree = tree_util.tree_flatten(x)
    leaves = [ew.convert_element_type(v, np.int32) if _is_bool(v) else v for v in leaves]
    if not any(isinstance(v, Tracer) for v in leaves):  # the same in every instance
        size = _size(axes, groups)
        outs = [_scaled(v, size, tuple(a for a in axes if isinstance(a, int))) for v in leaves]
    else:
        outs = [_psum_leaf(v, axes, groups) for v in leaves]
    return tree_util.tree_unflatten(tree, outs)


def _psum_leaf(x: ArrayLike, axes: tuple[AxisName, ...], groups: Groups) -> Array:
    """``psum`` of one traced leaf: ``psum_invariant`` inside a ``check_vma`` shard_map body
    over its mesh axes (its operand cast to vary over them first), as JAX 0.10 binds it."""
    tracked = vma_axes()
    if tracked and isinstance(x, Tracer) and all(a in tracked for a in axes):
        if groups is not None:
            raise NotImplementedError
        _state(x, axes, "jax.lax.psum")
        return psum_invariant(x, axes)
    return psum_p.bind(_varying(x, axes, "jax.lax.psum"), axes=axes, axis_index_groups=groups)


# ---------------------------------------------------------------------------------------------
# Varying and invariant values inside shard_map (check_vma=True)


def _state(x: ArrayLike, axes: Sequence[AxisName], api: str) -> str:
    """Whether ``x`` varies over all of ``axes`` ('varying') or over none ('invarying');
    JAX's ValueError for a mixture."""
    aval = get_aval(x)
    states = {"varying" if a in aval.vma else "invarying" for a in axes}
    if len(states) > 1:
        raise ValueError(f"{api} can only accept axis_name which corresponds to one of varying, "
                         "unreduced, reduced or invarying state of the input. Got input type: "
                         f"{aval.str_short()}, axes: {tuple(axes)} and input state: "
                         "{'varying', 'invarying'}")
    (state,) = states
    return state


def _varying(x: ArrayLike, axes: Sequence[AxisName], api: str) -> ArrayLike:
    """Inside a ``shard_map`` body with ``check_vma``: ``x`` cast (``pvary``) to vary over the
    mesh axes among ``axes``, as JAX's collectives take their operands; else ``x``."""
    tracked = vma_axes()
    if not tracked or not isinstance(x, Tracer):
        return x
    if api == "jax.lax.psum" and _state(x, axes, api) == "varying":
        return x
    missing = ordered_axes(a for a in axes if a in tracked and a not in get_aval(x).vma)
    return pvary_p.bind(x, axes=missing) if missing else x


def _is_bool(x: ArrayLike) -> bool:
    return bool(get_aval(x).dtype == dtypes.bool_)


def _scaled(x: ArrayLike, size: int, positional: tuple[int, ...]) -> Any:
    """``size`` times ``x`` summed over ``positional`` axes, a Python scalar staying one."""
    value: Any = x
    if isinstance(value, np.generic) and not positional:
        scaled: Any = value.dtype.type(size)
        return scaled * value
    if isinstance(value, (int, float, complex)) and not positional:
        return size * value
    ndim = get_aval(x).ndim
    reduced = rd.reduce_sum(x, [canonicalize_axis(a, ndim) for a in positional]) if positional \
        else as_array(x)
    return ew.mul(full_like_scalar(reduced, size), reduced)


def pmean(x: PyTree, axis_name: AxisNames, *,
          axis_index_groups: Sequence[Sequence[int]] | None = None) -> PyTree:
    """The mean of ``x`` over the instances along ``axis_name`` (true division)."""
    total = psum(x, axis_name, axis_index_groups=axis_index_groups)
    n = axis_size(axis_name) if axis_index_groups is None else len(axis_index_groups[0])
    return tree_util.tree_map(lambda v: _true_divide(v, n), total)


def _true_divide(x: Any, n: int) -> Any:
    """``x / n`` as numpy and JAX divide: an integer numerator becomes the default float."""
    if type(x) in (int, float, complex):
        return x / n
    aval = get_aval(x)
    if not dtypes.issubdtype(aval.dtype, np.inexact):
        x = ew.convert_element_type(x, dtypes.default_float_dtype())
    return ew.div(x, constant(n, get_aval(x).dtype, True))


def _extremum(prim_bind: Any, x: PyTree, axis_name: AxisNames,
              axis_index_groups: Sequence[Sequence[int]] | None) -> PyTree:
    axes = names_of(axis_name)
    _check_named_only(axes, axis_index_groups)  # type: ignore[arg-type]  # checked as given
    groups = _groups(axis_index_groups)
    return tree_util.tree_map(lambda v: prim_bind(_varying(v, axes, "pmax"), axes=axes,
                                                  axis_index_groups=groups), x)


def pmax(x: PyTree, axis_name: AxisNames, *,
         axis_index_groups: Sequence[Sequence[int]] | None = None) -> PyTree:
    """The maximum of ``x`` over the instances along ``axis_name``."""
    return _extremum(pmax_p.bind, x, axis_name, axis_index_groups)


def pmin(x: PyTree, axis_name: AxisNames, *,
         axis_index_groups: Sequence[Sequence[int]] | None = None) -> PyTree:
    """The minimum of ``x`` over the instances along ``axis_name``."""
    return _extremum(pmin_p.bind, x, axis_name, axis_index_groups)


# ---------------------------------------------------------------------------------------------
# Gathers, scatters, permutations


def all_gather(x: PyTree, axis_name: AxisNames, *,
               axis_index_groups: Sequence[Sequence[int]] | None = None, axis: int = 0,
               tiled: bool = False, to: str = "varying") -> PyTree:
    """Every instance's ``x``, stacked along a new axis ``axis`` (joined along it if tiled)."""
    allowed = {"varying", "reduced", "invarying"}
    if to not in allowed:
        raise ValueError("Got unexpected `to` value for `jax.lax.all_gather`. Allowed `to` "
                         f"values are: {allowed}")
    if to != "varying":
        raise NotImplementedError(f"all_gather(to={to!r}) needs shard_map's varying types")
    names = names_of(axis_name)
    if not names:
        return x
    groups = _groups(axis_index_groups)
    size = _size(names, groups)

    def gather(leaf: ArrayLike) -> Array:
        ndim = get_aval(leaf).ndim
        return all_gather_p.bind(
            _varying(leaf, names, "all_gather"),
            all_gather_dimension=canonicalize_axis(axis, ndim if tiled else ndim + 1),
            axis_name=names, axis_index_groups=groups, axis_size=size, tiled=tiled)

    return tree_util.tree_map(gather, x)


def psum_scatter(x: PyTree, axis_name: AxisNames, *, scatter_dimension: int = 0,
                 axis_index_groups: Sequence[Sequence[int]] | None = None,
                 tiled: bool = False) -> PyTree:
    """This instance's block (along ``scatter_dimension``) of ``psum(x, axis_name)``."""
    names = names_of(axis_name)
    if not names:
        return x
    groups = _groups(axis_index_groups)
    size = _size(names, groups)
    return tree_util.tree_map(
        lambda leaf: reduce_scatter_p.bind(
            _varying(leaf, names, "psum_scatter"), scatter_dimension=scatter_dimension,
            axis_name=names, axis_index_groups=groups, axis_size=size, tiled=tiled), x)


def ppermute(x: PyTree, axis_name: AxisNames, perm: Sequence[tuple[int, int]]) -> PyTree:
    """``x`` sent along ``perm``'s (source, destination) pairs of instances; an instance no
    pair sends to receives zeros."""
    names = names_of(axis_name)
    pairs = tuple((int(s), int(t)) for s, t in perm)
    return tree_util.tree_map(lambda v: ppermute_p.bind(_varying(v, names, "ppermute"),
                                                        axis_name=names, perm=pairs), x)


def pshuffle(x: PyTree, axis_name: AxisNames, perm: Sequence[int]) -> PyTree:
    """``x`` from instance ``perm[i]`` at instance ``i`` (``perm`` a permutation of 0..n-1)."""
    if set(perm) != set(range(len(perm))):
        raise ValueError(f"`perm` does not represent a permutation: {perm}")
    return ppermute(x, axis_name, list(zip(perm, range(len(perm)), strict=True)))


def all_to_all(x: PyTree, axis_name: AxisNames, split_axis: int, concat_axis: int, *,
               axis_index_groups: Sequence[Sequence[int]] | None = None,
               tiled: bool = False) -> PyTree:
    """``split_axis`` scattered over the instances, the instances' blocks joined along
    ``concat_axis`` (a new axis there, replacing ``split_axis``, unless tiled)."""
    groups = None if axis_index_groups is None else tuple(tuple(g) for g in axis_index_groups)

    def exchange(leaf: ArrayLike) -> Array:
        count = axis_size(axis_name) if groups is None else len(groups[0])
        shape = get_aval(leaf).shape
        split, concat = split_axis, concat_axis
        if tiled:
            if shape[split] % count != 0:
                raise ValueError(f"The size of all_to_all split_axis ({shape[split]}) has to "
                                 f"be divisible by the size of the named axis {axis_name} "
                                 f"({count})")
        else:
            if count != shape[split]:
                raise ValueError("all_to_all requires the size of the mapped axis axis_name "
                                 "to equal x.shape[split_axis], but they are "
                                 f"{count} and {shape[split]} respectively.")
            if split < concat:
                concat += 1  # concat_axis counts positions after split_axis is removed
                leaf = sh.expand_dims(leaf, (concat,))
            elif concat < split:
                leaf = sh.expand_dims(leaf, (concat,))
                split += 1
        leaf = _varying(leaf, names_of(axis_name), "all_to_all")
        out = all_to_all_p.bind(leaf, split_axis=split, concat_axis=concat,
                                axis_name=axis_name, axis_index_groups=groups, tiled=tiled)
        if not tiled and split != concat:
            out = sh.squeeze(out, (split,))
        return out

    return tree_util.tree_map(exchange, x)


def pswapaxes(x: PyTree, axis_name: AxisNames, axis: int, *,
              axis_index_groups: Sequence[Sequence[int]] | None = None) -> PyTree:
    """The mapped axis ``axis_name`` exchanged with the positional axis ``axis``."""
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)


# ---------------------------------------------------------------------------------------------
# Axis queries and casts


def axis_index(axis_name: AxisNames) -> Array:
    """This instance's index along ``axis_name`` (row-major over a tuple of names): int32."""
    if not isinstance(axis_name, (tuple, list)):
        return axis_index_p.bind(axis_name=axis_name)
    index: Array = as_array(np.int32(0))
    inner = 1
    for name in reversed(axis_name):
        index = ew.add(index, ew.mul(axis_index(name), constant(inner, dtypes.int32, True)))
        inner *= axis_size(name)
    return index


def axis_size(axis_name: AxisNames) -> int:
    """The number of instances along ``axis_name`` (the product over a tuple of names)."""
    result: int = psum(1, axis_name)
    return result


def pcast(x: PyTree, axis_name: AxisNames, *, to: str) -> PyTree:
    """Cast ``x`` between replicated (invarying), varying, reduced and unreduced over
    ``axis_name``: JAX 0.10's casts. Inside a ``shard_map`` body refjax tracks varying values
    only, so the one cast it has is invarying -> varying (``pvary``)."""
    if isinstance(axis_name, (set, frozenset)):
        raise TypeError(f"axis_name={axis_name!r} must be a tuple or a str. Got {axis_name!r}")
    axes = axis_name if isinstance(axis_name, tuple) else (axis_name,)
    if not axis_name:
        return x
    allowed = {"unreduced", "reduced", "varying"}
    if to not in allowed:
        raise ValueError(f"Got unexpected `to` value. Allowed `to` values are: {allowed}")

    def cast(leaf: ArrayLike) -> ArrayLike:
        tracked = vma_axes()
        source = _state(leaf, axes, "jax.lax.pcast") if tracked else "invarying"
        if (source, to) == ("invarying", "varying"):
            if not tracked:
                if isinstance(leaf, Tracer):
                    check_axis_names(axes, "pvary")
                raise ValueError("pvary should be called under jax.shard_map.")
            return pvary_p.bind(leaf, axes=ordered_axes(axes))
        if (source, to) == ("invarying", "reduced"):
            if not tracked:
                raise ValueError("preduced should be called under jax.shard_map.")
            raise NotImplementedError("pcast(to='reduced'): refjax tracks varying values only")
        raise ValueError(f"Unsupported pcast from={source}, to={to!r}")

    return tree_util.tree_map(cast, x)
