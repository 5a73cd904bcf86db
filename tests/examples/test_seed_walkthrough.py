"""examples/seed_walkthrough.py: the seed's snippets against numpy written out and real JAX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import seed_walkthrough as ex

import refjax
from tests.oracle import jax, requires_jax
from tests.tolerances import COMPOSITE, F32

TOL = COMPOSITE[F32]
SNIPPETS = ["jit of the 10-step loop", "grad of x * sin(x)", "vmap of square",
            "per-example gradients"]


def test_snippets_match_numpy(backend: str) -> None:
    data = ex.inputs()
    ours = ex.run_all(refjax, data)
    assert list(ours) == SNIPPETS
    for name, expected in ex.numpy_answers(data).items():
        value = ours[name][1]
        assert value.dtype == np.float32, name
        np.testing.assert_allclose(value, expected, rtol=TOL, atol=TOL, err_msg=name)


def test_numpy_answers_by_hand() -> None:
    """The independent answers themselves, against numbers worked out without them."""
    data = ex.inputs()
    answers = ex.numpy_answers(data)
    np.testing.assert_allclose(answers["jit of the 10-step loop"], data["loop"] * 0.9**10,
                               rtol=TOL)
    np.testing.assert_allclose(answers["grad of x * sin(x)"][:2],
                               [0.0, np.sin(0.5) + 0.5 * np.cos(0.5)])
    np.testing.assert_array_equal(answers["vmap of square"], [0, 1, 4, 9, 16])
    x, y, w = data["xs"][2].astype(float), float(data["ys"][2]), data["w"].astype(float)
    np.testing.assert_allclose(answers["per-example gradients"][2], 2 * (x @ w - y) * x)


def test_loop_jaxpr_has_twenty_equations() -> None:
    jaxpr, _ = ex.jit_loop(ex.inputs()["loop"])
    body = [line for line in jaxpr.splitlines() if " = " in line]
    assert len(body) == 20
    assert sum(" mul " in line for line in body) == sum(" sub " in line for line in body) == 10


def test_snippets_match_jax() -> None:
    """Same code, same inputs: the same jaxpr text and the same values as real JAX."""
    data = ex.inputs()
    ours, theirs = ex.run_all(refjax, data), ex.run_all(jax, data)
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name][0] == theirs[name][0], name
        assert ours[name][1].dtype == theirs[name][1].dtype, name
        np.testing.assert_allclose(ours[name][1], theirs[name][1], rtol=TOL, atol=TOL,
                                   err_msg=name)


@requires_jax
def test_main_with_jax(capsys: pytest.CaptureFixture[str]) -> None:
    assert ex.main(["--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    assert f"compared with jax {jax.__version__}" in out
    assert out.count("jaxprs identical: True") == 4
    assert out.count("agree: True") == 4
    assert "All snippets agree." in out


def test_main_without_jax(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                          ) -> None:
    monkeypatch.setattr(ex, "load_jax", lambda: None)  # as if JAX were not installed
    assert ex.main(["--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "compared with numpy" in out
    assert out.count("agree: True") == 4
    assert "jaxprs identical" not in out
    assert ex.main(["--no-jax"]) == 0


def test_main_reports_a_backend_that_cannot_start(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def devices(backend: str | None = None) -> list[object]:
        raise RuntimeError(f"Unable to initialize backend {backend!r}: no device")

    monkeypatch.setattr(refjax, "devices", devices)
    assert ex.main(["--backend", "cuda"]) == 2
    assert "error: Unable to initialize backend 'cuda': no device" in capsys.readouterr().err


def test_the_walkthrough_narrates_every_stage_and_points_onwards(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Every section has its narration, and the closing lines name tools that exist."""
    assert set(ex.NARRATION) == set(ex.run_all(refjax, ex.inputs()))
    assert ex.main(["--no-jax"]) == 0
    out = capsys.readouterr().out
    for text in ex.NARRATION.values():
        assert text.splitlines()[0] in out
    assert "python -m refjax explain" in out and "docs/tour/" in out
    root = Path(__file__).resolve().parents[2]
    assert (root / "docs" / "tour" / "README.md").is_file()
    assert callable(refjax.explain)
