"""The spec as a tool for implementers: selection, capabilities, explanations, machine-readable
output, strictness switches and packaging (spec/runner.py and the modules beside it)."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from spec.adapters import Capabilities, RefjaxAdapter
from spec.compare import Strictness
from spec.explain import show, stack_text
from spec.format import (
    CASES_DIR,
    Case,
    Error,
    EvalShape,
    Jit,
    Linearize,
    Outputs,
    Program,
    Transform,
    Value,
    Vmap,
    load_cases,
)
from spec.output import write_jsonl, write_junit
from spec.runner import Coverage, check_case, main, run_cases, summary
from spec.selection import JAX_SPECIFIC, Selection, select, stack_names, unsupported

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _x64_off() -> Iterator[None]:
    """Cases switch 64-bit mode: leave it off, as the other tests expect."""
    yield
    RefjaxAdapter("numpy").configure(x64=False)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """The topics these tests draw on (not the whole suite: they stay fast)."""
    return load_cases(["programs", "control_flow", "errors", "promotion"])


def _one(cases: list[Case], case_id: str) -> Case:
    (case,) = [c for c in cases if c.id == case_id]
    return case


class _Wrapped:
    """refjax (numpy backend) under another adapter's name, for adapters that change it."""

    name = "wrapped refjax"

    def __init__(self) -> None:
        self.inner = RefjaxAdapter("numpy")

    def configure(self, *, x64: bool) -> None:
        self.inner.configure(x64=x64)

    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        return self.inner.evaluate(program, transforms, inputs)


class PartialAdapter(_Wrapped):
    """An implementation of grad, jvp and vjp only (and plain evaluation), in float32 and
    float64: asked for anything else it raises, so a run proves the runner never asks."""

    name = "partial (grad/jvp/vjp)"
    capabilities = Capabilities(
        transforms=frozenset({"eval", "grad", "jvp", "vjp"}),
        dtypes=frozenset({"float32", "float64"}),
    )

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, ...]] = []

    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        if any(isinstance(t, (Vmap, Jit, EvalShape, Linearize)) for t in transforms):
            raise AssertionError("the runner asked for a transformation not declared")
        return super().evaluate(program, transforms, inputs)


def test_partial_adapter_runs_what_it_declares_and_skips_the_rest(cases: list[Case]) -> None:
    adapter = PartialAdapter()
    chosen = cases + select(
        load_cases(["elementwise"]), Selection(cases=("sin/*", "mul/*", "add/*"))
    )
    report = run_cases(adapter, chosen)
    assert report.n_failed == 0, report.failures[:5]
    assert report.n_passed + report.n_skipped == len(chosen)
    caps = adapter.capabilities
    ran = {o.case.id for o in report.outcomes if o.status == "passed"}
    for o in report.outcomes:
        names = set(stack_names(o.case))
        if o.status == "skipped":
            assert o.reason.startswith("adapter does not support"), o.reason
            assert unsupported(o.case, caps) is not None
        else:
            assert names <= {"eval", "grad", "jvp", "vjp"}
    assert {"programs/x_sin_x/grad", "programs/x_sin_x/jvp", "programs/x_sin_x/vjp"} <= ran
    assert "programs/x_sin_x/vmap" not in ran and "programs/x_sin_x/jit" not in ran
    assert report.by_transform["vmap"]["skipped"] > 0 and not report.by_transform["vmap"]["passed"]
    assert report.by_transform["grad"]["passed"] > 0
    # coverage: only the kinds grad/jvp/vjp/eval exercise, never a claim about vmap
    coverage = Coverage.of(report, Selection(), caps)
    assert {kind for _, kind in coverage.admitted} == {"eval", "jvp", "vjp"}
    text = summary(report, coverage)
    assert "every" not in text and "admitted by this selection" in text


def test_selection_by_transform_case_topic_primitive(cases: list[Case]) -> None:
    only = select(cases, Selection(transforms=frozenset({"grad", "jit"})))
    assert only and all(set(stack_names(c)) <= {"grad", "jit"} for c in only)
    assert any(stack_names(c) == ("jit", "grad") for c in only)
    evals = select(cases, Selection(transforms=frozenset({"eval"})))
    assert evals and all(not c.transforms for c in evals)
    by_glob = select(cases, Selection(cases=("programs/x_sin_x/*grad*", "errors/transform/grad_*")))
    assert {c.id for c in by_glob} >= {"programs/x_sin_x/grad", "errors/transform/grad_nonscalar"}
    assert all("grad" in c.id for c in by_glob)
    exact = select(cases, Selection(cases=("programs/x_sin_x/vmap",)))
    assert [c.id for c in exact] == ["programs/x_sin_x/vmap"]
    topic = select(cases, Selection(topics=("control_flow",)))
    assert topic and {c.topic for c in topic} == {"control_flow"}
    prim = select(cases, Selection(primitives=frozenset({"while"})))
    assert prim and all("while" in c.id or "fori" in c.id for c in prim)


