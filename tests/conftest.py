"""Shared pytest configuration: hypothesis profiles, 64-bit mode, JAX's compilation cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "refjax", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("refjax")

JAX_CACHE_ENV = "REFJAX_TEST_JAX_CACHE"


def _share_jax_compilations() -> None:
    """Let real JAX (the oracle) keep every program it compiles in a cache on disk.

    ``make test`` runs the suite once per backend; the second run and the other xdist worker
    then load JAX's executables instead of compiling them again (about half of JAX's time).
    ``REFJAX_TEST_JAX_CACHE`` moves the cache; the default is under ``.pytest_cache``.
    """
    try:
        import jax
    except ImportError:
        return
    default = Path(__file__).resolve().parent.parent / ".pytest_cache" / "jax-compilations"
    jax.config.update("jax_compilation_cache_dir", os.environ.get(JAX_CACHE_ENV, str(default)))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


_share_jax_compilations()


def pytest_report_header() -> str:
    """Which backend refjax computes on in this run."""
    return f"refjax backend: {os.environ.get('REFJAX_BACKEND', 'numpy')}"


@pytest.fixture
def x64() -> Iterator[None]:
    """Run a test with ``jax_enable_x64`` on in refjax (and in real JAX if installed)."""
    import refjax

    try:
        import jax
    except ImportError:
        jax = None
    refjax.config.update("jax_enable_x64", True)
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        refjax.config.update("jax_enable_x64", False)
        if jax is not None:
            jax.config.update("jax_enable_x64", False)
