"""``refjax.lax``: one wrapper per primitive, mirroring ``jax.lax`` (strict dtypes, no promotion)."""

from __future__ import annotations

from refjax.primitives.elementwise import (
    abs,
    add,
    convert_element_type,
    cos,
    div,
    exp,
    log,
    mul,
    neg,
    sign,
    sin,
    sub,
)

__all__ = [
    "abs",
    "add",
    "convert_element_type",
    "cos",
    "div",
    "exp",
    "log",
    "mul",
    "neg",
    "sign",
    "sin",
    "sub",
]
