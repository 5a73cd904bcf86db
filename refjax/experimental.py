"""``jax.experimental``: ``io_callback`` (see :mod:`refjax.callbacks`)."""

from __future__ import annotations

from refjax.callbacks import io_callback

__all__ = ["io_callback"]
