"""NumPy indexing of refjax arrays: ``x[idx]``, ``x.at[idx].set(...)``, ``take``, and friends.

``x[idx]`` is computed as JAX computes it. Indices made only of static ints, slices, ``None`` and
``...`` become one ``slice`` (then ``rev`` for negative steps, ``squeeze`` for ints and
``broadcast_in_dim`` for new axes); a static int that is out of range, or a scalar traced integer,
makes it a ``dynamic_slice`` (which clamps); anything else (integer arrays, boolean masks, strided
slices next to arrays) becomes one ``gather``. Integer arrays broadcast together, and their result
dimensions go where numpy puts them: in place of the indexed axes if the advanced indices are next
to each other, else first. Boolean masks must be concrete: they become the integer arrays of
their true positions.

``x.at[idx].op(y)`` builds the same gather description and transposes it into a ``scatter``
(``scatter-add``, ``scatter-mul``, ``scatter-min``, ``scatter-max``); out-of-range updates are
dropped (FILL_OR_DROP), as in JAX.
"""

from __future__ import annotations

import enum
import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

import numpy as np

from refjax import dtypes, lax
from refjax.errors import NonConcreteBooleanIndexError
from refjax.interp.core import Array, ArrayLike, Tracer, is_concrete
from refjax.lax import GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers
from refjax.numpy._util import (
    as_array,
    broadcast_arrays,
    broadcast_to,
    ensure_arraylike,
    promote_dtypes,
    where_,
)
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant, convert
from refjax.util import canonicalize_axis

Index: TypeAlias = Any  # an int, slice, None, Ellipsis, array, or a tuple of those
Mode: TypeAlias = "str | GatherScatterMode | None"


class IndexType(enum.Enum):
    """What one entry of an index tuple is."""

    NONE = "none"
    SLICE = "slice"
    ELLIPSIS = "ellipsis"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ARRAY = "array"


def _is_integer_index(idx: object) -> bool:
    return isinstance(idx, (int, np.integer)) and not isinstance(idx, (bool, np.bool_))


def _is_scalar(x: object) -> bool:
    return bool(np.isscalar(x)) or (isinstance(x, (np.ndarray, Array)) and np.ndim(x) == 0)


def _is_boolean_index(idx: object) -> bool:
    if isinstance(idx, (Array, np.ndarray, np.bool_, bool)):
        return np.dtype(idx.dtype if isinstance(idx, (Array, np.ndarray)) else bool) == np.bool_
    return (isinstance(idx, list) and bool(idx)
            and all(_is_scalar(e) and np.result_type(e) == np.bool_ for e in idx))


def index_type(idx: Index) -> IndexType:
    """Classify one index entry, with JAX's errors for unsupported kinds."""
    if idx is None:
        return IndexType.NONE
    if idx is Ellipsis:
        return IndexType.ELLIPSIS
    if isinstance(idx, slice):
        return IndexType.SLICE
    if _is_integer_index(idx):
        return IndexType.INTEGER
    if _is_boolean_index(idx):
        return IndexType.BOOLEAN
    if isinstance(idx, (Array, np.ndarray)):
        if dtypes.is_integer(np.dtype(idx.dtype)):
            return IndexType.ARRAY
        raise TypeError(
            f"Indexer must have integer or boolean type, got indexer with type {idx.dtype}"
        )
    if isinstance(idx, str):
        raise TypeError(f"JAX does not support string indexing; got {idx=}")
    if isinstance(idx, Sequence):
        return _sequence_index_type(idx)
    if isinstance(idx, (float, complex, np.generic)):
        raise TypeError(
            "Indexer must have integer or boolean type, got indexer with type "
            f"{np.dtype(type(idx))}"
        )
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), newaxis (`None`) and integer or "
        f"boolean arrays are valid indices. Got {idx}"
    )


def _sequence_index_type(idx: Sequence[Any]) -> IndexType:
    """A list inside an index tuple: an integer or boolean array index."""
    if not idx:
        return IndexType.ARRAY
    dtype = np.asarray(idx).dtype
    if dtype == np.bool_:
        return IndexType.BOOLEAN
    if np.issubdtype(dtype, np.integer):
        return IndexType.ARRAY
    raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {dtype}")


def _should_unpack_list_index(x: object) -> bool:
    return ((isinstance(x, (np.ndarray, Array)) and np.ndim(x) != 0)
            or isinstance(x, (Sequence, slice)) or x is Ellipsis or x is None)


def to_index_tuple(idx: Index) -> tuple[Any, ...]:
    """The index as a tuple; JAX's TypeError for a list used as a multidimensional index."""
    if isinstance(idx, tuple):
        return idx
    if isinstance(idx, Sequence) and not isinstance(idx, (Array, np.ndarray, str)):
        use = "tuple" if any(_should_unpack_list_index(i) for i in idx) else "array"
        raise TypeError(
            "Using a non-tuple sequence for multidimensional indexing is not allowed; "
            f"use `arr[{use}(seq)]` instead of `arr[seq]`. "
            "See https://github.com/jax-ml/jax/issues/4564 for more information."
        )
    return (idx,)


