"""The mutation score (spec/mutation.py): a fixed sample of the catalogue of bugs is killed by
the spec's cases, a mutant that changes nothing is not, and every patch is undone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spec import mutation
from spec.adapters import RefjaxAdapter
from spec.format import Case, load_cases
from spec.mutation import (
    Coverage,
    Mutant,
    catalogue,
    noop_mutant,
    read_listed,
    record_coverage,
    relevant_cases,
    run,
    run_mutant,
    select,
)
from spec.runner import run_case

SAMPLE = 60
SEED = 20261205


class Setup:
    """The cases, their recorded coverage and the catalogue, made once for the module."""

    def __init__(self) -> None:
        self.adapter = RefjaxAdapter("numpy")
        self.cases: list[Case] = load_cases()
        self.coverage: Coverage = record_coverage(self.adapter, self.cases)
        self.mutants: list[Mutant] = catalogue(self.coverage)
        self.by_id = {m.id: m for m in self.mutants}


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    s = Setup()
    yield s
    s.adapter.configure(x64=False)


def _snapshot() -> dict[str, Any]:
    """Every rule table entry, every module-level name of refjax, the JVP trace's methods."""
    from refjax.interp.jvp import JVPTrace

    snap: dict[str, Any] = {}
    for table, rules in mutation.rule_tables().items():
        for prim, rule in rules.items():
            snap[f"{table}:{prim.name}"] = rule
    for module in mutation.refjax_modules():
        for name, value in vars(module).items():
            snap[f"{module.__name__}.{name}"] = value
    for name, value in vars(JVPTrace).items():
        snap[f"JVPTrace.{name}"] = value
    return snap


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in before.keys() & after.keys() if before[k] is not after[k]] + [
        k for k in before.keys() ^ after.keys() if ":" in k  # a rule added or lost
    ]


def test_catalogue_has_every_kind(setup: Setup) -> None:
    kinds = {m.kind for m in setup.mutants}
    assert kinds == set(mutation.MUTANT_KINDS)
    assert len(setup.mutants) > 1000
    assert len(setup.by_id) == len(setup.mutants)  # ids are unique
    # a mutant per primitive with the rule, automatically
    from refjax.interp.core import abstract_eval_rules

    names = mutation.spec_primitives()
    for prim in abstract_eval_rules:
        if prim.name in names:
            assert f"abstract_eval/weak-type-flipped/{prim.name}" in setup.by_id


def test_listed_mutants_are_in_the_catalogue(setup: Setup) -> None:
    equivalent, gaps = read_listed(mutation.EQUIVALENT_FILE), read_listed(mutation.GAPS_FILE)
    assert not equivalent.keys() & gaps.keys()
    for listed in (equivalent, gaps):
        for mutant, reason in listed.items():
            assert mutant in setup.by_id, mutant
            assert len(reason) > 10, mutant


def test_sample_is_killed(setup: Setup) -> None:
    """Each sampled mutant is killed, or listed as equivalent (or as a known gap)."""
    sample = select(setup.mutants, sample=SAMPLE, seed=SEED)
    assert len({m.kind for m in sample}) >= 4
    equivalent, gaps = read_listed(mutation.EQUIVALENT_FILE), read_listed(mutation.GAPS_FILE)
    score = run(sample, setup.cases, setup.coverage, setup.adapter, equivalent, gaps)
    assert not score.new_survivors, mutation.survivor_lines(score, setup.by_id)
    assert len(score.killed) >= SAMPLE * 0.9


def test_a_mutant_is_killed_and_undone(setup: Setup) -> None:
    mutant = setup.by_id["jvp/scaled/sin"]
    before = _snapshot()
    cases = relevant_cases(mutant, setup.cases, setup.coverage)
    outcome = run_mutant(mutant, cases, setup.adapter)
    assert outcome.status == "killed"
    assert not _changed(before, _snapshot())
    # the case that killed it passes again once the patch is gone (no cache kept the bug)
    killer = next(c for c in setup.cases if c.id == outcome.case)
    assert run_case(setup.adapter, killer) is None
    setup.adapter.configure(x64=False)


def test_noop_mutant_survives(setup: Setup) -> None:
    """The same machinery with no bug kills nothing: no leaked patch, no stale cache."""
    mutant = noop_mutant()
    cases = relevant_cases(mutant, setup.cases, setup.coverage)[::3]
    assert len(cases) > 300
    outcome = run_mutant(mutant, cases, setup.adapter)
    assert outcome.status == "survived", outcome
    assert outcome.ran == len(cases)


@pytest.mark.parametrize("kind", mutation.MUTANT_KINDS)
def test_every_patch_is_undone(setup: Setup, kind: str) -> None:
    """Entering and leaving each kind's patches (also by an exception) restores refjax."""
    mutants = [m for m in setup.mutants if m.kind == kind][:12]
    before = _snapshot()
    for mutant in mutants:
        with mutant.patch():
            during = _snapshot()
        assert _changed(before, during), f"{mutant.id} patched nothing"
        assert not _changed(before, _snapshot()), mutant.id
        with pytest.raises(KeyError), mutant.patch():
            raise KeyError("leaving by an exception")
        assert not _changed(before, _snapshot()), mutant.id


def test_command_line(setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl, survivors = tmp_path / "out.jsonl", tmp_path / "survivors.txt"
    argv = ["--mutant", "jvp/scaled/sin", "--mutant", "batching/out-axis-off-by-one/transpose",
            "--jsonl", str(jsonl), "--survivors", str(survivors), "--min-score", "1.0"]
    assert mutation.main(argv) == 0
    out = capsys.readouterr().out
    assert "2 mutants: 2 killed" in out
    assert len(jsonl.read_text().splitlines()) == 2
    assert survivors.read_text() == ""
