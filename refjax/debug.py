"""``jax.debug``: printing and callbacks from traced code (see :mod:`refjax.callbacks`)."""

from __future__ import annotations

from refjax.callbacks import debug_callback as callback
from refjax.callbacks import debug_print as print  # noqa: A004 (jax.debug.print)

__all__ = ["callback", "print"]
