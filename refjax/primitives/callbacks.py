"""Calling Python from a staged program: ``debug_print``, ``debug_callback`` (effects with no
results, ``jax.debug.print``/``jax.debug.callback``) and ``pure_callback`` (a host function with
declared results, ``jax.pure_callback``).

The callback runs when the program runs: at once outside any transformation, when the jitted
function is called under ``jit`` (in program order), once per element under ``vmap`` (the
batching rule unrolls the batch), on the primal values under ``jvp``/``grad`` (the JVP rule
calls on primals; a debug effect is never differentiated). Effects are never removed as dead
code. Every backend runs them on the host, on numpy arrays.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from refjax.interp.batching import BatchDim, batch_size, batching_rules, bdim_at
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.interp.jvp import Tangent, jvp_rules
from refjax.interp.partial_eval import effectful_primitives
from refjax.primitives.common import standard_primitive
from refjax.primitives.slicing import index_in_dim

__all__ = [
    "debug_callback_p",
    "debug_print_p",
    "io_callback_p",
    "pure_callback_p",
]


def _no_results(*avals: ShapedArray, **params: Any) -> list[ShapedArray]:
    return []


debug_print_p = standard_primitive("debug_print", _no_results, multiple_results=True)
debug_callback_p = standard_primitive("debug_callback", _no_results, multiple_results=True)

# Their equations stay even when nothing reads their results (dead-code elimination keeps
# every effect, and an equation whose body holds one).
effectful_primitives.update({debug_print_p, debug_callback_p})


# ---------------------------------------------------------------------------------------------
# What they do, on numpy values (every backend's implementation)


def format_print(
    values: Sequence[Any], *, fmt: str, in_tree: Any, static_args: tuple[tuple[int, Any], ...],
    np_printoptions: tuple[tuple[str, Any], ...], **_: Any,
) -> None:
    """Print ``fmt`` formatted with the arguments (static ones put back in their places)."""
    leaves = list(values)
    for i, value in static_args:
        leaves.insert(i, value)
    args, kwargs = in_tree.unflatten(leaves)
    with np.printoptions(**dict(np_printoptions)):
        sys.stdout.write(fmt.format(*args, **kwargs) + "\n")


def run_debug_callback(values: Sequence[Any], *, callback: Callable[..., None], **_: Any) -> None:
    """Call the flat callback on the values."""
    callback(*values)


# ---------------------------------------------------------------------------------------------
# Rules shared by the two effects


def _effect_jvp(prim: Any) -> Callable[..., tuple[list[Array], list[Tangent]]]:
    def rule(primals: Sequence[ArrayLike], tangents: Sequence[Tangent],
             **params: Any) -> tuple[list[Array], list[Tangent]]:
        prim.bind_all(*primals, **params)  # the effect, on the primals
        return [], []

    return rule


def _effect_batch(prim: Any) -> Callable[..., tuple[list[Array], list[BatchDim]]]:
    def rule(args: Sequence[ArrayLike], dims: Sequence[BatchDim],
             **params: Any) -> tuple[list[Array], list[BatchDim]]:
        size = batch_size(args, dims)
        for i in range(size):  # one effect per element, in order, as JAX's rule does
            prim.bind_all(*(a if d is None else index_in_dim(bdim_at(a, d, size), i,
                                                              keepdims=False)
                            for a, d in zip(args, dims, strict=True)), **params)
        return [], []

    return rule


for _prim in (debug_print_p, debug_callback_p):
    jvp_rules[_prim] = _effect_jvp(_prim)
    batching_rules[_prim] = _effect_batch(_prim)


# ---------------------------------------------------------------------------------------------
# pure_callback: a host function with declared results (no effect: it may be removed)


def _pure_callback_abstract_eval(
    *avals: ShapedArray, callback: Any, result_avals: tuple[ShapedArray, ...], **_: Any,
) -> list[ShapedArray]:
    return list(result_avals)


pure_callback_p = standard_primitive(
    "pure_callback", _pure_callback_abstract_eval, multiple_results=True)


def run_pure_callback(
    values: Sequence[Any], *, callback: Callable[..., Any],
    result_avals: tuple[ShapedArray, ...], **_: Any,
) -> list[np.ndarray]:
    """The callback's results, checked against (and cast to) the declared shapes and dtypes."""
    outs = callback(*values)
    flat = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    if len(flat) != len(result_avals):
        raise RuntimeError(
            f"pure_callback: the callback returned {len(flat)} values, expected "
            f"{len(result_avals)}"
        )
    results = []
    for out, aval in zip(flat, result_avals, strict=True):
        arr = np.asarray(out)
        if arr.shape != aval.shape:
            raise RuntimeError(
                "Incorrect output shape for return value: Expected: "
                f"{aval.shape}, Actual: {arr.shape}"
            )
        results.append(arr.astype(aval.dtype, copy=False))
    return results