@dataclass(frozen=True, slots=True)
class ParsedIndex:
    """One index entry, its kind and the axes of the indexed array it consumes."""

    index: Any
    typ: IndexType
    consumed_axes: tuple[int, ...]


def parse_indices(indices: tuple[Any, ...], shape: tuple[int, ...]) -> list[ParsedIndex]:
    """Classify every entry and assign it the axes it consumes (an ellipsis takes the rest)."""
    types = [index_type(i) for i in indices]
    consumed = [_consumed_count(i, t) for i, t in zip(indices, types, strict=True)]
    ellipses = [k for k, t in enumerate(types) if t is IndexType.ELLIPSIS]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    total = sum(consumed)
    if total > len(shape):
        raise IndexError(
            f"Too many indices: array is {len(shape)}-dimensional, but {total} were indexed"
        )
    if ellipses:
        consumed[ellipses[0]] = len(shape) - total
    out, dim = [], 0
    for idx, typ, n in zip(indices, types, consumed, strict=True):
        out.append(ParsedIndex(idx, typ, tuple(range(dim, dim + n))))
        dim += n
    return out


def _consumed_count(idx: Any, typ: IndexType) -> int:
    if typ in (IndexType.NONE, IndexType.ELLIPSIS):
        return 0
    if typ is IndexType.BOOLEAN:
        return int(np.ndim(idx))
    return 1


# ---------------------------------------------------------------------------------------------
# The parsed index and its rewrites


@dataclass(frozen=True, slots=True)
class NDIndexer:
    """A parsed index for an array of ``shape``."""

    shape: tuple[int, ...]
    indices: tuple[ParsedIndex, ...]

    @classmethod
    def from_raw(cls, idx: Index, shape: tuple[int, ...]) -> NDIndexer:
        """Parse a user index."""
        return cls(shape, tuple(parse_indices(to_index_tuple(idx), shape)))

    def validate_static_indices(self, normalize_indices: bool = True) -> None:
        """IndexError for a static int that is out of range."""
        for p in self.indices:
            if p.typ is IndexType.INTEGER:
                i = operator.index(p.index)
                (axis,) = p.consumed_axes
                size = self.shape[axis]
                normed = i + size if normalize_indices and i < 0 else i
                if not 0 <= normed < size:
                    raise IndexError(f"index {i} out of bounds for axis {axis} with size {size} "
                                     f"({normalize_indices=})")

    def validate_slices(self) -> None:
        """IndexError for a slice whose start, stop or step is traced."""
        for pos, p in enumerate(self.indices):
            if p.typ is IndexType.SLICE:
                s = p.index
                if not all(v is None or is_concrete(v) for v in (s.start, s.stop, s.step)):
                    raise IndexError(
                        f"Slice entries must be static integers. Got {s} at position {pos}"
                    )

    def is_advanced_int_indexer(self) -> bool:
        """Whether numpy's advanced indexing applies (an array index of rank at least 1)."""
        return any(p.typ in (IndexType.ARRAY, IndexType.BOOLEAN) and np.ndim(p.index) > 0
                   for p in self.indices)

    def expand_bool_indices(self) -> NDIndexer:
        """Boolean masks (which must be concrete) replaced by the integer arrays of true places."""
        out: list[ParsedIndex] = []
        for pos, p in enumerate(self.indices):
            if p.typ is not IndexType.BOOLEAN:
                out.append(p)
                continue
            if isinstance(p.index, Tracer):
                raise NonConcreteBooleanIndexError(_TypeOf(p.index.aval.str_short()))
            mask = np.asarray(p.index)
            if mask.ndim == 0:
                out.append(ParsedIndex(bool(mask), p.typ, ()))
                continue
            expected = [self.shape[i] for i in p.consumed_axes]
            if not all(s1 in (0, s2) for s1, s2 in zip(mask.shape, expected, strict=True)):
                raise IndexError(
                    "boolean index did not match shape of indexed array in index "
                    f"{pos}: got {mask.shape}, expected {expected}"
                )
            found = np.where(mask)
            out += [ParsedIndex(i, IndexType.ARRAY, (ax,))
                    for i, ax in zip(found, p.consumed_axes, strict=True)]
        return replace(self, indices=tuple(out))

    def expand_scalar_bool_indices(self) -> NDIndexer:
        """A scalar bool becomes a new size-1 axis indexed by ``arange(int(b))``."""
        shape = list(self.shape)
        out, dim = [], 0
        for k, p in enumerate(self.indices):
            if p.typ is IndexType.BOOLEAN and np.ndim(p.index) == 0:
                shape.insert(k, 1)
                out.append(ParsedIndex(np.arange(int(p.index)), IndexType.ARRAY, (dim,)))
                dim += 1
            else:
                n = len(p.consumed_axes)
                out.append(ParsedIndex(p.index, p.typ, tuple(range(dim, dim + n))))
                dim += n
        return NDIndexer(tuple(shape), tuple(out))

    def convert_sequences_to_arrays(self) -> NDIndexer:
        """List entries as arrays."""
        return replace(self, indices=tuple(
            ParsedIndex(as_array(np.asarray(p.index)), p.typ, p.consumed_axes)
            if isinstance(p.index, Sequence) else p for p in self.indices))

    def expand_ellipses(self) -> NDIndexer:
        """The ellipsis and the implicit trailing axes as explicit full slices."""
        out: list[ParsedIndex] = []
        consumed = 0
        for p in self.indices:
            consumed += len(p.consumed_axes)
            if p.typ is IndexType.ELLIPSIS:
                out += [ParsedIndex(slice(None), IndexType.SLICE, (ax,)) for ax in p.consumed_axes]
            else:
                out.append(p)
        out += [ParsedIndex(slice(None), IndexType.SLICE, (ax,))
                for ax in range(consumed, len(self.shape))]
        return replace(self, indices=tuple(out))

    def normalize_indices(self) -> NDIndexer:
        """Negative integer indices counted from the end of their axis."""
        out: list[ParsedIndex] = []
        for p in self.indices:
            if p.typ is IndexType.INTEGER:
                size = self.shape[p.consumed_axes[0]]
                if isinstance(p.index, np.unsignedinteger) or p.index >= 0:
                    out.append(p)
                else:
                    out.append(replace(p, index=p.index + size))
            elif p.typ is IndexType.ARRAY:
                out.append(replace(p, index=_normalize_array_index(
                    as_array(p.index), self.shape[p.consumed_axes[0]])))
            else:
                out.append(p)
        return replace(self, indices=tuple(out))


