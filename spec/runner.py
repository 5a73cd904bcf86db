"""The runner: the selected cases through an adapter, compared with what each case expects.

``python -m spec run --adapter refjax`` runs every case; options choose cases (by topic, id or
glob, transformation, primitive), relax what is JAX's choice rather than the semantics (weak
types, error wording, tagged cases) and write JSON lines or JUnit XML. Cases beyond what the
adapter declares it supports (:class:`~spec.adapters.Capabilities`) are skipped, never run.
``python -m spec show ID`` prints one case in full. See spec/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from spec.adapters import Adapter, Capabilities, capabilities_of, make_adapter
from spec.compare import (
    ERROR_MODES,
    STRICT,
    ErrorMode,
    Mismatch,
    Strictness,
    compare,
    judge,
)
from spec.explain import divergence, show
from spec.format import (
    CASES_DIR,
    Case,
    EvalShape,
    Grad,
    Jvp,
    Linearize,
    Value,
    Vjp,
    Vmap,
    load_cases,
    load_json,
)
from spec.output import Outcome, write_jsonl, write_junit
from spec.selection import (
    JAX_SPECIFIC,
    Selection,
    all_primitives,
    select,
    split_names,
    stack_names,
    unsupported,
)

__all__ = [
    "KINDS",
    "Coverage",
    "Report",
    "case_primitives",
    "compare",
    "main",
    "missing_pairs",
    "rule_kinds",
    "run_case",
    "run_cases",
    "summary",
]

KINDS: Final = ("eval", "abstract_eval", "jvp", "vjp", "vmap")
# The transformations that exercise each kind of rule (``_primitives.json`` lists kinds).
KIND_TRANSFORMS: Final = {
    "eval": frozenset({"eval", "jit"}),
    "abstract_eval": frozenset({"eval_shape"}),
    "jvp": frozenset({"jvp", "linearize"}),
    "vjp": frozenset({"grad", "vjp"}),
    "vmap": frozenset({"vmap"}),
}
# The order of transformations in summaries (others follow, sorted).
EVERY_CASE: Final = Selection()
TRANSFORM_ORDER: Final = ("eval", "jit", "eval_shape", "vmap", "grad", "jvp", "vjp", "linearize")


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
    return all_primitives(case)


# ---------------------------------------------------------------------------------------------
# One case


def check_case(adapter: Adapter, case: Case, strict: Strictness = STRICT) -> Mismatch | None:
    """None if ``adapter`` passes ``case``, else how it fails."""
    adapter.configure(x64=case.x64)
    result: list[Value] | Exception
    try:
        result = adapter.evaluate(case.program, case.transforms, case.inputs)
    except Exception as err:  # the implementation's own error: compared with the case's
        result = err
    return judge(case, result, strict)


def run_case(adapter: Adapter, case: Case, strict: Strictness = STRICT) -> str | None:
    """None if ``adapter`` passes ``case``, else a one-line reason."""
    problem = check_case(adapter, case, strict)
    return None if problem is None else problem.message


# ---------------------------------------------------------------------------------------------
# Many cases


@dataclass
class Report:
    """Results of a run: every outcome, failures, counts by topic and transformation, and the
    primitive x kind pairs of the cases that ran."""

    outcomes: list[Outcome] = field(default_factory=list)
    failures: list[tuple[Case, str]] = field(default_factory=list)
    passed: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    by_transform: dict[str, Counter[str]] = field(default_factory=dict)  # name -> status counts
    covered: set[tuple[str, str]] = field(default_factory=set)

    @property
    def n_passed(self) -> int:
        """Cases passed."""
        return sum(self.passed.values())

    @property
    def n_failed(self) -> int:
        """Cases failed."""
        return sum(self.failed.values())

    @property
    def n_skipped(self) -> int:
        """Cases skipped (beyond the adapter's capabilities, or with a skipped tag)."""
        return sum(self.skipped.values())

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        case = outcome.case
        self.outcomes.append(outcome)
        {"passed": self.passed, "failed": self.failed, "skipped": self.skipped}[outcome.status][
            case.topic
        ] += 1
        for name in set(stack_names(case)):
            self.by_transform.setdefault(name, Counter())[outcome.status] += 1
        if outcome.status == "failed":
            self.failures.append((case, outcome.reason))
        if outcome.status != "skipped":
            self.covered |= {(p, k) for p in case_primitives(case) for k in rule_kinds(case)}


def run_cases(
    adapter: Adapter,
    cases: Iterable[Case],
    echo: bool = False,
    *,
    strict: Strictness = STRICT,
    selection: Selection = EVERY_CASE,
    explain: bool = True,
    verbose: bool = False,
) -> Report:
    """Run the cases (already selected), skipping those the adapter's capabilities or the
    selection's skipped tags leave out; with ``echo``, print each failure as it happens (and
    each skip, with ``verbose``). ``explain`` locates each failure in its stack."""
    report = Report()
    caps = capabilities_of(adapter)
    for case in cases:
        tag = selection.skipped_tag(case)
        why_not = f"tag {tag} skipped" if tag else unsupported(case, caps)
        if why_not:
            report.add(Outcome(case, "skipped", why_not))
            if echo and verbose:
                print(f"SKIP {case.id}: {why_not}", flush=True)
            continue
        start = time.perf_counter()
        problem = check_case(adapter, case, strict)
        seconds = time.perf_counter() - start
        if problem is None:
            report.add(Outcome(case, "passed", seconds=seconds))
            continue
        where = divergence(adapter, case, strict) if explain else None
        report.add(Outcome(case, "failed", problem.message, problem, where, seconds))
        if echo:
            print(f"FAIL {case.id}: {problem.message}", flush=True)
            if where:
                print(f"     {where}", flush=True)
    return report


# ---------------------------------------------------------------------------------------------
# Coverage and the summary


def _primitive_table(directory: Path) -> dict[str, list[str]]:
    path = directory / "_primitives.json"
    if not path.exists():
        return {}
    table: dict[str, list[str]] = load_json(path)["primitives"]
    return table


def missing_pairs(report: Report, directory: Path = CASES_DIR) -> list[tuple[str, str]]:
    """Primitive x transformation pairs that JAX defines (``_primitives.json``) and no case
    that ran covers."""
    return [
        (prim, kind)
        for prim, kinds in sorted(_primitive_table(directory).items())
        for kind in kinds
        if (prim, kind) not in report.covered
    ]


@dataclass(frozen=True)
class Coverage:
    """The primitive x kind pairs a run could cover (those ``_primitives.json`` lists that the
    selection's primitives and transformations and the adapter's capabilities admit), and
    which of them a case that ran covers."""

    admitted: frozenset[tuple[str, str]]
    ran: frozenset[tuple[str, str]]
    narrowed: bool  # topics or case ids chose the cases: the pairs outside them are not a gap

    @staticmethod
    def of(
        report: Report, selection: Selection, caps: Capabilities, directory: Path = CASES_DIR
    ) -> Coverage:
        """The coverage of a run."""
        names = set(TRANSFORM_ORDER)
        if selection.transforms:
            names &= selection.transforms
        if caps.transforms is not None:
            names &= caps.transforms
        admitted = frozenset(
            (prim, kind)
            for prim, kinds in _primitive_table(directory).items()
            if not selection.primitives or prim in selection.primitives
            if caps.primitives is None or prim in caps.primitives
            for kind in kinds
            if KIND_TRANSFORMS.get(kind, frozenset()) & names
        )
        return Coverage(admitted, admitted & frozenset(report.covered), selection.narrowed)

    def lines(self) -> list[str]:
        """What the run covers, claiming nothing beyond its selection."""
        n, m = len(self.admitted), len(self.ran)
        lines = [
            f"coverage: of {n} primitive x transformation pairs admitted by this selection and "
            f"the adapter's capabilities, {m} have a case that ran"
        ]
        missing = sorted(self.admitted - self.ran)
        if not missing:
            return lines
        if self.narrowed:
            lines.append(f"  ({n - m} not among the chosen topics or cases)")
            return lines
        by_prim: dict[str, list[str]] = {}
        for prim, kind in missing:
            by_prim.setdefault(prim, []).append(kind)
        lines.append(f"pairs without a case that ran ({len(missing)}):")
        lines += [f"  {prim}: {', '.join(kinds)}" for prim, kinds in sorted(by_prim.items())]
        return lines


def _counts(passed: int, failed: int, skipped: int) -> str:
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def summary(report: Report, coverage: Coverage | None = None) -> str:
    """The closing lines: totals, counts per topic and per transformation, coverage."""
    lines = [_counts(report.n_passed, report.n_failed, report.n_skipped)]
    topics = sorted(set(report.passed) | set(report.failed) | set(report.skipped))
    lines.append("by topic:")
    for t in topics:
        lines.append(f"  {t}: {_counts(report.passed[t], report.failed[t], report.skipped[t])}")
    lines.append("by transformation (a case counts for each transformation in its stack):")
    order: list[str] = [n for n in TRANSFORM_ORDER if n in report.by_transform]
    order += sorted(set(report.by_transform) - set(order))
    for name in order:
        c = report.by_transform[name]
        lines.append(f"  {name}: {_counts(c['passed'], c['failed'], c['skipped'])}")
    if coverage:
        lines += coverage.lines()
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The command line


def _selection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topic", "--only", dest="topics", action="append", default=[], help="a topic"
    )
    parser.add_argument(
        "--case", dest="cases", action="append", default=[], help="a case id or glob (sin/*)"
    )
    parser.add_argument(
        "--transforms",
        action="append",
        default=[],
        help="keep a case iff every transformation in its stack is listed: eval (no "
        "transformation), jit, eval_shape, vmap, grad, jvp, vjp, linearize (comma-separated)",
    )
    parser.add_argument(
        "--primitive", action="append", default=[], help="keep the cases about a primitive"
    )
    parser.add_argument(
        "--cases",
        dest="directory",
        type=Path,
        default=CASES_DIR,
        help="the case directory (default: the installed spec/cases)",
    )


