"""The kernel cache: memory and disk hits, atomic writes, corrupt entries rebuilt, processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from refjax.backends.kernels import KernelBackend
from refjax.backends.kernels.cache import (
    KernelCache,
    cache_dir,
    decode_entry,
    encode_entry,
    entry_key,
)


def test_entries_are_checked() -> None:
    data = encode_entry(b"payload bytes")
    assert decode_entry(data) == b"payload bytes"
    assert decode_entry(data[:-1]) is None  # truncated
    assert decode_entry(data[:10]) is None
    flipped = bytearray(data)
    flipped[-3] ^= 1
    assert decode_entry(bytes(flipped)) is None  # corrupted
    assert decode_entry(b"something else entirely") is None


def test_keys_depend_on_source_options_and_device() -> None:
    keys = {
        entry_key("src", (), "dev"),
        entry_key("src2", (), "dev"),
        entry_key("src", ("-O2",), "dev"),
        entry_key("src", (), "dev2"),
    }
    assert len(keys) == 4


def test_cache_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REFJAX_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.setenv("REFJAX_CACHE_DIR", "off")
    assert cache_dir() is None


class _Counting:
    def __init__(self) -> None:
        self.builds = 0

    def build(self, source: str, options: object) -> bytes:
        self.builds += 1
        return f"compiled({source})".encode()

    @staticmethod
    def load(payload: bytes, name: str) -> str:
        return f"{name}:{payload.decode()}"


def test_memory_then_disk_then_rebuild(tmp_path: Path) -> None:
    counter = _Counting()

    def make() -> KernelCache[str]:
        return KernelCache("fake", "device", counter.build, counter.load, directory=tmp_path)

    first = make()
    assert first.get("source", (), "k") == "k:compiled(source)"
    assert first.get("source", (), "k") == "k:compiled(source)"
    assert (first.stats.compiles, first.stats.memory_hits) == (1, 1)

    second = make()  # a new process, as far as the cache knows
    assert second.get("source", (), "k") == "k:compiled(source)"
    assert (second.stats.compiles, second.stats.disk_hits) == (0, 1)

    (entry,) = (tmp_path / "kernels" / "fake").iterdir()
    entry.write_bytes(entry.read_bytes()[:-4])  # truncate it
    third = make()
    assert third.get("source", (), "k") == "k:compiled(source)"
    assert (third.stats.compiles, third.stats.rebuilt) == (1, 1)
    assert decode_entry(entry.read_bytes()) == b"compiled(source)"  # rewritten, whole
    assert counter.builds == 2
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary files left


def test_no_disk_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFJAX_CACHE_DIR", "off")
    counter = _Counting()
    cache = KernelCache("fake", "device", counter.build, counter.load)
    assert cache.directory is None
    cache.get("s", (), "k")
    assert cache.stats.compiles == 1


_SCRIPT = """
import json, numpy as np, refjax, refjax.numpy as jnp, refjax.profiler
from refjax.backends.base import device_put, get_backend
x = device_put(np.arange(12, dtype=np.float32).reshape(3, 4), "opencl")
with refjax.profiler.trace_kernels() as log:
    a = refjax.jit(lambda x: jnp.tanh(x) * 3 - 1)(x)
    b = refjax.jit(lambda x: x.sum(1) + 1)(x)
    c = jnp.exp(x)
stats = get_backend("opencl").cache.stats
print(json.dumps({"compiles": len(log.compiles), "disk_hits": stats.disk_hits,
                  "rebuilt": stats.rebuilt,
                  "values": [float(np.asarray(a).sum()), float(np.asarray(b).sum()),
                             float(np.asarray(c).sum())]}))
"""


def _run_process(cache: Path) -> dict[str, object]:
    env = {**os.environ, "REFJAX_CACHE_DIR": str(cache), "REFJAX_BACKEND": "opencl"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, cwd=root, check=True,
                          capture_output=True, text=True, timeout=600)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_second_process_compiles_nothing(opencl: KernelBackend, tmp_path: Path) -> None:
    first = _run_process(tmp_path)
    assert first["compiles"] == 3 and first["disk_hits"] == 0
    second = _run_process(tmp_path)
    assert second["compiles"] == 0 and second["disk_hits"] == 3
    assert second["values"] == first["values"]

    entries = sorted((tmp_path / "kernels" / "opencl").iterdir())
    assert len(entries) == 3
    entries[0].write_bytes(entries[0].read_bytes()[:20])  # truncated
    data = bytearray(entries[1].read_bytes())
    data[-1] ^= 0xFF  # corrupted
    entries[1].write_bytes(bytes(data))
    third = _run_process(tmp_path)
    assert third["rebuilt"] == 2 and third["compiles"] == 2 and third["disk_hits"] == 1
    assert third["values"] == first["values"]