@dataclass(frozen=True, slots=True)
class _TypeOf:
    """What JAX's NonConcreteBooleanIndexError names: the mask's type, ``bool[3,4]``."""

    text: str

    def _error_repr(self) -> str:
        return self.text

    def _origin_msg(self) -> str:
        return ""


def _normalize_array_index(index: Array, size: int) -> Array:
    """``where(index < 0, index + size, index)`` for signed integer indices."""
    if index.dtype.kind == "u":
        return index
    size_value = constant(size, index.dtype)
    return lax.select_n(lax.lt(index, constant(0, index.dtype)), index,
                        lax.add(index, size_value))


# ---------------------------------------------------------------------------------------------
# Static slices: ints, slices, None and Ellipsis only


@dataclass(frozen=True, slots=True)
class _StaticSlice:
    start_indices: tuple[int, ...]
    limit_indices: tuple[int, ...]
    strides: tuple[int, ...] | None
    rev_axes: tuple[int, ...]
    squeeze_axes: tuple[int, ...]
    newaxis_dims: tuple[int, ...]


def _parse_mode(mode: Mode) -> GatherScatterMode:
    return GatherScatterMode.from_any(GatherScatterMode.PROMISE_IN_BOUNDS if mode is None
                                      else mode)


def to_static_slice(indexer: NDIndexer, normalize: bool, mode: Mode) -> _StaticSlice:
    """The index as one static slice; TypeError/ValueError/IndexError if it is not one."""
    parsed_mode = _parse_mode(mode)
    if parsed_mode not in (GatherScatterMode.PROMISE_IN_BOUNDS, GatherScatterMode.CLIP):
        raise ValueError("static_slice requires mode='promise_in_bounds' or mode='clip'")
    if parsed_mode is GatherScatterMode.PROMISE_IN_BOUNDS:
        indexer.validate_static_indices(normalize)
    indexer.validate_slices()
    for pos, p in enumerate(indexer.indices):
        if p.typ in (IndexType.ARRAY, IndexType.BOOLEAN):
            raise TypeError("static_slice: indices must be static scalars or slices."
                            f" Got index of type {type(p.index)} at position {pos}")
    starts: list[int] = []
    limits: list[int] = []
    strides: list[int] = []
    rev_axes: list[int] = []
    squeeze_axes: list[int] = []
    newaxis_dims: list[int] = []
    for p in indexer.expand_ellipses().indices:
        if p.typ is IndexType.NONE:
            newaxis_dims.append(len(starts) - len(squeeze_axes) + len(newaxis_dims))
        elif p.typ is IndexType.INTEGER:
            (axis,) = p.consumed_axes
            size = indexer.shape[axis]
            if size == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            start = int(p.index)
            if normalize and start < 0:
                start += size
            start = min(max(start, 0), size - 1)
            starts.append(start)
            limits.append(start + 1)
            strides.append(1)
            squeeze_axes.append(axis)
        else:
            (axis,) = p.consumed_axes
            size = indexer.shape[axis]
            start, stop, stride = p.index.indices(size)
            if stride < 0:
                new_start = min(size, stop + 1 + abs(start - stop - 1) % abs(stride))
                starts.append(new_start)
                limits.append(max(new_start, start + 1))
                strides.append(abs(stride))
                rev_axes.append(axis)
            else:
                starts.append(start)
                limits.append(max(start, stop))
                strides.append(stride)
    return _StaticSlice(tuple(starts), tuple(limits),
                        None if all(s == 1 for s in strides) else tuple(strides),
                        tuple(rev_axes), tuple(squeeze_axes), tuple(newaxis_dims))


def _apply_static_slice(arr: Array, plan: _StaticSlice) -> Array:
    trivial = plan.strides is None and len(plan.start_indices) == arr.ndim and all(
        (s, e) == (0, n) for s, e, n in zip(plan.start_indices, plan.limit_indices, arr.shape,
                                            strict=True))
    result = arr if trivial else lax.slice(arr, plan.start_indices, plan.limit_indices,
                                           plan.strides)
    return _finish_slice(result, plan.rev_axes, plan.squeeze_axes, plan.newaxis_dims)


