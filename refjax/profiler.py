"""``refjax.profiler``: record the kernels a computation launches.

>>> import refjax.profiler
>>> with refjax.profiler.trace_kernels() as log:   # doctest: +SKIP
...     f(x)
>>> len(log.kernels()), log.bytes_read, log.bytes_written   # doctest: +SKIP

Kernel backends report every launch (kernel name, backend, bytes read and written), every host
fallback (a primitive run through numpy between device buffers) and every kernel compilation.
Logs nest: each active ``trace_kernels`` block sees the events of its thread or task.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["KernelLaunch", "KernelLog", "trace_kernels"]

LaunchKind = Literal["kernel", "host"]


@dataclass(frozen=True, slots=True)
class KernelLaunch:
    """One launch: a generated kernel, or a primitive computed on the host (``kind="host"``)."""

    name: str
    backend: str
    bytes_read: int
    bytes_written: int
    kind: LaunchKind = "kernel"


@dataclass
class KernelLog:
    """The launches and compilations recorded while a ``trace_kernels`` block was active."""

    launches: list[KernelLaunch] = field(default_factory=list)
    compiles: list[str] = field(default_factory=list)

    def kernels(self) -> list[KernelLaunch]:
        """The generated-kernel launches (host fallbacks left out)."""
        return [launch for launch in self.launches if launch.kind == "kernel"]

    def host(self) -> list[KernelLaunch]:
        """The primitives computed on the host."""
        return [launch for launch in self.launches if launch.kind == "host"]

    @property
    def bytes_read(self) -> int:
        """Bytes read by all launches."""
        return sum(launch.bytes_read for launch in self.launches)

    @property
    def bytes_written(self) -> int:
        """Bytes written by all launches."""
        return sum(launch.bytes_written for launch in self.launches)

    def __len__(self) -> int:
        return len(self.kernels())


_ACTIVE: Final[contextvars.ContextVar[tuple[KernelLog, ...]]] = contextvars.ContextVar(
    "refjax_kernel_logs", default=()
)


@contextlib.contextmanager
def trace_kernels() -> Iterator[KernelLog]:
    """``with trace_kernels() as log:`` records every launch and compilation in the block."""
    log = KernelLog()
    token = _ACTIVE.set((*_ACTIVE.get(), log))
    try:
        yield log
    finally:
        _ACTIVE.reset(token)


def recording() -> bool:
    """Whether any ``trace_kernels`` block is active (backends skip bookkeeping otherwise)."""
    return bool(_ACTIVE.get())


def record_launch(launch: KernelLaunch) -> None:
    """Report a launch to every active log."""
    for log in _ACTIVE.get():
        log.launches.append(launch)


def record_compile(name: str, backend: str) -> None:
    """Report that kernel ``name`` was compiled (not found in any cache)."""
    for log in _ACTIVE.get():
        log.compiles.append(f"{backend}:{name}")
