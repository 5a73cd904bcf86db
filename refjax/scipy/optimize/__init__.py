"""``refjax.scipy.optimize``: ``minimize`` with BFGS, mirroring ``jax.scipy.optimize``."""

from __future__ import annotations

from refjax.scipy.optimize._minimize import OptimizeResults as OptimizeResults
from refjax.scipy.optimize._minimize import minimize as minimize

__all__ = ["OptimizeResults", "minimize"]
