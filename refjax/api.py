"""The user-facing transformations: pytrees in and out, argnums, static args, error checks.

Each wrapper flattens its arguments with ``tree_util``, runs the interpreter of its transformation
on flat lists of arrays, and rebuilds the output pytree.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from refjax import tree_util
from refjax.interp.core import ArrayLike, ShapedArray, get_aval
from refjax.interp.staging import debug_info, trace_to_jaxpr


def _normalize_argnums(argnums: int | Sequence[int], nargs: int, what: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    out = []
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(
                f"{what}={argnums} is out of range for a function called with {nargs} arguments"
            )
        out.append(n % nargs)
    return tuple(out)


def arg_names(fn: Callable[..., Any], args: Sequence[Any]) -> list[str]:
    """Names of the flattened arguments (``x``, ``params['w']``), for error messages."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for i, arg in enumerate(args):
        base = params[i] if i < len(params) else f"args[{i}]"
        paths, _ = tree_util.tree_flatten_with_path(arg)
        names += [base + tree_util.keystr(path) for path, _ in paths]
    return names


def abstractify(x: ArrayLike) -> ShapedArray:
    """The aval a traced input gets: shapes and dtypes kept, weak types kept, as JAX."""
    return get_aval(x)


def make_jaxpr(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] = (),
    return_shape: bool = False,
) -> Callable[..., Any]:
    """A function that returns the ClosedJaxpr of ``fun`` traced on its arguments' avals."""

    @functools.wraps(fun)
    def make(*args: Any) -> Any:
        static = _normalize_argnums(static_argnums, len(args), "static_argnums")
        dyn_args = [a for i, a in enumerate(args) if i not in static]
        flat, in_tree = tree_util.tree_flatten(dyn_args)
        out_tree: list[tree_util.PyTreeDef] = []

        def flat_fun(*flat_args: ArrayLike) -> list[ArrayLike]:
            rebuilt = iter(tree_util.tree_unflatten(in_tree, list(flat_args)))
            full = [a if i in static else next(rebuilt) for i, a in enumerate(args)]
            out = fun(*full)
            out_flat, tree = tree_util.tree_flatten(out)
            out_tree.append(tree)
            return out_flat

        names = arg_names(fun, dyn_args)
        debug = debug_info(fun, "make_jaxpr", names)
        closed = trace_to_jaxpr(flat_fun, [abstractify(x) for x in flat], debug)
        if return_shape:
            shapes = [ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in closed.out_avals]
            return closed, tree_util.tree_unflatten(out_tree[0], shapes)
        return closed

    return make


class ShapeDtypeStruct:
    """A shape and dtype standing for an array (``jax.ShapeDtypeStruct``)."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape: Sequence[int], dtype: Any, weak_type: bool = False) -> None:
        import numpy as np

        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ShapeDtypeStruct)
            and (self.shape, self.dtype, self.weak_type)
            == (other.shape, other.dtype, other.weak_type)
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak_type))