def test_tags_mark_what_is_jax_specific(cases: list[Case]) -> None:
    tags = {c.id: c.tags for c in cases}
    assert "jax-specific:reverse-while" in tags["errors/transform/grad_of_while_loop"]
    assert "jax-specific:reverse-while" in tags["errors/transform/vjp_of_while_loop"]
    assert "jax-specific:api-check" in tags["errors/transform/grad_complex_output"]
    assert all("jax-specific:weak-type" in t for i, t in tags.items() if i.startswith("weak_type/"))
    errors = [c for c in cases if c.topic == "errors"]
    assert all("jax-specific:error-message" in c.tags for c in errors)
    assert all(isinstance(c.expected, Error) for c in errors)
    # --skip-jax-specific: a glob skips every jax-specific tag but the error wording, which
    # --errors class relaxes instead
    sel = Selection(skip_tags=(JAX_SPECIFIC,))
    grad_nonscalar = _one(cases, "errors/transform/grad_nonscalar")
    assert sel.skipped_tag(grad_nonscalar) is None
    assert sel.skipped_tag(_one(cases, "errors/transform/grad_of_while_loop")) is not None
    exact = Selection(skip_tags=("jax-specific:error-message",))
    assert exact.skipped_tag(grad_nonscalar) == "jax-specific:error-message"
    strict = Strictness(weak_types=False, errors="class")
    report = run_cases(RefjaxAdapter("numpy"), cases, strict=strict, selection=sel)
    assert report.n_failed == 0 and report.skipped["promotion"] > 0


def test_show_prints_program_stack_inputs_and_expected(cases: list[Case]) -> None:
    case = _one(cases, "programs/x_sin_x/jit.vmap.grad")
    text = show(case)
    assert case.id in text and "sin a" in text and case.provenance in text
    assert "jit(vmap(grad(f, argnums=(0,)), in_axes=(0,), out_axes=0))" in text
    assert isinstance(case.expected, Outputs)
    for value in (*case.inputs, *case.expected.values):
        assert value.data is not None
        assert all(str(x) in text for x in value.data.reshape(-1))
    assert "finite_difference" in text
    jvp = _one(cases, "programs/x_sin_x/jvp")
    stack = stack_text(jvp.transforms)
    assert stack.text.startswith("jvp(f, argnums=(0,), tangents=(tangents[0],)")
    assert [label for label, _ in stack.values] == ["tangents[0]"]
    assert "tangents[0]: float32" in show(jvp)
    error = show(_one(cases, "errors/transform/grad_of_while_loop"))
    assert "raises ValueError" in error and "jax-specific:reverse-while" in error


class _Nudged(_Wrapped):
    """Output 0 off by 0.5 at flat element 1, when ``wrong`` says so for the stack."""

    def wrong(self, transforms: Sequence[Transform]) -> bool:
        return True

    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        outs = super().evaluate(program, transforms, inputs)
        if not self.wrong(transforms) or outs[0].data is None:
            return outs
        data = np.array(outs[0].data)
        data.reshape(-1)[1] += 0.5
        return [dataclasses.replace(outs[0], data=data), *outs[1:]]


class _WrongUnderJit(_Nudged):
    def wrong(self, transforms: Sequence[Transform]) -> bool:
        return bool(transforms) and isinstance(transforms[0], Jit)


class _WrongUnderVmap(_Nudged):
    def wrong(self, transforms: Sequence[Transform]) -> bool:
        return any(isinstance(t, Vmap) for t in transforms)


def test_failure_names_the_worst_element(cases: list[Case]) -> None:
    case = _one(cases, "programs/x_sin_x/vmap")
    problem = check_case(_Nudged(), case)
    assert problem is not None and problem.index == (1,) and problem.output == 0
    assert isinstance(case.expected, Outputs)
    expected = case.expected.values[0].data
    assert expected is not None
    assert problem.expected == str(expected[1])
    actual = _Nudged().evaluate(case.program, case.transforms, case.inputs)[0].data
    assert actual is not None and problem.actual == str(actual[1])
    assert "values differ at [1] (1 of 3 elements)" in problem.message
    assert "expected " + str(expected[1]) in problem.message and "allowed" in problem.message
    assert problem.n_differ == 1 and problem.size == 3
    assert problem.max_abs_diff == pytest.approx(0.5, abs=1e-3)


def test_divergence_finds_the_transformation(cases: list[Case]) -> None:
    case = _one(cases, "programs/x_sin_x/jit.vmap.grad")
    (at_jit,) = run_cases(_WrongUnderJit(), [case]).outcomes
    assert at_jit.status == "failed" and at_jit.divergence is not None
    assert at_jit.divergence.startswith("diverges at jit (transformation 1")
    (at_vmap,) = run_cases(_WrongUnderVmap(), [case]).outcomes
    assert at_vmap.divergence is not None
    assert at_vmap.divergence.startswith("diverges at vmap (transformation 2")
    (inside,) = run_cases(_Nudged(), [case]).outcomes
    assert inside.divergence is not None
    assert "still fails with the outer jit, vmap" in inside.divergence
    assert "grad(f, argnums=(0,))" in inside.divergence
    (no_stack,) = run_cases(_Nudged(), [_one(cases, "programs/x_sin_x/grad")]).outcomes
    assert no_stack.status == "failed" and no_stack.divergence is None


