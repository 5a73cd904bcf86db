"""The programs the MPI tests run, shared by the worker (under ``mpirun``) and the tests (on
virtual devices in one process, and on real JAX): per device, one slice of a global input."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

WIDTH = 8


def global_input(devices: int) -> np.ndarray:
    """The global input: one row of ``WIDTH`` float32 values per device."""
    return (np.cos(np.arange(devices * WIDTH, dtype=np.float32)) * 3).reshape(devices, WIDTH)


def programs(lax: ModuleType, grad: Callable[..., Any], devices: int
             ) -> dict[str, Callable[[Any], Any]]:
    """Per name, one device's program on its row ``x`` (collectives over axis ``'i'``)."""
    shift = [(k, (k + 1) % devices) for k in range(devices)]
    return {
        "psum": lambda x: lax.psum(x, "i"),
        "pmean": lambda x: lax.pmean(x * x, "i"),
        "pmax": lambda x: lax.pmax(x, "i"),
        "pmin": lambda x: lax.pmin(x, "i"),
        "psum_int": lambda x: lax.psum((x * 10).astype("int32"), "i"),
        "all_gather": lambda x: lax.all_gather(x, "i"),
        "all_gather_tiled": lambda x: lax.all_gather(x[:2], "i", tiled=True),
        "psum_scatter": lambda x: lax.psum_scatter(x, "i", tiled=True),
        "psum_scatter_stacked": lambda x: lax.psum_scatter(x[:devices], "i"),
        "ppermute": lambda x: lax.ppermute(x, "i", shift),
        "ppermute_partial": lambda x: lax.ppermute(x, "i", [(0, devices - 1)]),
        "all_to_all": lambda x: lax.all_to_all(x.reshape(devices, -1), "i", 0, 1),
        "axis_index": lambda x: lax.axis_index("i") * 2 + x[0] * 0,
        "grad": lambda x: grad(lambda v: (lax.psum(v, "i") * v).sum())(x),
        "scalar": lambda x: lax.psum(x.sum(), "i"),
    }
