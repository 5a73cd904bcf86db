"""Shared pytest configuration: hypothesis profiles, 64-bit mode, JAX's compilation cache, and
a check that no test leaves 64-bit mode on or entries in the global rule tables."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.oracle import enable_x64, jax_if_imported

settings.register_profile(
    "refjax", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("refjax")

JAX_CACHE_ENV = "REFJAX_TEST_JAX_CACHE"


def _share_jax_compilations() -> None:
    """Let real JAX (the oracle) keep every program it compiles in a cache on disk.

    ``make test`` runs the suite once per backend; the second run and the other xdist worker
    then load JAX's executables instead of compiling them again (about half of JAX's time).
    ``REFJAX_TEST_JAX_CACHE`` moves the cache; the default is under ``.pytest_cache``.
    """
    try:
        import jax
    except ImportError:
        return
    default = Path(__file__).resolve().parent.parent / ".pytest_cache" / "jax-compilations"
    jax.config.update("jax_compilation_cache_dir", os.environ.get(JAX_CACHE_ENV, str(default)))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


# Real JAX sees 4 CPU devices, as refjax's numpy backend with REFJAX_NUM_CPU_DEVICES=4
# (tests/parallel compares their devices); XLA reads the flag when its CPU client starts, so it is
# set before JAX is first imported.
_FLAG = "--xla_force_host_platform_device_count"
if _FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FLAG}=4".strip()

_share_jax_compilations()

# Kernels get the backend's default matmul blocks: timing candidates on a busy machine would make
# the tests' kernels depend on the load (tests/backends/test_autotune.py turns tuning on).
os.environ.setdefault("REFJAX_AUTOTUNE", "0")


def pytest_report_header() -> str:
    """Which backend refjax computes on in this run."""
    return f"refjax backend: {os.environ.get('REFJAX_BACKEND', 'numpy')}"


# ---------------------------------------------------------------------------------------------
# Memory: real JAX keeps every program it compiled (tens of thousands over the suite), several
# GB per xdist worker by the end. When a worker's resident memory passes the limit, JAX's
# in-memory caches are dropped (its executables stay on disk, above, and load again quickly);
# the next limit is a margin above what is left, so a worker whose other memory grew does not
# clear after every test.

RSS_LIMIT_MB = int(os.environ.get("REFJAX_TEST_RSS_LIMIT_MB", "2500"))
RSS_MARGIN_MB = 1000
_rss_limit = [RSS_LIMIT_MB]


def _rss_mb() -> int:
    """This process's resident memory in MB (0 where /proc is not there)."""
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


@pytest.fixture(autouse=True)
def _bounded_memory() -> Iterator[None]:
    """Drop JAX's compiled programs when this worker holds more memory than the limit."""
    yield
    if _rss_mb() <= _rss_limit[0]:
        return
    real = jax_if_imported()
    if real is not None:
        real.clear_caches()
    gc.collect()
    _rss_limit[0] = max(RSS_LIMIT_MB, _rss_mb() + RSS_MARGIN_MB)


@pytest.fixture
def x64() -> Iterator[None]:
    """Run a test with ``jax_enable_x64`` on in refjax (and in real JAX if installed)."""
    with enable_x64():
        yield


# ---------------------------------------------------------------------------------------------
# No test leaves state behind: 64-bit mode, or entries in the global rule tables

# The module-level dicts that registering a primitive, rule, pytree node type or backend grows.
# Modules not imported (yet) are left out; a table that a refactor moved is found by its name.
# (The parser's param types are not here: it registers refjax's own on first use, a cache.)
_TABLES: tuple[tuple[str, str], ...] = (
    ("refjax.interp.core", "abstract_eval_rules"),
    ("refjax.interp.core", "display_rules"),
    ("refjax.interp.jvp", "jvp_rules"),
    ("refjax.interp.batching", "batching_rules"),
    ("refjax.interp.transpose", "transpose_rules"),
    ("refjax.interp.partial_eval", "partial_eval_rules"),
    ("refjax.interp.parser", "_HIDDEN_PARAMS"),
    ("refjax.backends.base", "_FACTORIES"),
    ("refjax.backends.numpy_impls", "impls"),
    ("refjax.backends.kernels.lower", "lowerings"),
    ("refjax.tree_util", "_registry"),
)
_found: dict[int, dict[str, dict[Any, Any]]] = {}


def _rule_tables() -> dict[str, dict[Any, Any]]:
    """Each table by name, looked up again only when new modules were imported."""
    key = len(sys.modules)
    if key not in _found:
        tables: dict[str, dict[Any, Any]] = {}
        modules = [(n, m) for n, m in list(sys.modules.items()) if n.startswith("refjax")]
        for prefix, attr in _TABLES:
            for name, module in modules:
                table = getattr(module, attr, None) if name.startswith(prefix) else None
                if isinstance(table, dict):
                    tables.setdefault(f"{prefix}.{attr}", table)
        _found.clear()
        _found[key] = tables
    return _found[key]


@pytest.fixture
def restore_rule_tables() -> Iterator[None]:
    """Put every rule table (and the pytree registry) back as it was: for tests that register
    node types or rules that ``monkeypatch.setitem`` cannot reach (decorators, ``register_*``)."""
    saved = [(table, dict(table)) for table in _rule_tables().values()]
    yield
    for table, contents in saved:
        table.clear()
        table.update(contents)


def _x64_state() -> tuple[bool, bool]:
    import refjax

    real = jax_if_imported()
    return bool(refjax.config.x64_enabled), bool(real is not None and real.config.jax_enable_x64)


@pytest.fixture(autouse=True)
def _leaves_no_state_behind() -> Iterator[None]:
    """Fail a test that leaves 64-bit mode on or a rule table of another size (or replaced).

    Cheap: the id and length of each table before and after. Tables of modules first imported
    during the test are not compared (importing registers rules).
    """
    modules = len(sys.modules)
    before = {name: (id(t), len(t)) for name, t in _rule_tables().items()}
    yield
    problems = []
    if any(_x64_state()):
        problems.append("left jax_enable_x64 on (use the x64 fixture or tests.oracle.enable_x64)")
        import refjax

        refjax.config.update("jax_enable_x64", False)
        real = jax_if_imported()
        if real is not None:
            real.config.update("jax_enable_x64", False)
    if len(sys.modules) == modules:
        after = {name: (id(t), len(t)) for name, t in _rule_tables().items()}
        for name, (ident, size) in before.items():
            if after.get(name, (ident, size)) != (ident, size):
                problems.append(f"changed {name}: {size} entries before, "
                                f"{after[name][1]} after (remove what the test registers, e.g. "
                                f"with monkeypatch.setitem)")
    if problems:
        pytest.fail("this test leaves state behind: " + "; ".join(problems), pytrace=False)