def test_jsonl_and_junit_are_well_formed(cases: list[Case], tmp_path: Path) -> None:
    chosen = select(cases, Selection(cases=("programs/x_sin_x/*",)))
    report = run_cases(_WrongUnderVmap(), chosen, selection=Selection(skip_tags=("none",)))
    adapter = PartialAdapter()
    report.outcomes += run_cases(adapter, chosen).outcomes  # skips beside failures
    write_jsonl(tmp_path / "out.jsonl", report.outcomes)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(lines) == len(report.outcomes)
    statuses = {line["status"] for line in lines}
    assert statuses == {"passed", "failed", "skipped"}
    failed = [line for line in lines if line["status"] == "failed"]
    assert all(line["failure"]["index"] is not None for line in failed if line["failure"])
    assert all("vmap" in line["transforms"] for line in failed)
    assert {"id", "topic", "reason", "stack", "primitives", "tags"} <= set(lines[0])
    write_junit(tmp_path / "out.xml", report.outcomes, "spec")
    root = ET.parse(tmp_path / "out.xml").getroot()
    assert root.tag == "testsuites" and root.get("tests") == str(len(lines))
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "programs"
    assert len(suite.findall("testcase/failure")) == len(failed)
    n_skipped = sum(line["status"] == "skipped" for line in lines)
    assert len(suite.findall("testcase/skipped")) == n_skipped == int(suite.get("skipped", -1))


class _Raises(_Wrapped):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        raise self.error


def test_error_strictness(cases: list[Case]) -> None:
    case = _one(cases, "errors/transform/grad_nonscalar")  # JAX: TypeError, its wording
    other_words = _Raises(TypeError("the function must return a scalar"))
    other_class = _Raises(ValueError("Gradient only defined for scalar-output functions."))
    assert check_case(other_words, case) is not None
    assert check_case(other_words, case, Strictness(errors="class")) is None
    assert check_case(other_class, case, Strictness(errors="class")) is not None
    assert check_case(other_class, case, Strictness(errors="off")) is None
    returns = _Wrapped()  # returning where an error is expected fails even with errors off
    ok = _one(cases, "programs/x_sin_x/grad")
    assert (
        check_case(
            returns,
            dataclasses.replace(case, program=ok.program, inputs=ok.inputs),
            Strictness(errors="off"),
        )
        is not None
    )


class _Strong(_Wrapped):
    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        outs = super().evaluate(program, transforms, inputs)
        return [dataclasses.replace(o, weak_type=False) for o in outs]


def test_weak_type_strictness(cases: list[Case]) -> None:
    case = _one(cases, "weak_type/add/ww")
    assert isinstance(case.expected, Outputs) and case.expected.values[0].weak_type
    problem = check_case(_Strong(), case)
    assert problem is not None and "type" in problem.message
    assert check_case(_Strong(), case, Strictness(weak_types=False)) is None


def test_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    jsonl = tmp_path / "r.jsonl"
    code = main(
        ["run", "--case", "programs/x_sin_x/*", "--transforms", "grad,jit", "--jsonl", str(jsonl)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "0 failed" in out and "by transformation" in out and "  grad:" in out
    assert "vmap" not in out.split("by transformation")[1].split("coverage")[0]
    assert "not among the chosen topics or cases" in out
    ids = [json.loads(line)["id"] for line in jsonl.read_text().splitlines()]
    assert "programs/x_sin_x/jit.grad" in ids and "programs/x_sin_x/vmap.grad" not in ids
    assert main(["show", "programs/x_sin_x/grad"]) == 0
    assert "applied as: grad(f, argnums=(0,))" in capsys.readouterr().out
    assert main(["run", "--case", "no/such/case"]) == 2
    assert main(["list", "--topic", "errors", "--case", "errors/transform/*"]) == 0
    assert "jax-specific:reverse-while" in capsys.readouterr().out


def test_cases_ship_with_the_package() -> None:
    cases_dir = importlib.resources.files("spec") / "cases"
    assert Path(str(cases_dir)) == CASES_DIR
    assert (cases_dir / "errors.json").is_file() and (cases_dir / "_primitives.json").is_file()
    assert (importlib.resources.files("spec") / "README.md").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert "spec" in setuptools["packages"]["find"]["include"]
    assert {"cases/*.json", "cases/*.txt", "README.md", "semantics.md"} <= set(
        setuptools["package-data"]["spec"]
    )
    assert config["project"]["scripts"]["refjax-spec"] == "spec.runner:main"
