"""Building blocks shared by the primitive families: dtype checks and shape rules.

The error messages here are JAX's (``lax.add requires arguments to have the same dtypes ...``), so
code written against JAX sees the same text from refjax.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Final, Literal, TypeAlias, cast, overload

import numpy as np

from refjax import dtypes, tree_util
from refjax.dtypes import DType
from refjax.interp.core import (
    AbstractEvalRule,
    ArrayLike,
    ParamValue,
    Primitive,
    ShapedArray,
    abstract_eval_rules,
    get_aval,
)
from refjax.interp.transpose import UndefinedPrimal

ScalarKind: TypeAlias = type[np.generic]

FLOATING: Final[tuple[ScalarKind, ...]] = (np.floating,)
INEXACT: Final[tuple[ScalarKind, ...]] = (np.floating, np.complexfloating)
INTEGER: Final[tuple[ScalarKind, ...]] = (np.integer,)
BOOL_OR_INT: Final[tuple[ScalarKind, ...]] = (np.bool_, np.integer)
NUMBER: Final[tuple[ScalarKind, ...]] = (np.number,)
ANY: Final[tuple[ScalarKind, ...]] = (np.bool_, np.number)
SIGNED_OR_FLOAT: Final[tuple[ScalarKind, ...]] = (np.signedinteger, np.floating, np.complexfloating)

# jnp functions suggested when a lax function meets mixed dtypes (JAX's tip).
_JNP_EQUIVALENTS: Final[dict[str, str]] = {
    "abs": "fabs",
    "acos": "arccos",
    "acosh": "arccosh",
    "add": "add",
    "asin": "arcsin",
    "asinh": "arcsinh",
    "atan": "arctan",
    "atan2": "arctan2",
    "atanh": "arctanh",
    "bitwise_and": "bitwise_and",
    "bitwise_not": "bitwise_not",
    "bitwise_or": "bitwise_or",
    "bitwise_xor": "bitwise_xor",
    "cbrt": "cbrt",
    "ceil": "ceil",
    "concatenate": "concatenate",
    "cos": "cos",
    "cosh": "cosh",
    "div": "divide",
    "eq": "equal",
    "exp": "exp",
    "expm1": "expm1",
    "floor": "floor",
    "greater": "greater",
    "greater_equal": "greater_equal",
    "less": "less",
    "less_equal": "less_equal",
    "log": "log",
    "logical_and": "logical_and",
    "logical_not": "logical_not",
    "logical_or": "logical_or",
    "logical_xor": "logical_xor",
    "log1p": "log1p",
    "max": "maximum",
    "min": "minimum",
    "mul": "multiply",
    "ne": "not_equal",
    "neg": "negative",
    "nextafter": "nextafter",
    "pow": "float_power",
    "round": "round",
    "select": "where",
    "shift_left": "left_shift",
    "shift_right_logical": "right_shift",
    "shift_right_arithmetic": "right_shift",
    "sign": "sign",
    "sin": "sin",
    "sinh": "sinh",
    "sqrt": "sqrt",
    "sub": "subtract",
    "tan": "tan",
    "tanh": "tanh",
}


def shape_of(x: ArrayLike) -> tuple[int, ...]:
    """The shape of an operand."""
    return get_aval(x).shape


def aval_of(x: ArrayLike | UndefinedPrimal) -> ShapedArray:
    """The aval of an operand being transposed, defined or not."""
    return x.aval if isinstance(x, UndefinedPrimal) else get_aval(x)


ShapeRule: TypeAlias = Callable[..., ShapedArray]


@overload
def standard_primitive(name: str, rule: ShapeRule) -> Primitive: ...
@overload
def standard_primitive(
    name: str, rule: AbstractEvalRule, multiple_results: Literal[True]
) -> Primitive: ...
def standard_primitive(
    name: str, rule: ShapeRule | AbstractEvalRule, multiple_results: bool = False
) -> Primitive:
    """A new primitive with its abstract-evaluation rule registered.

    ``rule(*avals, **params)`` gives the one output aval of a single-result primitive, or the
    list of output avals when ``multiple_results``; the registered rule always gives a list.
    """
    prim = Primitive(name, multiple_results)
    if multiple_results:
        abstract_eval_rules[prim] = cast(AbstractEvalRule, rule)
    else:
        shape_rule = cast(ShapeRule, rule)

        def single(*avals: ShapedArray, **params: ParamValue) -> list[ShapedArray]:
            return [shape_rule(*avals, **params)]

        abstract_eval_rules[prim] = single
    return prim


def _typenames(kinds: Sequence[ScalarKind]) -> str:
    return ", ".join(k.__name__ for k in kinds)


def _float0_message(name: str, where: str = "", array: bool = True) -> str:
    noun = "a float0 array" if array else "a float0"
    return (
        f"Called {name} with {noun}{where}. float0s do not support any operations by "
        "design, because they are not compatible with non-trivial vector spaces. No implicit "
        "dtype conversion is done. You can use np.zeros_like(arr, dtype=np.float) to cast a "
        "float0 array to a regular zeros array. \nIf you didn't expect to get a float0 you might "
        "have accidentally taken a gradient with respect to an integer argument."
    )


@functools.cache
def accepts(dtype: DType, kinds: tuple[ScalarKind, ...]) -> bool:
    """Whether ``dtype`` is a subtype of one of ``kinds`` (memoised: it is on every bind)."""
    return any(np.issubdtype(dtype, k) for k in kinds)


def check_dtype(name: str, aval: ShapedArray, accepted: Sequence[ScalarKind]) -> None:
    """Raise JAX's TypeError unless ``aval``'s dtype is a subtype of one of ``accepted``."""
    if aval.dtype == dtypes.float0:
        raise TypeError(_float0_message(name))
    if not accepts(aval.dtype, tuple(accepted)):
        raise TypeError(
            f"{name} does not accept dtype {aval.dtype.name}. "
            f"Accepted dtypes are subtypes of {_typenames(accepted)}."
        )


def check_dtype_at(name: str, aval: ShapedArray, i: int, accepted: Sequence[ScalarKind]) -> None:
    """Like :func:`check_dtype` for operand ``i`` of an n-ary operation."""
    if aval.dtype == dtypes.float0:
        raise TypeError(_float0_message(name, f" at position {i}", array=False))
    if not accepts(aval.dtype, tuple(accepted)):
        raise TypeError(
            f"{name} does not accept dtype {aval.dtype.name} at position {i}. "
            f"Accepted dtypes at position {i} are subtypes of {_typenames(accepted)}."
        )


def check_same_dtypes(name: str, *avals: ShapedArray) -> None:
    """Raise JAX's TypeError when operands of a lax operation have different dtypes."""
    if len({a.dtype for a in avals}) <= 1:
        return
    msg = f"lax.{name} requires arguments to have the same dtypes, got "
    msg += ", ".join(a.dtype.name for a in avals) + "."
    if name in _JNP_EQUIVALENTS:
        msg += (
            f" (Tip: jnp.{_JNP_EQUIVALENTS[name]} is a similar function that does automatic "
            "type promotion on inputs)."
        )
    raise TypeError(msg)


