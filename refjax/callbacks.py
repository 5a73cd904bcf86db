"""Calling Python from traced code, as JAX's ``jax.debug.print``, ``jax.debug.callback``,
``jax.pure_callback`` and ``jax.experimental.io_callback``.

Each flattens its arguments, keeps the leaves that are not arrays (strings, say) out of the
traced operands (``static_args``), and binds a primitive of ``refjax.primitives.callbacks``;
what a call does under each transformation is stated there. A callback receives
``refjax.Array`` values, as JAX's receive ``jax.Array`` ones.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import numpy as np

from refjax import tree_util
from refjax.interp.core import Array, ShapedArray, get_aval
from refjax.primitives.callbacks import (
    debug_callback_p,
    debug_print_p,
    io_callback_p,
    pure_callback_p,
)

__all__ = ["debug_callback", "debug_print", "io_callback", "pure_callback"]


class Effect:
    """The effect a ``debug_callback`` equation carries (printed ``Debug``/``OrderedDebug``)."""

    def __init__(self, ordered: bool) -> None:
        self.ordered = ordered

    def __repr__(self) -> str:
        return "OrderedDebug" if self.ordered else "Debug"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Effect) and other.ordered == self.ordered

    def __hash__(self) -> int:
        return hash(("refjax.Effect", self.ordered))


class _FlatCallback:
    """A user callback called on flat values: rebuilds its ``(args, kwargs)`` tree (statics put
    back) and passes ``refjax.Array`` values, as JAX passes ``jax.Array`` ones; its results come
    back as a flat list of numpy arrays."""

    def __init__(self, callback_func: Callable[..., Any], in_tree: tree_util.PyTreeDef,
                 static_args: tuple[tuple[int, Any], ...] = ()) -> None:
        self.callback_func = callback_func
        self.in_tree = in_tree
        self.static_args = static_args

    def __call__(self, *flat: Any) -> list[Any]:
        args, kwargs = _rebuild(flat, self.in_tree, self.static_args)
        out = self.callback_func(*args, **kwargs)
        return [np.asarray(x._concrete_value() if isinstance(x, Array) else x)
                for x in tree_util.tree_leaves(out)]

    def __repr__(self) -> str:
        return f"_FlatCallback(callback_func={self.callback_func!r}, in_tree={self.in_tree})"


def _rebuild(flat: tuple[Any, ...], in_tree: tree_util.PyTreeDef,
             static_args: tuple[tuple[int, Any], ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` from the flat values (as refjax arrays) and the static leaves."""
    from refjax.numpy import asarray

    leaves: list[Any] = [asarray(x) for x in flat]
    for i, value in static_args:
        leaves.insert(i, value)
    args, kwargs = tree_util.tree_unflatten(in_tree, leaves)
    return tuple(args), dict(kwargs)


def _operands(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[
        list[Any], tree_util.PyTreeDef, tuple[tuple[int, Any], ...]]:
    """The array leaves of ``(args, kwargs)``, their tree, and the other leaves by position."""
    leaves, tree = tree_util.tree_flatten((args, kwargs))
    operands: list[Any] = []
    static: list[tuple[int, Any]] = []
    for i, leaf in enumerate(leaves):
        try:
            get_aval(leaf)
        except TypeError:
            static.append((i, leaf))
            continue
        operands.append(leaf)
    return operands, tree, tuple(static)


def debug_print(fmt: str, *args: Any, ordered: bool = False, partitioned: bool = False,
                skip_format_check: bool = False, _use_logging: bool = False,
                **kwargs: Any) -> None:
    """Print ``fmt.format(*args, **kwargs)`` when the program runs, with the runtime values
    (under ``jit``, when the compiled function is called; under ``vmap``, once per element)."""
    operands, tree, static = _operands(args, kwargs)
    placeholders = any(field is not None for _, field, _, _ in string.Formatter().parse(fmt))
    debug_print_p.bind_all(
        *operands, fmt=fmt, has_placeholders=placeholders, in_tree=tree, logging_record=None,
        np_printoptions=tuple(np.get_printoptions().items()), ordered=ordered,
        partitioned=partitioned, static_args=static,
    )


def debug_callback(callback: Callable[..., None], *args: Any, ordered: bool = False,
                   partitioned: bool = False, **kwargs: Any) -> None:
    """Call ``callback(*args, **kwargs)`` for its effect when the program runs (its result is
    ignored; it is never removed as dead code)."""
    operands, tree, static = _operands(args, kwargs)

    def _debug_callback() -> Callable[..., None]:  # (named as JAX names the param's function)
        def _flat_callback(*flat: Any) -> None:
            call_args, call_kwargs = _rebuild(flat, tree, static)
            callback(*call_args, **call_kwargs)

        _flat_callback.__qualname__ = "debug_callback.<locals>._debug_callback.<locals>." \
            "_flat_callback"
        return _flat_callback

    debug_callback_p.bind_all(*operands, callback=_debug_callback(),
                              effect=Effect(ordered), partitioned=partitioned)


def _result_avals(result_shape_dtypes: Any) -> tuple[tree_util.PyTreeDef,
                                                      tuple[ShapedArray, ...]]:
    leaves, tree = tree_util.tree_flatten(result_shape_dtypes)
    avals = tuple(ShapedArray(tuple(x.shape), np.dtype(x.dtype)) for x in leaves)
    return tree, avals


def pure_callback(callback: Callable[..., Any], result_shape_dtypes: Any, *args: Any,
                  sharding: Any = None, vmap_method: str | None = None,
                  **kwargs: Any) -> Any:
    """``callback(*args, **kwargs)`` computed on the host, its results of the shapes and dtypes
    of ``result_shape_dtypes`` (a pytree of objects with ``shape`` and ``dtype``). Pure: it may
    be removed when unused; not differentiable; under ``vmap``, as ``vmap_method`` says."""
    operands, tree, static = _operands(args, kwargs)
    out_tree, avals = _result_avals(result_shape_dtypes)
    outs = pure_callback_p.bind_all(
        *operands, callback=_FlatCallback(callback, tree, static),
        result_avals=avals, sharding=sharding, vmap_method=vmap_method,
    )
    return tree_util.tree_unflatten(out_tree, outs)


def io_callback(callback: Callable[..., Any], result_shape_dtypes: Any, *args: Any,
                sharding: Any = None, ordered: bool = False, **kwargs: Any) -> Any:
    """As :func:`pure_callback`, for a callback with an effect: never removed as dead code,
    run in program order; under ``vmap`` once per element (an ordered one cannot be vmapped)."""
    operands, tree, static = _operands(args, kwargs)
    out_tree, avals = _result_avals(result_shape_dtypes)
    outs = io_callback_p.bind_all(
        *operands, callback=_FlatCallback(callback, tree, static),
        ordered=ordered, result_avals=avals, sharding=sharding,
    )
    return tree_util.tree_unflatten(out_tree, outs)
