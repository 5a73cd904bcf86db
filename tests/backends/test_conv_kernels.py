"""Convolution and the windowed reductions as generated kernels: the decompositions of
``refjax/backends/kernels/decompose_windows.py`` on OpenCL (PoCL) against the numpy backend (the
reference), with no host step in their plans nor a host launch in the profiler's log, and the
CUDA sources of their kernels compiled by NVRTC.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
import refjax.profiler
from refjax import lax
from refjax.backends.base import ArrayImpl, device_put
from refjax.backends.kernels.backend import KernelBackend
from refjax.backends.kernels.dialects import CUDA
from refjax.backends.kernels.fusion import PrimitiveStep, plan, primitive_jaxpr
from refjax.backends.kernels.render import render
from refjax.config import enable_x64
from refjax.primitives import windowed as wd

RNG = np.random.default_rng(11)
ARCH = "--gpu-architecture=compute_90"
WINDOWED = {"conv_general_dilated", "reduce_window_sum", "reduce_window_max",
            "reduce_window_min", "reduce_window", "select_and_gather_add",
            "select_and_scatter_add", "pad"}


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _f64(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def _ints(dtype: type, *shape: int) -> np.ndarray:
    return RNG.integers(-6, 7, shape).astype(dtype)


@dataclass(frozen=True)
class Case:
    """A program of windowed primitives, its arguments, and the tolerance of its floats."""

    name: str
    fn: Callable[..., Any]
    args: Callable[[], tuple[np.ndarray, ...]]  # (made under x64 where the case needs it)
    tol: float = 1e-5
    x64: bool = False
    eager: bool = False  # also run un-jitted (eager dispatch's generic kernels)


def _conv(**params: Any) -> Callable[..., Any]:
    return lambda x, w: lax.conv_general_dilated(x, w, **params)


def _window(op: Callable[..., Any], init: Any, *args: Any, **kwargs: Any) -> Callable[..., Any]:
    return lambda x: lax.reduce_window(x, init, op, *args, **kwargs)


NHWC = ("NHWC", "HWIO", "NHWC")

CONV_CASES = [
    Case("nchw-same", _conv(window_strides=(1, 1), padding="SAME"),
         lambda: (_f32(2, 3, 7, 6), _f32(4, 3, 3, 2)), eager=True),
    Case("nhwc-strided-valid", _conv(window_strides=(2, 2), padding="VALID",
                                     dimension_numbers=NHWC),
         lambda: (_f32(2, 9, 8, 3), _f32(3, 3, 3, 5))),
    Case("1d-explicit-rhs-dilation", _conv(window_strides=(2,), padding=[(2, 1)],
                                           rhs_dilation=(2,)),
         lambda: (_f32(2, 3, 11), _f32(4, 3, 3))),
    Case("lhs-dilation-negative-pad", _conv(window_strides=(1, 2), padding=[(1, 2), (0, -1)],
                                            lhs_dilation=(2, 3), rhs_dilation=(1, 2)),
         lambda: (_f32(1, 2, 4, 5), _f32(3, 2, 2, 3)), eager=True),
    Case("3d-mixed-layouts", _conv(window_strides=(1, 2, 1), padding="SAME",
                                   dimension_numbers=("NDHWC", "DHWIO", "NCDHW")),
         lambda: (_f32(1, 5, 4, 6, 2), _f32(2, 3, 2, 2, 3))),
    Case("odd-layouts", _conv(window_strides=(1, 1), padding="SAME_LOWER",
                              dimension_numbers=("HNWC", "OHWI", "CWNH")),
         lambda: (_f32(5, 2, 4, 3), _f32(4, 2, 3, 3))),
    Case("feature-groups", _conv(window_strides=(1, 1), padding="VALID", feature_group_count=2),
         lambda: (_f32(2, 4, 6, 6), _f32(6, 2, 3, 3))),
    Case("depthwise-nhwc", _conv(window_strides=(1, 1), padding="SAME", feature_group_count=3,
                                 dimension_numbers=NHWC),
         lambda: (_f32(2, 5, 5, 3), _f32(3, 3, 1, 6))),
    Case("batch-groups", _conv(window_strides=(1, 1), padding="VALID", batch_group_count=2),
         lambda: (_f32(4, 3, 6, 6), _f32(6, 3, 3, 3))),
    Case("kernel-wider-than-output", _conv(window_strides=(1, 1), padding="VALID"),
         lambda: (_f32(2, 2, 9, 9), _f32(2, 2, 7, 8))),
    Case("f64", _conv(window_strides=(2,), padding="SAME", rhs_dilation=(2,)),
         lambda: (_f64(2, 3, 9), _f64(2, 3, 3)), tol=1e-12, x64=True),
    Case("i32", _conv(window_strides=(1, 1), padding="SAME"),
         lambda: (_ints(np.int32, 2, 3, 5, 5), _ints(np.int32, 2, 3, 3, 3)), eager=True),
    Case("i8-preferred-i32", _conv(window_strides=(1, 1), padding="SAME",
                                   preferred_element_type=np.int32),
         lambda: (_ints(np.int8, 2, 3, 5, 5), _ints(np.int8, 2, 3, 3, 3))),
    Case("bool", _conv(window_strides=(1,), padding="SAME"),
         lambda: (_ints(np.int8, 2, 3, 5) > 0, _ints(np.int8, 2, 3, 3) > 0)),
    Case("empty-output", _conv(window_strides=(1,), padding="VALID"),
         lambda: (_f32(2, 3, 2), _f32(2, 3, 3))),
]

WINDOW_CASES = [
    Case("max-pool", _window(lax.max, -np.inf, (1, 1, 2, 2), (1, 1, 2, 2), "VALID"),
         lambda: (_f32(2, 3, 6, 7),), eager=True),
    Case("max-pool-same-nhwc", _window(lax.max, -np.inf, (1, 3, 3, 1), (1, 2, 2, 1), "SAME"),
         lambda: (_f32(2, 7, 6, 3),)),
    Case("sum-dilations", _window(lax.add, 0.0, (2, 3), (1, 2), [(1, 0), (2, 1)],
                                  base_dilation=(2, 1), window_dilation=(1, 2)),
         lambda: (_f32(5, 7),)),
    Case("min-int-padded", _window(lax.min, np.iinfo(np.int32).max, (3,), (2,), [(1, 1)]),
         lambda: (_ints(np.int32, 10),)),
    Case("max-f64-nan", _window(lax.max, -np.inf, (2, 2), (1, 1), "SAME"),
         lambda: (np.where(RNG.random((4, 5)) < 0.2, np.nan, _f64(4, 5)),), tol=0, x64=True),
    Case("sum-window-longer-than-output", _window(lax.add, 0.0, (1, 6, 5), (1, 1, 2), "VALID"),
         lambda: (_f32(3, 6, 7),)),
    Case("generic-mul", _window(lax.mul, 1.0, (2, 2), (1, 1), "SAME"), lambda: (_f32(4, 5),)),
    Case("generic-pair", lambda x, y: lax.reduce_window(
        (x, y), (-np.inf, 0.0), lambda a, b: (lax.max(a[0], b[0]), a[1] + b[1]), (2, 2),
        (1, 2), [(0, 1), (1, 0)], base_dilation=(1, 2)), lambda: (_f32(4, 5), _f32(4, 5))),
    Case("select-and-gather-add", lambda t, x: wd.select_and_gather_add(
        t, x, lax.ge_p, (2, 2), (1, 2), [(1, 0), (0, 1)], (1, 2), (1, 1)),
         lambda: (_f32(5, 5), _f32(5, 5))),
    Case("select-and-scatter-add", lambda s, x: wd.select_and_scatter_add(
        s, x, lax.le_p, (3, 2), (2, 3), [(1, 1), (0, 1)]), lambda: (_f32(3, 2), _f32(5, 5)),
        eager=True),
    Case("pad-interior", lambda x: lax.pad(x, np.float32(1.5), [(1, -1, 2), (-2, 3, 1)]),
         lambda: (_f32(4, 5),)),
]


def _cnn_loss(params: dict[str, Any], x: Any, y: Any) -> Any:
    """Conv, relu, max pool, conv (stride 2), relu, average pool, dense, cross entropy."""
    h = lax.conv_general_dilated(x, params["w1"], (1, 1), "SAME", dimension_numbers=NHWC)
    h = _window(lax.max, -np.inf, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")(jnp.maximum(h, 0))
    h = lax.conv_general_dilated(h, params["w2"], (2, 2), "SAME", dimension_numbers=NHWC)
    h = _window(lax.add, 0.0, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")(jnp.maximum(h, 0)) / 4
    logits = h.reshape(h.shape[0], -1) @ params["w3"]
    logp = logits - jnp.log(jnp.exp(logits).sum(1, keepdims=True))
    return -(logp * y).sum() / x.shape[0]


def _cnn_args() -> tuple[Any, ...]:
    params = {"w1": _f32(3, 3, 1, 4) * 0.5, "w2": _f32(3, 3, 4, 6) * 0.3, "w3": _f32(6, 3)}
    return params, _f32(3, 8, 8, 1), np.eye(3, dtype=np.float32)[[0, 2, 1]]


def _pool_loss(x: Any) -> Any:
    return (_window(lax.max, -np.inf, (1, 3, 3), (1, 2, 2), "SAME")(x) ** 2).sum()


def _conv_loss(w: Any, x: Any) -> Any:
    return jnp.tanh(lax.conv_general_dilated(x, w, (2, 1), [(1, 0), (1, 1)],
                                             feature_group_count=2)).sum()


GRAD_CASES = [
    Case("max-pool-grad", refjax.grad(_pool_loss), lambda: (_f32(2, 7, 8),)),
    Case("avg-pool-grad", refjax.grad(lambda x: (_window(
        lax.add, 0.0, (1, 2, 3), (1, 2, 2), "VALID")(x) ** 2).sum()), lambda: (_f32(2, 7, 8),)),
    Case("grouped-strided-conv-grad", refjax.grad(_conv_loss, argnums=(0, 1)),
         lambda: (_f32(4, 1, 3, 2), _f32(2, 2, 7, 6)), tol=1e-4),
    Case("cnn-value-and-grad", refjax.value_and_grad(_cnn_loss), _cnn_args, tol=1e-4),
]

CASES = CONV_CASES + WINDOW_CASES + GRAD_CASES


@contextlib.contextmanager
def _x64(on: bool) -> Iterator[None]:
    with enable_x64() if on else contextlib.nullcontext():
        yield


def _run(case: Case, args: tuple[Any, ...], backend: str, jit: bool,
         monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The case's results computed on ``backend`` (the default backend while it runs)."""
    monkeypatch.setenv("REFJAX_BACKEND", backend)
    fn = refjax.jit(case.fn) if jit else case.fn
    placed = refjax.tree_util.tree_map(lambda a: device_put(a, backend), args)
    out = refjax.tree_util.tree_leaves(fn(*placed))
    assert all(isinstance(o, ArrayImpl) and o.backend.name == backend for o in out)
    return out