def _finish_slice(
    result: Array, rev_axes: Sequence[int], squeeze_axes: Sequence[int],
    newaxis_dims: Sequence[int],
) -> Array:
    if rev_axes:
        result = lax.rev(result, tuple(rev_axes))
    if squeeze_axes:
        result = lax.squeeze(result, tuple(squeeze_axes))
    if newaxis_dims:
        result = lax.expand_dims(result, tuple(newaxis_dims))
    return result


# ---------------------------------------------------------------------------------------------
# Dynamic slices: scalar (possibly traced) integers, unit-step slices, None and Ellipsis


@dataclass(frozen=True, slots=True)
class _DynamicSlice:
    start_indices: tuple[ArrayLike, ...]
    slice_sizes: tuple[int, ...]
    rev_axes: tuple[int, ...]
    squeeze_axes: tuple[int, ...]
    newaxis_dims: tuple[int, ...]
    trivial: bool


def to_dynamic_slice(indexer: NDIndexer, mode: Mode) -> _DynamicSlice:
    """The index as one ``dynamic_slice``; TypeError/ValueError if it is not one."""
    if mode is not None and _parse_mode(mode) not in (
            GatherScatterMode.PROMISE_IN_BOUNDS, GatherScatterMode.CLIP):
        raise ValueError("dynamic_slice requires mode='promise_in_bounds' or mode='clip'")
    for pos, p in enumerate(indexer.indices):
        if p.typ is IndexType.SLICE and p.index.step not in (None, 1, -1):
            raise TypeError("dynamic_slice: only unit steps supported in slice."
                            f" Got {p.index} at position {pos}")
        if p.typ is IndexType.ARRAY and (isinstance(p.index, Sequence) or np.shape(p.index)):
            raise TypeError("dynamic_slice: only scalar indices allowed."
                            f" Got index of type {type(p.index)} at position {pos}")
        if p.typ is IndexType.BOOLEAN:
            raise TypeError("dynamic_slice: indices must be scalars or slices."
                            f" Got index of type {type(p.index)} at position {pos}")
    starts: list[ArrayLike] = []
    sizes: list[int] = []
    rev_axes: list[int] = []
    squeeze_axes: list[int] = []
    newaxis_dims: list[int] = []
    trivial = True
    for p in indexer.expand_ellipses().indices:
        if p.typ is IndexType.NONE:
            newaxis_dims.append(len(starts) - len(squeeze_axes) + len(newaxis_dims))
        elif p.typ in (IndexType.INTEGER, IndexType.ARRAY):
            trivial = False
            (axis,) = p.consumed_axes
            if indexer.shape[axis] == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            starts.append(as_array(p.index))
            sizes.append(1)
            squeeze_axes.append(axis)
        else:
            if p.index != slice(None):
                trivial = False
            (axis,) = p.consumed_axes
            size = indexer.shape[axis]
            start, stop, stride = p.index.indices(size)
            if stride < 0:
                new_start = stop + 1 + abs(start - stop - 1) % abs(stride)
                starts.append(new_start)
                sizes.append(max(0, start + 1 - new_start))
                rev_axes.append(axis)
            else:
                starts.append(start)
                sizes.append(max(0, stop - start))
    if len(starts) > 1:
        starts = [convert(i, dtypes.int32) for i in starts]
    return _DynamicSlice(tuple(starts), tuple(sizes), tuple(rev_axes), tuple(squeeze_axes),
                         tuple(newaxis_dims), trivial)


def _apply_dynamic_slice(arr: Array, plan: _DynamicSlice, normalize: bool) -> Array:
    result = arr if plan.trivial else lax.dynamic_slice(
        arr, plan.start_indices, plan.slice_sizes, allow_negative_indices=normalize)
    return _finish_slice(result, plan.rev_axes, plan.squeeze_axes, plan.newaxis_dims)


# ---------------------------------------------------------------------------------------------
# Gathers: everything else


@dataclass(slots=True)
class GatherPlan:
    """A numpy index as one XLA gather, plus the reversals and new axes around it."""

    slice_shape: list[int] = field(default_factory=list)  # the shape of ``x[idx]`` before None
    gather_slice_shape: list[int] = field(default_factory=list)
    gather_indices: Array | None = None
    dnums: GatherDimensionNumbers | None = None
    unique_indices: bool = True
    indices_are_sorted: bool = True
    reversed_y_dims: list[int] = field(default_factory=list)
    newaxis_dims: list[int] = field(default_factory=list)
    scalar_bool_dims: list[int] = field(default_factory=list)


