"""Run the external array API conformance suite on ``refjax.numpy`` and on ``jax.numpy``.

The suite is data-apis/array-api-tests (with its ``array-api`` submodule checked out), which this
script never fetches: point ``ARRAY_API_TESTS_DIR`` (or ``--suite``) at a checkout whose
requirements are installed in this environment. Both namespaces run with the same settings
(64-bit mode on, ``--max-examples``, no deadline); the script prints each one's passed, failed
and skipped counts, then the tests refjax fails and JAX passes. It exits non-zero if refjax
passes fewer tests than JAX. The suite draws its examples at random, so counts move by a few
from run to run.

Run: ``ARRAY_API_TESTS_DIR=/path/to/array-api-tests make array-api``, or
``.venv/bin/python benchmarks/array_api_conformance.py --suite PATH [--max-examples N]``.
Not part of ``make test``: it needs the suite, and takes a few minutes (JAX's half most of it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("refjax.numpy", "jax.numpy")
Outcomes = dict[str, str]  # test id -> "passed" | "failed" | "skipped"


def run_suite(suite: Path, module: str, max_examples: int) -> Outcomes:
    """Each test's outcome when the suite at ``suite`` runs on namespace ``module``."""
    env = {
        **os.environ,
        "ARRAY_API_TESTS_MODULE": module,
        "JAX_ENABLE_X64": "1",  # read by JAX and by refjax.config alike
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [
            sys.executable, "-m", "pytest", "array_api_tests", "-q", "-p", "no:cacheprovider",
            "--max-examples", str(max_examples), "--disable-deadline", "-W", "ignore",
            "--continue-on-collection-errors", f"--junitxml={report}",
        ]  # fmt: skip
        subprocess.run(command, cwd=suite, env=env, stdout=subprocess.DEVNULL, check=False)
        if not report.exists():
            raise SystemExit(f"the suite wrote no report for {module}: run it by hand to see why")
        return outcomes(report)


def outcomes(report: Path) -> Outcomes:
    """The outcome of every test case in a JUnit XML report."""
    result: Outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        outcome = "failed" if tags & {"failure", "error"} else "passed"
        outcome = "skipped" if "skipped" in tags else outcome
        result[f"{case.get('classname')}::{case.get('name')}"] = outcome
    return result


def main() -> int:
    """Run both namespaces, print their counts and the difference; 1 if refjax passes fewer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=os.environ.get("ARRAY_API_TESTS_DIR"),
                        help="the array-api-tests checkout (default: $ARRAY_API_TESTS_DIR)")
    parser.add_argument("--max-examples", type=int, default=20)
    args = parser.parse_args()
    if not args.suite or not (Path(args.suite) / "array_api_tests").is_dir():
        parser.error("set ARRAY_API_TESTS_DIR (or --suite) to an array-api-tests checkout")
    results = {m: run_suite(Path(args.suite), m, args.max_examples) for m in MODULES}
    for module, result in results.items():
        counts = Counter(result.values())
        print(f"{module:14} passed {counts['passed']:5}  failed {counts['failed']:4}  "
              f"skipped {counts['skipped']:3}")
    ours, theirs = results["refjax.numpy"], results["jax.numpy"]
    behind = sorted(t for t, o in ours.items() if o == "failed" and theirs.get(t) == "passed")
    print(f"refjax fails {len(behind)} test(s) JAX passes" + (":" if behind else "."))
    for test in behind:
        print(f"  {test}")
    passes = [Counter(r.values())["passed"] for r in (ours, theirs)]
    return 0 if passes[0] >= passes[1] else 1


if __name__ == "__main__":
    sys.exit(main())
