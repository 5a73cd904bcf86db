"""Batched vector products of ``jax.numpy``: ``matvec``, ``vecmat`` and ``vecdot``.

JAX writes the three products with ``jnp.vectorize`` and a gufunc signature (``(n,m),(m)->(n)``
...): the core dims are checked and the loop dims broadcast, each loop dim becoming one ``vmap``
(an operand whose loop dim is 1 is not mapped there); so do these, through
``refjax.numpy.vectorize``, so the programs are JAX's: one ``dot_general`` with batch dims.
"""

from __future__ import annotations

from collections.abc import Callable

from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import ufuncs
from refjax.numpy._util import ensure_arraylike
from refjax.numpy.functional import vectorize
from refjax.numpy.manipulation import moveaxis
from refjax.numpy.tensor_contractions import matmul, vdot
from refjax.primitives.calls import library_jit
from refjax.primitives.linalg import PrecisionLike

__all__ = ["matvec", "vecdot", "vecmat"]


def _call(fn: Callable[..., Array], *args: Array) -> Array:
    out: Array = fn(*args)
    return out

@library_jit()
def matvec(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Matrix-vector products ``x1 @ x2`` over the last two dims of ``x1`` and the last dim of
    ``x2``, the leading dims broadcast."""
    a, b = ensure_arraylike("matvec", x1, x2)
    return _call(vectorize(lambda m, v: matmul(m, v), signature="(n,m),(m)->(n)"), a, b)


@library_jit()
def vecmat(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Vector-matrix products ``conj(x1) @ x2`` over the last dim of ``x1`` and the last two dims
    of ``x2``, the leading dims broadcast."""
    a, b = ensure_arraylike("matvec", x1, x2)  # (JAX's name in the message)
    return _call(vectorize(lambda v, m: matmul(v, m), signature="(n),(n,m)->(m)"),
                 ufuncs.conj(a), b)


def vecdot(
    x1: ArrayLike,
    x2: ArrayLike,
    /,
    *,
    axis: int = -1,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """The conjugated dot products ``sum(conj(x1) * x2)`` along ``axis``, the other dims
    broadcast."""
    a, b = ensure_arraylike("jnp.vecdot", x1, x2)
    if a.shape[axis] != b.shape[axis]:
        raise ValueError(f"axes must match; got shapes {a.shape} and {b.shape} with {axis=}")
    a = moveaxis(a, axis, -1)
    b = moveaxis(b, axis, -1)

    def one(u: Array, v: Array) -> Array:
        return vdot(u, v, precision=precision, preferred_element_type=preferred_element_type)

    return _call(vectorize(one, signature="(n),(n)->()"), a, b)
