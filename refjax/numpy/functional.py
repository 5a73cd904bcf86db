"""Applying Python functions over arrays in ``jax.numpy``: ``vectorize`` (numpy's, with
generalized-ufunc signatures), ``apply_along_axis``, ``apply_over_axes``, ``piecewise``,
``fromfunction`` and ``frompyfunc`` (a :class:`ufunc` with ``reduce``, ``accumulate``,
``outer``, ``at`` and ``reduceat``).

JAX builds these on ``vmap``. ``refjax.numpy`` sits below ``refjax.api``, so :func:`_vmap` here
maps with the interpreter's entry point (``interp.batching.vmap_flat``) directly, as the
library's own batching rules do.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax, tree_util
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import bdim_at, vmap_flat
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.interp.staging import debug_info, trace_to_jaxpr
from refjax.numpy import ufuncs
from refjax.numpy._util import (
    as_array,
    broadcast_shapes,
    broadcast_to,
    canonicalize_shape,
    check_arraylike,
    ensure_arraylike,
    where_,
)
from refjax.numpy.creation import arange, array, asarray, zeros_like
from refjax.numpy.indexing import take, to_index_tuple
from refjax.numpy.manipulation import append, concatenate, expand_dims, squeeze
from refjax.numpy.reductions import argmax, cumsum
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant
from refjax.util import canonicalize_axis

__all__ = [
    "apply_along_axis",
    "apply_over_axes",
    "frompyfunc",
    "fromfunction",
    "piecewise",
    "ufunc",
    "vectorize",
]

Axis = int | None


# ---------------------------------------------------------------------------------------------
# vmap, from the interpreter's entry point


def _vmap(fun: Callable[..., Any], in_axes: Axis | tuple[Axis, ...] = 0,
          out_axes: int = 0) -> Callable[..., Any]:
    """``jax.vmap(fun, in_axes, out_axes)`` for array arguments: each positional argument
    mapped along its entry of ``in_axes`` (None: not mapped), keyword arguments along axis 0,
    every output leaf stacked at ``out_axes``."""

    @functools.wraps(fun)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(
                "vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
                f"positional arguments passed to the function, but got len(in_axes)="
                f"{len(axes)}, len(args)={len(args)}")
        flat_kw, kw_tree = tree_util.tree_flatten(kwargs)
        values = [as_array(a) for a in (*args, *flat_kw)]
        dims: list[Axis] = [*axes, *([0] * len(flat_kw))]
        sizes = {v.shape[d] for v, d in zip(values, dims, strict=True) if d is not None}
        if not sizes:
            raise ValueError("vmap must have at least one non-None value in in_axes")
        if len(sizes) > 1:
            raise ValueError("vmap got inconsistent sizes for array axes to be mapped")
        size = sizes.pop()
        out_trees: list[tree_util.PyTreeDef] = []

        def flat_fun(*leaves: ArrayLike) -> list[ArrayLike]:
            kw = tree_util.tree_unflatten(kw_tree, list(leaves[len(args):]))
            out, tree = tree_util.tree_flatten(fun(*leaves[:len(args)], **kw))
            out_trees.append(tree)
            return out

        pairs = vmap_flat(flat_fun, values, dims, size)
        outs = [bdim_at(v, d, size, out_axes) for v, d in pairs]
        return tree_util.tree_unflatten(out_trees[0], outs)

    return mapped


# ---------------------------------------------------------------------------------------------
# vectorize

_DIMENSION_NAME = r"\w+"
_CORE_DIMENSION_LIST = f"(?:{_DIMENSION_NAME}(?:,{_DIMENSION_NAME})*)?"
_ARGUMENT = rf"\({_CORE_DIMENSION_LIST}\)"
_ARGUMENT_LIST = f"{_ARGUMENT}(?:,{_ARGUMENT})*"
_SIGNATURE = f"^{_ARGUMENT_LIST}->{_ARGUMENT_LIST}$"

CoreDims = tuple[str, ...]


def _parse_signature(signature: str) -> tuple[list[CoreDims], list[CoreDims]]:
    """The core dimensions of each input and each output of a gufunc signature."""
    if not re.match(_SIGNATURE, signature):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    ins, outs = ([tuple(re.findall(_DIMENSION_NAME, arg)) for arg in re.findall(_ARGUMENT, part)]
                 for part in signature.split("->"))
    return ins, outs


def _update_dim_sizes(sizes: dict[str, int], shape: tuple[int, ...], core_dims: CoreDims,
                      context: str, *, is_input: bool) -> None:
    """Record (or check) the sizes of ``core_dims``, the trailing axes of ``shape``."""
    n = len(core_dims)
    if is_input:
        if len(shape) < n:
            raise ValueError(f"input with shape {shape!r} does not have enough dimensions for "
                             f"all core dimensions {core_dims!r} {context}")
    elif len(shape) != n:
        raise ValueError(f"output shape {shape!r} does not match core dimensions "
                         f"{core_dims!r} {context}")
    core_shape = shape[-n:] if core_dims else ()
    for dim, size in zip(core_dims, core_shape, strict=True):
        if dim not in sizes:
            sizes[dim] = size
        elif size != sizes[dim]:
            raise ValueError(f"inconsistent size for core dimension {dim!r}: {size!r} vs "
                             f"{sizes[dim]!r} {context}")


def _loop_shape(args: Sequence[Array], input_core_dims: list[CoreDims],
                context: str) -> tuple[tuple[int, ...], dict[str, int]]:
    """The broadcast shape of the arguments' loop (non-core) axes, and the core sizes."""
    if len(args) != len(input_core_dims):
        raise TypeError(f"wrong number of positional arguments: expected "
                        f"{len(input_core_dims)!r}, got {len(args)!r} {context}")
    shapes: list[tuple[int, ...]] = []
    sizes: dict[str, int] = {}
    for arg, core in zip(args, input_core_dims, strict=True):
        _update_dim_sizes(sizes, arg.shape, core, context, is_input=True)
        shapes.append(arg.shape[:arg.ndim - len(core)])
    return _lax_broadcast_shapes(*shapes), sizes