def index_to_gather(indexer: NDIndexer, normalize: bool = True) -> GatherPlan:
    """The gather that computes ``x[idx]`` (and whose transpose is ``x.at[idx]``'s scatter)."""
    indexer.validate_slices()
    indexer = indexer.convert_sequences_to_arrays()
    advanced_pos = [k for k, p in enumerate(indexer.indices)
                    if p.typ in (IndexType.ARRAY, IndexType.INTEGER)]
    contiguous = all(b - a == 1 for a, b in itertools.pairwise(advanced_pos))
    indexer = indexer.expand_ellipses()
    plan = GatherPlan()
    plan.scalar_bool_dims = [k for k, p in enumerate(indexer.indices)
                             if p.typ is IndexType.BOOLEAN]
    indexer = indexer.expand_scalar_bool_indices()
    if normalize:
        indexer = indexer.normalize_indices()
    advanced: list[Array] = []
    idx_advanced_axes: list[int] = []
    x_advanced_axes: list[int] = []
    if indexer.is_advanced_int_indexer():
        without_none = [(k, p) for k, p in enumerate(indexer.indices)
                        if p.typ is not IndexType.NONE]
        for j, (k, p) in enumerate(without_none):
            if p.typ in (IndexType.ARRAY, IndexType.INTEGER):
                advanced.append(as_array(p.index))
                idx_advanced_axes.append(k)
                x_advanced_axes.append(j)
    return _build_gather(indexer, plan, advanced, idx_advanced_axes, x_advanced_axes, contiguous)


def _index_dtype(shape: Sequence[int]) -> dtypes.DType:
    """int32 unless an axis is too long for it (JAX's ``int_dtype_for_shape``)."""
    if any(d >= 2**31 for d in shape):
        return dtypes.canonicalize_dtype(dtypes.int64)
    return dtypes.int32


def _build_gather(
    indexer: NDIndexer,
    plan: GatherPlan,
    advanced: list[Array],
    idx_advanced_axes: list[int],
    x_advanced_axes: list[int],
    contiguous: bool,
) -> GatherPlan:
    x_axis = y_axis = collapsed_y_axis = 0
    offset_dims: list[int] = []
    collapsed: list[int] = []
    start_index_map: list[int] = []
    index_dtype = _index_dtype(indexer.shape)
    pieces: list[tuple[Array, int]] = []  # (index array, first dim in the gather batch shape)
    batch_shape: list[int] = []
    for pos, p in enumerate(indexer.indices):
        if advanced and pos == (idx_advanced_axes[0] if contiguous else 0):
            arrays = broadcast_arrays(*advanced)
            start = len(batch_shape)
            pieces += [(convert(a, index_dtype), start) for a in arrays]
            batch_shape += arrays[0].shape
            start_index_map += x_advanced_axes
            collapsed += x_advanced_axes
            plan.slice_shape += arrays[0].shape
            y_axis += arrays[0].ndim
            collapsed_y_axis += arrays[0].ndim
        if pos in idx_advanced_axes:
            x_axis += 1
            plan.gather_slice_shape.append(1)
            continue
        if p.typ in (IndexType.INTEGER, IndexType.ARRAY) and np.ndim(p.index) == 0:
            if indexer.shape[x_axis] == 0:
                raise IndexError(f"index is out of bounds for axis {x_axis} with size 0")
            pieces.append((convert(p.index, index_dtype), len(batch_shape)))
            collapsed.append(x_axis)
            plan.gather_slice_shape.append(1)
            start_index_map.append(x_axis)
            x_axis += 1
        elif p.typ is IndexType.NONE:
            plan.slice_shape.append(1)
            plan.newaxis_dims.append(y_axis)
            y_axis += 1
        elif p.typ is IndexType.SLICE:
            size = indexer.shape[x_axis]
            start, stop, step = p.index.indices(size)
            n = len(range(start, stop, step))
            plan.slice_shape.append(n)
            if step == 1:
                if n != size:
                    pieces.append((constant(start, index_dtype), len(batch_shape)))
                    start_index_map.append(x_axis)
                plan.gather_slice_shape.append(n)
                offset_dims.append(collapsed_y_axis)
            else:
                ramp = lax.mul(constant(step, index_dtype), lax.iota(index_dtype, n))
                indices = lax.add(constant(start, index_dtype), ramp)
                if step < 0:
                    plan.reversed_y_dims.append(collapsed_y_axis)
                    indices = lax.rev(indices, (0,))
                plan.gather_slice_shape.append(1)
                pieces.append((indices, len(batch_shape)))
                start_index_map.append(x_axis)
                batch_shape.append(n)
                collapsed.append(x_axis)
            collapsed_y_axis += 1
            y_axis += 1
            x_axis += 1
        else:
            raise IndexError(f"Got unsupported indexer at position {pos}: {p!r}")
    plan.gather_indices = _stack_indices(pieces, batch_shape, index_dtype)
    plan.dnums = GatherDimensionNumbers(
        offset_dims=tuple(offset_dims),
        collapsed_slice_dims=tuple(sorted(collapsed)),
        start_index_map=tuple(start_index_map),
    )
    plan.unique_indices = plan.indices_are_sorted = not advanced
    return plan


def _stack_indices(
    pieces: list[tuple[Array, int]], batch_shape: list[int], index_dtype: dtypes.DType
) -> Array:
    """The index arrays broadcast to the batch shape and stacked along a new last axis."""
    if not pieces:
        return constant(np.zeros((0,)), index_dtype)
    if len(pieces) == 1:
        g, _ = pieces[0]
        return lax.expand_dims(g, (g.ndim,))
    shape = (*batch_shape, 1)
    parts = [lax.broadcast_in_dim(g, shape, tuple(range(i, i + g.ndim))) for g, i in pieces]
    return lax.concatenate(parts, len(batch_shape))


