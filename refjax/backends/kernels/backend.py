"""``KernelBackend``: the backend the OpenCL and CUDA runtimes share, and its executables.

It runs fusion plans on a device runtime and needs only a handful of runtime hooks (allocate,
reshape, compile, launch, slice a row, write a row), which ``opencl.py`` and ``cuda.py`` provide.
Buffers stay on the device; eager primitives run as cached single-primitive plans with
shape-generic kernels; ``jit`` runs fused plans with shape-specialised kernels; control flow
runs on the host around compiled bodies; primitives without a kernel form run through the numpy
backend between device buffers (a host fallback, logged once per plan).
"""

from __future__ import annotations

import abc
import hashlib
import logging
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Final

import numpy as np

from refjax import profiler
from refjax.backends.base import Backend, Buffer, Executable, get_backend
from refjax.backends.kernels.autotune import MatmulTuner
from refjax.backends.kernels.dialects import Dialect
from refjax.backends.kernels.fusion import (
    FusionOptions,
    KernelStep,
    Plan,
    PrimitiveStep,
    ReshapeStep,
    Step,
    describe,
    plan,
    primitive_jaxpr,
)
from refjax.backends.kernels.ir import (
    BufferArg,
    Kernel,
    MapKernel,
    MatmulKernel,
    coalesce,
    is_kernel_dtype,
)
from refjax.backends.kernels.lower import Builder, shifted
from refjax.backends.kernels.render import Grid, Rendered, launch_grid, render
from refjax.backends.numpy_impls.indexing import clamped_starts
from refjax.dtypes import DType
from refjax.interp.core import ClosedJaxpr, NDArray, Params, Primitive, ShapedArray, pp_jaxpr
from refjax.primitives import slicing as sl
from refjax.primitives.control_flow import cond_p, scan_p, while_p

__all__ = ["KernelBackend", "PlanExecutable", "dense", "update_slice_kernel"]

DUMP_ENV: Final = "REFJAX_DUMP_KERNELS"
EAGER_CACHE_SIZE: Final = 4096
log = logging.getLogger("refjax.kernels")

StepRunner = Callable[[list[Buffer]], None]
BufferFn = Callable[..., list[Buffer]]


