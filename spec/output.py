"""Machine-readable results: JSON lines (one object per case) and JUnit XML.

A JSON line: ``{"id", "topic", "status": "passed"|"failed"|"skipped", "reason", "transforms",
"stack", "primitives", "tags", "seconds", "failure", "divergence"}``; ``failure`` is the
:class:`~spec.compare.Mismatch` (message, output, index, actual, expected, allowed,
max_abs_diff, n_differ, size: those that apply) or null. JUnit: one ``testsuite`` per topic, one
``testcase`` per case (``classname`` ``spec.<topic>``, ``name`` the case id) with a ``failure``
or ``skipped`` child.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from spec.compare import Mismatch
from spec.explain import stack_text
from spec.format import Case, Json
from spec.selection import all_primitives, stack_names

Status: TypeAlias = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one case: ``reason`` says why it failed or was skipped."""

    case: Case
    status: Status
    reason: str = ""
    mismatch: Mismatch | None = None
    divergence: str | None = None
    seconds: float = 0.0

    def to_json(self) -> Json:
        """One JSON line's object."""
        case = self.case
        return {
            "id": case.id,
            "topic": case.topic,
            "status": self.status,
            "reason": self.reason,
            "transforms": list(stack_names(case)),
            "stack": stack_text(case.transforms).text,
            "primitives": sorted(all_primitives(case)),
            "tags": list(case.tags),
            "seconds": round(self.seconds, 6),
            "failure": None if self.mismatch is None else self.mismatch.to_json(),
            "divergence": self.divergence,
        }


def write_jsonl(path: Path, outcomes: Iterable[Outcome]) -> None:
    """One JSON object per line, per case, in run order."""
    with path.open("w") as f:
        for outcome in outcomes:
            f.write(json.dumps(outcome.to_json()) + "\n")


def junit_xml(outcomes: Sequence[Outcome], name: str) -> ET.Element:
    """``<testsuites name=...>`` with a ``testsuite`` per topic."""
    root = ET.Element("testsuites", name=name)
    topics: dict[str, list[Outcome]] = {}
    for o in outcomes:
        topics.setdefault(o.case.topic, []).append(o)
    for topic, group in topics.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=topic,
            tests=str(len(group)),
            failures=str(sum(o.status == "failed" for o in group)),
            skipped=str(sum(o.status == "skipped" for o in group)),
            errors="0",
            time=f"{sum(o.seconds for o in group):.6f}",
        )
        for o in group:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"spec.{topic}",
                name=o.case.id,
                time=f"{o.seconds:.6f}",
            )
            if o.status == "failed":
                failure = ET.SubElement(case, "failure", message=o.reason)
                failure.text = "\n".join(filter(None, [o.reason, o.divergence]))
            elif o.status == "skipped":
                ET.SubElement(case, "skipped", message=o.reason)
    root.set("tests", str(len(outcomes)))
    root.set("failures", str(sum(o.status == "failed" for o in outcomes)))
    root.set("skipped", str(sum(o.status == "skipped" for o in outcomes)))
    return root


def write_junit(path: Path, outcomes: Sequence[Outcome], name: str) -> None:
    """JUnit XML, as CI systems read it."""
    tree = ET.ElementTree(junit_xml(outcomes, name))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
