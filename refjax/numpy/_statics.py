"""Arguments that must be known while tracing: JAX's ``core.concrete_or_error(operator.index,
x, context)`` for the sizes, lengths and counts of ``refjax.numpy``'s size-static functions."""

from __future__ import annotations

import operator

from refjax.interp.core import Array, concrete_or_error


def static_int(x: object, context: str) -> int:
    """``x`` as a Python int: a ConcretizationTypeError (with ``context``) for a traced value,
    a TypeError for a value that is not an integer."""
    if isinstance(x, Array):
        return operator.index(concrete_or_error(x, context).item())
    return operator.index(x)  # type: ignore[arg-type]  # any object: operator.index checks it
