"""``refjax.explain`` and ``python -m refjax explain``: every stage printed under its caption.

``explain`` only formats what ``refjax.stages`` returns, so each test checks that the text holds
every caption the transformation calls for and each stage's own text (the jaxprs as printed,
the fusion plan, every kernel's source), made here by calling the stage functions directly;
the stages themselves are checked against JAX in tests/test_stages.py. The command line runs
on tests/explain_example.py, a user's module.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import explainer, stages
from refjax.__main__ import main, parse_avals
from refjax.interp.core import ShapedArray
from tests import explain_example
from tests.stage_programs import BY_NAME, DIFFERENTIABLE, PROGRAMS, X3, Y3, Program, batch_of

ROOT = Path(__file__).resolve().parents[1]


def caption(key: str, **fill: object) -> str:
    return explainer.CAPTIONS[key].format(**fill)


def explained(f: Any, *args: Any, **options: Any) -> str:
    out = io.StringIO()
    refjax.explain(f, *args, file=out, **options)
    return out.getvalue()


def assert_plans_and_sources(text: str, closed: refjax.interp.core.ClosedJaxpr,
                             backends: tuple[stages.BackendName, ...]) -> None:
    """``text`` shows the plan of ``closed`` for each backend, then each kernel's source."""
    for backend in backends:
        view = stages.fusion_plan(closed, backend)
        assert caption("plan", backend=backend, n=len(view.kernels())) in text
        assert explainer.format_plan(view) in text
        for src in stages.kernel_sources(closed, backend):
            name = explainer.DIALECT_NAMES[backend]
            assert caption("source", dialect=name, n=src.step, name=src.name) in text
            assert src.source.rstrip() in text


@pytest.mark.parametrize("p", DIFFERENTIABLE, ids=str)
def test_every_stage_of_differentiation(p: Program) -> None:
    f = p.build(refjax)
    text = explained(f, *p.args)
    closed = stages.traced(f, *p.args)
    vjp = stages.vjp_stage(f, *p.args)
    lin = vjp.linearize
    for key, stage in [("traced", closed), ("jvp", lin.jvp.jaxpr), ("known", lin.known),
                       ("linear", lin.linear), ("backward", vjp.backward)]:
        assert f"{caption(key)}\n{stage}\n" in text, key
    assert caption("residuals") in text
    for r in lin.residuals:
        row = rf"\n  {r.known_name}:\S+ +-> {r.linear_name} +\({re.escape(r.defined_by)}\)"
        assert re.search(row, text), r
    assert_plans_and_sources(text, closed, ("opencl", "cuda"))
    # numbered captions, in order, one per section
    numbers = [int(n) for n in re.findall(r"^-- (\d+)\. ", text, re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1))


def test_random_has_no_derivative_stages() -> None:
    p = BY_NAME["random"]
    f = p.build(refjax)
    text = explained(f, *p.args, backend="opencl")
    closed = stages.traced(f, *p.args)
    assert f"{caption('traced')}\n{closed}\n" in text
    assert caption("jvp") not in text and caption("known") not in text
    assert "threefry2x32" in text  # the host step of the plan
    assert_plans_and_sources(text, closed, ("opencl",))
    assert "CUDA C++" not in text


V = BY_NAME["vector"]


@pytest.mark.parametrize("transform,shown,hidden", [
    ("jit", [], ["jvp", "known", "backward", "grad", "vmap"]),
    ("jvp", ["jvp"], ["known", "backward", "grad", "vmap"]),
    ("linearize", ["jvp", "known", "linear", "residuals"], ["backward", "grad", "vmap"]),
    ("vjp", ["jvp", "known", "linear", "residuals", "backward"], ["grad", "vmap"]),
    ("grad", ["jvp", "known", "linear", "residuals", "backward", "grad"], ["vmap"]),
])
def test_each_transform_shows_its_stages_and_compiles_the_last(
    transform: str, shown: list[str], hidden: list[str]
) -> None:
    f = V.build(refjax)
    text = explained(f, *V.args, transform=transform, backend="cuda")
    assert text.startswith(f"refjax.explain: <lambda> on (f32[3], f32[3]), {transform}\n")
    assert caption("traced") in text
    for key in shown:
        assert caption(key) in text, key
    for key in hidden:
        assert caption(key) not in text, key
    vjp = stages.vjp_stage(f, *V.args)
    last = {"jit": stages.traced(f, *V.args), "jvp": vjp.linearize.jvp.jaxpr,
            "linearize": vjp.linearize.linear, "vjp": vjp.backward,
            "grad": refjax.make_jaxpr(refjax.grad(f))(*V.args)}[transform]
    assert f"\n{last}\n" in text
    assert_plans_and_sources(text, last, ("cuda",))
    assert "OpenCL C" not in text


