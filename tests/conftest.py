"""Shared pytest configuration: hypothesis profiles and 64-bit mode handling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "refjax", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("refjax")


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
