"""The MPI tests start ``mpirun -n 2`` themselves (the venv's, from refjax's ``mpi`` extra):
skipped, saying why, where mpi4py or ``mpirun`` is missing -- unless ``REFJAX_REQUIRE_MPI=1``
(``make test-mpi``), which makes that a failure."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def mpirun() -> str:
    """The ``mpirun`` beside this Python (the venv's), else on PATH; skips (or fails under
    ``REFJAX_REQUIRE_MPI=1``) if there is none or mpi4py is missing."""
    beside = Path(sys.executable).parent / "mpirun"
    found = str(beside) if beside.exists() else shutil.which("mpirun")
    missing = ("mpi4py is not installed" if importlib.util.find_spec("mpi4py") is None
               else "no mpirun beside the interpreter or on PATH" if found is None else "")
    if missing:
        reason = f"MPI tests need refjax's 'mpi' extra (pip install mpi4py mpich): {missing}"
        if os.environ.get("REFJAX_REQUIRE_MPI") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    assert found is not None
    return found


def run_mpi(args: list[str], local_devices: int, timeout: float = 120) -> str:
    """``mpirun -n 2 python ARGS`` from the repository root, each process holding
    ``local_devices`` devices of the numpy backend; its output (a failure shows both)."""
    env = {**os.environ, "REFJAX_BACKEND": "numpy",
           "REFJAX_NUM_CPU_DEVICES": str(local_devices)}
    done = subprocess.run([mpirun(), "-n", "2", sys.executable, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"mpirun failed ({done.returncode}):\n{done.stdout}\n" \
                                 f"{done.stderr}"
    return done.stdout
