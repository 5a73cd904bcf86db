"""``refjax.scipy``: the parts of the SciPy API that ``jax.scipy`` offers, on refjax arrays.

Only ``refjax.scipy.linalg`` exists so far: decompositions, solves, the matrix exponential and
a few special matrices, built on ``refjax.lax.linalg``'s primitives and ``refjax.numpy``.
"""

from __future__ import annotations

from refjax.scipy import linalg as linalg
