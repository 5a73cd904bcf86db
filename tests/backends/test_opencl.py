"""The OpenCL backend on PoCL: device-resident buffers, eager dispatch, jit, control flow,
host fallbacks, transformations, the profiler and kernel dumps; results against the numpy backend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
import refjax.profiler
from refjax import lax
from refjax.backends.base import ArrayImpl, device_put
from refjax.backends.kernels.backend import KernelBackend

RNG = np.random.default_rng(3)


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _same_on_numpy(fn: Callable[..., Any], *args: np.ndarray, jit: bool = True,
                   tol: float = 1e-6) -> None:
    """``fn`` on OpenCL (the default backend here) equals ``fn`` on the numpy backend."""
    wrap = refjax.jit if jit else (lambda f: f)
    got = wrap(fn)(*[device_put(a, "opencl") for a in args])
    want = wrap(fn)(*[device_put(a, "numpy") for a in args])
    for g, w in zip(refjax.tree_util.tree_leaves(got), refjax.tree_util.tree_leaves(want),
                    strict=True):
        assert isinstance(g, ArrayImpl) and g.backend.name == "opencl"
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=tol, atol=tol)


def test_buffers_stay_on_the_device(on_opencl: KernelBackend) -> None:
    import pyopencl.array

    x = device_put(_f32(10), "opencl")
    y = jnp.sin(x) * 2
    assert isinstance(y, ArrayImpl) and isinstance(y.buffer, pyopencl.array.Array)
    assert refjax.default_backend() == "opencl"
    assert [d.platform for d in refjax.devices("opencl")] == ["opencl"]


def test_no_transfers_until_asked(
    on_opencl: KernelBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = device_put(_f32(8, 16), "opencl")
    f = refjax.jit(lambda x: jnp.exp(x - x.max(1, keepdims=True)) @ jnp.ones((16, 4)))
    f(x)
    calls: list[object] = []
    original = on_opencl.to_numpy
    monkeypatch.setattr(on_opencl, "to_numpy", lambda b: calls.append(b) or original(b))
    y = jnp.tanh(f(x)) + 1
    assert not calls
    np.asarray(y)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x + 1,
        lambda x: (x * 2).sum(0),
        lambda x: jnp.where(x > 0, x, -x).max(),
        lambda x: x.T[::-1] / 3,
        lambda x: lax.integer_pow(x, 3) - lax.rsqrt(jnp.abs(x) + 1),
        lambda x: (x > 0).astype(np.int32).sum(1),
        lambda x: jnp.argsort(x, axis=1),  # a host fallback
    ],
)
def test_eager_matches_numpy(fn: Callable[..., Any], on_opencl: KernelBackend) -> None:
    _same_on_numpy(fn, _f32(5, 7), jit=False)


def test_eager_float64_ints_bools_and_empty(on_opencl: KernelBackend, x64: None) -> None:
    _same_on_numpy(lambda x: jnp.exp(x) * 2 - x.sum(), np.linspace(-1, 1, 9), jit=False,
                   tol=1e-15)
    _same_on_numpy(lambda x: (x // 3, x % 3, x << 2, -x), np.arange(-5, 5, dtype=np.int64),
                   jit=False)
    _same_on_numpy(lambda x: (~x, x & x[::-1], x.any()), np.arange(6) % 2 == 0, jit=False)
    empty = np.zeros((0, 3), np.float32)
    _same_on_numpy(lambda x: (x * 2, x.sum(0), lax.reduce_max(x, (0,))), empty, jit=False)


def test_scalars_and_weak_types(on_opencl: KernelBackend) -> None:
    x = device_put(np.float32(2.0), "opencl")
    y = x * 3 + 1.5
    assert y.shape == () and float(y) == 7.5 and y.dtype == np.float32


def test_control_flow_runs_around_compiled_bodies(on_opencl: KernelBackend) -> None:
    def loops(x: Any) -> Any:
        y = lax.fori_loop(0, 4, lambda i, v: v * 0.5 + i, x)
        z = lax.while_loop(lambda v: v.sum() < 100.0, lambda v: v * 2 + 1, jnp.abs(x) + 1)
        w = lax.cond(x.sum() > 0, lambda v: v - 1, lambda v: v + 1, x)
        carry, ys = lax.scan(lambda c, v: (c + v, c * v), jnp.zeros(3), x.reshape(4, 3))
        return y, z, w, carry, ys

    x = _f32(12)
    _same_on_numpy(loops, x, jit=True, tol=1e-5)
    _same_on_numpy(loops, x, jit=False, tol=1e-5)


def test_transformations(on_opencl: KernelBackend) -> None:
    def loss(w: Any, x: Any) -> Any:
        return (jnp.tanh(x @ w) ** 2).mean()

    w, x = _f32(6, 3), _f32(10, 6)
    _same_on_numpy(refjax.grad(loss), w, x, tol=1e-5)
    _same_on_numpy(refjax.vmap(lambda v: jnp.sin(v).sum()), x, tol=1e-5)
    _same_on_numpy(lambda x: refjax.jvp(jnp.exp, (x,), (jnp.ones_like(x),)), x, tol=1e-5)


def test_matmul_dtypes(on_opencl: KernelBackend) -> None:
    a, b = np.arange(12, dtype=np.int32).reshape(3, 4), np.arange(8, dtype=np.int32).reshape(4, 2)
    _same_on_numpy(lambda a, b: a @ b, a, b)
    _same_on_numpy(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                                preferred_element_type=np.float32), a, b)
    _same_on_numpy(lambda a, b: jnp.einsum("ij,kj->ik", a, b), _f32(5, 3), _f32(4, 3), tol=1e-5)


def test_host_fallback_is_recorded_and_logged(
    on_opencl: KernelBackend, caplog: pytest.LogCaptureFixture
) -> None:
    x = device_put(_f32(9), "opencl")
    with caplog.at_level(logging.INFO, logger="refjax.kernels"):
        f = refjax.jit(lambda x: jnp.cumsum(x * 2) + 1)
        f(x)
    assert any("cumsum" in r.getMessage() for r in caplog.records)
    with refjax.profiler.trace_kernels() as log:
        out = f(x)
    assert [h.name for h in log.host()] == ["cumsum"]
    assert len(log.kernels()) == 2
    np.testing.assert_allclose(np.asarray(out), np.cumsum(np.asarray(x) * 2) + 1, rtol=1e-5)


def test_profiler_counts_bytes(on_opencl: KernelBackend) -> None:
    a, b = (device_put(_f32(1000), "opencl") for _ in range(2))
    f = refjax.jit(lambda a, b: (a * b).sum())
    f(a, b)
    with refjax.profiler.trace_kernels() as outer, refjax.profiler.trace_kernels() as inner:
        f(a, b)
    (launch,) = inner.kernels()
    assert (launch.bytes_read, launch.bytes_written) == (8000, 4)
    assert launch.backend == "opencl" and launch.name.startswith("reduce_add")
    assert outer.launches == inner.launches


def test_dump_kernels(on_opencl: KernelBackend, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFJAX_DUMP_KERNELS", str(tmp_path))
    x = device_put(_f32(4, 5), "opencl")
    refjax.jit(lambda x: x - x.mean(1, keepdims=True))(x)
    (out,) = [d for d in tmp_path.iterdir() if d.name.startswith("jit-")]
    names = sorted(p.name for p in out.iterdir())
    assert names[-2:] == ["jaxpr.txt", "plan.txt"] and len(names) == 4
    assert "reduce_sum" in (out / "jaxpr.txt").read_text()
    assert "__kernel void" in (out / names[0]).read_text()


def test_multiple_outputs_and_pytrees(on_opencl: KernelBackend) -> None:
    _same_on_numpy(lambda x: {"a": x * 2, "b": (x.sum(), x, 3.0)}, _f32(6))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_])
def test_argmax_argmin_run_as_two_reductions(
    on_opencl: KernelBackend, name: str, dtype: type
) -> None:
    """argmax/argmin are decomposed into kernels (no host step): first extreme, first NaN."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, (5, 6, 7)).astype(dtype)  # small range: many ties
    if dtype == np.float32:
        x[1, 2, 3] = np.nan
        x[2, :, 4] = np.nan
        x[3, 0, :] = -0.0
        x[3, 1, :] = 0.0
    ref = getattr(np, name)
    for axis in range(3):
        f = refjax.jit(lambda x, axis=axis: getattr(jnp, name)(x, axis=axis))
        xd = device_put(x, "opencl")
        f(xd)
        with refjax.profiler.trace_kernels() as log:
            out = f(xd)
        assert not log.host() and len(log.kernels()) == 2
        np.testing.assert_array_equal(np.asarray(out), ref(x, axis=axis))
        eager = getattr(lax, name)(xd, axis, np.int32)
        np.testing.assert_array_equal(np.asarray(eager), ref(x, axis=axis))


