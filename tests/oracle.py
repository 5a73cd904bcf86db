"""Real JAX, the oracle, imported on first use; and 64-bit mode, switched on in one place.

Test modules write ``from tests.oracle import jax, jnp`` instead of
``jax = pytest.importorskip("jax")``: the names stand for the modules, and the first use of one
(an attribute, in a test body) imports it, or skips *that test* when JAX is missing. Tests that
never touch JAX (finite differences, refjax-only identities, error texts written out) run
without it. ``requires_jax`` marks a test that needs JAX before its body runs (a fixture, a
parametrisation built from JAX objects).

``enable_x64()`` is the only switch of ``jax_enable_x64`` in the tests: the ``x64`` fixture of
``tests/conftest.py`` uses it, and so do the blocks that cannot take a function fixture
(hypothesis examples, one dtype of a parametrised case). It restores the previous setting in
refjax and in JAX; the autouse check in ``tests/conftest.py`` fails a test that leaves it on.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

__all__ = ["enable_x64", "has_jax", "jax", "jax_if_imported", "jnp", "lazy", "requires_jax"]


class LazyModule:
    """A module imported on first attribute access; a missing module skips the current test."""

    def __init__(self, name: str) -> None:
        self.__dict__["_name"] = name
        self.__dict__["_module"] = None

    def load(self) -> ModuleType:
        """The module (skips the calling test if it cannot be imported)."""
        module: ModuleType | None = self.__dict__["_module"]
        if module is None:
            module = pytest.importorskip(self.__dict__["_name"])
            self.__dict__["_module"] = module
        return module

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            # pytest's collection probes every module global for markers (``__test__``,
            # ``_pytestfixturefunction`` ...): without the module, those are just absent.
            try:
                return getattr(importlib.import_module(self.__dict__["_name"]), attr)
            except ImportError:
                raise AttributeError(attr) from None
        return getattr(self.load(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self.load(), attr, value)

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"


def lazy(name: str) -> Any:
    """``name`` (e.g. ``"jax._src.core"``) imported on first use, skipping the test without it."""
    return LazyModule(name)


jax: Any = lazy("jax")
jnp: Any = lazy("jax.numpy")


def has_jax() -> bool:
    """Whether real JAX can be imported here."""
    try:
        importlib.import_module("jax")
    except ImportError:
        return False
    return True


requires_jax = pytest.mark.skipif(not has_jax(), reason="needs real JAX (the oracle)")


def jax_if_imported() -> ModuleType | None:
    """JAX if this process has imported it (importing it for nothing would be slow)."""
    module = sys.modules.get("jax")
    return module if isinstance(module, ModuleType) and hasattr(module, "config") else None


def _jax_for_config() -> ModuleType | None:
    try:
        return importlib.import_module("jax")
    except ImportError:
        return None


@contextlib.contextmanager
def enable_x64(enabled: bool = True) -> Iterator[None]:
    """``jax_enable_x64`` set to ``enabled`` in refjax (and in JAX if installed), then restored."""
    import refjax

    real = _jax_for_config()
    old = refjax.config.read("jax_enable_x64")
    old_real = bool(real.config.jax_enable_x64) if real is not None else False
    refjax.config.update("jax_enable_x64", enabled)
    if real is not None:
        real.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        refjax.config.update("jax_enable_x64", old)
        if real is not None:
            real.config.update("jax_enable_x64", old_real)
