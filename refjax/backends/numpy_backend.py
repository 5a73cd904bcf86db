"""The numpy backend: the CPU reference. Buffers are numpy arrays; every primitive has an impl."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from refjax.backends.base import Backend, Buffer, Executable, register_backend
from refjax.backends.numpy_impls.program import NumpyExecutable, reference_step
from refjax.interp.core import ClosedJaxpr, NDArray, Params, Primitive, ShapedArray


class NumpyBackend(Backend):
    """Computes with numpy on the host."""

    name = "numpy"

    def from_numpy(self, value: NDArray) -> NDArray:
        return value

    def to_numpy(self, buffer: Buffer) -> NDArray:
        result: NDArray = buffer
        return result

    def execute(
        self,
        prim: Primitive,
        buffers: Sequence[Buffer],
        params: Params,
        out_avals: Sequence[ShapedArray],
    ) -> list[Buffer]:
        return self.prepare(prim, params, out_avals)(*buffers)

    def prepare(
        self, prim: Primitive, params: Params, out_avals: Sequence[ShapedArray]
    ) -> Callable[..., list[Buffer]]:
        step = reference_step(prim, params, out_avals)
        if prim.multiple_results:
            return cast(Callable[..., list[Buffer]], step)

        def single(*buffers: NDArray) -> list[NDArray]:
            return [step(*buffers)]

        return single

    def build_executable(self, closed: ClosedJaxpr) -> Executable:
        """``closed`` as straight-line numpy code (see :mod:`.numpy_impls.program`)."""
        return NumpyExecutable(self, closed)


register_backend("numpy", NumpyBackend)
