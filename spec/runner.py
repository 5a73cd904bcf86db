"""The runner: every case through an adapter, compared with what the case expects.

``python -m spec run --adapter refjax [--backend opencl] [--only TOPIC]`` prints one line per
failing case, then ``N passed, M failed``, the counts per topic and the primitive x
transformation pairs that no case covers.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

from spec import jaxpr_text
from spec.adapters import Adapter, make_adapter
from spec.format import (
    CASES_DIR,
    Case,
    Check,
    Error,
    EvalShape,
    Grad,
    JaxprProgram,
    Jvp,
    Linearize,
    NDArray,
    PrimitiveProgram,
    Value,
    Vjp,
    Vmap,
    load_cases,
    load_json,
)

KINDS: Final = ("eval", "abstract_eval", "jvp", "vjp", "vmap")


def rule_kinds(case: Case) -> set[str]:
    """Which transformations a case exercises: eval, abstract_eval, jvp, vjp, vmap."""
    kinds: set[str] = set()
    for t in case.transforms:
        if isinstance(t, EvalShape):
            kinds.add("abstract_eval")
        elif isinstance(t, Vmap):
            kinds.add("vmap")
        elif isinstance(t, (Grad, Vjp)):
            kinds.add("vjp")
        elif isinstance(t, (Jvp, Linearize)):
            kinds.add("jvp")
    return kinds or {"eval"}


def case_primitives(case: Case) -> set[str]:
    """The primitives a case is about: its ``primitives`` field, else those in its program."""
    if case.primitives:
        return set(case.primitives)
    if isinstance(case.program, JaxprProgram):
        return jaxpr_text.primitives_in(jaxpr_text.read_jaxpr(case.program.text))
    if isinstance(case.program, PrimitiveProgram):
        return {case.program.name}
    return set()


# ---------------------------------------------------------------------------------------------
# Comparing one case


def _type_mismatch(actual: Value, expected: Value) -> str | None:
    if (actual.dtype, actual.shape, actual.weak_type) == (
        expected.dtype,
        expected.shape,
        expected.weak_type,
    ):
        return None
    return f"type {actual.type_str()}, expected {expected.type_str()}"


def _same_zero_signs(a: NDArray, e: NDArray) -> bool:
    """Exact float checks tell -0.0 from 0.0 (NaNs match NaNs whatever their sign)."""
    if e.dtype.kind not in "fc" or not a.size:
        return True
    parts = [(a.real, e.real), (a.imag, e.imag)] if e.dtype.kind == "c" else [(a, e)]
    for x, y in parts:
        zero = (y == 0) & ~np.isnan(x)
        if not np.array_equal(np.signbit(x[zero]), np.signbit(y[zero])):
            return False
    return True


def _value_mismatch(actual: Value, expected: Value, check: Check) -> str | None:
    if check.kind == "aval" or expected.data is None:
        return None
    if actual.data is None:
        return "no data in the output"
    a, e = np.asarray(actual.data), np.asarray(expected.data)
    inexact = e.dtype.kind in "fc"
    if check.kind == "exact" or not inexact:
        same = np.array_equal(a, e, equal_nan=inexact) and _same_zero_signs(a, e)
    else:
        same = bool(np.allclose(a, e, rtol=check.rtol, atol=check.atol, equal_nan=True))
    if same:
        return None
    with np.errstate(invalid="ignore"):
        diff = np.abs(a.astype(np.complex128) - e.astype(np.complex128)) if a.size else a
    worst = float(np.nanmax(diff)) if a.size else 0.0
    tol = f"{check.kind} rtol={check.rtol} atol={check.atol}"
    return f"values differ (max abs diff {worst:.3g}, {tol})"


def compare(case: Case, outputs: Sequence[Value]) -> str | None:
    """None if ``outputs`` are what the case expects, else why not."""
    assert not isinstance(case.expected, Error)
    expected = case.expected.values
    if len(outputs) != len(expected):
        return f"{len(outputs)} outputs, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(outputs, expected, strict=True)):
        problem = _type_mismatch(a, e) or _value_mismatch(a, e, case.check)
        if problem:
            return f"output {i}: {problem}"
    return None


def _error_mismatch(expected: Error, err: BaseException) -> str | None:
    names = {cls.__name__ for cls in type(err).__mro__}
    message = str(err)
    if expected.cls in names and re.search(expected.message, message):
        return None
    first = message.splitlines()[0] if message else ""
    wanted = f"{expected.cls} /{expected.message}/"
    return f"raised {type(err).__name__}: {first[:200]!r}; expected {wanted}"


def run_case(adapter: Adapter, case: Case) -> str | None:
    """None if ``adapter`` passes ``case``, else a one-line reason."""
    adapter.configure(x64=case.x64)
    try:
        outputs = adapter.evaluate(case.program, case.transforms, case.inputs)
    except Exception as err:  # the implementation's own error: compared with the case's
        if isinstance(case.expected, Error):
            return _error_mismatch(case.expected, err)
        first = str(err).splitlines()[0] if str(err) else ""
        return f"raised {type(err).__name__}: {first[:200]}"
    if isinstance(case.expected, Error):
        return f"returned {len(outputs)} outputs; expected {case.expected.cls}"
    return compare(case, outputs)


# ---------------------------------------------------------------------------------------------
# Running many cases


@dataclass
class Report:
    """Results of a run: failures by case id, counts by topic, coverage."""

    failures: list[tuple[Case, str]] = field(default_factory=list)
    passed: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    covered: set[tuple[str, str]] = field(default_factory=set)

    @property
    def n_passed(self) -> int:
        """Cases passed."""
        return sum(self.passed.values())

    @property
    def n_failed(self) -> int:
        """Cases failed."""
        return sum(self.failed.values())


def run_cases(adapter: Adapter, cases: Iterable[Case], echo: bool = False) -> Report:
    """Run every case; with ``echo``, print each failure as it happens."""
    report = Report()
    for case in cases:
        problem = run_case(adapter, case)
        for prim in case_primitives(case):
            for kind in rule_kinds(case):
                report.covered.add((prim, kind))
        if problem is None:
            report.passed[case.topic] += 1
            continue
        report.failed[case.topic] += 1
        report.failures.append((case, problem))
        if echo:
            print(f"FAIL {case.id}: {problem}", flush=True)
    return report


def missing_pairs(report: Report, directory: Path = CASES_DIR) -> list[tuple[str, str]]:
    """Primitive x transformation pairs that JAX defines (``_primitives.json``) and no case
    covers."""
    path = directory / "_primitives.json"
    if not path.exists():
        return []
    table = load_json(path)["primitives"]
    return [
        (prim, kind)
        for prim, kinds in sorted(table.items())
        for kind in kinds
        if (prim, kind) not in report.covered
    ]


def summary(report: Report, missing: Sequence[tuple[str, str]]) -> str:
    """The closing lines: totals, per-topic counts, uncovered pairs."""
    lines = [f"{report.n_passed} passed, {report.n_failed} failed"]
    for topic in sorted(set(report.passed) | set(report.failed)):
        lines.append(f"  {topic}: {report.passed[topic]} passed, {report.failed[topic]} failed")
    if missing:
        by_prim: dict[str, list[str]] = {}
        for prim, kind in missing:
            by_prim.setdefault(prim, []).append(kind)
        lines.append(f"primitive x transformation pairs without a case ({len(missing)}):")
        lines += [f"  {prim}: {', '.join(kinds)}" for prim, kinds in sorted(by_prim.items())]
    else:
        lines.append("every primitive x transformation pair has a case")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python -m spec run --adapter NAME [--backend B] [--only TOPIC]``."""
    parser = argparse.ArgumentParser(prog="python -m spec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the cases through an adapter")
    run.add_argument("--adapter", default="refjax", help="refjax, jax, or module:Class")
    run.add_argument("--backend", default=None, help="refjax backend (numpy, opencl, cuda)")
    run.add_argument("--only", action="append", default=[], help="a topic (repeatable)")
    run.add_argument("--cases", type=Path, default=CASES_DIR, help="the case directory")
    args = parser.parse_args(argv)
    adapter = make_adapter(args.adapter, args.backend)
    cases = load_cases(args.only, args.cases)
    print(f"{len(cases)} cases on {adapter.name}", flush=True)
    report = run_cases(adapter, cases, echo=True)
    print(summary(report, [] if args.only else missing_pairs(report, args.cases)))
    return 1 if report.n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