def test_vmap_shows_the_batched_jaxpr() -> None:
    f = V.build(refjax)
    batch = batch_of(V)
    text = explained(f, *batch, transform="vmap", backend="opencl")
    assert f"{caption('traced')}\n{stages.traced(f, *V.args)}\n" in text
    batched = refjax.make_jaxpr(refjax.vmap(f))(*batch)
    assert f"{caption('vmap')}\n{batched}\n" in text
    assert_plans_and_sources(text, batched, ("opencl",))


def test_inlined_calls_are_shown_before_the_plan() -> None:
    f = lambda x: refjax.jit(refjax.numpy.sin)(x) * 2.0  # noqa: E731
    text = explained(f, X3, transform="jit", backend="opencl")
    view = stages.fusion_plan(stages.traced(f, X3), "opencl")
    assert f"{caption('planned', backend='opencl')}\n{view.jaxpr}\n" in text


def test_explain_prints_to_stdout_and_is_exported(capsys: pytest.CaptureFixture[str]) -> None:
    assert refjax.explain is explainer.explain and "explain" in refjax.__all__
    assert refjax.stages is stages
    f = BY_NAME["scalar"].build(refjax)
    assert refjax.explain(f, *BY_NAME["scalar"].args, transform="jit") is None  # type: ignore[func-returns-value]  # prints
    assert capsys.readouterr().out == explained(f, *BY_NAME["scalar"].args, transform="jit")


def test_explain_passes_keyword_arguments() -> None:
    text = explained(lambda x, *, y: x * y, X3, y=Y3, transform="jit", backend="opencl")
    assert "{ lambda ; a:f32[3] b:f32[3]. let c:f32[3] = mul a b in (c,) }" in text


@pytest.mark.parametrize("p", PROGRAMS, ids=str)
def test_format_stages_is_what_explain_prints(p: Program) -> None:
    f = p.build(refjax)
    result = stages.all_stages(f, *p.args, backend="opencl")
    assert explained(f, *p.args, backend="opencl") == explainer.format_stages(result, "<lambda>")


# ---------------------------------------------------------------------------------------------
# The command line


@pytest.mark.parametrize("text,avals", [
    ("f32[3],f32[]", [((3,), np.float32), ((), np.float32)]),
    ("i32[2,2], f64[]", [((2, 2), np.int32), ((), np.float64)]),
    ("u32[2]", [((2,), np.uint32)]),
    ("bool[1, 4]", [((1, 4), np.bool_)]),
    ("", []),
])
def test_parse_avals(text: str, avals: list[tuple[tuple[int, ...], Any]]) -> None:
    assert parse_avals(text) == [ShapedArray(s, np.dtype(d)) for s, d in avals]


@pytest.mark.parametrize("text", ["f32(3)", "f32[3] f32[]", "x7[2]", "f32[a]"])
def test_parse_avals_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_avals(text)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_cli_explains_a_users_function(capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "explain", "tests.explain_example:loss", "--args", "f32[3],f32[]",
               "--transform", "grad", "--backend", "cuda")
    zeros = (np.zeros(3, np.float32), np.float32(0))
    result = stages.all_stages(explain_example.loss, *zeros, transform="grad", backend="cuda")
    assert out == explainer.format_stages(result, "loss")
    assert caption("grad") in out


def test_cli_dotted_names_and_x64(capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "explain", "tests.explain_example:Model.double", "--args", "f64[2]",
               "--transform", "jit", "--backend", "opencl")
    assert "{ lambda ; a:f64[2]. let b:f64[2] = mul a 2.0:f64[] in (b,) }" in out
    assert "const double v0 = in0[i0];" in out  # the kernel computes in double
    assert not refjax.config.read("jax_enable_x64")  # switched on for the run only


@pytest.mark.parametrize("argv,message", [
    (["explain", "tests.explain_example", "--args", "f32[]"], "module:function"),
    (["explain", "tests.explain_example:nothing", "--args", "f32[]"], "no attribute"),
    (["explain", "tests.explain_example:NOT_A_FUNCTION", "--args", "f32[]"], "not callable"),
    (["explain", "tests.no_such_module:f", "--args", "f32[]"], "No module"),
    (["explain", "tests.explain_example:loss", "--args", "f32[3"], "cannot read"),
    (["explain", "tests.explain_example:loss", "--transform", "hessian"], "invalid choice"),
])
def test_cli_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_writes_dot_pictures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "explain", "tests.explain_example:loss", "--args", "f32[3],f32[]",
               "--transform", "vjp", "--backend", "opencl", "--dot", str(tmp_path))
    for name in ["traced", "jvp", "known", "linear", "backward", "fusion_opencl"]:
        path = tmp_path / f"{name}.dot"
        assert path.read_text().startswith("digraph"), name
        assert f"wrote {path}\n" in out


def test_python_dash_m_refjax_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "refjax", "explain", "tests.explain_example:noise",
         "--args", "u32[2]", "--transform", "jit", "--backend", "opencl"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refjax.explain: noise on (u32[2]), jit\n")
    assert "threefry2x32" in done.stdout and "__kernel void" in done.stdout
