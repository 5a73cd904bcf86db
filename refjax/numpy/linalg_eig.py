"""``jnp.linalg.eig`` and ``jnp.linalg.eigvals``: the eigendecomposition of general square
matrices (``refjax.primitives.eig``), as JAX's: inputs promoted to an inexact dtype, results
always complex (complex64 for 32-bit inputs, complex128 for 64-bit ones). ``eigvals`` is staged
as JAX's ``jit``; derivatives of ``eig``'s eigenvectors raise JAX's NotImplementedError.
"""

from __future__ import annotations

from typing import NamedTuple

from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import ensure_arraylike, promote_dtypes_inexact
from refjax.primitives import eig as lax_eig
from refjax.primitives.calls import library_jit

__all__ = ["EigResult", "eig", "eigvals"]


class EigResult(NamedTuple):
    """The result of :func:`eig`."""

    eigenvalues: Array
    eigenvectors: Array


def eig(a: ArrayLike) -> EigResult:
    """The eigenvalues and right eigenvectors (columns) of the square matrices ``a``."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.eig", a))
    w, v = lax_eig.eig(arr, compute_left_eigenvectors=False)
    return EigResult(w, v)


@library_jit()
def eigvals(a: ArrayLike) -> Array:
    """The eigenvalues of the square matrices ``a`` (complex)."""
    (arr,) = promote_dtypes_inexact(*ensure_arraylike("jnp.linalg.eigvals", a))
    return lax_eig.eig(arr, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]
