"""The long fuzzing run by hand: ``python -m tests.fuzz --seeds 0:500 --backends numpy,opencl``.

Every divergence from real JAX is shrunk and printed as a runnable program; a summary (failures
grouped by kind) ends the run.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.fuzz.runner import ORACLE, STACKS, Failure, build_case, check, report, shrink


def _jax_cache() -> None:
    """Share the test suite's persistent JAX compilation cache."""
    import jax

    update: Any = jax.config.update

    default = Path(__file__).resolve().parents[2] / ".pytest_cache" / "jax-compilations"
    update("jax_compilation_cache_dir",
                      os.environ.get("REFJAX_TEST_JAX_CACHE", str(default)))
    update("jax_persistent_cache_min_compile_time_secs", 0)
    update("jax_persistent_cache_min_entry_size_bytes", -1)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if ":" in part:
            lo, hi = part.split(":")
            out += range(int(lo), int(hi))
        else:
            out.append(int(part))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    ap.add_argument("--seeds", default="0:100", help="e.g. 0:500 or 3,17,40:60")
    ap.add_argument("--backends", default="numpy,opencl")
    ap.add_argument("--stacks", default="all", help=f"'all' or a subset of {','.join(STACKS)}")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--shrink-seconds", type=float, default=60.0)
    ap.add_argument("--shrink-per-kind", type=int, default=3,
                    help="shrink at most this many failures of each (backend, kind)")
    ap.add_argument("--time-limit", type=float, default=0.0, help="stop after this many seconds")
    ap.add_argument("--out", help="also write every failure report to this file")
    args = ap.parse_args(argv)
    _jax_cache()
    stacks = list(STACKS) if args.stacks == "all" else args.stacks.split(",")
    backends = args.backends.split(",")
    start = time.monotonic()
    failures: list[Failure] = []
    runs = collections.Counter[str]()
    seen = collections.Counter[tuple[str, str]]()
    out = open(args.out, "w") if args.out else None
    try:
        for n, seed in enumerate(_seeds(args.seeds)):
            if n and n % 10 == 0:
                import jax

                clear: Any = jax.clear_caches
                clear()  # JAX keeps every executable it compiled: bound the memory
                ORACLE.cache.clear()
                print(f"-- seed {seed}: {dict(runs)} cases, {len(failures)} failures, "
                      f"{time.monotonic() - start:.0f}s", flush=True)
            if args.time_limit and time.monotonic() - start > args.time_limit:
                print(f"time limit reached before seed {seed}", flush=True)
                break
            for stack in stacks:
                case = build_case(seed, stack)
                for backend in backends:
                    runs[backend] += 1
                    f = check(case, backend)
                    if f is None:
                        continue
                    seen[(backend, f.kind)] += 1
                    if not args.no_shrink and seen[(backend, f.kind)] <= args.shrink_per_kind:
                        f = shrink(f, budget_s=args.shrink_seconds)
                    failures.append(f)
                    text = report(f)
                    print(f"\n######## FAILURE {f.case.label} backend={backend}: {f.kind}\n{text}",
                          flush=True)
                    if out is not None:
                        out.write(f"######## {f.case.label} backend={backend}: {f.kind}\n{text}\n")
                        out.flush()
    finally:
        if out is not None:
            out.close()
    elapsed = time.monotonic() - start
    print(f"\n==== {dict(runs)} cases run in {elapsed:.0f}s; {len(failures)} failures")
    groups = collections.defaultdict[tuple[str, str], list[str]](list)
    for f in failures:
        groups[(f.backend, f.kind)].append(f.case.label)
    for (backend, kind), labels in sorted(groups.items()):
        print(f"  {backend:7s} {kind}: {len(labels)}  e.g. {', '.join(labels[:4])}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
