"""``refjax.lax.linalg``: decompositions and solves, as ``jax.lax.linalg`` (the primitives and
their rules live in :mod:`refjax.primitives.decompositions`)."""

from __future__ import annotations

from refjax.primitives.decompositions import *  # noqa: F403
from refjax.primitives.decompositions_more import *  # noqa: F403
from refjax.primitives.eig import *  # noqa: F403