def _pure_callback_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent],
                       **params: Any) -> tuple[list[Array], list[Tangent]]:
    raise ValueError("Pure callbacks do not support JVP. Please use `jax.custom_jvp` to use "
                     "callbacks while taking gradients.")


def _pure_callback_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, callback: Any,
    result_avals: tuple[ShapedArray, ...], vmap_method: str | None, **params: Any,
) -> tuple[list[Array], list[BatchDim]]:
    size = batch_size(args, dims)
    if vmap_method not in ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all"):
        raise NotImplementedError(
            "vmap is only supported for the pure_callback primitive when vmap_method is one of "
            "'sequential', 'sequential_unrolled', 'expand_dims', 'broadcast_all', or "
            f"'legacy_vectorized'. Got vmap_method={vmap_method!r}."
        )
    new_params = {"callback": callback, "vmap_method": vmap_method, **params}
    if vmap_method in ("sequential", "sequential_unrolled"):
        return _sequential(pure_callback_p, args, dims, size, result_avals, new_params), [0] * len(
            result_avals)
    if vmap_method in ("expand_dims", "broadcast_all"):
        from refjax.primitives.shape import broadcast_in_dim

        ins = []
        for a, d in zip(args, dims, strict=True):
            aval = get_aval(a)
            if d is not None:
                ins.append(bdim_at(a, d, size))
            elif vmap_method == "broadcast_all":
                ins.append(bdim_at(a, None, size))
            else:  # a size-1 leading axis
                ins.append(broadcast_in_dim(a, (1, *aval.shape), tuple(range(1, aval.ndim + 1))))
        batched = tuple(a.update(shape=(size, *a.shape)) for a in result_avals)
        outs = pure_callback_p.bind_all(*ins, result_avals=batched, **new_params)
        return outs, [0] * len(outs)
    raise AssertionError(vmap_method)  # (checked above)


def _sequential(prim: Any, args: Sequence[ArrayLike], dims: Sequence[BatchDim], size: int,
                result_avals: tuple[ShapedArray, ...], params: dict[str, Any]) -> list[Array]:
    """The callback once per batch element, in order, its results stacked on a new axis."""
    from refjax.primitives.shape import broadcast_in_dim, concatenate

    rows = []
    for i in range(size):
        ins = [a if d is None else index_in_dim(bdim_at(a, d, size), i, keepdims=False)
               for a, d in zip(args, dims, strict=True)]
        rows.append(prim.bind_all(*ins, result_avals=result_avals, **params))
    if size == 0:
        from refjax.interp.jvp import zeros_like_aval

        return [zeros_like_aval(a.update(shape=(0, *a.shape))) for a in result_avals]
    return [concatenate([broadcast_in_dim(r[k], (1, *a.shape), tuple(range(1, a.ndim + 1)))
                         for r in rows], 0) for k, a in enumerate(result_avals)]


jvp_rules[pure_callback_p] = _pure_callback_jvp
batching_rules[pure_callback_p] = _pure_callback_batch


# ---------------------------------------------------------------------------------------------
# io_callback: a host function with declared results and an effect (never dead, not
# differentiable, vmapped one element at a time unless ordered)


io_callback_p = standard_primitive(
    "io_callback", _pure_callback_abstract_eval, multiple_results=True)
effectful_primitives.add(io_callback_p)


def _io_callback_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent],
                     **params: Any) -> tuple[list[Array], list[Tangent]]:
    raise ValueError("IO callbacks do not support JVP.")


def _io_callback_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, result_avals: tuple[ShapedArray, ...],
    ordered: bool, **params: Any,
) -> tuple[list[Array], list[BatchDim]]:
    if ordered:
        raise ValueError("Cannot `vmap` ordered IO callback.")
    size = batch_size(args, dims)
    outs = _sequential(io_callback_p, args, dims, size, result_avals,
                       {"ordered": ordered, **params})
    return outs, [0] * len(outs)


jvp_rules[io_callback_p] = _io_callback_jvp
batching_rules[io_callback_p] = _io_callback_batch
