"""The numpy backend: the CPU reference. Buffers are numpy arrays; every primitive has an impl."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import numpy as np

from refjax.backends.base import Backend, Buffer, register_backend
from refjax.backends.numpy_impls import impls
from refjax.errors import missing_rule_message
from refjax.interp.core import NDArray, Params, Primitive, ShapedArray


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
        try:
            impl = impls[prim]
        except KeyError:
            raise NotImplementedError(missing_rule_message(prim.name, "numpy backend")) from None
        avals = list(out_avals)
        multiple = prim.multiple_results

        def step(*buffers: NDArray) -> list[NDArray]:
            result = impl(*buffers, **params)
            results = list(result) if multiple else [cast(NDArray, result)]
            return [_exactly(r, aval, prim) for r, aval in zip(results, avals, strict=True)]

        return step


def _exactly(value: NDArray, aval: ShapedArray, prim: Primitive) -> NDArray:
    """``value`` as an ndarray of ``aval``'s dtype; a shape mismatch is a bug in a rule."""
    out = np.asarray(value)
    if out.dtype != aval.dtype:
        out = out.astype(aval.dtype)
    if out.shape != aval.shape:
        raise AssertionError(
            f"numpy impl of {prim.name} gave shape {out.shape}, abstract eval said {aval.shape}"
        )
    return out


register_backend("numpy", NumpyBackend)
