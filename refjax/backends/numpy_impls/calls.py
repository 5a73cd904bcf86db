"""Numpy implementations of call primitives (jit, checkpoint, custom_jvp/vjp calls) and
add_any."""

from __future__ import annotations

from typing import Any

import numpy as np

from refjax.backends.base import get_backend
from refjax.backends.numpy_impls.table import impls, register
from refjax.interp.ad_util import add_any_p
from refjax.interp.core import ClosedJaxpr, NDArray
from refjax.primitives.callbacks import (
    debug_callback_p,
    debug_print_p,
    format_print,
    io_callback_p,
    pure_callback_p,
    run_debug_callback,
    run_pure_callback,
)
from refjax.primitives.calls import jit_p
from refjax.primitives.custom_derivatives import (
    NO_FORWARD_MODE,
    custom_jvp_call_p,
    custom_lin_p,
    custom_vjp_call_p,
)
from refjax.primitives.remat import remat2_p


@register(jit_p)
def _jit(*args: NDArray, jaxpr: ClosedJaxpr, name: str) -> list[NDArray]:
    return get_backend("numpy").compile(jaxpr).run(args)


@register(remat2_p)
def _remat(*args: NDArray, jaxpr: ClosedJaxpr, **params: object) -> list[NDArray]:
    return get_backend("numpy").compile(jaxpr).run(args)


@register(debug_print_p)
def _debug_print(*args: NDArray, **params: Any) -> list[NDArray]:
    format_print(args, **params)
    return []


@register(debug_callback_p)
def _debug_callback(*args: NDArray, **params: Any) -> list[NDArray]:
    run_debug_callback(args, **params)
    return []


@register(pure_callback_p)
def _pure_callback(*args: NDArray, **params: Any) -> list[NDArray]:
    return run_pure_callback(args, **params)


@register(io_callback_p)
def _io_callback(*args: NDArray, **params: Any) -> list[NDArray]:
    return run_pure_callback(args, **params)


@register(custom_jvp_call_p)
def _custom_jvp_call(*args: NDArray, call_jaxpr: ClosedJaxpr, **params: object) -> list[NDArray]:
    return get_backend("numpy").compile(call_jaxpr).run(args)


@register(custom_vjp_call_p)
def _custom_vjp_call(*args: NDArray, call_jaxpr: ClosedJaxpr, **params: object) -> list[NDArray]:
    return get_backend("numpy").compile(call_jaxpr).run(args)


@register(custom_lin_p)
def _custom_lin(*args: NDArray, **params: object) -> list[NDArray]:
    raise TypeError(NO_FORWARD_MODE)


impls[add_any_p] = np.add