def _selection(args: argparse.Namespace) -> Selection:
    skip = list(getattr(args, "skip_tag", []))
    if getattr(args, "skip_jax_specific", False):
        skip.append(JAX_SPECIFIC)
    return Selection(
        topics=tuple(args.topics),
        cases=tuple(args.cases),
        transforms=split_names(args.transforms),
        primitives=split_names(args.primitive),
        skip_tags=tuple(skip),
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the cases through an adapter")
    run.add_argument("--adapter", default="refjax", help="refjax, jax, or module:Class")
    run.add_argument("--backend", default=None, help="refjax backend (numpy, opencl, cuda)")
    _selection_args(run)
    run.add_argument(
        "--skip-tag",
        action="append",
        default=[],
        help="skip cases with a tag (or glob); repeatable",
    )
    run.add_argument(
        "--skip-jax-specific",
        action="store_true",
        help="hold to the semantics without JAX's choices: skip the cases tagged jax-specific:* "
        "(but jax-specific:error-message), check errors by class only, ignore weak types",
    )
    run.add_argument(
        "--weak-types",
        choices=("check", "ignore"),
        default="check",
        help="compare weak types (default) or dtype and shape only",
    )
    run.add_argument(
        "--errors",
        choices=ERROR_MODES,
        default="message",
        help="error cases: class and message (default), class only, or off (any exception passes)",
    )
    run.add_argument("--jsonl", type=Path, help="write one JSON object per case here")
    run.add_argument("--junit", type=Path, help="write JUnit XML here")
    run.add_argument(
        "--no-explain",
        action="store_true",
        help="do not locate failures in their stacks (no extra evaluations)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="print skipped cases too")
    show_ = sub.add_parser("show", help="print cases in full: program, stack, inputs, expected")
    show_.add_argument("ids", nargs="+", help="case ids or globs")
    show_.add_argument("--cases", dest="directory", type=Path, default=CASES_DIR)
    list_ = sub.add_parser("list", help="list the selected cases: id, topic, stack, tags")
    _selection_args(list_)
    sub.add_parser(
        "mutate", help="mutation testing of an adapter (python -m spec mutate -h)", add_help=False
    )
    return parser


def _selected(args: argparse.Namespace) -> tuple[Selection, list[Case]]:
    selection = _selection(args)
    return selection, select(load_cases(selection.topics, args.directory), selection)


def _run(args: argparse.Namespace) -> int:
    selection, cases = _selected(args)
    if not cases:
        print("no case matches the selection", file=sys.stderr)
        return 2
    adapter = make_adapter(args.adapter, args.backend)
    errors: ErrorMode = args.errors
    strict = Strictness(weak_types=args.weak_types == "check", errors=errors)
    if args.skip_jax_specific:  # JAX's weak types and error wording are not the semantics
        strict = Strictness(weak_types=False, errors="class" if errors == "message" else errors)
    print(f"{len(cases)} cases on {adapter.name}", flush=True)
    report = run_cases(
        adapter,
        cases,
        echo=True,
        strict=strict,
        selection=selection,
        explain=not args.no_explain,
        verbose=args.verbose,
    )
    coverage = Coverage.of(report, selection, capabilities_of(adapter), args.directory)
    print(summary(report, coverage))
    if args.jsonl:
        write_jsonl(args.jsonl, report.outcomes)
    if args.junit:
        write_junit(args.junit, report.outcomes, f"spec on {adapter.name}")
    return 1 if report.n_failed else 0


def _show(args: argparse.Namespace) -> int:
    cases = select(load_cases((), args.directory), Selection(cases=tuple(args.ids)))
    if not cases:
        print(f"no case matches {' '.join(args.ids)}", file=sys.stderr)
        return 2
    print("\n\n".join(show(c) for c in cases))
    return 0


def _list(args: argparse.Namespace) -> int:
    for case in _selected(args)[1]:
        tags = f" [{', '.join(case.tags)}]" if case.tags else ""
        print(f"{case.id}\t{case.topic}\t{'.'.join(stack_names(case))}{tags}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m spec run|show|list|mutate ...`` (``-h`` for the options)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["mutate"]:
        mutation = importlib.import_module("spec.mutation")  # only this command needs it
        code: int = mutation.main(argv[1:])
        return code
    args = _parser().parse_args(argv)
    if args.command == "show":
        return _show(args)
    if args.command == "list":
        return _list(args)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