def _lax_broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """``lax.broadcast_shapes``: numpy's broadcasting, with JAX's error text."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={list(shapes)}") from None


def _check_output_dims(func: Callable[..., Any], sizes: dict[str, int],
                       output_core_dims: list[CoreDims], context: str) -> Callable[..., Any]:
    """``func`` with a check that its outputs have the signature's core dimensions."""

    def wrapped(*args: Any) -> Any:
        out = func(*args)
        out_shapes = [np.shape(o) for o in (out if isinstance(out, tuple) else [out])]
        if len(output_core_dims) > 1 and not isinstance(out, tuple):
            raise TypeError("output must be a tuple when multiple outputs are expected, "
                            f"got: {out!r}\n{context}")
        if len(out_shapes) != len(output_core_dims):
            raise TypeError(f"wrong number of output arguments: expected "
                            f"{len(output_core_dims)!r}, got {len(out_shapes)!r} {context}")
        known = dict(sizes)
        for shape, core in zip(out_shapes, output_core_dims, strict=True):
            _update_dim_sizes(known, shape, core, context, is_input=False)
        return out

    return wrapped


def _apply_excluded(func: Callable[..., Any], excluded: Collection[int | str],
                    args: Sequence[Any], kwargs: dict[str, Any]
                    ) -> tuple[Callable[..., Any], list[Any], dict[str, Any]]:
    """``func`` with its excluded arguments bound, and the remaining arguments."""
    if not excluded:
        return func, list(args), kwargs
    dynamic = [a for i, a in enumerate(args) if i not in excluded]
    dynamic_kw = {k: v for k, v in kwargs.items() if k not in excluded}
    static = [(i, args[i]) for i in sorted(e for e in excluded if isinstance(e, int))
              if i < len(args)]
    static_kw = {k: v for k, v in kwargs.items() if k in excluded}

    def bound(*a: Any, **kw: Any) -> Any:
        full = list(a)
        for i, arg in static:
            full.insert(i, arg)
        return func(*full, **kw, **static_kw)

    return bound, dynamic, dynamic_kw