def _check(case: Case, jit: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    with _x64(case.x64):
        args = case.args()
        with refjax.profiler.trace_kernels() as log:
            got = _run(case, args, "opencl", jit, monkeypatch)
        want = _run(case, args, "numpy", jit, monkeypatch)
        assert not [launch.name for launch in log.host()]
        for g, w in zip(got, want, strict=True):
            assert (g.dtype, g.shape) == (w.dtype, w.shape)
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=case.tol,
                                       atol=case.tol)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_numpy_with_no_host_step(case: Case, opencl: KernelBackend,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _check(case, True, monkeypatch)
    with _x64(case.x64):
        steps = plan(refjax.make_jaxpr(case.fn)(*case.args()), opencl.options)
    hosted = [s.primitive.name for s in steps.steps if isinstance(s, PrimitiveStep)]
    assert not hosted and not steps.fallbacks


@pytest.mark.parametrize("case", [c for c in CASES if c.eager], ids=lambda c: c.name)
def test_eager_dispatch(case: Case, opencl: KernelBackend,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    _check(case, False, monkeypatch)


def test_cnn_kernels_read_and_fuse(opencl: KernelBackend) -> None:
    """The CNN's forward and backward: every windowed primitive decomposed (no host step), the
    first convolution's patches one map kernel feeding one matmul, and the output in NHWC read
    straight from the matmul (no copy kernel between it and the relu)."""
    params, x, _ = _cnn_args()
    first = plan(refjax.make_jaxpr(lambda w, x: jnp.maximum(lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=NHWC), 0))(params["w1"], x), opencl.options)
    assert [k.name.split("_")[0] for k in first.kernels()] == ["map", "matmul"]
    assert "max" in first.kernels()[1].name  # the relu in the matmul's epilogue


def _nvrtc_available() -> bool:
    try:
        from refjax.backends.cuda import nvrtc_version

        nvrtc_version()
    except Exception:
        return False
    return True


def _namespaced(i: int, source: str, name: str) -> str:
    """A kernel in namespace ``k{i}``, renamed ``{name}_{i}`` (one translation unit holds all)."""
    renamed = re.sub(rf"\b{name}\(", f"{name}_{i}(", source, count=1)
    return f"namespace k{i} {{\n{renamed}\n}}"


@pytest.mark.skipif(not _nvrtc_available(), reason="NVRTC is not available (install cupy and "
                    "nvidia-cuda-nvrtc)")
def test_nvrtc_compiles_the_cuda_kernels() -> None:
    """Every kernel of the cases' plans, rendered for CUDA as jit renders it (and each windowed
    equation alone, shape-generic, as eager dispatch does), compiled in one translation unit."""
    from refjax.backends.cuda import nvrtc_compile

    sources: dict[str, str] = {}
    for case in CASES:
        with _x64(case.x64):  # (decompositions trace their constants in the jaxpr's dtypes)
            closed = refjax.make_jaxpr(case.fn)(*case.args())
            plans = [(plan(closed), False)]
            for eqn in closed.eqns:
                if eqn.primitive.name in WINDOWED:
                    one = primitive_jaxpr(eqn.primitive, eqn.params,
                                          [a.aval for a in eqn.invars],
                                          [v.aval for v in eqn.outvars])
                    plans.append((plan(one), True))
        for p, generic in plans:
            assert not any(isinstance(s, PrimitiveStep) for s in p.steps), case.name
            for kernel in p.kernels():
                rendered = render(kernel, CUDA, generic)
                sources.setdefault(rendered.source, rendered.name)
    unit = "\n".join(_namespaced(i, src, name) for i, (src, name) in enumerate(sources.items()))
    nvrtc_compile(unit, (ARCH, *CUDA.build_options), "windowed")
    assert len(sources) > 40
