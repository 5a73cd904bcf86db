"""``refjax.lax``: one wrapper per primitive, mirroring ``jax.lax`` (strict dtypes, no promotion).

The wrappers live next to their primitives in ``refjax.primitives``; each family module's
``__all__`` lists what it contributes here. ``refjax.lax.linalg`` holds the decompositions and
solves (``jax.lax.linalg``).
"""

from __future__ import annotations

from refjax.lax import linalg as linalg
from refjax.lax.parallel import *  # noqa: F403
from refjax.primitives.control_flow import *  # noqa: F403
from refjax.primitives.convolution import *  # noqa: F403
from refjax.primitives.elementwise import *  # noqa: F403
from refjax.primitives.fft import *  # noqa: F403
from refjax.primitives.gather_scatter import *  # noqa: F403
from refjax.primitives.lax_extras import *  # noqa: F403
from refjax.primitives.lax_more import *  # noqa: F403
from refjax.primitives.linalg import *  # noqa: F403
from refjax.primitives.reductions import *  # noqa: F403
from refjax.primitives.shape import *  # noqa: F403
from refjax.primitives.slicing import *  # noqa: F403
from refjax.primitives.solves import *  # noqa: F403
from refjax.primitives.sorting import *  # noqa: F403
from refjax.primitives.special import *  # noqa: F403
from refjax.primitives.transcendental import *  # noqa: F403
from refjax.primitives.windowed import *  # noqa: F403