def vectorize(pyfunc: Callable[..., Any], *, excluded: Collection[int | str] = frozenset(),
              signature: str | None = None) -> Callable[..., Any]:
    """``pyfunc`` (written for scalars, or for the core dimensions of ``signature``, e.g.
    ``'(n),(n)->()'``) mapped over the broadcast leading axes of its arguments; the arguments
    in ``excluded`` (positions or names) are passed through unmapped."""
    if any(not isinstance(e, (str, int)) for e in excluded):
        raise TypeError("jax.numpy.vectorize can only exclude integer or string arguments, "
                        f"but excluded={excluded!r}")
    if any(isinstance(e, int) and e < 0 for e in excluded):
        raise ValueError(f"excluded={excluded!r} contains negative numbers")

    @functools.wraps(pyfunc)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        context = f"on vectorized function with excluded={excluded!r} and signature={signature!r}"
        func, dyn, _ = _apply_excluded(pyfunc, excluded, args, kwargs)
        input_core_dims: list[CoreDims]
        output_core_dims: list[CoreDims] | None
        if signature is not None:
            input_core_dims, output_core_dims = _parse_signature(signature)
        else:
            input_core_dims, output_core_dims = [()] * len(dyn), None
        none_args = {i for i, a in enumerate(dyn) if a is None}
        if any(none_args):  # (as JAX: a None first argument is not caught here)
            if any(input_core_dims[i] != () for i in none_args):
                raise ValueError(f"Cannot pass None at locations {none_args} with {signature=}")
            func, dyn, _ = _apply_excluded(func, none_args, dyn, {})
            input_core_dims = [d for i, d in enumerate(input_core_dims) if i not in none_args]
        arrays = [asarray(a) for a in dyn]
        loop_shape, sizes = _loop_shape(arrays, input_core_dims, context)
        checked = (func if output_core_dims is None
                   else _check_output_dims(func, sizes, output_core_dims, context))
        # Broadcasting by vmap: each loop axis is mapped only for the arguments that have it
        # at more than size 1, and an axis no argument has is added to the result at the end.
        squeezed: list[Array] = []
        reversed_shapes: list[tuple[int, ...]] = []
        for arg, core in zip(arrays, input_core_dims, strict=True):
            loop = arg.shape[:arg.ndim - len(core)]
            filled = (1,) * (len(loop_shape) - len(loop)) + loop
            reversed_shapes.append(filled[::-1])
            squeezed.append(squeeze(arg, tuple(i for i, n in enumerate(loop) if n == 1)))
        mapped = checked
        expand: list[int] = []
        for negdim, axis_sizes in enumerate(zip(*reversed_shapes, strict=True)):
            axes = tuple(None if n == 1 else 0 for n in axis_sizes)
            if all(a is None for a in axes):
                expand.append(len(loop_shape) - 1 - negdim)
            else:
                mapped = _vmap(mapped, axes)
        result = mapped(*squeezed)
        if not expand:
            return result
        if isinstance(result, tuple):
            return tuple(expand_dims(r, expand) for r in result)
        return expand_dims(result, expand)

    return wrapped


# ---------------------------------------------------------------------------------------------
# Functions along axes, piecewise functions, arrays from functions


def apply_along_axis(func1d: Callable[..., Any], axis: int, arr: ArrayLike, *args: Any,
                     **kwargs: Any) -> Array:
    """``func1d`` applied to each 1-D slice of ``arr`` along ``axis``; its outputs take that
    axis's place."""
    check_arraylike("apply_along_axis", arr)
    ndim = np.ndim(arr)
    axis = canonicalize_axis(axis, ndim)

    def func(a: Array) -> Any:
        return func1d(a, *args, **kwargs)

    mapped: Callable[..., Any] = func
    for i in range(1, ndim - axis):
        mapped = _vmap(mapped, in_axes=i, out_axes=-1)
    for _ in range(axis):
        mapped = _vmap(mapped, in_axes=0, out_axes=0)
    out: Array = mapped(arr)
    return out


def apply_over_axes(func: Callable[[ArrayLike, int], Array], a: ArrayLike,
                    axes: Sequence[int]) -> Array:
    """``func(a, axis)`` applied for each axis in turn, each result keeping ``a``'s rank (a
    reduced axis is put back with size 1)."""
    (arr,) = ensure_arraylike("apply_over_axes", a)
    for axis in axes:
        b = func(arr, axis)
        if b.ndim == arr.ndim:
            arr = b
        elif b.ndim == arr.ndim - 1:
            arr = expand_dims(b, axis)
        else:
            raise ValueError("function is not returning an array of the correct shape")
    return arr


