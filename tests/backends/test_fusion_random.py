"""Every program compiles: seeded random programs (``random_programs.py``) agree with numpy.

Each program is traced by ``refjax.jit`` and run on the numpy backend (the reference) and
compared with its fusion plan run by the IR evaluator (many programs, no device), and with the
OpenCL backend (a smaller sample: every new kernel is compiled). No program may need the
planner's safety net (a split or host step after an internal failure): each fallback is a bug.
"""

from __future__ import annotations

import pytest

import refjax
from refjax.backends.kernels.backend import KernelBackend
from refjax.backends.kernels.fusion import FusionOptions, plan
from tests.backends.random_programs import compare, generate, run_on, run_plan

PLAN_CHUNKS = 12  # chunks of PLAN_SEEDS programs run by the IR evaluator
PLAN_SEEDS = 100
OPENCL_SEEDS = 40  # programs compiled and run on OpenCL


@pytest.mark.parametrize("chunk", range(PLAN_CHUNKS))
def test_random_plans_agree_with_numpy(chunk: int) -> None:
    options = FusionOptions(matmul_kernels=chunk % 2 == 0)
    for seed in range(chunk * PLAN_SEEDS, (chunk + 1) * PLAN_SEEDS):
        prog = generate(seed, max_ops=4 + chunk % 8)
        p = plan(refjax.make_jaxpr(prog)(*prog.args), options)
        assert not p.fallbacks, f"{p.fallbacks}\n{prog.describe()}"
        compare(prog, run_plan(prog, options), run_on(prog, "numpy"))


@pytest.mark.parametrize("seed", range(OPENCL_SEEDS))
def test_random_programs_on_opencl(seed: int, opencl: KernelBackend) -> None:
    prog = generate(100_000 + seed)
    compare(prog, run_on(prog, "opencl"), run_on(prog, "numpy"))