# ---------------------------------------------------------------------------------------------
# x[idx]


def rewriting_take(
    arr: ArrayLike,
    idx: Index,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: Mode = None,
    fill_value: ArrayLike | None = None,
    normalize_indices: bool = True,
) -> Array:
    """``arr[idx]``: a static slice if possible, else a dynamic slice, else a gather."""
    x = as_array(arr)
    indexer = NDIndexer.from_raw(idx, x.shape)
    try:
        static = to_static_slice(indexer, normalize_indices, mode)
    except (TypeError, ValueError, IndexError):
        pass
    else:
        return _apply_static_slice(x, static)
    try:
        dynamic = to_dynamic_slice(indexer, mode)
    except (TypeError, ValueError, IndexError):
        pass
    else:
        return _apply_dynamic_slice(x, dynamic, normalize_indices)
    plan = index_to_gather(indexer.expand_bool_indices(), normalize_indices)
    return _gather(x, plan, indices_are_sorted, unique_indices, mode, fill_value)


def _gather(
    x: Array,
    plan: GatherPlan,
    indices_are_sorted: bool,
    unique_indices: bool,
    mode: Mode,
    fill_value: ArrayLike | None,
) -> Array:
    fill = _static_fill_value(fill_value)
    y = x
    if plan.scalar_bool_dims:
        y = lax.expand_dims(y, tuple(plan.scalar_bool_dims))
    if 0 in plan.slice_shape:
        zero = constant(0, y.dtype, y.weak_type)
        return lax.broadcast_in_dim(zero, tuple(plan.slice_shape), ())
    assert plan.gather_indices is not None and plan.dnums is not None
    if plan.gather_indices.size:
        y = lax.gather(
            y, plan.gather_indices, plan.dnums, tuple(plan.gather_slice_shape),
            unique_indices=unique_indices or plan.unique_indices,
            indices_are_sorted=indices_are_sorted or plan.indices_are_sorted,
            mode=mode, fill_value=fill,
        )
    if plan.reversed_y_dims:
        y = lax.rev(y, tuple(plan.reversed_y_dims))
    return lax.expand_dims(y, tuple(plan.newaxis_dims)) if plan.newaxis_dims else y


def _static_fill_value(fill_value: ArrayLike | None) -> Any:
    if fill_value is None:
        return None
    if not is_concrete(fill_value):
        from refjax.interp.core import concrete_or_error

        concrete_or_error(fill_value, "fill_value argument to indexed get()")
    if np.ndim(fill_value) != 0:
        raise ValueError("fill_value argument to indexed get() must be a scalar")
    value = np.asarray(fill_value)
    return value.item() if isinstance(fill_value, (np.ndarray, Array)) else fill_value


def getitem(x: ArrayLike, idx: Index) -> Array:
    """``x[idx]`` with numpy's basic and advanced indexing."""
    return rewriting_take(x, idx)


# ---------------------------------------------------------------------------------------------
# x.at[idx].op(y): scatters

ScatterOp: TypeAlias = Callable[..., Array]


def scatter_update(
    x: ArrayLike,
    idx: Index,
    y: ArrayLike,
    scatter_op: ScatterOp,
    indices_are_sorted: bool,
    unique_indices: bool,
    mode: Mode = None,
    normalize_indices: bool = True,
) -> Array:
    """The value ``x`` would have after ``x[idx] op= y`` (JAX's ``_scatter_update``)."""
    arr = as_array(x)
    values: Array
    if (isinstance(y, int) and not isinstance(y, bool) and dtypes.is_integer(arr.dtype)
            and np.iinfo(arr.dtype).min <= y <= np.iinfo(arr.dtype).max):
        values = constant(y, arr.dtype)
    else:
        from refjax.numpy.creation import asarray

        values = asarray(y)
    indexer = NDIndexer.from_raw(idx, arr.shape).expand_bool_indices()
    dtype, weak = arr.dtype, arr.weak_type
    plan = index_to_gather(indexer, normalize_indices)
    if 0 in plan.slice_shape:
        return arr
    arr, values = promote_dtypes(arr, values)
    values = broadcast_to(values, tuple(plan.slice_shape))
    if plan.newaxis_dims:
        values = lax.squeeze(values, tuple(plan.newaxis_dims))
    if plan.reversed_y_dims:
        values = lax.rev(values, tuple(plan.reversed_y_dims))
    if plan.scalar_bool_dims:
        arr = lax.expand_dims(arr, tuple(plan.scalar_bool_dims))
    assert plan.dnums is not None and plan.gather_indices is not None
    dnums = ScatterDimensionNumbers(
        update_window_dims=plan.dnums.offset_dims,
        inserted_window_dims=plan.dnums.collapsed_slice_dims,
        scatter_dims_to_operand_dims=plan.dnums.start_index_map,
        operand_batching_dims=plan.dnums.operand_batching_dims,
        scatter_indices_batching_dims=plan.dnums.start_indices_batching_dims,
    )
    out = scatter_op(
        arr, plan.gather_indices, values, dnums,
        indices_are_sorted=plan.indices_are_sorted or indices_are_sorted,
        unique_indices=plan.unique_indices or unique_indices,
        mode=GatherScatterMode.FILL_OR_DROP if mode is None else mode,
    )
    if plan.scalar_bool_dims:
        out = lax.squeeze(out, tuple(plan.scalar_bool_dims))
    return convert(out, dtype, weak)