def piecewise(x: ArrayLike, condlist: Array | Sequence[ArrayLike],
              funclist: Sequence[ArrayLike | Callable[..., Array]], *args: Any,
              **kw: Any) -> Array:
    """Where the ``i``-th condition holds (the last that holds, if several), the ``i``-th
    function of ``x`` (or constant); elsewhere the extra last function (or 0)."""
    (arr,) = ensure_arraylike("piecewise", x)
    nc, nf = len(condlist), len(funclist)
    choices: list[ArrayLike | Callable[..., Array]]
    if nf == nc + 1:
        choices = [*funclist[-1:], *funclist[:-1]]
    elif nf == nc:
        choices = [0, *funclist]
    else:
        raise ValueError(f"with {nc} condition(s), either {nc} or {nc + 1} functions are "
                         f"expected; got {nf}")
    consts = {i: c for i, c in enumerate(choices) if not callable(c)}
    funcs = {i: f for i, f in enumerate(choices) if callable(f)}
    return _piecewise(arr, asarray(condlist, dtype=bool), consts, frozenset(funcs.items()),
                      *args, **kw)


@library_jit(static_argnames=("funcs",))
def _piecewise(x: Array, condlist: Array, consts: dict[int, ArrayLike],
               funcs: frozenset[tuple[int, Callable[..., Array]]], *args: Any,
               **kw: Any) -> Array:
    """``piecewise`` as JAX stages it: a ``switch`` on the index of the last true condition,
    vectorized over the elements."""
    by_index = dict(funcs)
    n = condlist.shape[0]
    leading = zeros_like(condlist[:1])
    index = argmax(cumsum(concatenate([leading, condlist], 0), 0), 0)
    dtype = x.dtype

    def call(f: Callable[..., Array]) -> Callable[[Array], Array]:
        return lambda v: asarray(f(v, *args, **kw)).astype(dtype)

    def const(c: ArrayLike) -> Callable[[Array], Array]:
        return lambda v: array(c, dtype=dtype)

    branches = [call(by_index[i]) if i in by_index else const(consts[i]) for i in range(n + 1)]
    out: Array = vectorize(lax.switch, excluded=(1,))(index, branches, x)
    return out


def fromfunction(function: Callable[..., Array], shape: Any, *, dtype: DTypeLike = float,
                 **kwargs: Any) -> Array:
    """``function`` called once, vectorized, on the index grids of ``shape`` (each an
    ``arange`` of ``dtype``)."""
    dims = canonicalize_shape(shape)
    mapped: Callable[..., Any] = function
    for i in range(len(dims)):
        in_axes = [0 if i == j else None for j in range(len(dims))]
        mapped = _vmap(mapped, in_axes=tuple(in_axes[::-1]))
    out: Array = mapped(*(arange(s, dtype=dtype) for s in dims), **kwargs)
    return out


# ---------------------------------------------------------------------------------------------
# ufuncs from Python functions


def _result_dtype(func: Callable[..., Any], *args: ArrayLike) -> DType:
    """The dtype of ``func`` on arrays like the scalars of ``args`` (``eval_shape``'s)."""
    avals = [ShapedArray((), get_aval(a).dtype, get_aval(a).weak_type) for a in args]
    closed = trace_to_jaxpr(lambda *xs: [func(*xs)], avals, debug_info(func, "eval_shape", []))
    return closed.out_avals[0].dtype