class KernelBackend(Backend):
    """A backend whose computations are generated kernels on a device runtime."""

    name: str
    dialect: Dialect
    map_local_size: int = 64  # work items per group of a map kernel
    reduce_local_size: int = 256  # work items per group of a reduce kernel (a power of two)
    max_groups: int = 1024  # grid-stride kernels launch at most this many groups

    def __init__(self, options: FusionOptions, tuner: MatmulTuner | None = None) -> None:
        super().__init__()
        self.options = options
        self.tuner = tuner  # chooses register blocks of large matmuls by timing (a CPU device)
        self._eager: OrderedDict[Hashable, PlanExecutable] = OrderedDict()  # under self._lock

    # -- runtime hooks ---------------------------------------------------------------------
    @abc.abstractmethod
    def empty(self, shape: tuple[int, ...], dtype: DType) -> Buffer:
        """An uninitialised dense buffer."""

    @abc.abstractmethod
    def reshape(self, buffer: Buffer, shape: tuple[int, ...]) -> Buffer:
        """The same dense buffer seen with another shape."""

    @abc.abstractmethod
    def load_kernel(self, rendered: Rendered) -> object:
        """The runtime's kernel object for ``rendered`` (compiled or taken from the cache)."""

    @abc.abstractmethod
    def launch(
        self, kernel: object, grid: Grid, buffers: Sequence[Buffer], scalars: Sequence[np.generic]
    ) -> None:
        """Enqueue ``kernel`` on ``buffers`` (inputs then outputs) and scalar arguments."""

    @abc.abstractmethod
    def take(self, buffer: Buffer, i: int) -> Buffer:
        """A new buffer holding ``buffer[i]`` (along the first axis)."""

    @abc.abstractmethod
    def put(self, dst: Buffer, i: int, src: Buffer) -> None:
        """Write ``src`` into ``dst[i]`` (along the first axis)."""

    def time_kernel(self, kernel: Kernel, runs: int = 3) -> float:
        """The best of ``runs`` timed launches of ``kernel`` on zeroed inputs, in seconds (the
        autotuner's measure)."""
        rendered = render(kernel, self.dialect)
        compiled = self.load_kernel(rendered)
        grid = launch_grid(kernel, rendered, self.map_local_size, self.reduce_local_size,
                           self.max_groups)
        ins = [self.from_numpy(np.zeros(b.size, b.dtype)) for b in kernel.inputs]
        outs = [self.empty((kernel.size,), t) for t in kernel.output_dtypes]
        index = rendered.index_dtype.type
        scalars = [_param_arg(t.type(0)) for t in kernel.params]
        scalars += [index(v) for v in rendered.shape_args]
        best = math.inf
        for _ in range(runs):
            start = time.perf_counter()
            self.launch(compiled, grid, [*ins, *outs], scalars)
            self.block_until_ready(outs[0])
            best = min(best, time.perf_counter() - start)
        return best

    # -- Backend ---------------------------------------------------------------------------
    def execute(
        self,
        prim: Primitive,
        buffers: Sequence[Buffer],
        params: Params,
        out_avals: Sequence[ShapedArray],
    ) -> list[Buffer]:
        """One primitive: a cached single-primitive plan with shape-generic kernels."""
        in_avals = [ShapedArray(tuple(b.shape), np.dtype(b.dtype)) for b in buffers]
        key = _eager_key(prim, params, in_avals, out_avals)
        if key is None:
            return self._eager_executable(prim, params, in_avals, out_avals).run(buffers)
        with self._lock:  # the LRU order changes on every hit
            exe = self._eager.get(key)
            if exe is None:
                exe = self._eager[key] = self._eager_executable(prim, params, in_avals, out_avals)
                if len(self._eager) > EAGER_CACHE_SIZE:
                    self._eager.popitem(last=False)
            else:
                self._eager.move_to_end(key)
        return exe.run(buffers)

    def _eager_executable(
        self,
        prim: Primitive,
        params: Params,
        in_avals: Sequence[ShapedArray],
        out_avals: Sequence[ShapedArray],
    ) -> PlanExecutable:
        closed = primitive_jaxpr(prim, params, in_avals, out_avals)
        steps = plan(closed, self.options)
        return PlanExecutable(self, steps, generic=True, label=prim.name, jaxpr=closed)

    def build_executable(self, closed: ClosedJaxpr) -> Executable:
        """``closed`` as fused, shape-specialised kernels."""
        return PlanExecutable(
            self, plan(closed, self.options), generic=False, label="jit", jaxpr=closed
        )

    def run_kernel(
        self,
        kernel: Kernel,
        inputs: Sequence[Buffer],
        params: Sequence[np.generic] = (),
        generic: bool = False,
    ) -> list[Buffer]:
        """Launch one kernel on device buffers; its outputs as flat buffers (tests, tools)."""
        slots = [ShapedArray((int(b.size),), np.dtype(b.dtype)) for b in inputs]
        slots += [ShapedArray((kernel.size,), t) for t in kernel.output_dtypes]
        n = len(inputs)
        step = KernelStep(kernel, tuple(range(n)), tuple(params), tuple(range(n, len(slots))))
        env: list[Buffer] = [*inputs, *([None] * (len(slots) - n))]
        _KernelRunner(self, step, slots, generic)(env)
        return env[n:]

    # -- steps -----------------------------------------------------------------------------
    def step_runner(self, step: Step, slots: Sequence[ShapedArray], generic: bool) -> StepRunner:
        """A function running ``step`` on the slot environment."""
        if isinstance(step, KernelStep):
            return _KernelRunner(self, step, slots, generic)
        if isinstance(step, ReshapeStep):
            return self._reshape_runner(step, slots)
        return self._primitive_step(step, slots)

    def _reshape_runner(self, step: ReshapeStep, slots: Sequence[ShapedArray]) -> StepRunner:
        shape = slots[step.output].shape

        def run(env: list[Buffer]) -> None:
            env[step.output] = self.reshape(env[step.input], shape)

        return run

    def _primitive_step(self, step: PrimitiveStep, slots: Sequence[ShapedArray]) -> StepRunner:
        out_avals = [slots[s] for s in step.outputs]
        fn = self.primitive_runner(step.primitive, step.params, out_avals)

        def run(env: list[Buffer]) -> None:
            outs = fn(*[env[s] for s in step.inputs])
            for s, buf in zip(step.outputs, outs, strict=True):
                env[s] = buf

        return run

    def primitive_runner(
        self, prim: Primitive, params: Params, out_avals: Sequence[ShapedArray]
    ) -> BufferFn:
        """How a primitive without a kernel form runs: control flow, else on the host."""
        if prim is cond_p:
            return self._cond(params)
        if prim is while_p:
            return self._while(params)
        if prim is scan_p:
            return self._scan(params)
        if out_avals and is_kernel_dtype(out_avals[0].dtype, self.options.fp64):
            if prim is sl.dynamic_slice_p:
                return self._dynamic_slice(params, out_avals)
            if prim is sl.dynamic_update_slice_p:
                return self._dynamic_update_slice(out_avals[0])
        return self.host_runner(prim, params, out_avals)

    def host_runner(
        self, prim: Primitive, params: Params, out_avals: Sequence[ShapedArray]
    ) -> BufferFn:
        """``prim`` computed by the numpy backend, copying its operands to the host and back."""
        log.info("refjax %s: %s has no kernel form; it runs on the host", self.name, prim.name)
        step = get_backend("numpy").prepare(prim, params, out_avals)

        def run(*buffers: Buffer) -> list[Buffer]:
            host = [self.to_numpy(b) for b in buffers]
            outs = [self.from_numpy(dense(o)) for o in step(*host)]
            if profiler.recording():
                read = sum(h.nbytes for h in host)
                written = sum(o.nbytes for o in outs)
                profiler.record_launch(
                    profiler.KernelLaunch(prim.name, self.name, read, written, "host")
                )
            return outs

        return run

    # -- dynamic slices: the start indices come to the host, the data stays on the device ----
    def _starts(self, starts: Sequence[Buffer], shape: tuple[int, ...],
                sizes: tuple[int, ...]) -> list[int]:
        return clamped_starts(shape, sizes, [self._scalar(s) for s in starts])

    def _dynamic_slice(self, params: Params, out_avals: Sequence[ShapedArray]) -> BufferFn:
        sizes: tuple[int, ...] = params["slice_sizes"]

        def run(x: Buffer, *starts: Buffer) -> list[Buffer]:
            begin = self._starts(starts, tuple(x.shape), sizes)
            limit = tuple(b + n for b, n in zip(begin, sizes, strict=True))
            window = {"start_indices": tuple(begin), "limit_indices": limit, "strides": None}
            return self.execute(sl.slice_p, [x], window, out_avals)  # a shape-generic kernel

        return run

    def _dynamic_update_slice(self, out: ShapedArray) -> BufferFn:
        def run(x: Buffer, update: Buffer, *starts: Buffer) -> list[Buffer]:
            shape = tuple(update.shape)
            begin = self._starts(starts, out.shape, shape)
            kernel = update_slice_kernel(out, shape, begin)
            (flat,) = self.run_kernel(kernel, [x, update], generic=True)
            return [self.reshape(flat, out.shape)]

        return run

    # -- control flow: the host drives, compiled bodies compute, data stays on the device ----
    def run_jaxpr(self, closed: ClosedJaxpr, buffers: Sequence[Buffer]) -> list[Buffer]:
        """Run a sub-jaxpr (a branch or loop body) as a compiled executable."""
        return self.compile(closed).run(buffers)

    def _scalar(self, buffer: Buffer) -> NDArray:
        return self.to_numpy(buffer)

    def _cond(self, params: Params) -> BufferFn:
        branches: tuple[ClosedJaxpr, ...] = params["branches"]

        def run(index: Buffer, *ops: Buffer) -> list[Buffer]:
            i = min(max(int(self._scalar(index)), 0), len(branches) - 1)
            return self.run_jaxpr(branches[i], ops)

        return run

    def _while(self, params: Params) -> BufferFn:
        cond: ClosedJaxpr = params["cond_jaxpr"]
        body: ClosedJaxpr = params["body_jaxpr"]
        nc, nb = params["cond_nconsts"], params["body_nconsts"]

        def run(*args: Buffer) -> list[Buffer]:
            cconsts, bconsts = list(args[:nc]), list(args[nc : nc + nb])
            carry = list(args[nc + nb :])
            while bool(self._scalar(self.run_jaxpr(cond, cconsts + carry)[0])):
                carry = self.run_jaxpr(body, bconsts + carry)
            return carry

        return run

    def _scan(self, params: Params) -> BufferFn:
        body: ClosedJaxpr = params["jaxpr"]
        length: int = params["length"]
        reverse: bool = params["reverse"]
        n_consts, n_carry = params["num_consts"], params["num_carry"]
        y_avals = body.out_avals[n_carry:]

        def run(*args: Buffer) -> list[Buffer]:
            consts = list(args[:n_consts])
            carry = list(args[n_consts : n_consts + n_carry])
            xs = args[n_consts + n_carry :]
            ys = [self.empty((length, *a.shape), a.dtype) for a in y_avals]
            for i in range(length - 1, -1, -1) if reverse else range(length):
                outs = self.run_jaxpr(body, consts + carry + [self.take(x, i) for x in xs])
                carry = outs[:n_carry]
                for y, out in zip(ys, outs[n_carry:], strict=True):
                    self.put(y, i, out)
            return carry + ys

        return run


