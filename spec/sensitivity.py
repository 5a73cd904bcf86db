"""Whether a derivative case can see a small error in a rule: its derivative outputs scaled by
``PERTURBATION`` (0.1%) must fail its own check.

Plain numpy on the case files (no JAX, no implementation runs): ``generate.py`` uses it to
verify each derivative case it writes, ``tests/test_spec_sensitivity.py`` to verify the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np

from spec.format import (
    Case,
    Error,
    Grad,
    Jvp,
    Linearize,
    Transform,
    Value,
    Vjp,
    derivative_outputs,
)
from spec.runner import case_primitives, compare

PERTURBATION: Final = 1.001
# machine epsilon per dtype: the unit of the derivative checks' ulp-based tolerances
EPS: Final = {
    "float16": float(np.finfo(np.float16).eps),
    "float32": float(np.finfo(np.float32).eps),
    "complex64": float(np.finfo(np.float32).eps),
    "float64": float(np.finfo(np.float64).eps),
    "complex128": float(np.finfo(np.float64).eps),
}
BITS: Final = {"float16": 16, "float32": 32, "complex64": 32, "float64": 64, "complex128": 64}
INSENSITIVE_HEAD: Final = "derivative cases a 0.1% error does not fail"
GAPS_HEAD: Final = "primitives without a derivative case a 0.1% error fails"


def derivative_kind(transforms: Sequence[Transform]) -> str | None:
    """``jvp`` (jvp, linearize) or ``vjp`` (vjp, grad) by the outermost differentiating
    transform; None if the stack does not differentiate."""
    for t in transforms:
        if isinstance(t, (Grad, Vjp)):
            return "vjp"
        if isinstance(t, (Jvp, Linearize)):
            return "jvp"
    return None


def derivative_slots(case: Case) -> list[int]:
    """The derivative outputs (tangents, cotangents, gradients) that have nonzero finite data."""
    if isinstance(case.expected, Error):
        return []
    values = case.expected.values
    out = []
    for i in derivative_outputs(case.transforms, len(values)):
        v = values[i]
        if v.dtype in EPS and v.data is not None:
            data = np.asarray(v.data)
            if np.any(np.isfinite(data) & (data != 0)):
                out.append(i)
    return out


def perturbed(value: Value, factor: float = PERTURBATION) -> Value:
    """``value`` with its data scaled by ``factor`` (in its own dtype)."""
    assert value.data is not None
    data = np.asarray(value.data)
    return Value(value.dtype, value.shape, value.weak_type, (data * factor).astype(data.dtype))


def insensitivity(case: Case, others: Iterable[Sequence[Value]] = ()) -> str | None:
    """Why the case passes with one of its derivative outputs scaled by 0.1% (None: every such
    scaling fails). The scaled outputs are the expected ones and each of ``others`` (an
    implementation's outputs, when there are some)."""
    assert not isinstance(case.expected, Error)
    bases = [list(case.expected.values), *(list(o) for o in others)]
    for i in derivative_slots(case):
        for base in bases:
            if base[i].data is None:
                continue
            outs = list(base)
            outs[i] = perturbed(base[i])
            if compare(case, outs) is None:
                c = case.check
                how = (
                    "not set in ulps"
                    if c.ulps is None
                    else f"{c.ulps} ulps: JAX's own error needs them"
                )
                return (
                    f"output {i} scaled by {PERTURBATION} passes its check (rtol={c.rtol:.3g} "
                    f"atol={c.atol:.3g}, {how})"
                )
    return None


def _pairs(case: Case) -> tuple[set[tuple[str, str, int]], str]:
    """(primitive, kind, bits) a derivative case covers, and how: sensitive, insensitive or
    zero (no nonzero derivative output to scale)."""
    kind = derivative_kind(case.transforms)
    if kind is None or isinstance(case.expected, Error):
        return set(), ""
    outs = case.expected.values
    slots = derivative_outputs(case.transforms, len(outs))
    bits = max((BITS[outs[i].dtype] for i in slots if outs[i].dtype in BITS), default=None)
    if bits is None:
        return set(), ""
    how = "zero"
    if derivative_slots(case):
        how = "insensitive" if insensitivity(case) is not None else "sensitive"
    return {(p, kind, bits) for p in case_primitives(case)}, how


def sensitive_pairs(cases: Iterable[Case]) -> set[tuple[str, str, int]]:
    """(primitive, kind, bits) for every derivative case a 0.1% error fails."""
    out: set[tuple[str, str, int]] = set()
    for case in cases:
        pairs, how = _pairs(case)
        if how == "sensitive":
            out |= pairs
    return out


def gaps(cases: Iterable[Case], table: Mapping[str, Sequence[str]]) -> list[str]:
    """``primitive kind floatBITS: why`` for each primitive of ``table`` (``_primitives.json``)
    with a jvp or vjp rule that no sensitive derivative case covers in 32 or 64 bits."""
    seen: dict[tuple[str, str, int], set[str]] = {}
    for case in cases:
        pairs, how = _pairs(case)
        for pair in pairs:
            seen.setdefault(pair, set()).add(how)
    why = {
        "zero": "its derivative is zero wherever it exists (piecewise constant, stop_gradient):"
        " nothing to scale",
        "insensitive": "JAX's own error is over the 0.1% its cases would detect",
        "": "no derivative case in these bits",
    }
    out = []
    for prim, kinds in sorted(table.items()):
        for kind in ("jvp", "vjp"):
            if kind not in kinds:
                continue
            for bits in (32, 64):
                hows = seen.get((prim, kind, bits), set())
                if "sensitive" in hows:
                    continue
                reason = why["insensitive" if "insensitive" in hows else
                             "zero" if "zero" in hows else ""]
                out.append(f"{prim} {kind} float{bits}: {reason}")
    return out


def read_listing(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """From ``_generation.txt``: the insensitive case ids and the primitive gaps, each with its
    reason (``key: reason`` lines under the two headings)."""
    sections: dict[str, dict[str, str]] = {INSENSITIVE_HEAD: {}, GAPS_HEAD: {}}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        head = next((h for h in sections if line.startswith(h)), None)
        if head is not None:
            current = sections[head]
        elif not line.strip():
            current = None
        elif current is not None:
            key, _, why = line.partition(": ")
            current[key.strip()] = why.strip()
    return sections[INSENSITIVE_HEAD], sections[GAPS_HEAD]


def twin_id(case_id: str) -> str:
    """The id of the same case in 64 bits (``.../float32`` -> ``.../float64``)."""
    wide = {"float32": "float64", "complex64": "complex128"}
    return re.sub(
        r"(float32|complex64)(#\d+)?$", lambda m: wide[m.group(1)] + (m.group(2) or ""), case_id
    )