class ufunc:  # noqa: N801  # numpy's name
    """A universal function built from a Python function of ``nin`` scalars (``frompyfunc``):
    called elementwise on broadcast arrays (through ``vectorize``), with numpy's ``reduce``,
    ``accumulate``, ``outer``, ``at`` and ``reduceat`` for binary ones."""

    def __init__(self, func: Callable[..., Any], /, nin: int, nout: int, *,
                 name: str | None = None, nargs: int | None = None, identity: Any = None,
                 call: Callable[..., Any] | None = None, reduce: Callable[..., Any] | None = None,
                 accumulate: Callable[..., Any] | None = None,
                 at: Callable[..., Any] | None = None,
                 reduceat: Callable[..., Any] | None = None) -> None:
        self.__doc__ = func.__doc__
        self.__name__ = name or func.__name__
        self._props = (func, operator.index(nin), operator.index(nout),
                       operator.index(nargs or nin), identity)
        # (implementations that replace the generic ones; no part of the ufunc's identity)
        self._call = call
        self._reduce = reduce
        self._accumulate = accumulate
        self._at = at
        self._reduceat = reduceat

    @property
    def _func(self) -> Callable[..., Any]:
        return self._props[0]

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return self._props[1]

    @property
    def nout(self) -> int:
        """The number of outputs."""
        return self._props[2]

    @property
    def nargs(self) -> int:
        """The number of arguments."""
        return self._props[3]

    @property
    def identity(self) -> Any:
        """The value the reduction of no elements gives (None: there is none)."""
        return self._props[4]

    def _key(self) -> tuple[Any, ...]:
        return (self._func, self.__name__, self.identity, self.nin, self.nout, self.nargs)

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ufunc) and self._key() == other._key()

    def __repr__(self) -> str:
        return f"<jnp.ufunc '{self.__name__}'>"

    def __call__(self, *args: ArrayLike, out: None = None, where: None = None) -> Any:
        check_arraylike(self.__name__, *args)
        if out is not None:
            raise NotImplementedError(f"out argument of {self}")
        if where is not None:
            raise NotImplementedError(f"where argument of {self}")
        if self._call is not None:
            return self._call(*args)
        return self._call_vectorized(*args)

    @library_jit(static_argnames=("self",))
    def _call_vectorized(self, *args: ArrayLike) -> Any:
        return vectorize(self._func)(*args)

    def _binary_only(self, what: str) -> None:
        if self.nin != 2:
            raise ValueError(f"{what} only supported for binary ufuncs")
        if self.nout != 1:
            raise ValueError(f"{what} only supported for functions returning a single value")

    @library_jit(static_argnames=("self", "axis", "dtype", "out", "keepdims"))
    def reduce(self, a: ArrayLike, axis: int | None = 0, dtype: DTypeLike | None = None,
               out: None = None, keepdims: bool = False, initial: ArrayLike | None = None,
               where: ArrayLike | None = None) -> Array:
        """``a`` reduced along ``axis`` (all axes if None) by the binary function, starting from
        ``initial`` (else the identity, else the first element), over the elements ``where``
        allows."""
        check_arraylike(f"{self.__name__}.reduce", a)
        self._binary_only("reduce")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduce()")
        if initial is not None:
            check_arraylike(f"{self.__name__}.reduce", initial)
        if where is not None:
            check_arraylike(f"{self.__name__}.reduce", where)
            if self.identity is None and initial is None:
                raise ValueError(f"reduction operation {self.__name__!r} does not have an "
                                 "identity, so to use a where mask one has to specify 'initial'.")
            if get_aval(where).dtype != dtypes.bool_:
                raise ValueError(f"where argument must have dtype=bool; got "
                                 f"dtype={get_aval(where).dtype}")
        if self._reduce is not None:
            reduced: Array = self._reduce(a, axis=axis, dtype=dtype, keepdims=keepdims,
                                          initial=initial, where=where)
            return reduced
        return self._reduce_via_loop(a, axis, dtype, keepdims, initial, where)

    def _reduce_via_loop(self, a: ArrayLike, axis: int | None, dtype: DTypeLike | None,
                         keepdims: bool, initial: ArrayLike | None,
                         where: ArrayLike | None) -> Array:
        arr = as_array(a)
        start = self.identity if initial is None else initial
        out_dtype = (_result_dtype(self._func, arr, arr) if dtype is None
                     else dtypes.canonicalize_dtype(dtype))
        mask = None if where is None else broadcast_to(as_array(where), arr.shape)
        if isinstance(axis, tuple):
            raise NotImplementedError("tuple of axes")
        if axis is None:
            final_shape: tuple[int, ...] = (1,) * arr.ndim if keepdims else ()
            arr = arr.ravel()
            mask = None if mask is None else mask.ravel()
            axis = 0
        else:
            axis = canonicalize_axis(axis, arr.ndim)
            final_shape = (*arr.shape[:axis], *((1,) if keepdims else ()), *arr.shape[axis + 1:])
        if axis != 0:
            arr = lax.transpose(arr, _front(arr.ndim, axis))
            mask = None if mask is None else lax.transpose(mask, _front(mask.ndim, axis))
        if arr.shape[0] == 0:
            if start is None:
                raise ValueError(f"zero-size array to reduction operation {self.__name__} "
                                 "which has no identity")
            return lax.broadcast_in_dim(constant(start, out_dtype, False), final_shape, ())

        def body(i: Array, val: Array) -> Array:
            step = self(val, arr[i].astype(out_dtype))
            if mask is None:
                return step  # type: ignore[no-any-return]  # the function's array result
            return where_(mask[i], step, val)

        if start is None:
            first, init = 1, arr[0]
        else:
            first, init = 0, as_array(start)
        init = broadcast_to(init.astype(out_dtype), arr.shape[1:])
        result: Array = lax.fori_loop(first, arr.shape[0], body, init)
        return result.reshape(final_shape) if keepdims else result

    @library_jit(static_argnames=("self", "axis", "dtype"))
    def accumulate(self, a: ArrayLike, axis: int = 0, dtype: DTypeLike | None = None,
                   out: None = None) -> Array:
        """The running reduction of ``a`` along ``axis``."""
        self._binary_only("accumulate")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.accumulate()")
        if self._accumulate is not None:
            result: Array = self._accumulate(a, axis=axis, dtype=dtype)
            return result
        return self._accumulate_via_scan(a, axis, dtype)

    def _accumulate_via_scan(self, a: ArrayLike, axis: int, dtype: DTypeLike | None) -> Array:
        check_arraylike(f"{self.__name__}.accumulate", a)
        arr = as_array(a)
        out_dtype = (_result_dtype(self._func, arr, arr) if dtype is None
                     else dtypes.canonicalize_dtype(dtype))
        if axis is None or isinstance(axis, tuple):
            raise ValueError("accumulate does not allow multiple axes")
        axis = canonicalize_axis(axis, arr.ndim)
        if arr.size == 0:
            return lax.broadcast_in_dim(constant(0, out_dtype), arr.shape, ())
        arr = lax.transpose(arr, _front(arr.ndim, axis))

        def step(carry: tuple[Array, Array], _: None) -> tuple[tuple[Array, Array], Array]:
            i, acc = carry
            y = where_(ufuncs.equal(i, 0), arr[0].astype(out_dtype),
                       self(acc.astype(out_dtype), arr[i].astype(out_dtype)))
            return (ufuncs.add(i, 1), y), y

        start = (as_array(0), arr[0].astype(out_dtype))
        _, result = lax.scan(step, start, None, length=arr.shape[0])
        return lax.transpose(result, _back(result.ndim, axis))

    @library_jit(static_argnames=("self", "inplace"))
    def at(self, a: ArrayLike, indices: Any, b: ArrayLike | None = None, /, *,
           inplace: bool = True) -> Array:
        """``a`` with the function applied at ``indices`` (with ``b`` as its second argument),
        once per occurrence of an index (``inplace=False`` is required)."""
        if inplace:
            raise NotImplementedError(_AT_INPLACE_WARNING)
        extra = () if b is None else (b,)
        if self._at is not None:
            result: Array = self._at(a, indices, *extra)
            return result
        return self._at_via_scan(a, indices, *extra)

    def _at_via_scan(self, a: ArrayLike, indices: Any, *extra: ArrayLike) -> Array:
        check_arraylike(f"{self.__name__}.at", a, *extra)
        out_dtype = _result_dtype(self._func, a, *extra)
        arr = as_array(a).astype(out_dtype)
        others = [as_array(e).astype(out_dtype) for e in extra]
        index = to_index_tuple(indices)
        if not index:
            return arr
        shapes = [np.shape(i) for i in index if not isinstance(i, slice)]
        shape = broadcast_shapes(*shapes) if shapes else ()
        if not shape:
            updated: Array = arr.at[index].set(self(arr.at[index].get(), *others))
            return updated
        if others:
            tail = others[0].shape[len(shape):]
            others = [broadcast_to(others[0], (*shape, *tail)).reshape(math.prod(shape), *tail)]
        flat = [i if isinstance(i, slice) else broadcast_to(as_array(i), shape).ravel()
                for i in index]

        def step(carry: tuple[Array, Array], _: None) -> tuple[tuple[Array, Array], None]:
            i, acc = carry
            where = tuple(ix if isinstance(ix, slice) else ix[i] for ix in flat)
            new = acc.at[where].set(self(acc.at[where].get(), *(o[i] for o in others)))
            return (ufuncs.add(i, 1), new), None

        length = next(ix for ix in flat if not isinstance(ix, slice)).shape[0]
        (_, result), _ = lax.scan(step, (as_array(0), arr), None, length=length)
        out: Array = result
        return out

    @library_jit(static_argnames=("self", "axis", "dtype"))
    def reduceat(self, a: ArrayLike, indices: Any, axis: int = 0,
                 dtype: DTypeLike | None = None, out: None = None) -> Array:
        """The reductions of ``a`` along ``axis`` over the slices ``indices[i]:indices[i+1]``
        (just ``a[indices[i]]`` where that slice is empty)."""
        self._binary_only("reduceat")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduceat()")
        if self._reduceat is not None:
            result: Array = self._reduceat(a, indices, axis=axis, dtype=dtype)
            return result
        return self._reduceat_via_loop(a, indices, axis)

    def _reduceat_via_loop(self, a: ArrayLike, indices: Any, axis: int | None) -> Array:
        check_arraylike(f"{self.__name__}.reduceat", a, indices)
        arr = as_array(a)
        (index,) = to_index_tuple(indices)
        index = as_array(index)
        if arr.ndim == 0:
            raise ValueError(f"reduceat: a must have 1 or more dimension, got a.shape={arr.shape}")
        if index.ndim != 1:
            raise ValueError(f"reduceat: indices must be one-dimensional, got "
                             f"indices.shape={index.shape}")
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("reduceat requires a single integer axis.")
        axis = canonicalize_axis(axis, arr.ndim)
        result = take(arr, index, axis=axis)
        bounds = lax.expand_dims(append(index, arr.shape[axis]),
                                 [d for d in range(result.ndim) if d != axis])
        lo = lax.slice_in_dim(bounds, 0, bounds.shape[axis] - 1, axis=axis)
        hi = lax.slice_in_dim(bounds, 1, bounds.shape[axis], axis=axis)

        def body(i: Array, acc: Array) -> Array:
            inside = ufuncs.bitwise_and(ufuncs.greater(i, lo), ufuncs.less(i, hi))
            step = self(acc, take(arr, lax.expand_dims(i, (0,)), axis=axis))
            return where_(inside, step, acc)

        reduced: Array = lax.fori_loop(0, arr.shape[axis], body, result)
        return reduced

    @library_jit(static_argnames=("self",))
    def outer(self, A: ArrayLike, B: ArrayLike, /) -> Array:  # noqa: N803  # numpy's names
        """The function on every pair of an element of ``A`` and one of ``B``."""
        self._binary_only("outer")
        check_arraylike(f"{self.__name__}.outer", A, B)
        flat_a = lax.reshape(A, (np.size(A),))
        flat_b = lax.reshape(B, (np.size(B),))
        result: Array = _vmap(_vmap(self, (None, 0)), (0, None))(flat_a, flat_b)
        return result.reshape(*np.shape(A), *np.shape(B))


def _front(ndim: int, axis: int) -> tuple[int, ...]:
    """The permutation that moves ``axis`` to the front."""
    return (axis, *(d for d in range(ndim) if d != axis))


def _back(ndim: int, axis: int) -> tuple[int, ...]:
    """The permutation that moves the front axis back to ``axis``."""
    order = list(range(1, ndim))
    order.insert(axis, 0)
    return tuple(order)


_AT_INPLACE_WARNING = """\
Because JAX arrays are immutable, jnp.ufunc.at() cannot operate inplace like
np.ufunc.at(). Instead, you can pass inplace=False and capture the result; e.g.
>>> arr = jnp.add.at(arr, ind, val, inplace=False)
"""


def frompyfunc(func: Callable[..., Any], /, nin: int, nout: int, *,
               identity: Any = None) -> ufunc:
    """A :class:`ufunc` from a Python function of ``nin`` scalars returning ``nout`` values."""
    return ufunc(func, nin, nout, identity=identity)
