"""The guided tour (``docs/tour/``) stays true: its examples run and its references resolve.

Each chapter is a markdown file whose ``>>>`` examples are doctests: they run here, one test per
chapter, so a change that alters a printed jaxpr, value or error fails until the chapter says
the new thing. Each chapter also points at refjax's own code in one machine-readable form,
`` `refjax/interp/jvp.py:JVPTrace.process_primitive` `` (a file under the repository root, a
colon, a dotted name inside that module); every such reference must name an existing file and
resolve, attribute by attribute, in the imported module, so a rename or a move breaks this
test until the tour follows it.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import re
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[1]
TOUR: Final = ROOT / "docs" / "tour"
CHAPTERS: Final = sorted(TOUR.glob("[0-9][0-9]_*.md"))
PAGES: Final = [*CHAPTERS, TOUR / "README.md"]

# `refjax/path/to/module.py:Qualified.name`, in backticks
REFERENCE: Final = re.compile(r"`(refjax/[\w/]+\.py):([A-Za-z_][\w.]*)`")
OPTIONS: Final = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def references(page: Path) -> list[tuple[str, str]]:
    """Every ``(path, qualified name)`` reference of ``page``."""
    return REFERENCE.findall(page.read_text())


def resolve(path: str, qualname: str) -> object:
    """The object ``qualname`` names in the module at ``path`` (relative to the root)."""
    module = importlib.import_module(
        path.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    obj: object = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def test_the_tour_has_its_chapters() -> None:
    """Twelve chapters, numbered in order, and an index that links each one."""
    assert [p.name[:2] for p in CHAPTERS] == [f"{i:02d}" for i in range(1, 13)]
    index = (TOUR / "README.md").read_text()
    for chapter in CHAPTERS:
        assert f"]({chapter.name})" in index, f"docs/tour/README.md does not link {chapter.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples(page: Path) -> None:
    """Every ``>>>`` example of the page prints what the page says it prints."""
    report = io.StringIO()
    with contextlib.redirect_stdout(report):  # doctest prints each failure as it meets it
        failures, tried = doctest.testfile(
            str(page), module_relative=False, optionflags=OPTIONS, report=False,
            encoding="utf-8",
        )
    if failures:
        pytest.fail(f"{page.name}: {failures} of {tried} examples failed\n{report.getvalue()}",
                    pytrace=False)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_references_and_examples(chapter: Path) -> None:
    """A chapter shows refjax's own code (at least one reference) and runs it (an example)."""
    assert references(chapter), f"{chapter.name} refers to no code as `refjax/x.py:name`"
    examples = doctest.DocTestParser().get_examples(chapter.read_text())
    assert examples, f"{chapter.name} has no >>> example"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_references_resolve(page: Path) -> None:
    """Every `` `refjax/x.py:name` `` of the page names a file that exists and a name in it."""
    broken = []
    for path, qualname in references(page):
        if not (ROOT / path).is_file():
            broken.append(f"{path}:{qualname} (no such file)")
            continue
        try:
            resolve(path, qualname)
        except AttributeError as err:
            broken.append(f"{path}:{qualname} ({err})")
    assert not broken, f"{page.name} refers to code that is not there: " + "; ".join(broken)


def test_reference_form_is_the_only_one() -> None:
    """A path to a refjax module written in backticks is followed by its name, so no reference
    escapes the check: `` `refjax/x.py` `` alone must be `` `refjax/x.py:name` ``, or plain
    text without backticks."""
    loose = re.compile(r"`refjax/[\w/]+\.py`")
    for page in PAGES:
        found = loose.findall(page.read_text())
        assert not found, f"{page.name}: {found} (write `path.py:name`, or the path unquoted)"