class IndexUpdateHelper:
    """``x.at``: indexing it gives an :class:`IndexUpdateRef` for functional updates."""

    __slots__ = ("array",)

    def __init__(self, array: Array) -> None:
        self.array = array

    def __getitem__(self, index: Index) -> IndexUpdateRef:
        return IndexUpdateRef(self.array, index)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.array!r})"


class IndexUpdateRef:
    """``x.at[idx]``: ``get``, ``set``, ``add``, ``multiply``, ``min``, ``max`` ... at ``idx``."""

    __slots__ = ("array", "index")

    def __init__(self, array: Array, index: Index) -> None:
        self.array = array
        self.index = index

    def __repr__(self) -> str:
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(
        self,
        *,
        indices_are_sorted: bool = False,
        unique_indices: bool = False,
        mode: Mode = None,
        fill_value: ArrayLike | None = None,
        wrap_negative_indices: bool = True,
    ) -> Array:
        """``x[idx]``, with control over out-of-range indices (``mode``, ``fill_value``)."""
        return rewriting_take(self.array, self.index, indices_are_sorted=indices_are_sorted,
                              unique_indices=unique_indices, mode=mode, fill_value=fill_value,
                              normalize_indices=wrap_negative_indices)

    def _update(self, op: ScatterOp, values: ArrayLike, indices_are_sorted: bool,
                unique_indices: bool, mode: Mode, wrap_negative_indices: bool) -> Array:
        return scatter_update(self.array, self.index, values, op, indices_are_sorted,
                              unique_indices, mode, wrap_negative_indices)

    def set(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] = values``."""
        return self._update(lax.scatter, values, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)

    def add(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] += values`` (repeated indices accumulate)."""
        return self._update(lax.scatter_add, values, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)

    def subtract(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] -= values``."""
        return self._update(lax.scatter_sub, values, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)

    def multiply(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] *= values``."""
        return self._update(lax.scatter_mul, values, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)

    mul = multiply

    def divide(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] /= values``."""
        from refjax.numpy import ufuncs
        from refjax.numpy.creation import ones_like

        scale = scatter_update(ones_like(self.array), self.index, values, lax.scatter_mul,
                               indices_are_sorted, unique_indices, mode, wrap_negative_indices)
        return ufuncs.divide(self.array, scale)

    def power(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] **= values``."""
        from refjax.numpy import ufuncs
        from refjax.numpy.creation import ones_like

        exponent = scatter_update(ones_like(self.array), self.index, values, lax.scatter_mul,
                                  indices_are_sorted, unique_indices, mode,
                                  wrap_negative_indices)
        return ufuncs.power(self.array, exponent)

    def min(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] = minimum(x[idx], values)``."""
        return self._update(lax.scatter_min, values, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)

    def max(
        self, values: ArrayLike, *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] = maximum(x[idx], values)``."""
        return self._update(lax.scatter_max, values, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)

    def apply(
        self, func: Callable[[Array], Array], *, indices_are_sorted: bool = False,
        unique_indices: bool = False, mode: Mode = None, wrap_negative_indices: bool = True,
    ) -> Array:
        """``x`` with ``x[idx] = func(x[idx])`` (``func`` must be elementwise)."""
        current = self.get(indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                           mode=mode, wrap_negative_indices=wrap_negative_indices)
        return self.set(func(current), indices_are_sorted=indices_are_sorted,
                        unique_indices=unique_indices, mode=mode,
                        wrap_negative_indices=wrap_negative_indices)


# ---------------------------------------------------------------------------------------------
# take and take_along_axis


