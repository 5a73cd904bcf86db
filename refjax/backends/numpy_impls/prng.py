"""Numpy implementation of the Threefry-2x32 hash (Salmon et al., "Parallel random numbers:
as easy as 1, 2, 3", SC 2011), with the 20 rounds and constants JAX uses.

The state is two ``uint32`` words. Each round adds the second word into the first, rotates the
second left and xors the first into it. Rotation amounts cycle through two groups of four; after
every four rounds a key word pair is injected, drawn from the extended key
``(k0, k1, k0 ^ k1 ^ 0x1BD11BDA)`` and rotated by one each time, plus the injection count on the
second word. All arithmetic wraps modulo 2**32.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.interp.core import NDArray
from refjax.primitives.prng import threefry2x32_p

ROTATIONS: Final[tuple[tuple[int, ...], tuple[int, ...]]] = ((13, 15, 26, 6), (17, 29, 16, 24))
KEY_PARITY: Final = 0x1BD11BDA
INJECTIONS: Final = 5


def _rotate_left(x: NDArray, d: int) -> NDArray:
    """``x`` rotated left by ``d`` bits within 32."""
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def _mix(x0: NDArray, x1: NDArray, rotations: tuple[int, ...]) -> tuple[NDArray, NDArray]:
    """Four Threefry rounds: add, rotate, xor."""
    for r in rotations:
        x0 = x0 + x1
        x1 = _rotate_left(x1, r) ^ x0
    return x0, x1


def threefry2x32_words(
    k0: NDArray, k1: NDArray, x0: NDArray, x1: NDArray
) -> tuple[NDArray, NDArray]:
    """Threefry-2x32 on 1-D ``uint32`` arrays of equal length (or length-1, broadcast)."""
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(KEY_PARITY))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(INJECTIONS):
        x0, x1 = _mix(x0, x1, ROTATIONS[i % 2])
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


@register(threefry2x32_p)
def _threefry2x32(
    key1: NDArray, key2: NDArray, x1: NDArray, x2: NDArray
) -> tuple[NDArray, NDArray]:
    operands = [np.asarray(a, dtype=np.uint32) for a in (key1, key2, x1, x2)]
    shape = np.broadcast_shapes(*(a.shape for a in operands))
    # 1-D arrays throughout: numpy wraps array arithmetic silently, but warns on scalars.
    flat = [np.broadcast_to(a, shape).reshape(-1) for a in operands]
    y1, y2 = threefry2x32_words(*flat)
    return y1.reshape(shape), y2.reshape(shape)
