"""Configuration flags, mirroring ``jax.config``: ``config.update("jax_enable_x64", True)``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

_FLAG_DEFAULTS: Final[dict[str, bool]] = {
    "jax_enable_x64": False,
    "jax_threefry_partitionable": True,
    "jax_disable_jit": False,
    "jax_debug_nans": False,
    "jax_debug_infs": False,
}


def _env_default(name: str, default: bool) -> bool:
    raw = os.environ.get(name.upper())
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(slots=True)
class Config:
    """The process-wide flags; read them as attributes, change them with ``update``."""

    _values: dict[str, bool] = field(
        default_factory=lambda: {k: _env_default(k, v) for k, v in _FLAG_DEFAULTS.items()}
    )

    def update(self, name: str, value: bool) -> None:
        """Set flag ``name`` to ``value`` (JAX's ``config.update``)."""
        if name not in self._values:
            raise AttributeError(f"Unrecognized config option: {name}")
        self._values[name] = bool(value)

    def read(self, name: str) -> bool:
        """The current value of flag ``name``."""
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"Unrecognized config option: {name}") from None

    def __getattr__(self, name: str) -> bool:
        """Any flag as an attribute (``config.jax_debug_nans``), as JAX's config has them."""
        if name.startswith("jax_"):
            return self.read(name)
        raise AttributeError(name)

    @property
    def jax_enable_x64(self) -> bool:
        """Whether 64-bit dtypes are kept (otherwise canonicalised to 32 bits)."""
        return self._values["jax_enable_x64"]

    @property
    def x64_enabled(self) -> bool:
        """Alias of ``jax_enable_x64``, as ``jax.config.x64_enabled``."""
        return self._values["jax_enable_x64"]


config: Final = Config()


@contextlib.contextmanager
def _flag(name: str, value: bool) -> Iterator[None]:
    old = config.read(name)
    config.update(name, value)
    try:
        yield
    finally:
        config.update(name, old)


def debug_nans(new_val: bool = True) -> contextlib.AbstractContextManager[None]:
    """``with debug_nans():`` raises ``FloatingPointError`` at the primitive that makes a NaN
    (``jax_debug_nans``)."""
    return _flag("jax_debug_nans", new_val)


def debug_infs(new_val: bool = True) -> contextlib.AbstractContextManager[None]:
    """As :func:`debug_nans`, for infinities (``jax_debug_infs``)."""
    return _flag("jax_debug_infs", new_val)


def disable_jit(disable: bool = True) -> contextlib.AbstractContextManager[None]:
    """``with disable_jit():`` runs jitted functions op by op (``jax_disable_jit``)."""
    return _flag("jax_disable_jit", disable)


def enable_x64(new_val: bool = True) -> contextlib.AbstractContextManager[None]:
    """``with enable_x64():`` keeps 64-bit dtypes in the block (``jax_enable_x64``)."""
    return _flag("jax_enable_x64", new_val)