def update_slice_kernel(
    operand: ShapedArray, update: tuple[int, ...], begin: Sequence[int]
) -> MapKernel:
    """The map kernel writing ``operand`` with an update of shape ``update`` placed at ``begin``
    (inputs: the operand, the update): the update shifted in with clamped loads, selected inside
    its window."""
    b = Builder()
    value, inside = shifted(b, b.load(1, update, operand.dtype), begin, operand.shape)
    result = b.select(inside, value, b.load(0, operand.shape, operand.dtype))
    inputs = (BufferArg(operand.dtype, operand.size), BufferArg(operand.dtype, math.prod(update)))
    kernel = MapKernel("map_dynamic_update_slice", operand.shape, inputs, (), tuple(b.body),
                       (result.id,))
    coalesced = coalesce(kernel)
    assert isinstance(coalesced, MapKernel)
    return coalesced


def dense(value: NDArray) -> NDArray:
    """``value`` as a C-contiguous array of the same shape (0-d stays 0-d)."""
    return np.asarray(value, order="C")


def _eager_key(
    prim: Primitive,
    params: Params,
    in_avals: Sequence[ShapedArray],
    out_avals: Sequence[ShapedArray],
) -> Hashable | None:
    """A cache key for one primitive application, or None if a param is unhashable."""
    key = (
        prim,
        tuple(sorted(params.items())),
        tuple((a.shape, a.dtype) for a in in_avals),
        tuple((a.shape, a.dtype) for a in out_avals),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


# ---------------------------------------------------------------------------------------------
# Executables


class _KernelRunner:
    """One kernel step: allocate the outputs, launch, record."""

    __slots__ = ("backend", "step", "rendered", "kernel", "grid", "scalars", "out_avals",
                 "skip", "bytes_read", "bytes_written")

    def __init__(
        self, backend: KernelBackend, step: KernelStep, slots: Sequence[ShapedArray], generic: bool
    ) -> None:
        self.backend = backend
        self.step = step
        self.skip = step.kernel.size == 0  # nothing to compute: not even compiled
        kernel = step.kernel
        if isinstance(kernel, MatmulKernel) and backend.tuner is not None and not self.skip:
            kernel = backend.tuner.tuned(kernel, backend.time_kernel)
        self.rendered = render(kernel, backend.dialect, generic)
        self.kernel = None if self.skip else backend.load_kernel(self.rendered)
        self.grid = launch_grid(kernel, self.rendered, backend.map_local_size,
                                backend.reduce_local_size, backend.max_groups)
        index = self.rendered.index_dtype.type
        self.scalars: list[np.generic] = [_param_arg(p) for p in step.params]
        self.scalars += [index(v) for v in self.rendered.shape_args]
        self.out_avals = [slots[s] for s in step.outputs]
        self.bytes_read = sum(_nbytes(slots[s]) for s in step.inputs)
        self.bytes_written = sum(_nbytes(a) for a in self.out_avals)

    def __call__(self, env: list[Buffer]) -> None:
        backend = self.backend
        ins = [env[s] for s in self.step.inputs]
        outs = [backend.empty(a.shape, a.dtype) for a in self.out_avals]
        if not self.skip:
            backend.launch(self.kernel, self.grid, [*ins, *outs], self.scalars)
            if profiler.recording():
                profiler.record_launch(profiler.KernelLaunch(
                    self.rendered.name, backend.name, self.bytes_read, self.bytes_written
                ))
        for s, out in zip(self.step.outputs, outs, strict=True):
            env[s] = out


def _param_arg(value: np.generic) -> np.generic:
    """A scalar kernel argument in its storage type (bools travel as bytes)."""
    return np.uint8(value) if isinstance(value, np.bool_) else value


def _nbytes(aval: ShapedArray) -> int:
    return aval.size * aval.dtype.itemsize


class PlanExecutable(Executable):
    """A plan prepared on a kernel backend: constants uploaded, kernels compiled."""

    def __init__(
        self,
        backend: KernelBackend,
        steps: Plan,
        generic: bool,
        label: str,
        jaxpr: ClosedJaxpr | None = None,
    ) -> None:
        self.plan = steps
        self.initial: list[Buffer] = [None] * len(steps.slots)
        for slot, value in steps.constants:
            self.initial[slot] = backend.from_numpy(dense(value))
        self.runners = [backend.step_runner(s, steps.slots, generic) for s in steps.steps]
        self.rendered = [r.rendered for r in self.runners if isinstance(r, _KernelRunner)]
        directory = os.environ.get(DUMP_ENV)
        if directory:
            dump(Path(directory), label, backend.dialect, steps, self.rendered, jaxpr)

    def kernels(self) -> list[Kernel]:
        """The kernels this executable launches, in order."""
        return self.plan.kernels()

    def run(self, buffers: Sequence[Buffer]) -> list[Buffer]:
        env = list(self.initial)
        for slot, buf in zip(self.plan.inputs, buffers, strict=True):
            env[slot] = buf
        for runner in self.runners:
            runner(env)
        return [env[s] for s in self.plan.outputs]


def dump(
    directory: Path,
    label: str,
    dialect: Dialect,
    steps: Plan,
    rendered: Sequence[Rendered],
    jaxpr: ClosedJaxpr | None,
) -> Path:
    """Write a plan's kernel sources next to the jaxpr they came from; the directory written."""
    text = pp_jaxpr(jaxpr) if jaxpr is not None else ""
    sources = [r.source for r in rendered]
    digest = hashlib.sha256("\0".join([text, *sources]).encode()).hexdigest()[:12]
    out = directory / f"{label}-{digest}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "jaxpr.txt").write_text(text + "\n")
    (out / "plan.txt").write_text(describe(steps) + "\n")
    for k, r in enumerate(rendered):
        (out / f"{k:02d}-{r.name}{dialect.source_suffix}").write_text(r.source)
    return out
