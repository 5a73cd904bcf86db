"""Windowed reductions: ``reduce_window`` and the primitives its derivatives need.

A windowed reduction reduces every window of ``window_dimensions`` elements of its operand, the
windows starting every ``window_strides`` elements of the operand, which is first dilated by
``base_dilation`` (holes between elements) and padded (``(low, high)`` per dim, negative to
crop); ``window_dilation`` spreads each window's elements apart. Padding and holes are skipped:
each output is the initial value combined, in row-major window order, with the window's
elements (``acc = computation(acc, x)``).

``reduce_window`` binds ``reduce_window_sum``/``max``/``min`` when the computation is
``lax.add``/``max``/``min`` and the initial value its identity, and else the generic
``reduce_window`` primitive, which holds the computation as a jaxpr. As in JAX:

- ``reduce_window_sum`` is linear; its transpose pads the cotangent (strides become interior
  padding) and sums windows of it again.
- ``reduce_window_max``/``min``'s tangent is the tangent at the position each window picks
  (the first maximum/minimum): ``select_and_gather_add``. That one is linear in its tangents
  and transposes to ``select_and_scatter_add``, which adds each window's cotangent at that
  position (and transposes back to ``select_and_gather_add``). Window dilation has no
  transpose there (JAX's NotImplementedError).
- The generic ``reduce_window`` is differentiated forward by reducing (value, tangent) pairs
  with the JVP of its computation; it has no transpose (nor has JAX's).

Batching gives every operand a window of size 1 along the batch axis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeAlias, TypeVar

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.errors import UnexpectedTracerError
from refjax.interp.batching import BatchDim, batch_size, batching_rules, bdim_at
from refjax.interp.core import (
    EVAL_TRACE,
    Array,
    ArrayLike,
    ClosedJaxpr,
    Jaxpr,
    NDArray,
    ParamValue,
    Primitive,
    ShapedArray,
    call_jaxpr,
    concrete_or_error,
    get_aval,
    is_concrete,
)
from refjax.interp.jvp import Tangent, Zero, defjvp, instantiate, jvp_jaxpr, jvp_rules
from refjax.interp.parser import register_hidden_params, register_open_jaxpr_param
from refjax.interp.staging import trace_to_jaxpr
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2, deftranspose
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives.common import flatten_operands_and_inits, standard_primitive
from refjax.primitives.convolution import (
    conv_general_vjp_lhs_padding,
    dilate_shape,
    padtype_to_pads,
)
from refjax.tree_util import PyTree, PyTreeDef, tree_flatten, tree_unflatten

__all__ = [
    "reduce_window",
    "reduce_window_max_p",
    "reduce_window_min_p",
    "reduce_window_p",
    "reduce_window_shape_tuple",
    "reduce_window_sum_p",
    "select_and_gather_add_p",
    "select_and_scatter_add_p",
]

Dims: TypeAlias = tuple[int, ...]
Padding: TypeAlias = tuple[tuple[int, int], ...]
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Shape rules


def _check_shapelike(fun_name: str, arg_name: str, obj: object, non_zero_shape: bool = False
                     ) -> None:
    """JAX's checks that ``obj`` is a tuple/list/ndarray of (positive) non-negative ints."""
    if not isinstance(obj, (tuple, list, np.ndarray)):
        raise TypeError(
            f"{fun_name} {arg_name} must be of type tuple/list/ndarray, got {type(obj)}."
        )
    if not len(obj):
        return
    if np.array(obj).ndim != 1:
        raise TypeError(f"{fun_name} {arg_name} must be 1-dimensional, got {np.array(obj).ndim}.")
    if not all(isinstance(d, (int, np.integer)) for d in obj):
        raise TypeError(
            f"{fun_name} {arg_name} must have every element be an integer type, got "
            f"{tuple(map(type, obj))}."
        )
    lower, bound = (1, "strictly positive") if non_zero_shape else (0, "nonnegative")
    if not all(d >= lower for d in obj):
        raise TypeError(f"{fun_name} {arg_name} must have every element be {bound}, got {obj}.")