def broadcast_shapes(name: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """lax's n-ary shape rule: rank-0 operands broadcast; others have equal rank, 1s stretch."""
    ranked = [s for s in shapes if s]
    if not ranked:
        return ()
    if len({len(s) for s in ranked}) != 1:
        ranks = {len(s) for s in ranked}
        raise TypeError(f"{name}: arrays must have the same number of dimensions, got {ranks}")
    out = []
    for sizes in zip(*ranked, strict=True):
        non_ones = {d for d in sizes if d != 1}
        if len(non_ones) > 1:
            listed = ", ".join(str(tuple(s)) for s in ranked)
            raise TypeError(f"{name} got incompatible shapes for broadcasting: {listed}.")
        out.append(non_ones.pop() if non_ones else 1)
    return tuple(out)


def unop_rule(name: str, accepted: Sequence[ScalarKind]) -> ShapeRule:
    """Abstract eval of an elementwise unary op that keeps shape, dtype and weak type."""

    def rule(x: ShapedArray) -> ShapedArray:
        check_dtype(name, x, accepted)
        return x

    return rule


def naryop_rule(
    name: str,
    accepted: Sequence[Sequence[ScalarKind]],
    result_dtype: Callable[[DType], DType] | None = None,
    require_same_dtypes: bool = True,
) -> ShapeRule:
    """Abstract eval of an elementwise n-ary op: dtypes checked, shapes broadcast."""

    def rule(*avals: ShapedArray) -> ShapedArray:
        if len(avals) != len(accepted):
            raise TypeError(f"{name} takes {len(accepted)} arguments, got {len(avals)}")
        shape = broadcast_shapes(name, *(a.shape for a in avals))  # shapes first, as JAX
        for i, (aval, kinds) in enumerate(zip(avals, accepted, strict=True)):
            check_dtype_at(name, aval, i, kinds)
        if require_same_dtypes:
            check_same_dtypes(name, *avals)
        dtype = avals[0].dtype if result_dtype is None else result_dtype(avals[0].dtype)
        return ShapedArray(shape, dtype, all(a.weak_type for a in avals))

    return rule


def check_shape(name: str, shape: Sequence[int], arg: str = "shape") -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative Python ints, else JAX's TypeError/ValueError."""
    if not isinstance(shape, (tuple, list, np.ndarray)):
        raise TypeError(f"{name} {arg} must be of type tuple/list/ndarray, got {type(shape)}.")
    dims = tuple(shape)
    if not all(isinstance(d, (int, np.integer)) for d in dims):
        raise TypeError(f"{name} {arg} must have every element be an integer type, got {dims}.")
    if any(d < 0 for d in dims):
        raise TypeError(f"{name} {arg} must have every element be nonnegative, got {dims}.")
    return tuple(int(d) for d in dims)


def flatten_operands_and_inits(operands: tree_util.PyTree, init_values: tree_util.PyTree
                               ) -> tuple[list[ArrayLike], list[ArrayLike], tree_util.PyTreeDef]:
    """The leaves of a reduction's operands and of its initial values, which must have one
    tree structure (JAX's errors for ``lax.reduce`` and ``lax.reduce_window``)."""
    flat_operands, operand_tree = tree_util.tree_flatten(operands)
    flat_inits, init_tree = tree_util.tree_flatten(init_values)
    if operand_tree != init_tree:
        raise ValueError(
            "Operands must have the same tree structure as init_values: "
            f"{operand_tree} vs. {init_tree}"
        )
    if len(flat_operands) != len(flat_inits):
        raise ValueError(
            "Must have same total number of operands as init_values:  "
            f"{len(flat_operands)} vs. {len(flat_inits)}"
        )
    return flat_operands, flat_inits, operand_tree
