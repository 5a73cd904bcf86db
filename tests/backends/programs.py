"""Programs shared by the fusion tests (test_fusion) and the CUDA tests (test_cuda).

Each has its kernel count when fused (exact or at most) and an independent numpy value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import refjax.numpy as jnp
from refjax import lax

RNG = np.random.default_rng(0)


def f32(*shape: int) -> np.ndarray:
    """Standard normals in float32, all drawn from one generator (seed 0)."""
    return RNG.standard_normal(shape).astype(np.float32)


def seed_loop(x: Any) -> Any:
    """The seed's loop: ten steps of ``x -= 0.1 * x``."""
    for _ in range(10):
        x -= 0.1 * x
    return x


def softmax(x: Any) -> Any:
    """Softmax over the last axis, stabilised by the maximum."""
    e = jnp.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@dataclass(frozen=True)
class Program:
    """A function, its arguments, the kernel count (exact or at most) and its numpy value."""

    name: str
    fn: Callable[..., Any]
    args: tuple[np.ndarray, ...]
    kernels: int
    expected: Callable[..., Any]
    at_most: bool = False


PROGRAMS = [
    Program("a+b+c", lambda a, b, c: a + b + c, (f32(1000), f32(1000), f32(1000)), 1,
            lambda a, b, c: a + b + c),
    Program("(a*b).sum()", lambda a, b: (a * b).sum(), (f32(1000), f32(1000)), 1,
            lambda a, b: (a * b).sum()),
    Program("x.sum(1)+b", lambda x, b: x.sum(1) + b, (f32(30, 40), f32(30)), 1,
            lambda x, b: x.sum(1) + b),
    Program("x-x.mean(1,keepdims)", lambda x: x - x.mean(1, keepdims=True), (f32(30, 40),), 2,
            lambda x: x - x.mean(1, keepdims=True)),
    Program("softmax", softmax, (f32(30, 40),), 3,
            lambda x: np.exp(x - x.max(-1, keepdims=True))
            / np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True), at_most=True),
    Program("relu(x@w+b)", lambda x, w, b: jnp.maximum(x @ w + b, 0), (f32(30, 20), f32(20, 10),
            f32(10)), 1, lambda x, w, b: np.maximum(x @ w + b, 0)),
    Program("seed loop", seed_loop, (f32(1000),), 1, seed_loop),
    Program("concat+pad", lambda a, b: jnp.concatenate([a, jnp.pad(b, (2, 1)) * 2]) + 1,
            (f32(1001), f32(997)), 1,
            lambda a, b: np.concatenate([a, np.pad(b, (2, 1)) * 2]) + 1),
    Program("pad(x).sum(0)", lambda x: lax.pad(x, np.float32(3), [(1, -2, 0), (2, 2, 0)]).sum(0),
            (f32(30, 40),), 1,
            lambda x: np.pad(x, ((1, 0), (2, 2)), constant_values=3)[:-2].sum(0)),
    Program("argmax", lambda x: jnp.argmax(x * 2, axis=1), (f32(30, 40),), 2,
            lambda x: np.argmax(x * 2, axis=1)),
]
