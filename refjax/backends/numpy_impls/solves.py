"""Numpy implementation of ``custom_linear_solve`` (``primitives/solves.py``): the ``solve``
jaxpr run on its constants and ``b``, a compiled body called from the host."""

from __future__ import annotations

from refjax.backends.numpy_impls.program import run_inner
from refjax.backends.numpy_impls.table import register
from refjax.interp.core import NDArray
from refjax.primitives.solves import _LinearSolveTuple, _split, linear_solve_p


@register(linear_solve_p)
def _custom_linear_solve(
    *args: NDArray, const_lengths: _LinearSolveTuple, jaxprs: _LinearSolveTuple
) -> list[NDArray]:
    consts, b = _split(args, const_lengths)
    return run_inner(jaxprs.solve, [*consts.solve, *b])
