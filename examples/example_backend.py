"""What the examples' command lines share: the backends, and running refjax on one of them.

The examples run as scripts (``python examples/mnist_mlp.py``) and import this module by its
bare name, as the script's folder is on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Final

BACKENDS: Final = ("numpy", "opencl", "cuda")
BACKEND_ENV: Final = "REFJAX_BACKEND"


@contextlib.contextmanager
def using_backend(name: str | None) -> Iterator[None]:
    """Run refjax on backend ``name`` (``REFJAX_BACKEND`` as it is if None), restored after."""
    if name is None:
        yield
        return
    old = os.environ.get(BACKEND_ENV)
    os.environ[BACKEND_ENV] = name
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(BACKEND_ENV, None)
        else:
            os.environ[BACKEND_ENV] = old


def backend_error(name: str | None) -> str | None:
    """Why refjax's backend ``name`` (None: the default one) cannot start; None if it starts."""
    import refjax

    try:
        refjax.devices(name)  # starts the backend
    except RuntimeError as failure:
        return str(failure)
    return None
