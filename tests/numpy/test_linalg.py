"""``refjax.numpy.linalg.norm``/``vector_norm`` against ``jax.numpy.linalg``: values, dtypes,
gradients and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.numpy.helpers import check, jax, jnp

X = np.float32([[3, -4, 0], [1, 2, -2]])
NORMS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("default", (), {}),
    ("2 axis1", (None, 1), {}),
    ("1 axis1", (1, 1), {}),
    ("inf axis0", (np.inf, 0), {}),
    ("-inf axis1", (-np.inf, 1), {}),
    ("0 axis1", (0, 1), {}),
    ("3 axis1", (3, 1), {}),
    ("0.5 axis0", (0.5, 0), {}),
    ("fro", ("fro",), {}),
    ("matrix 1", (1,), {}),
    ("matrix -1", (-1,), {}),
    ("matrix inf", (np.inf,), {}),
    ("matrix -inf", (-np.inf,), {}),
    ("fro swapped keepdims", (None, (1, 0)), {"keepdims": True}),
    ("matrix 1 swapped", (1, (1, 0)), {}),
    ("matrix inf keepdims", (np.inf, (1, 0)), {"keepdims": True}),
    ("bad vector ord", ("bad", 1), {}),
    ("bad matrix ord", ("bad",), {}),
]


@pytest.mark.parametrize("args,kw", [c[1:] for c in NORMS], ids=[c[0] for c in NORMS])
def test_norm_matches_jax(args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    check(lambda m, a: m.linalg.norm(a, *args, **kw), X)
    if not any(isinstance(a, str) for a in args):
        ours = refjax.grad(lambda v: rnp.sum(rnp.linalg.norm(v, *args, **kw)))(X)
        theirs = jax.grad(lambda v: jnp.sum(jnp.linalg.norm(v, *args, **kw)))(X)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize("x", [np.int32([3, 4]), np.float32([[[1, 2], [3, 4]]]),
                               np.complex64([3 + 4j, 1j]), np.zeros((0,), np.float32),
                               np.float16([3, 4])], ids=str)
def test_norm_of_other_dtypes_and_ranks(x: Any) -> None:
    check(lambda m, a: m.linalg.norm(a), x)
    check(lambda m, a: m.linalg.vector_norm(a, ord=np.inf), x)


def test_norm_needs_one_or_two_axes() -> None:
    check(lambda m, a: m.linalg.norm(a, axis=(0, 1, 2)), np.ones((2, 2, 2), np.float32))


@pytest.mark.parametrize("ord_", ["nuc", 2, -2])
def test_spectral_norms_say_they_are_missing(ord_: Any) -> None:
    with pytest.raises(NotImplementedError, match="singular value decomposition"):
        rnp.linalg.norm(X, ord_)
