"""``value_and_grad`` for the optimizers, from the interpreters (``refjax.api`` is a layer up).

What ``refjax.value_and_grad(fun)(x)`` computes for a scalar-valued ``fun`` of one array:
linearize ``fun`` at ``x`` (one forward pass, the linear part staged), then transpose the
linear jaxpr with a unit cotangent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from refjax.interp.core import Array, ArrayLike, as_array, get_aval
from refjax.interp.jvp import instantiate, tangent_aval
from refjax.interp.partial_eval import linearize_flat
from refjax.interp.transpose import UndefinedPrimal, backward_pass
from refjax.primitives.constants import constant

__all__ = ["value_and_grad"]


def value_and_grad(fun: Callable[[Array], ArrayLike]) -> Callable[[Array], tuple[Array, Array]]:
    """``x -> (fun(x), grad fun(x))`` for ``fun`` returning a real scalar."""

    def run(x: Array) -> tuple[Array, Array]:
        in_aval = tangent_aval(get_aval(x))
        outs, jaxpr, _ = linearize_flat(lambda v: [fun(v)], [x], [in_aval])
        (out,) = outs
        aval = get_aval(out)
        if aval.shape != ():
            raise TypeError(
                f"Gradient only defined for scalar-output functions. Output had shape: "
                f"{aval.shape}."
            )
        unit = constant(np.ones((), aval.dtype), aval.dtype, aval.weak_type)
        (ct,) = backward_pass(jaxpr.jaxpr, jaxpr.consts, [UndefinedPrimal(in_aval)], [unit])
        return as_array(out), instantiate(ct)

    return run
