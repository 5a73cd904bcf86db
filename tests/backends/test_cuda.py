"""The CUDA backend. Without a GPU: NVRTC compiles every kernel the tests generate (compile-only,
``compute_90`` PTX), and a failed build fails with NVRTC's log. With a GPU: the kernels run.

The kernels compiled are those of the renderer corpus (every op at every dtype, reductions,
matmuls, fused programs), of the fusion tests' programs, and of every record of the primitive
table (its whole jaxpr shape-specialised, as ``jit`` renders it, and each equation alone
shape-generic, as eager dispatch renders it), deduplicated by source.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator

import numpy as np
import pytest

import refjax
from refjax import lax
from refjax.backends.kernels.backend import update_slice_kernel
from refjax.backends.kernels.dialects import CUDA
from refjax.backends.kernels.fusion import Plan, plan, primitive_jaxpr
from refjax.backends.kernels.ir import Kernel
from refjax.backends.kernels.render import Rendered, render
from refjax.interp.core import ClosedJaxpr, ShapedArray
from tests.backends import corpus
from tests.backends.programs import PROGRAMS, Program
from tests.primitives.records import all_records, case_args, x64_for

ARCH = "--gpu-architecture=compute_90"
BATCH = 64


def _nvrtc_available() -> str | None:
    try:
        from refjax.backends.cuda import nvrtc_version

        return nvrtc_version()
    except Exception:
        return None


def _gpu_available() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.runtime.getDeviceCount() > 0)
    except Exception:
        return False


if os.environ.get("REFJAX_REQUIRE_NVRTC") == "1" and _nvrtc_available() is None:
    # CI (make test) installs the cuda extra: there, a missing NVRTC is a failure, not a skip.
    raise RuntimeError("REFJAX_REQUIRE_NVRTC=1 but NVRTC could not be loaded")
needs_nvrtc = pytest.mark.skipif(
    _nvrtc_available() is None, reason="NVRTC is not available (install cupy and nvidia-cuda-nvrtc)"
)
needs_gpu = pytest.mark.skipif(
    not _gpu_available(), reason="no CUDA GPU here: CUDA kernels are only compiled (by NVRTC)"
)


def _plans_of(closed: ClosedJaxpr) -> Iterator[tuple[Plan, bool]]:
    yield plan(closed), False
    for eqn in closed.eqns:
        avals_in = [a.aval for a in eqn.invars]
        avals_out = [v.aval for v in eqn.outvars]
        one = primitive_jaxpr(eqn.primitive, eqn.params, avals_in, avals_out)
        yield plan(one), True


def _kernels() -> Iterator[tuple[Kernel, bool]]:
    for case in corpus.op_cases() + corpus.reduce_cases() + corpus.matmul_cases():
        kernel = corpus.coalesced(case).kernel
        yield kernel, False
        yield kernel, True
    for case in corpus.program_cases():
        yield case.kernel, False
    for begin in [(0, 0), (1, 2), (3, 0), (0, 3)]:  # the kernel dynamic_update_slice launches
        yield update_slice_kernel(ShapedArray((5, 6), np.dtype(np.float32)), (2, 3), begin), True
    for program in PROGRAMS:
        for p, generic in _plans_of(refjax.make_jaxpr(program.fn)(*program.args)):
            yield from ((k, generic) for k in p.kernels())
    for rec in all_records():
        for shapes, dtype in rec.cases():
            with x64_for(dtype):
                args = case_args(rec, shapes, dtype)
                closed = refjax.make_jaxpr(lambda *a, rec=rec: rec.op(lax, *a))(*args)
                for p, generic in _plans_of(closed):
                    yield from ((k, generic) for k in p.kernels())


@functools.cache
def cuda_sources() -> tuple[Rendered, ...]:
    """Every distinct CUDA kernel source the tests generate."""
    seen: dict[str, Rendered] = {}
    for kernel, generic in _kernels():
        rendered = render(kernel, CUDA, generic)
        seen.setdefault(rendered.source, rendered)
    return tuple(seen.values())


def _batch_source(batch: tuple[Rendered, ...]) -> str:
    """Kernels in one translation unit: each in its own namespace, its kernel renamed."""
    parts = []
    for i, r in enumerate(batch):
        renamed = re.sub(rf"\b{r.name}\(", f"{r.name}_{i}(", r.source, count=1)
        parts.append(f"namespace k{i} {{\n{renamed}\n}}  // namespace k{i}")
    return "\n".join(parts)


@needs_nvrtc
def test_nvrtc_compiles_every_generated_kernel() -> None:
    from refjax.backends.cuda import NvrtcError, nvrtc_compile

    sources = cuda_sources()
    failures = []
    for start in range(0, len(sources), BATCH):
        batch = sources[start : start + BATCH]
        try:
            nvrtc_compile(_batch_source(batch), (ARCH, *CUDA.build_options), "batch")
        except NvrtcError:  # find the culprits, and report them with their logs
            for r in batch:
                try:
                    nvrtc_compile(r.source, (ARCH, *CUDA.build_options), r.name)
                except NvrtcError as err:
                    failures.append(str(err))
    print(f"NVRTC compiled {len(sources) - len(failures)} of {len(sources)} CUDA kernels")
    assert not failures, "\n\n".join(failures[:3])
    assert len(sources) > 500


@needs_nvrtc
def test_nvrtc_reports_the_log_of_a_broken_kernel() -> None:
    from refjax.backends.cuda import NvrtcError, nvrtc_compile

    with pytest.raises(NvrtcError, match="undefined"):
        nvrtc_compile('extern "C" __global__ void k() { undefined_thing(); }', (ARCH,), "k")


# ---------------------------------------------------------------------------------------------
# With a GPU


@pytest.fixture
def on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFJAX_BACKEND", "cuda")


@needs_gpu
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_programs_on_cuda(program: object, on_cuda: None) -> None:
    import refjax.profiler
    from refjax.backends.base import device_put

    assert isinstance(program, Program)
    args = [device_put(a, "cuda") for a in program.args]
    f = refjax.jit(program.fn)
    f(*args)
    with refjax.profiler.trace_kernels() as log:
        out = f(*args)
    assert log.launches
    np.testing.assert_allclose(np.asarray(out), program.expected(*program.args), rtol=1e-5,
                               atol=1e-5)


@needs_gpu
@pytest.mark.parametrize("case", corpus.op_cases() + corpus.reduce_cases(),
                         ids=lambda c: c.name)
def test_corpus_on_cuda(case: corpus.Case) -> None:
    from refjax.backends.base import get_backend
    from refjax.backends.kernels.backend import KernelBackend

    backend = get_backend("cuda")
    assert isinstance(backend, KernelBackend)
    corpus.run_case(backend, case, generic=False)
