"""The examples run as scripts (``python examples/mnist_mlp.py``) and import each other by their
bare names, so their directory goes on ``sys.path`` for the tests that import them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from refjax.backends.base import get_backend

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


@pytest.fixture(params=["numpy", "opencl"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each refjax backend in turn, also as ``REFJAX_BACKEND`` (OpenCL skipped without pyopencl
    or a usable device)."""
    name: str = request.param
    if name == "opencl":
        pytest.importorskip("pyopencl")
        try:
            get_backend("opencl")
        except Exception as err:  # no platform, no device, a broken ICD ...
            pytest.skip(f"no usable OpenCL device: {err}")
    monkeypatch.setenv("REFJAX_BACKEND", name)
    return name