def take(
    a: ArrayLike,
    indices: ArrayLike,
    axis: int | None = None,
    out: None = None,
    mode: str | None = None,
    unique_indices: bool = False,
    indices_are_sorted: bool = False,
    fill_value: Any = None,
) -> Array:
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array if None)."""
    return _take(a, indices, None if axis is None else operator.index(axis), out, mode,
                 unique_indices=unique_indices, indices_are_sorted=indices_are_sorted,
                 fill_value=fill_value)


@library_jit(static_argnames=("axis", "mode", "unique_indices", "indices_are_sorted",
                              "fill_value"))
def _take(
    a: ArrayLike,
    indices: ArrayLike,
    axis: int | None = None,
    out: None = None,
    mode: str | None = None,
    unique_indices: bool = False,
    indices_are_sorted: bool = False,
    fill_value: Any = None,
) -> Array:
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.take is not supported.")
    arr, idx = ensure_arraylike("take", a, indices)
    from refjax.numpy import ufuncs
    from refjax.numpy.manipulation import ravel

    if axis is None:
        arr, ax = ravel(arr), 0
    else:
        ax = canonicalize_axis(axis, arr.ndim)
    if mode is None or mode == "fill":
        gather_mode = GatherScatterMode.FILL_OR_DROP
        idx = where_(ufuncs.less(idx, 0), ufuncs.add(idx, arr.shape[ax]), idx)
    elif mode == "raise":
        raise NotImplementedError("The 'raise' mode to jnp.take is not supported.")
    elif mode == "wrap":
        idx = ufuncs.mod(idx, constant(arr.shape[ax], idx.dtype))
        gather_mode = GatherScatterMode.PROMISE_IN_BOUNDS
    elif mode == "clip":
        gather_mode = GatherScatterMode.CLIP
    else:
        raise ValueError(f"Invalid mode '{mode}' for np.take")
    slice_sizes = list(arr.shape)
    if slice_sizes[ax] == 0:
        if idx.size != 0:
            raise IndexError("Cannot do a non-empty jnp.take() from an empty axis.")
        return arr
    if idx.size == 0:
        out_shape = (*arr.shape[:ax], *idx.shape, *arr.shape[ax + 1:])
        zero = constant(0, arr.dtype, arr.weak_type)
        return lax.broadcast_in_dim(zero, out_shape, ())
    slice_sizes[ax] = 1
    index_dims = idx.ndim
    dnums = GatherDimensionNumbers(
        offset_dims=(*range(ax), *range(ax + index_dims, arr.ndim + index_dims - 1)),
        collapsed_slice_dims=(ax,),
        start_index_map=(ax,),
    )
    return lax.gather(arr, lax.expand_dims(idx, (idx.ndim,)), dnums, tuple(slice_sizes),
                      mode=gather_mode, unique_indices=unique_indices,
                      indices_are_sorted=indices_are_sorted, fill_value=fill_value)


def _take_along_axis(
    arr: ArrayLike,
    indices: ArrayLike,
    axis: int | None = -1,
    mode: Mode = None,
    fill_value: Any = None,
) -> Array:
    """``arr`` gathered at ``indices`` along ``axis``, matching the other axes elementwise."""
    a, idx = ensure_arraylike("take_along_axis", arr, indices)
    if not dtypes.is_integer(idx.dtype):
        raise TypeError(f"take_along_axis indices must be of integer type, got {idx.dtype}")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"take_along_axis indices must be 1D if axis=None, got shape "
                             f"{idx.shape}")
        from refjax.numpy.manipulation import ravel

        a, axis = ravel(a), 0
    if a.ndim != idx.ndim:
        raise ValueError("indices and arr must have the same number of dimensions; "
                         f"{idx.ndim} vs. {a.ndim}")
    ax = canonicalize_axis(axis, a.ndim)
    arr_shape = tuple(1 if i == ax else d for i, d in enumerate(a.shape))
    out_shape = tuple(np.broadcast_shapes(idx.shape, arr_shape))
    if a.shape[ax] == 0:
        return lax.broadcast_in_dim(constant(0, a.dtype), out_shape, ())
    if mode != "promise_in_bounds":
        idx = _normalize_array_index(idx, a.shape[ax])
    return _gather_along_axis(a, idx, ax, arr_shape, out_shape, mode, fill_value)


# (the function unstaged: for library code that gathers inside its own body, as JAX's does)
take_along_axis = library_jit(
    static_argnames=("axis", "mode", "fill_value", "wrap_negative_indices"),
    name="take_along_axis",
)(_take_along_axis)


def _gather_along_axis(
    a: Array, idx: Array, ax: int, arr_shape: tuple[int, ...], out_shape: tuple[int, ...],
    mode: Mode, fill_value: Any,
) -> Array:
    """The batched gather of ``take_along_axis``: other axes are batch dims or broadcast."""
    index_dims = [i for i, d in enumerate(idx.shape) if i == ax or d != 1]
    gather_index_shape = (*(out_shape[i] for i in index_dims), 1)
    gather_indices = lax.reshape(idx, gather_index_shape)
    slice_sizes: list[int] = []
    offset_dims: list[int] = []
    start_index_map: list[int] = []
    collapsed: list[int] = []
    operand_batching: list[int] = []
    indices_batching: list[int] = []
    to_squeeze: list[int] = []
    new_i = j = 0
    for i in range(a.ndim):
        if i == ax:
            slice_sizes.append(1)
            start_index_map.append(new_i)
            collapsed.append(new_i)
            new_i += 1
            j += 1
        elif idx.shape[i] == 1:
            offset_dims.append(i)
            slice_sizes.append(arr_shape[i])
            new_i += 1
        elif arr_shape[i] == 1:
            to_squeeze.append(i)
            j += 1
        else:
            slice_sizes.append(0 if arr_shape[i] == 0 else 1)
            operand_batching.append(new_i)
            indices_batching.append(j)
            new_i += 1
            j += 1
    a = lax.squeeze(a, tuple(to_squeeze)) if to_squeeze else a
    dnums = GatherDimensionNumbers(
        offset_dims=tuple(offset_dims),
        collapsed_slice_dims=tuple(collapsed),
        start_index_map=tuple(start_index_map),
        operand_batching_dims=tuple(operand_batching),
        start_indices_batching_dims=tuple(indices_batching),
    )
    return lax.gather(a, gather_indices, dnums, tuple(slice_sizes),
                      mode="fill" if mode is None else mode, fill_value=fill_value)
