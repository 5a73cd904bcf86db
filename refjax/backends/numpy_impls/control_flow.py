"""Numpy implementations of cond, while and scan: host loops around compiled bodies."""

from __future__ import annotations

import numpy as np

from refjax.backends.numpy_impls.program import run_inner as _run
from refjax.backends.numpy_impls.table import register
from refjax.interp.core import ClosedJaxpr, NDArray
from refjax.primitives.control_flow import cond_p, scan_p, while_p


@register(cond_p)
def _cond(index: NDArray, *ops: NDArray, branches: tuple[ClosedJaxpr, ...]) -> list[NDArray]:
    i = min(max(int(index), 0), len(branches) - 1)
    return _run(branches[i], list(ops))


@register(while_p)
def _while(
    *args: NDArray,
    cond_jaxpr: ClosedJaxpr,
    body_jaxpr: ClosedJaxpr,
    cond_nconsts: int,
    body_nconsts: int,
) -> list[NDArray]:
    cconsts = list(args[:cond_nconsts])
    bconsts = list(args[cond_nconsts : cond_nconsts + body_nconsts])
    carry = list(args[cond_nconsts + body_nconsts :])
    while bool(_run(cond_jaxpr, cconsts + carry)[0]):
        carry = _run(body_jaxpr, bconsts + carry)
    return carry


@register(scan_p)
def _scan(
    *args: NDArray,
    jaxpr: ClosedJaxpr,
    length: int,
    reverse: bool,
    unroll: int,
    num_consts: int,
    num_carry: int,
) -> list[NDArray]:
    consts = list(args[:num_consts])
    carry = list(args[num_consts : num_consts + num_carry])
    xs = args[num_consts + num_carry :]
    y_avals = jaxpr.out_avals[num_carry:]
    ys = [np.empty((length, *a.shape), a.dtype) for a in y_avals]
    order = range(length - 1, -1, -1) if reverse else range(length)
    for i in order:  # x[i, ...]: a 0-d array where x[i] would be a numpy scalar
        outs = _run(jaxpr, consts + carry + [x[i, ...] for x in xs])
        carry = outs[:num_carry]
        for y, out in zip(ys, outs[num_carry:], strict=True):
            y[i] = out
    return carry + ys