def test_special_functions_run_as_kernels(on_opencl: KernelBackend) -> None:
    x = np.array([-3.5, -2.5, -1.5, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0, 3.5, 10.0, 30.0, np.inf,
                  -np.inf, np.nan], np.float32)
    for fn in (lax.erf, lax.erfc, lax.lgamma):
        f = refjax.jit(fn)
        with refjax.profiler.trace_kernels() as log:
            got = np.asarray(f(device_put(x, "opencl")))
        assert not log.host() and len(log.kernels()) == 1
        want = np.asarray(f(device_put(x, "numpy")))
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.bool_])
def test_pad_and_concatenate_fuse_into_kernels(on_opencl: KernelBackend, dtype: type) -> None:
    """pad (without interior padding) and concatenate are views with clamped loads: they fuse
    with their neighbours, run no host step, and equal numpy's pad/concatenate."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((3, 5)) * 4).astype(dtype)
    y = (rng.standard_normal((3, 2)) * 4).astype(dtype)
    e = np.zeros((3, 0), dtype)
    fill = np.array(1, dtype)
    programs: list[tuple[Callable[..., Any], Callable[..., Any], int]] = [
        (lambda x, y, e: lax.pad(x, fill, [(1, 2, 0), (0, 3, 0)]),
         lambda x, y, e: np.pad(x, ((1, 2), (0, 3)), constant_values=fill), 1),
        (lambda x, y, e: lax.pad(x, fill, [(-1, 2, 0), (2, -2, 0)]),
         lambda x, y, e: np.pad(x, ((0, 2), (2, 0)), constant_values=fill)[1:, :-2], 1),
        (lambda x, y, e: lax.concatenate([x, e, y, x], 1) == fill,
         lambda x, y, e: np.concatenate([x, y, x], 1) == fill, 1),
        (lambda x, y, e: lax.concatenate([x.T, y.T], 0).max(1),
         lambda x, y, e: np.concatenate([x.T, y.T], 0).max(1), 1),
        (lambda x, y, e: lax.pad(e, fill, [(0, 0, 0), (1, 1, 0)]),
         lambda x, y, e: np.pad(e, ((0, 0), (1, 1)), constant_values=fill), 1),
    ]
    args = [device_put(a, "opencl") for a in (x, y, e)]
    for ours, ref, n_kernels in programs:
        f = refjax.jit(ours)
        f(*args)
        with refjax.profiler.trace_kernels() as log:
            got = f(*args)
        assert not log.host() and len(log.kernels()) == n_kernels
        np.testing.assert_array_equal(np.asarray(got), ref(x, y, e))
        np.testing.assert_array_equal(np.asarray(ours(*args)), ref(x, y, e))  # eager


def test_interior_padding_runs_as_kernels(on_opencl: KernelBackend) -> None:
    """(decompose_windows.py: a unit axis padded after each element, then reshaped flat)"""
    x = _f32(4)
    with refjax.profiler.trace_kernels() as log:
        got = lax.pad(device_put(x, "opencl"), np.float32(0), [(1, 0, 2)])
    assert not log.host() and log.kernels()
    want = np.zeros(11, np.float32)
    want[1::3] = x
    np.testing.assert_array_equal(np.asarray(got), want)


def test_dynamic_slices_keep_data_on_the_device(on_opencl: KernelBackend) -> None:
    """dynamic_slice/dynamic_update_slice read only their start indices back: the data moves by
    shape-generic kernels, compiled once for every start (clamped as XLA clamps)."""
    x = _f32(6, 5)
    u = _f32(2, 3)

    def f(x: Any, u: Any, i: Any) -> Any:
        window = lax.dynamic_slice(x, (i, 1), (3, 2))
        return lax.dynamic_update_slice(x, u * window[0, 0], (i - 1, i)), window

    for jit in (False, True):
        g = refjax.jit(f) if jit else f
        g(device_put(x, "opencl"), device_put(u, "opencl"), np.int32(0))
        g(device_put(x, "opencl"), device_put(u, "opencl"), np.int32(1))
        with refjax.profiler.trace_kernels() as log:
            for i in range(-2, 9):  # out-of-range starts are clamped
                got = g(device_put(x, "opencl"), device_put(u, "opencl"), np.int32(i))
                want = g(device_put(x, "numpy"), device_put(u, "numpy"), np.int32(i))
                for a, b in zip(got, want, strict=True):
                    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert not log.host()
        assert len(log.compiles) <= 3  # start 0 and the right edge drop a bound test


def test_fori_loop_with_dynamic_indexing_on_the_device(on_opencl: KernelBackend) -> None:
    def body(i: Any, acc: Any) -> Any:  # acc[i] = acc[i - 1] * 2 + 1, with lax's slices
        previous = lax.dynamic_slice(acc, (i - 1,), (1,))
        return lax.dynamic_update_slice(acc, previous * 2 + 1, (i,))

    f = refjax.jit(lambda a: lax.fori_loop(1, 8, body, a))
    a = np.zeros(8, np.float32)
    f(device_put(a, "opencl"))
    with refjax.profiler.trace_kernels() as log:
        out = f(device_put(a, "opencl"))
    assert not log.host()
    np.testing.assert_array_equal(np.asarray(out), 2.0 ** np.arange(8) - 1)