def reduce_window_shape_tuple(
    operand_shape: Sequence[int],
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> Dims:
    """The output shape of a windowed reduction (dilations default to 1)."""
    if base_dilation is not None:
        operand_shape = dilate_shape(operand_shape, base_dilation)
    if window_dilation is not None:
        window_dimensions = dilate_shape(window_dimensions, window_dilation)
    if len(padding) != len(operand_shape):
        raise ValueError(
            f"safe_zip() argument 1 has length {len(padding)} but argument 0 has length "
            f"{len(operand_shape)}. All lengths: ({len(operand_shape)}, {len(padding)})"
        )
    padded = [d + lo + hi for d, (lo, hi) in zip(operand_shape, padding, strict=True)]
    return tuple(
        max((d - w) // s + 1, 0)
        for d, w, s in zip(padded, window_dimensions, window_strides, strict=True)
    )


def _common_shape(
    operand: ShapedArray,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> Dims:
    """The output shape of a windowed reduction of ``operand``, with JAX's errors."""
    _check_shapelike("reduce_window", "window_dimensions", window_dimensions, True)
    _check_shapelike("reduce_window", "window_strides", window_strides, True)
    _check_shapelike("reduce_window", "base_dilation", base_dilation)
    _check_shapelike("reduce_window", "window_dilation", window_dilation)
    if operand.ndim != len(window_dimensions):
        raise TypeError(
            "reduce_window got the wrong number of window_dimensions for operand: got operand "
            f"shape {operand.shape} with window_dimensions {window_dimensions}."
        )
    for name, value in (("window_strides", window_strides), ("base_dilation", base_dilation),
                        ("window_dilation", window_dilation)):
        if len(value) != len(window_dimensions):
            raise TypeError(
                f"reduce_window got inconsistent {name} and window_dimensions: got {name} "
                f"{value} and window_dimensions {window_dimensions}."
            )
    return reduce_window_shape_tuple(
        operand.shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )


def _chooser_rule(
    operand: ShapedArray,
    *,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> ShapedArray:
    shape = _common_shape(
        operand, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _sum_rule(
    operand: ShapedArray,
    *,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> ShapedArray:
    if not dtypes.issubdtype(operand.dtype, np.number):
        raise TypeError(
            f"operand to reduce_window_sum must have a number dtype, got {operand.dtype.name}"
        )
    return _chooser_rule(
        operand,
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
        base_dilation=base_dilation,
        window_dilation=window_dilation,
    )


reduce_window_sum_p = standard_primitive("reduce_window_sum", _sum_rule)
reduce_window_max_p = standard_primitive("reduce_window_max", _chooser_rule)
reduce_window_min_p = standard_primitive("reduce_window_min", _chooser_rule)


def _reduce_window_rule(
    *avals: ShapedArray,
    jaxpr: Jaxpr,
    consts: tuple[ArrayLike, ...],
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> list[ShapedArray]:
    """Operands then initial values in; one output per operand (never weakly typed)."""
    n = len(avals) // 2
    operands, inits = avals[:n], avals[n:]
    if any(o.dtype != i.dtype for o, i in zip(operands, inits, strict=True)):
        raise TypeError(
            "reduce_window got inconsistent dtypes for operands and init_values: got operand "
            f"dtypes {[o.dtype for o in operands]} and init_value dtypes "
            f"{[i.dtype for i in inits]}."
        )
    if any(i.ndim != 0 for i in inits):
        raise TypeError(
            "reduce_window expected init_values to be scalars but init_values have shapes "
            f"{[i.shape for i in inits]}."
        )
    shape = _common_shape(
        operands[0], window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    return [ShapedArray(shape, o.dtype, False) for o in operands]


reduce_window_p = standard_primitive("reduce_window", _reduce_window_rule, multiple_results=True)
register_open_jaxpr_param("reduce_window", "jaxpr")


# ---------------------------------------------------------------------------------------------
# The wrappers


def _ones(n: int) -> Dims:
    return (1,) * n


def _bind_window(
    prim: Primitive,
    operand: ArrayLike,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> Array:
    n = len(window_dimensions)
    return prim.bind(
        operand,
        window_dimensions=tuple(window_dimensions),
        window_strides=tuple(window_strides),
        padding=tuple((lo, hi) for lo, hi in padding),
        base_dilation=_ones(n) if base_dilation is None else tuple(base_dilation),
        window_dilation=_ones(n) if window_dilation is None else tuple(window_dilation),
    )


def reduce_window_sum(
    operand: ArrayLike,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> Array:
    """Sums over windows (integer sums wrap around)."""
    return _bind_window(reduce_window_sum_p, operand, window_dimensions, window_strides, padding,
                        base_dilation, window_dilation)


def reduce_window_max(
    operand: ArrayLike,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> Array:
    """Maxima over windows (NaN propagates; an all-padding window gives -inf or the least int)."""
    return _bind_window(reduce_window_max_p, operand, window_dimensions, window_strides, padding,
                        base_dilation, window_dilation)


def reduce_window_min(
    operand: ArrayLike,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> Array:
    """Minima over windows (NaN propagates; an all-padding window gives inf or the greatest int)."""
    return _bind_window(reduce_window_min_p, operand, window_dimensions, window_strides, padding,
                        base_dilation, window_dilation)


def max_identity(dtype: DType) -> NDArray:
    """The identity of ``max`` in ``dtype``: -inf, the least integer, or False."""
    if dtypes.issubdtype(dtype, np.inexact):
        return np.array(-np.inf, dtype)
    if dtypes.issubdtype(dtype, np.integer):
        return np.array(np.iinfo(dtype).min, dtype)
    return np.array(False, dtype)


def min_identity(dtype: DType) -> NDArray:
    """The identity of ``min`` in ``dtype``: inf, the greatest integer, or True."""
    if dtypes.issubdtype(dtype, np.inexact):
        return np.array(np.inf, dtype)
    if dtypes.issubdtype(dtype, np.integer):
        return np.array(np.iinfo(dtype).max, dtype)
    return np.array(True, dtype)


Reducer: TypeAlias = Callable[..., Array]


def _monoid_reducer(monoid_op: object, init_values: Sequence[ArrayLike]) -> Reducer | None:
    """The specialised primitive's wrapper when ``monoid_op`` is ``add``/``max``/``min`` and the
    one initial value is a known scalar equal to its identity (JAX's dispatch)."""
    if len(init_values) != 1:
        return None
    (x,) = init_values
    aval = get_aval(x)
    if not (is_concrete(x) and aval.shape == ()):
        return None
    value = concrete_or_error(x)
    if monoid_op is ew.add:
        return reduce_window_sum if bool(value == 0) else None
    if monoid_op is ew.max:
        return reduce_window_max if bool(value == max_identity(aval.dtype)) else None
    if monoid_op is ew.min:
        return reduce_window_min if bool(value == min_identity(aval.dtype)) else None
    return None


Computation: TypeAlias = Callable[[PyTree, PyTree], PyTree]


@functools.lru_cache(maxsize=256)
def _reduction_jaxpr(
    computation: Computation, avals: tuple[ShapedArray, ...], tree: PyTreeDef
) -> tuple[Jaxpr, tuple[ArrayLike, ...], PyTreeDef]:
    """``computation(xs, ys)`` traced on two trees of scalars of ``avals``: the open jaxpr, its
    constants, and the tree of its output."""
    out_trees: list[PyTreeDef] = []
    n = len(avals)

    def flat_computation(*args: ArrayLike) -> list[ArrayLike]:
        xs = tree_unflatten(tree, list(args[:n]))
        ys = tree_unflatten(tree, list(args[n:]))
        out, out_tree = tree_flatten(computation(xs, ys))
        out_trees.append(out_tree)
        return list(out)

    try:
        closed = trace_to_jaxpr(flat_computation, [*avals, *avals], parent=EVAL_TRACE)
    except UnexpectedTracerError as err:  # (the computation read a value of an outer trace)
        raise NotImplementedError(
            "Reduction computations can't close over Tracers. Please open an issue at "
            "https://github.com/jax-ml/jax."
        ) from err
    return closed.jaxpr, tuple(closed.consts), out_trees[0]


def _reduce_window(
    operand: PyTree,
    init_value: PyTree,
    computation: Computation,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int] | None,
    padding: str | Sequence[tuple[int, int]],
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> PyTree:
    flat_operands, flat_inits, operand_tree = flatten_operands_and_inits(operand, init_value)
    if not flat_operands:
        raise ValueError("reduce_window must have at least one operand.")
    if isinstance(padding, str):
        dilated = (window_dimensions if window_dilation is None
                   else dilate_shape(window_dimensions, window_dilation))
        pads = tuple(padtype_to_pads(get_aval(flat_operands[0]).shape, dilated,
                                     window_strides or [], padding))
    else:
        pads = tuple((lo, hi) for lo, hi in padding)
    n = len(window_dimensions)
    strides = _ones(n) if window_strides is None else tuple(window_strides)
    base = _ones(n) if base_dilation is None else tuple(base_dilation)
    window = _ones(n) if window_dilation is None else tuple(window_dilation)
    monoid = _monoid_reducer(computation, flat_inits)
    if monoid is not None:
        return monoid(flat_operands[0], window_dimensions, strides, pads, base, window)
    avals = tuple(get_aval(v) for v in flat_inits)
    jaxpr, consts, out_tree = _reduction_jaxpr(computation, avals, operand_tree)
    if operand_tree != out_tree:
        raise ValueError(
            "reduce_window output must have the same tree structure as the operands "
            f"{operand_tree} vs. {out_tree}"
        )
    outs = reduce_window_p.bind_all(
        *flat_operands,
        *flat_inits,
        jaxpr=jaxpr,
        consts=consts,
        window_dimensions=tuple(window_dimensions),
        window_strides=strides,
        padding=pads,
        base_dilation=base,
        window_dilation=window,
    )
    return tree_unflatten(out_tree, outs)


def reduce_window(
    operand: PyTree,
    init_value: PyTree,
    computation: Computation,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int] | None = None,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> PyTree:
    """Reduce every window of ``operand`` (an array or a tree of arrays) with ``computation``,
    starting from ``init_value`` (scalars, in a tree like ``operand``'s).

    ``padding`` is ``"VALID"``, ``"SAME"``, ``"SAME_LOWER"`` or ``(low, high)`` per dim;
    strides and dilations default to 1. ``lax.add``/``max``/``min`` with their identity as the
    initial value bind the specialised primitives.
    """
    return _reduce_window(operand, init_value, computation, window_dimensions, window_strides,
                          padding, base_dilation, window_dilation)


# ---------------------------------------------------------------------------------------------
# reduce_window_sum: linear


def _reduce_window_sum_transpose(
    ct: Array,
    operand: ArrayLike | UndefinedPrimal,
    *,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> list[Cotangent | None]:
    """Spread the cotangent out by the strides, pad it, and sum its windows again (strided by
    the base dilation)."""
    assert isinstance(operand, UndefinedPrimal)
    input_shape = operand.aval.shape
    pads = conv_general_vjp_lhs_padding(
        input_shape, window_dimensions, window_strides, ct.shape, padding, base_dilation,
        window_dilation,
    )
    config = [(lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides, strict=True)]
    padded = sh.pad(ct, np.zeros((), ct.dtype), config)
    result = reduce_window_sum(
        padded, window_dimensions, base_dilation, [(0, 0)] * len(input_shape),
        base_dilation=_ones(len(input_shape)), window_dilation=window_dilation,
    )
    assert result.shape == input_shape, (result.shape, input_shape)
    return [result]


deflinear2(reduce_window_sum_p, _reduce_window_sum_transpose)


def _defwindow_batching(prim: Primitive, wrapper: Reducer) -> None:
    """Batching: a window of size 1 along the batch axis, which stays where it is."""

    def rule(
        args: Sequence[ArrayLike],
        dims: Sequence[BatchDim],
        *,
        window_dimensions: Dims,
        window_strides: Dims,
        padding: Padding,
        base_dilation: Dims,
        window_dilation: Dims,
    ) -> tuple[list[Array], list[BatchDim]]:
        (x,), (d,) = args, dims
        assert d is not None

        def at(t: tuple[T, ...], value: T) -> tuple[T, ...]:
            return (*t[:d], value, *t[d:])

        out = wrapper(
            x, at(window_dimensions, 1), at(window_strides, 1), at(padding, (0, 0)),
            at(base_dilation, 1), at(window_dilation, 1),
        )
        return [out], [d]

    batching_rules[prim] = rule


_defwindow_batching(reduce_window_sum_p, reduce_window_sum)
_defwindow_batching(reduce_window_max_p, reduce_window_max)
_defwindow_batching(reduce_window_min_p, reduce_window_min)


# ---------------------------------------------------------------------------------------------
# reduce_window_max / min: the tangent at the position each window picks


def _chooser_jvp(select_prim: Primitive) -> Callable[..., Array]:
    def tangent(
        g: Array,
        operand: ArrayLike,
        *,
        window_dimensions: Dims,
        window_strides: Dims,
        padding: Padding,
        base_dilation: Dims,
        window_dilation: Dims,
    ) -> Array:
        return select_and_gather_add(
            g, operand, select_prim, window_dimensions, window_strides, padding, base_dilation,
            window_dilation,
        )

    return tangent


defjvp(reduce_window_max_p, _chooser_jvp(ew.ge_p))
defjvp(reduce_window_min_p, _chooser_jvp(ew.le_p))


# ---------------------------------------------------------------------------------------------
# select_and_gather_add and select_and_scatter_add


def select_prim_of(value: object) -> Primitive:
    """``ge_p`` or ``le_p`` (a parsed jaxpr names them ``ge``/``le``)."""
    name = value.name if isinstance(value, Primitive) else value
    if name == "ge":
        return ew.ge_p
    if name == "le":
        return ew.le_p
    raise ValueError(f"select_prim must be ge or le, got {value}")


def _fill_select_prim(params: dict[str, ParamValue], outs: Sequence[ShapedArray]) -> None:
    params["select_prim"] = select_prim_of(params["select_prim"])


def _select_and_gather_add_rule(
    tangents: ShapedArray,
    operand: ShapedArray,
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> ShapedArray:
    if tangents.shape != operand.shape:
        raise TypeError(
            "select_and_gather_add tangents and operand shapes must match, got "
            f"{tangents.shape} and {operand.shape}."
        )
    shape = _common_shape(
        operand, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    return ShapedArray(shape, tangents.dtype, tangents.weak_type and operand.weak_type)


select_and_gather_add_p = standard_primitive("select_and_gather_add", _select_and_gather_add_rule)
register_hidden_params("select_and_gather_add", _fill_select_prim)


def select_and_gather_add(
    tangents: ArrayLike,
    operand: ArrayLike,
    select_prim: Primitive,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
    base_dilation: Sequence[int],
    window_dilation: Sequence[int],
) -> Array:
    """Per window of ``operand``, the element of ``tangents`` where ``operand`` is greatest
    (``select_prim`` ``ge_p``) or least (``le_p``); the first such one on ties; 0 for a window
    of padding only."""
    return select_and_gather_add_p.bind(
        tangents,
        operand,
        select_prim=select_prim,
        window_dimensions=tuple(window_dimensions),
        window_strides=tuple(window_strides),
        padding=tuple((lo, hi) for lo, hi in padding),
        base_dilation=tuple(base_dilation),
        window_dilation=tuple(window_dilation),
    )


def _select_and_scatter_add_rule(
    source: ShapedArray,
    operand: ShapedArray,
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
) -> ShapedArray:
    return ShapedArray(operand.shape, source.dtype, source.weak_type and operand.weak_type)


select_and_scatter_add_p = standard_primitive(
    "select_and_scatter_add", _select_and_scatter_add_rule
)
register_hidden_params("select_and_scatter_add", _fill_select_prim)


def select_and_scatter_add(
    source: ArrayLike,
    operand: ArrayLike,
    select_prim: Primitive,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    padding: Sequence[tuple[int, int]],
) -> Array:
    """An array shaped like ``operand``: each element of ``source`` (one per window) added at
    the position its window of ``operand`` picks (greatest for ``ge_p``, least for ``le_p``)."""
    return select_and_scatter_add_p.bind(
        source,
        operand,
        select_prim=select_prim,
        window_dimensions=tuple(window_dimensions),
        window_strides=tuple(window_strides),
        padding=tuple((lo, hi) for lo, hi in padding),
    )


def _linear_in_first_jvp(
    prim: Primitive,
) -> Callable[..., tuple[list[Array], list[Tangent]]]:
    """The JVP of a primitive linear in its first operand that only reads positions from its
    second: the primitive applied to the first tangent (the second's tangent plays no part)."""

    def rule(
        primals: Sequence[ArrayLike], tangents: Sequence[Tangent], **params: ParamValue
    ) -> tuple[list[Array], list[Tangent]]:
        source, operand = primals
        g_source = tangents[0]
        out = prim.bind(source, operand, **params)
        if isinstance(g_source, Zero):
            return [out], [Zero.from_primal(out)]
        return [out], [prim.bind(g_source, operand, **params)]

    return rule


jvp_rules[select_and_gather_add_p] = _linear_in_first_jvp(select_and_gather_add_p)
jvp_rules[select_and_scatter_add_p] = _linear_in_first_jvp(select_and_scatter_add_p)


def _select_and_gather_add_transpose(
    t: Array,
    tangents: ArrayLike | UndefinedPrimal,
    operand: ArrayLike | UndefinedPrimal,
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> list[Cotangent | None]:
    """Scatter the cotangent back to the picked positions (the operand dilated by the base
    dilation, holes holding the identity so they are never picked, then strided back)."""
    assert isinstance(tangents, UndefinedPrimal) and not isinstance(operand, UndefinedPrimal)
    if any(d != 1 for d in window_dilation):
        raise NotImplementedError(
            "VJP not implemented for select_and_gather (MaxPool) with window dilation, got "
            f"window_dilation={window_dilation}."
        )
    dilated = any(d != 1 for d in base_dilation)
    if dilated:
        dtype = get_aval(operand).dtype
        identity = max_identity(dtype) if select_prim is ew.ge_p else min_identity(dtype)
        operand = sh.pad(operand, identity, [(0, 0, d - 1) for d in base_dilation])
    result = select_and_scatter_add(t, operand, select_prim, window_dimensions, window_strides,
                                    padding)
    if dilated:
        result = sl.slice(result, (0,) * result.ndim, result.shape, base_dilation)
    return [result, None]


deftranspose(select_and_gather_add_p, _select_and_gather_add_transpose)


def _select_and_scatter_add_transpose(
    t: Array,
    source: ArrayLike | UndefinedPrimal,
    operand: ArrayLike | UndefinedPrimal,
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
) -> list[Cotangent | None]:
    """Gather the cotangent at the picked positions."""
    assert isinstance(source, UndefinedPrimal) and not isinstance(operand, UndefinedPrimal)
    ones = _ones(len(window_dimensions))
    return [
        select_and_gather_add(t, operand, select_prim, window_dimensions, window_strides,
                              padding, ones, ones),
        None,
    ]


deftranspose(select_and_scatter_add_p, _select_and_scatter_add_transpose)


def _select_and_gather_add_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> tuple[list[Array], list[BatchDim]]:
    """Both operands batched at the front, with a window of 1 there."""
    size = batch_size(args, dims)
    t, x = (bdim_at(a, d, size, 0) for a, d in zip(args, dims, strict=True))
    out = select_and_gather_add(
        t, x, select_prim, (1, *window_dimensions), (1, *window_strides),
        ((0, 0), *padding), (1, *base_dilation), (1, *window_dilation),
    )
    return [out], [0]


def _select_and_scatter_add_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    select_prim: Primitive,
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
) -> tuple[list[Array], list[BatchDim]]:
    """Both operands batched at the front, with a window of 1 there."""
    size = batch_size(args, dims)
    source, x = (bdim_at(a, d, size, 0) for a, d in zip(args, dims, strict=True))
    out = select_and_scatter_add(
        source, x, select_prim, (1, *window_dimensions), (1, *window_strides),
        ((0, 0), *padding),
    )
    return [out], [0]


batching_rules[select_and_gather_add_p] = _select_and_gather_add_batch
batching_rules[select_and_scatter_add_p] = _select_and_scatter_add_batch


# ---------------------------------------------------------------------------------------------
# The generic reduce_window: forward mode by reducing (value, tangent) pairs


def _reduce_window_jvp(
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
    *,
    jaxpr: Jaxpr,
    consts: tuple[ArrayLike, ...],
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> tuple[list[Array], list[Tangent]]:
    """Reduce the operands and their tangents together, combining with the computation's JVP
    (the initial values' tangents must be zero)."""
    n = len(primals) // 2
    operands, inits = primals[:n], primals[n:]
    operand_tangents, init_tangents = tangents[:n], tangents[n:]
    if not all(isinstance(t, Zero) for t in init_tangents):
        raise TypeError("reduce_window jvp does not support non-zero init_value_tangent.")
    body = jvp_jaxpr(ClosedJaxpr(jaxpr, consts), (True,) * (2 * n))

    def pairs(left: list[ArrayLike], right: list[ArrayLike]) -> list[Array]:
        return call_jaxpr(body, [*left[:n], *right[:n], *left[n:], *right[n:]])

    outs = _reduce_window(
        [*operands, *map(instantiate, operand_tangents)],
        [*inits, *map(instantiate, init_tangents)],
        pairs,
        window_dimensions,
        window_strides,
        padding,
        base_dilation,
        window_dilation,
    )
    return list(outs[:n]), list(outs[n:])


jvp_rules[reduce_window_p] = _reduce_window_jvp


def _reduce_window_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    jaxpr: Jaxpr,
    consts: tuple[ArrayLike, ...],
    window_dimensions: Dims,
    window_strides: Dims,
    padding: Padding,
    base_dilation: Dims,
    window_dilation: Dims,
) -> tuple[list[Array], list[BatchDim]]:
    """The operands batched at the front, with a window of 1 there (initial values unbatched)."""
    n = len(args) // 2
    if any(d is not None for d in dims[n:]):
        raise NotImplementedError("reduce_window batching is not implemented for initial values")
    size = batch_size(args[:n], dims[:n])
    operands = [bdim_at(a, d, size, 0) for a, d in zip(args[:n], dims[:n], strict=True)]
    outs = reduce_window_p.bind_all(
        *operands,
        *args[n:],
        jaxpr=jaxpr,
        consts=consts,
        window_dimensions=(1, *window_dimensions),
        window_strides=(1, *window_strides),
        padding=((0, 0), *padding),
        base_dilation=(1, *base_dilation),
        window_dilation=(1, *window_dilation),
    )
    return outs, [0] * n


batching_rules[reduce_window_p] = _reduce_window_batch

