"""The executable specification: semantics.md's doctests, and every case on refjax and real JAX."""

from __future__ import annotations

import ast
import dataclasses
import doctest
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from spec import jaxpr_text
from spec.adapters import Adapter, JaxAdapter, RefjaxAdapter
from spec.format import (
    CASES_DIR,
    Case,
    Check,
    Error,
    Outputs,
    Value,
    load_cases,
    topic_files,
)
from spec.runner import (
    Report,
    case_primitives,
    missing_pairs,
    rule_kinds,
    run_case,
    run_cases,
    summary,
)

SPEC = Path(__file__).parent.parent / "spec"


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """Every case of every topic."""
    return load_cases()


def _run_all(adapter: Adapter, cases: list[Case]) -> Report:
    try:
        return run_cases(adapter, cases)
    finally:
        adapter.configure(x64=False)  # leave 64-bit mode as the other tests expect it


def _failures(report: Report) -> str:
    lines = [f"{case.id}: {why}" for case, why in report.failures[:40]]
    return "\n".join([*lines, summary(report, [])])


def test_semantics_doctests() -> None:
    result = doctest.testfile(
        str(SPEC / "semantics.md"), module_relative=False, optionflags=doctest.ELLIPSIS
    )
    assert result.attempted > 40
    assert result.failed == 0


def test_every_case_passes_on_refjax(cases: list[Case]) -> None:
    report = _run_all(RefjaxAdapter("numpy"), cases)
    assert report.n_failed == 0, _failures(report)
    assert report.n_passed == len(cases)


def _sample(cases: list[Case], one_in: int) -> list[Case]:
    """A fixed sample of the cases, spread over every topic: those whose id hashes (stably, not
    Python's per-process hash) into one of ``one_in`` buckets."""
    return [c for c in cases if zlib.crc32(c.id.encode()) % one_in == 0]


def test_a_sample_of_cases_passes_on_jax(cases: list[Case]) -> None:
    """JAX checked every case when it was generated (spec/generate.py); the suite runs a quarter
    of them on JAX again, and all of them under ``-m slow`` (``make test-slow``): JAX takes
    minutes for the whole suite on two cores."""
    pytest.importorskip("jax")
    sample = _sample(cases, 4)
    assert len(sample) > len(cases) // 6
    report = _run_all(JaxAdapter(), sample)
    assert report.n_failed == 0, _failures(report)


@pytest.mark.slow
def test_every_case_passes_on_jax(cases: list[Case]) -> None:
    pytest.importorskip("jax")
    report = _run_all(JaxAdapter(), cases)
    assert report.n_failed == 0, _failures(report)


def test_suite_size_and_coverage(cases: list[Case]) -> None:
    assert len(cases) >= 1500
    assert len({c.id for c in cases}) == len(cases), "case ids must be unique"
    report = Report()
    for case in cases:
        report.covered |= {(p, k) for p in case_primitives(case) for k in rule_kinds(case)}
    assert missing_pairs(report) == []
    table = json.loads((CASES_DIR / "_primitives.json").read_text())["primitives"]
    assert {"sin", "dot_general", "gather", "cond", "scan", "while"} <= set(table)
    assert table["sin"] == ["eval", "abstract_eval", "jvp", "vjp", "vmap"]


def test_every_topic_has_every_kind_of_check(cases: list[Case]) -> None:
    assert set(topic_files()) >= {"elementwise", "promotion", "errors", "programs"}
    kinds = {c.check.kind for c in cases}
    assert kinds == {"exact", "allclose", "finite_difference", "aval"}
    assert any(isinstance(c.expected, Error) for c in cases)


def test_cases_round_trip_through_json(cases: list[Case]) -> None:
    for case in cases[::97]:
        back = Case.from_json(json.loads(json.dumps(case.to_json())), case.topic)
        assert back.to_json() == case.to_json()


