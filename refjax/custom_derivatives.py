"""``jax.custom_derivatives``: the custom-derivative API in one namespace (``custom_jvp``,
``custom_vjp``, ``SymbolicZero``, ``CustomVJPPrimal``, ``zero_from_primal``,
``closure_convert`` and the call primitives); the definitions live in
:mod:`refjax.primitives.custom_derivatives` and :mod:`refjax.api`."""

from __future__ import annotations

from typing import Any

from refjax import tree_util
from refjax.api import closure_convert
from refjax.interp.core import get_aval
from refjax.interp.jvp import Zero, instantiate, tangent_aval
from refjax.primitives.custom_derivatives import (
    CustomVJPPrimal,
    SymbolicZero,
    custom_jvp,
    custom_jvp_call_p,
    custom_vjp,
    custom_vjp_call_p,
)

__all__ = [
    "CustomVJPPrimal",
    "SymbolicZero",
    "closure_convert",
    "custom_jvp",
    "custom_jvp_call_p",
    "custom_vjp",
    "custom_vjp_call_p",
    "zero_from_primal",
]


def zero_from_primal(val: Any, symbolic_zeros: bool = False) -> Any:
    """Zero tangents for the pytree of primals ``val``: arrays of zeros, or ``SymbolicZero``s."""

    def zero(x: Any) -> Any:
        aval = tangent_aval(get_aval(x))
        return SymbolicZero(aval) if symbolic_zeros else instantiate(Zero(aval))

    return tree_util.tree_map(zero, val)
