"""``python -m refjax explain module:function --args 'f32[3],f32[]'``: ``refjax.explain`` from a
shell.

The function is imported from the user's own module with ``importlib`` (the current directory
is on the path); each ``--args`` entry is an aval in the jaxpr's notation (``f32[3]``,
``i32[2,2]``, ``f64[]``, ``u32[2]`` for a random key) and the function is explained on zeros of
that shape and dtype (64-bit dtypes switch ``jax_enable_x64`` on for the run). ``--dot DIR``
also writes each jaxpr and fusion plan as a Graphviz DOT file there (``refjax.graphviz``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from refjax import dtypes, stages
from refjax.config import enable_x64
from refjax.explainer import format_stages, stage_jaxprs
from refjax.interp.core import ShapedArray

_AVAL: Final = re.compile(r"\s*([a-z]+[0-9]*)\[([0-9,\s]*)\]\s*(,|$)")


def parse_avals(text: str) -> list[ShapedArray]:
    """``'f32[3],i32[2,2],f64[]'`` as avals (a ValueError naming what does not parse)."""
    avals: list[ShapedArray] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = _AVAL.match(text, pos)
        if match is None:
            raise ValueError(f"--args: cannot read an aval like f32[3] at {text[pos:]!r}")
        dtype = dtypes.from_short_name(match.group(1))
        dims = match.group(2).replace(" ", "")
        shape = tuple(int(d) for d in dims.split(",")) if dims else ()
        avals.append(ShapedArray(shape, dtype))
        pos = match.end()
    return avals


def load_function(spec: str) -> Callable[..., Any]:
    """``module:function`` (``function`` may be dotted: ``module:Class.method``), imported."""
    module_name, sep, qualname = spec.partition(":")
    if not sep or not module_name or not qualname:
        raise ValueError(f"expected module:function, got {spec!r}")
    obj: Any = importlib.import_module(module_name)
    for attr in qualname.split("."):
        obj = getattr(obj, attr)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    fn: Callable[..., Any] = obj
    return fn


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m refjax",
                                     description="refjax's teaching tools")
    commands = parser.add_subparsers(dest="command", required=True)
    explain = commands.add_parser(
        "explain", help="print every stage of a function: jaxprs, fusion plan, kernel source")
    explain.add_argument("function", help="module:function, imported from the current path")
    explain.add_argument("--args", default="", help="avals of the arguments: 'f32[3],f32[]'")
    explain.add_argument("--transform", choices=stages.TRANSFORMS, default=None)
    explain.add_argument("--backend", choices=("opencl", "cuda"), default=None)
    explain.add_argument("--dot", metavar="DIR", default=None,
                         help="also write each jaxpr and fusion plan as Graphviz DOT here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = _parser()
    ns = parser.parse_args(argv)
    try:
        fn = load_function(ns.function)
        avals = parse_avals(ns.args)
    except (ValueError, TypeError, ImportError, AttributeError) as err:
        parser.error(str(err))
    wide = any(dtypes.canonicalize_dtype(a.dtype) != a.dtype for a in avals)
    with enable_x64(True) if wide else contextlib.nullcontext():
        args = [np.zeros(a.shape, a.dtype) for a in avals]
        result = stages.all_stages(fn, *args, transform=ns.transform, backend=ns.backend)
        sys.stdout.write(format_stages(result, getattr(fn, "__name__", ns.function)))
        if ns.dot is not None:
            for path in write_dots(result, Path(ns.dot)):
                sys.stdout.write(f"wrote {path}\n")
    return 0


def write_dots(result: stages.Stages, directory: Path) -> list[Path]:
    """Each jaxpr of ``result`` (``traced.dot``, ``jvp.dot`` ...) and each fusion plan
    (``fusion_opencl.dot``) as DOT text in ``directory``, with an SVG beside each when Graphviz's
    ``dot`` program is installed; the paths written."""
    from refjax import graphviz  # (the pictures: only ``--dot`` needs them)

    written = []
    for name, closed in stage_jaxprs(result).items():
        written += graphviz.write_dot(graphviz.jaxpr_dot(closed, name), directory / name)
    for compiled in result.compiled:
        view = compiled.plan
        text = graphviz.fusion_plan_dot(view.jaxpr, view.backend, f"fusion plan, {view.backend}",
                                        planned=view.plan)
        written += graphviz.write_dot(text, directory / f"fusion_{view.backend}")
    return written


if __name__ == "__main__":
    sys.exit(main())
