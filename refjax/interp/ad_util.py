"""``add_any``: the sum of two tangents or cotangents, as JAX's autodiff writes it.

Autodiff accumulates tangents (and, in the backward pass, cotangents) with ``add_any``
rather than ``add``, so staged derivatives read like JAX's: ``h:f32[] = add_any f g``. The
primitive lives with the interpreters that use it (as JAX's ``ad_util``); its JVP, transpose and
batching rules are registered by ``jvp.py``, ``transpose.py`` and ``batching.py``.
"""

from __future__ import annotations

from refjax.interp.core import Array, ArrayLike, Primitive, ShapedArray, abstract_eval_rules

__all__ = ["add_any", "add_any_p"]


def _add_any_abstract_eval(x: ShapedArray, y: ShapedArray) -> list[ShapedArray]:
    if x.dtype != y.dtype:
        raise TypeError(
            f"lax.add_any requires arguments to have the same dtypes, got {x.dtype.name}, "
            f"{y.dtype.name}."
        )
    if x.shape != y.shape:
        raise TypeError(f"add_any got different shapes: {x.shape} and {y.shape}")
    return [x.update(weak_type=x.weak_type and y.weak_type)]


add_any_p = Primitive("add_any")
abstract_eval_rules[add_any_p] = _add_any_abstract_eval


def add_any(x: ArrayLike, y: ArrayLike) -> Array:
    """``x + y`` for two tangents of the same type."""
    return add_any_p.bind(x, y)
