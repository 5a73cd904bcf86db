"""The short differential-fuzzing sample for CI: fixed seeds, each test id one reproducible program.

``seed{S}-{stack}-{backend}`` runs the program of seed ``S`` under the transformation stack on
refjax's ``backend`` and on real JAX, and compares outputs (or errors). On failure the message is
a runnable reproducer; ``python -m tests.fuzz --seeds S --stacks STACK --backends BACKEND``
prints it shrunk. The long run by hand: ``python -m tests.fuzz --seeds 0:500``.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from tests.fuzz.runner import STACKS, build_case, check, compare, report, run_source, tolerance
from tests.oracle import requires_jax

pytestmark = requires_jax  # every test here compares with real JAX

SEEDS = range(12)
NUMPY_STACKS = tuple(STACKS)  # every stack on the reference backend
OPENCL_STACKS = ("jit", "jit_grad", "jit_vmap", "vjp")  # compiled kernels cost more there

def _params() -> list[Any]:
    params: list[Any] = []
    for seed in SEEDS:
        for stack in NUMPY_STACKS:
            params.append(pytest.param(seed, stack, "numpy", id=f"seed{seed}-{stack}-numpy"))
        for stack in OPENCL_STACKS:
            params.append(pytest.param(seed, stack, "opencl", id=f"seed{seed}-{stack}-opencl"))
    return params


@functools.cache
def _opencl_usable() -> str | None:
    """None when refjax's OpenCL backend works here, else why not."""
    try:
        import pyopencl  # noqa: F401

        from refjax.backends.base import get_backend

        get_backend("opencl")
    except Exception as err:  # no pyopencl, no platform, no device ...
        return f"no usable OpenCL: {err}"
    return None


@pytest.mark.parametrize(("seed", "stack", "backend"), _params())
def test_fuzz_sample(seed: int, stack: str, backend: str) -> None:
    if backend == "opencl" and (why := _opencl_usable()) is not None:
        pytest.skip(why)
    failure = check(build_case(seed, stack), backend)
    if failure is not None:
        pytest.fail(f"{failure.kind}: {failure.detail}\n\n{report(failure)}", pytrace=False)


# Programs that once failed, as found and shrunk by the fuzzer, and as reported; each runs on
# every backend. On OpenCL the fusion planner raised NotAffine for a reduced value broadcast back
# into its own expression (the jit ones); under grad a while_loop whose result fed only an unused
# scan ys reached the transpose (seed 407: JAX dead-code-eliminates the linear jaxpr first).
REGRESSIONS = {"pad_concat_sum": """
def f(x1):
    v1 = jnp.pad(x1, ((1, 1),))
    v2 = jnp.concatenate([v1, x1], axis=0)
    v6 = jnp.sum(v2, axis=-1)
    return v1 > v6
a_x1 = np.array([-1, -4, -2, -2], dtype=np.int32)
out = jax.jit(f)(a_x1)
""", "prod_dead_compare": """
def f(x0, x1):
    v3 = jnp.prod(x1, axis=0)
    v4 = x0 < v3
    return v3
a_x0 = np.array([[-1.0, 2.0], [2.0, 2.0], [0.25, 0.5], [-1.5, 1.25]], dtype=np.float32)
a_x1 = np.array([-1.0], dtype=np.float32)
out = jax.jit(f)(a_x0, a_x1)
""", **{name: f"""
a = np.array([[0.5, -1.25, 2.0], [3.0, 0.25, -4.0]], dtype=np.float32)
out = jax.jit(lambda x: {body})(a)
""" for name, body in {"minus_mean": "x - x.mean()", "plus_sum": "x + x.sum()",
                       "times_max": "x * jnp.max(x)"}.items()}, "while_in_unused_scan_ys": """
def f(x0, x1):
    v1 = jnp.expand_dims(x1, 1)
    def body11_cond(state):
        return state[0] < 3
    def body11(state):
        k10, c12 = state
        return (k10 + 1, v1)
    _, v17 = lax.while_loop(body11_cond, body11, (jnp.int32(0), v1))
    def step18(c19, _):
        return (c19, v17)
    v39, v40 = lax.scan(step18, x0, None, length=2)
    v42 = jnp.mean(v39, axis=0)
    return v42
a_x0 = np.array([1.4094874858856201, 0.0151543989777565, -1.108976125717163], dtype=np.float32)
a_x1 = np.array([0.2305973768234253, 1.3819544315338135, -1.3454779386520386,
                 -0.8369871377944946], dtype=np.float32)
def loss(x0, x1):
    return jnp.sum(f(x0, x1))
out = jax.grad(loss, argnums=(0, 1))(a_x0, a_x1)
"""}
# Relative tolerances other than exact: derivatives compare as the fuzzer's grad stacks do.
REGRESSION_RTOL = {"while_in_unused_scan_ys": tolerance("grad")}


@pytest.mark.parametrize("backend", ["numpy", "opencl"])
@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(name: str, backend: str) -> None:
    if backend == "opencl" and (why := _opencl_usable()) is not None:
        pytest.skip(why)
    source = REGRESSIONS[name]
    rtol = REGRESSION_RTOL.get(name, 0.0)
    diff = compare(run_source(source, "jax"), run_source(source, backend), rtol=rtol)
    assert diff is None, diff