def test_values_are_exact() -> None:
    x = np.asarray([-0.0, np.nan, -np.inf, 1 / 3, 1e-45], np.float32)
    back = Value.from_json(Value.of(x).to_json())
    assert back.data is not None
    assert back.data.tobytes() == x.tobytes()
    big = np.arange(100, dtype=np.complex64) * (1 + 2j)
    back = Value.from_json(Value.of(big).to_json())
    assert back.data is not None and np.array_equal(back.data, big)


def _one(cases: list[Case], case_id: str) -> Case:
    (case,) = [c for c in cases if c.id == case_id]
    return case


def test_runner_rejects_wrong_values_types_and_errors(cases: list[Case]) -> None:
    adapter = RefjaxAdapter("numpy")
    case = _one(cases, "programs/x_sin_x/grad")
    assert run_case(adapter, case) is None
    assert isinstance(case.expected, Outputs)
    (out,) = case.expected.values
    assert out.data is not None
    nudged = dataclasses.replace(out, data=out.data + np.float32(0.01))
    assert "values differ" in str(
        run_case(adapter, dataclasses.replace(case, expected=Outputs((nudged,))))
    )
    weak = dataclasses.replace(out, weak_type=True)
    assert "type" in str(run_case(adapter, dataclasses.replace(case, expected=Outputs((weak,)))))
    error = Error("TypeError", "nothing")
    assert "expected TypeError" in str(run_case(adapter, dataclasses.replace(case, expected=error)))
    exact = dataclasses.replace(
        case,
        check=Check("exact"),
        expected=Outputs(
            (dataclasses.replace(out, data=np.nextafter(out.data, np.float32(np.inf))),)
        ),
    )
    assert run_case(adapter, exact) is not None
    adapter.configure(x64=False)


def test_jaxpr_text_reader() -> None:
    jaxpr = jaxpr_text.read_jaxpr(
        "{ lambda a:i32[2]; b:f32[3]. let\n"
        "    c:f32[2] = slice[limit_indices=(2,) start_indices=(0,) strides=None] b\n"
        "    _:f32[] d:f32[3] = scan[jaxpr={ lambda ; e:f32[]. let  in (e,) } length=3]"
        " 1.0:f32[] b\n"
        "  in (c, -inf:f32[]) }"
    )
    assert [v.name for v in jaxpr.constvars] == ["a"]
    assert jaxpr.eqns[0].param("limit_indices") == (2,)
    assert jaxpr_text.primitives_in(jaxpr) == {"slice", "scan"}
    assert isinstance(jaxpr.outs[1], jaxpr_text.Lit) and jaxpr.outs[1].value == -np.inf


def _readme_adapter() -> str:
    text = (SPEC / "README.md").read_text()
    match = re.search(r"## Writing an adapter.*?```python\n(.*?)```", text, re.S)
    assert match is not None
    return match.group(1)


def test_readme_adapter_guide_is_python_under_100_lines() -> None:
    code = _readme_adapter()
    ast.parse(code)
    assert len(code.splitlines()) < 100


def _iter_values(case: Case) -> Iterator[Value]:
    yield from case.inputs
    if isinstance(case.expected, Outputs):
        yield from case.expected.values


def test_cases_are_small(cases: list[Case]) -> None:
    # About 7 MB with the per-operand derivative cases and the transformation topics; a bound
    # that keeps the suite a download anyone takes, and each case small enough to read.
    total = sum(p.stat().st_size for p in CASES_DIR.glob("*.json"))
    assert total < 9_000_000
    assert max(int(np.prod(v.shape)) for c in cases for v in _iter_values(c)) <= 512


def test_every_case_passes_on_opencl(cases: list[Case]) -> None:
    pytest.importorskip("pyopencl")
    from refjax.backends.base import get_backend

    try:
        get_backend("opencl")
    except Exception as err:  # no OpenCL platform or device here
        pytest.skip(f"no OpenCL backend: {err}")
    report = _run_all(RefjaxAdapter("opencl"), cases)
    assert report.n_failed == 0, _failures(report)
