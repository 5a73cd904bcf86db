"""The kernel cache: hits, atomic writes, bad entries rebuilt (never loaded), threads, processes.

Every fault (a truncated, byte-flipped, swapped or foreign entry, an unreadable or read-only
directory, a full disk) must end in a correct result and a warning, never a crash or a wrong
kernel.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import pathlib
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
from refjax.backends.kernels.backend import KernelBackend
from refjax.backends.kernels.cache import (
    EntryHeader,
    KernelCache,
    Request,
    cache_dir,
    decode_entry,
    encode_entry,
    entry_key,
)
from refjax.backends.kernels.fusion import plan
from refjax.backends.kernels.render import render

WARNING = "refjax: ignoring kernel cache entry"


def _header(**changes: Any) -> EntryHeader:
    """An entry header, with some fields changed."""
    base = EntryHeader("fake", "device", "1.0", "k" * 64, "kernel", ("-O2",), "s" * 64)
    return replace(base, **changes)


def test_entries_are_checked() -> None:
    header = _header()
    data = encode_entry(header, b"payload bytes")
    assert decode_entry(data) == (header, b"payload bytes")
    assert decode_entry(data[:-1]) is None  # truncated
    assert decode_entry(data[:10]) is None
    for where in (-3, data.index(b'"device"') + 3, len(data) - len(b"payload bytes") - 1):
        flipped = bytearray(data)
        flipped[where] ^= 1  # in the payload, in the header, the header's newline
        assert decode_entry(bytes(flipped)) is None
    assert decode_entry(b"something else entirely") is None
    assert decode_entry(b"") is None
    for line in (b"not json", b"[]", b'{"name": "k"}', header.to_json().replace(b'"1.0"', b"1")):
        body = line + b"\n" + b"payload"  # a well-formed file whose header is not one
        forged = b"refjax-kernel-cache 3\n" + hashlib.sha256(body).hexdigest().encode() + b"\n"
        assert decode_entry(forged + body) is None


def test_keys_depend_on_source_options_device_and_name() -> None:
    keys = {
        entry_key("src", (), "dev"),
        entry_key("src2", (), "dev"),
        entry_key("src", ("-O2",), "dev"),
        entry_key("src", (), "dev2"),
        entry_key("src", (), "dev", "kernel"),
    }
    assert len(keys) == 5


def test_cache_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REFJAX_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.setenv("REFJAX_CACHE_DIR", "off")
    assert cache_dir() is None


class _Counting:
    """A fake compiler: counts builds per source, loads payloads without checking them."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.builds: Counter[str] = Counter()
        self.loads = 0
        self._lock = threading.Lock()

    def build(self, request: Request) -> tuple[bytes, str]:
        """``compiled(source)``, and its loaded form."""
        with self._lock:
            self.builds[request.source] += 1
        time.sleep(self.delay)
        payload = f"compiled({request.source})".encode()
        return payload, f"{request.name}:{payload.decode()}"

    def load(self, payload: bytes, request: Request) -> str:
        """The loaded form of a payload (trusting it: the cache must check it)."""
        with self._lock:
            self.loads += 1
        return f"{request.name}:{payload.decode()}"

    def cache(self, directory: Path | None, **kwargs: Any) -> KernelCache[str]:
        """A cache on this compiler (a new process, as far as the cache knows)."""
        return KernelCache(kwargs.pop("backend", "fake"), kwargs.pop("device", "device"),
                           self.build, self.load, directory=directory, **kwargs)


def _entry(cache: KernelCache[Any], source: str, name: str, options: tuple[str, ...] = ()) -> Path:
    """The file of ``cache``'s entry for a kernel."""
    path = cache.path(entry_key(source, options, cache.device, name))
    assert path is not None
    return path


def test_memory_then_disk_then_rebuild(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    counter = _Counting()
    first = counter.cache(tmp_path)
    assert first.get("source", (), "k") == "k:compiled(source)"
    assert first.get("source", (), "k") == "k:compiled(source)"
    assert (first.stats.compiles, first.stats.memory_hits) == (1, 1)

    second = counter.cache(tmp_path)
    assert second.get("source", (), "k") == "k:compiled(source)"
    assert (second.stats.compiles, second.stats.disk_hits) == (0, 1)

    (entry,) = (tmp_path / "kernels" / "fake").iterdir()
    entry.write_bytes(entry.read_bytes()[:-4])  # truncate it
    third = counter.cache(tmp_path)
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        assert third.get("source", (), "k") == "k:compiled(source)"
    assert (third.stats.compiles, third.stats.rebuilt) == (1, 1)
    assert WARNING in caplog.text and "truncated or corrupt" in caplog.text
    decoded = decode_entry(entry.read_bytes())
    assert decoded is not None and decoded[1] == b"compiled(source)"  # rewritten, whole
    assert counter.builds["source"] == 2
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary files left


def test_no_disk_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFJAX_CACHE_DIR", "off")
    counter = _Counting()
    cache = KernelCache("fake", "device", counter.build, counter.load)
    assert cache.directory is None
    cache.get("s", (), "k")
    assert cache.stats.compiles == 1


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip_header(data: bytes) -> bytes:
    flipped = bytearray(data)
    flipped[data.index(b'"source_sha256"') + 20] ^= 0x01
    return bytes(flipped)


def _flip_payload(data: bytes) -> bytes:
    flipped = bytearray(data)
    flipped[-2] ^= 0x40
    return bytes(flipped)


def _flip_checksum(data: bytes) -> bytes:
    flipped = bytearray(data)
    flipped[len(b"refjax-kernel-cache 3\n") + 5] ^= 0x01
    return bytes(flipped)


def _old_format(data: bytes) -> bytes:
    return data.replace(b"refjax-kernel-cache 3\n", b"refjax-kernel-cache 2\n", 1)


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": _truncate,
    "header byte flipped": _flip_header,
    "payload byte flipped": _flip_payload,
    "checksum byte flipped": _flip_checksum,
    "empty": lambda data: b"",
    "garbage": lambda data: os.urandom(len(data)),
    "old format": _old_format,
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_is_rebuilt(
    damage: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counter = _Counting()
    counter.cache(tmp_path).get("source", ("-O2",), "k")
    entry = _entry(counter.cache(tmp_path), "source", "k", ("-O2",))
    entry.write_bytes(DAMAGE[damage](entry.read_bytes()))
    cache = counter.cache(tmp_path)
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        assert cache.get("source", ("-O2",), "k") == "k:compiled(source)"
    assert (cache.stats.compiles, cache.stats.rebuilt, counter.loads) == (1, 1, 0)
    assert WARNING in caplog.text
    again = counter.cache(tmp_path)  # the rebuilt entry replaced the damaged one
    assert again.get("source", ("-O2",), "k") == "k:compiled(source)"
    assert (again.stats.compiles, again.stats.disk_hits) == (0, 1)


def test_swapped_entries_are_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    counter = _Counting()
    first = counter.cache(tmp_path)
    first.get("one", (), "k")
    first.get("two", (), "k")  # another kernel with the same name
    a, b = _entry(first, "one", "k"), _entry(first, "two", "k")
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    cache = counter.cache(tmp_path)
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        assert cache.get("one", (), "k") == "k:compiled(one)"
        assert cache.get("two", (), "k") == "k:compiled(two)"
    assert (cache.stats.compiles, cache.stats.rebuilt, cache.stats.disk_hits) == (2, 2, 0)
    assert "built for another key, source_sha256" in caplog.text


FOREIGN: dict[str, dict[str, str]] = {
    "device": {"device": "another device"},
    "backend": {"backend": "cuda"},
    "version": {"version": "0.0.1"},
}


@pytest.mark.parametrize("field", FOREIGN)
def test_a_foreign_entry_is_rebuilt(
    field: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry another backend, device or refjax version wrote, found at this key's path."""
    counter = _Counting()
    foreign = counter.cache(tmp_path / "foreign", **FOREIGN[field])
    foreign.get("source", (), "k")
    cache = counter.cache(tmp_path)
    path = _entry(cache, "source", "k")
    path.parent.mkdir(parents=True)
    path.write_bytes(_entry(foreign, "source", "k").read_bytes())
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        assert cache.get("source", (), "k") == "k:compiled(source)"
    assert (cache.stats.compiles, cache.stats.rebuilt, counter.loads) == (1, 1, 0)
    assert f"built for another {field}" in caplog.text


def test_an_entry_the_runtime_refuses_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counter = _Counting()
    counter.cache(tmp_path).get("source", (), "k")

    def refuse(payload: bytes, request: Request) -> str:
        raise ValueError("not for this driver")

    cache = KernelCache("fake", "device", counter.build, refuse, directory=tmp_path)
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        assert cache.get("source", (), "k") == "k:compiled(source)"
    assert (cache.stats.compiles, cache.stats.rebuilt) == (1, 1)
    assert "cannot be loaded: not for this driver" in caplog.text


# -- directories that cannot be written or read ---------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _inside(directory: Path, value: object) -> bool:
    """Whether ``value`` is a path in ``directory``."""
    if not isinstance(value, (str, os.PathLike)):
        return False
    return Path(os.path.abspath(os.fspath(value))).is_relative_to(directory)


def _forbid(directory: Path, monkeypatch: pytest.MonkeyPatch, reads: bool) -> None:
    """Make writes (and ``reads``) in ``directory`` fail as on a read-only file system.

    Root ignores file modes, and the tests may run as root: then this stands in for ``chmod``.
    """

    def denied(path: object) -> PermissionError:
        return PermissionError(errno.EACCES, "Permission denied (simulated)", str(path))

    def guard(real: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            hit = next((a for a in args[:2] if _inside(directory, a)), None)
            if hit is not None:
                raise denied(hit)
            return real(*args, **kwargs)
        return guarded

    real_open = os.open

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if _inside(directory, path) and (reads or flags & _WRITE_FLAGS):
            raise denied(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    for name in ("replace", "rename", "unlink", "remove", "mkdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))
    if reads:
        monkeypatch.setattr(pathlib.Path, "open", guard(pathlib.Path.open))


@contextlib.contextmanager
def _locked(directory: Path, reads: bool = False) -> Iterator[None]:
    """``directory`` read-only (or, with ``reads``, unreadable too), by chmod or simulated."""
    directory = Path(os.path.abspath(directory))
    directory.chmod(0o000 if reads else 0o555)
    try:
        with pytest.MonkeyPatch.context() as patch:
            if _still_open(directory, reads):  # as root: simulate what chmod does not do
                _forbid(directory, patch, reads)
            yield
    finally:
        directory.chmod(0o755)


def _still_open(directory: Path, reads: bool) -> bool:
    """Whether ``directory`` can still be listed (``reads``) or written, despite its mode."""
    try:
        if reads:
            os.listdir(directory)
        else:
            (directory / "probe").write_bytes(b"")
            (directory / "probe").unlink()
    except PermissionError:
        return False
    return True


def test_a_read_only_directory_with_a_corrupt_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    counter = _Counting()
    counter.cache(tmp_path).get("source", (), "k")
    entry = _entry(counter.cache(tmp_path), "source", "k")
    entry.write_bytes(_flip_payload(entry.read_bytes()))
    damaged = entry.read_bytes()
    with _locked(entry.parent), caplog.at_level(logging.WARNING, "refjax.kernels"):
        cache = counter.cache(tmp_path)
        assert cache.get("source", (), "k") == "k:compiled(source)"
        assert cache.get("source", (), "k") == "k:compiled(source)"  # now from memory
        assert cache.get("other", (), "k") == "k:compiled(other)"
    assert (cache.stats.compiles, cache.stats.rebuilt, cache.stats.memory_hits) == (2, 1, 1)
    assert WARNING in caplog.text
    assert caplog.text.count("cannot write kernel cache entry") == 1  # once per cache
    assert entry.read_bytes() == damaged  # left alone; the next writer replaces it


def test_an_unreadable_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    counter = _Counting()
    counter.cache(tmp_path).get("source", (), "k")
    entry = _entry(counter.cache(tmp_path), "source", "k")
    with _locked(entry.parent, reads=True), \
            caplog.at_level(logging.WARNING, "refjax.kernels"):
        cache = counter.cache(tmp_path)
        assert cache.get("source", (), "k") == "k:compiled(source)"
    assert (cache.stats.compiles, cache.stats.disk_hits) == (1, 0)
    assert "cannot read kernel cache entry" in caplog.text


def test_a_full_disk_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    counter = _Counting()
    cache = counter.cache(tmp_path)
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        assert cache.get("source", (), "k") == "k:compiled(source)"
    assert "No space left on device" in caplog.text
    assert list((tmp_path / "kernels" / "fake").iterdir()) == []  # no temporary file left


# -- threads ----------------------------------------------------------------------------------


def test_concurrent_gets_build_each_key_once(tmp_path: Path) -> None:
    counter = _Counting(delay=0.05)
    sources = [f"source{i}" for i in range(3)]
    for cold_disk in (True, False):
        cache = counter.cache(tmp_path)
        start = threading.Barrier(8)
        results: list[list[str]] = []

        def work(seed: int, cache: KernelCache[str] = cache, start: threading.Barrier = start,
                 results: list[list[str]] = results) -> None:
            order = random.Random(seed).sample(sources, len(sources))
            start.wait()
            got = [cache.get(s, (), "k") for s in order]
            results.append([g for _, g in sorted(zip(order, got, strict=True))])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [[f"k:compiled({s})" for s in sources]] * 8
        stats = cache.stats
        assert (stats.compiles, stats.disk_hits) == ((3, 0) if cold_disk else (0, 3))
        assert stats.memory_hits == 8 * 3 - 3
    assert counter.builds == Counter(sources)  # each key built once, then loaded once
    assert counter.loads == 3


# -- OpenCL: real kernels ------------------------------------------------------------------

X = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
Y = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
# Programs in terms of ``xp`` (numpy or refjax.numpy); the map_mul kernels share a name but take
# other arguments (x * 2, x * y) or index otherwise (x.T * 2, x[:2] * 2).
PROGRAMS = ["xp.tanh(x) * 3 - 1", "x * 2", "x * y", "x.T * 2", "x[:2] * 2", "x.sum(1) + 1",
            "(x * y).sum(0) + 1", "xp.exp(x)"]


def _expected() -> list[np.ndarray]:
    return [np.asarray(eval(p, {"xp": np, "x": X, "y": Y})) for p in PROGRAMS]


def _check(values: list[Any]) -> None:
    """``values`` (one per program) are numpy's."""
    assert len(values) == len(PROGRAMS)
    for program, got, want in zip(PROGRAMS, values, _expected(), strict=True):
        np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=1e-6, atol=1e-6,
                                   err_msg=program)


def _on_cache(opencl: KernelBackend, directory: Path) -> KernelCache[Any]:
    """A fresh cache (a new process, as far as it knows) on the OpenCL backend's compiler."""
    backend: Any = opencl
    return KernelCache("opencl", backend.cache.device, backend._build, backend._load,
                       directory=directory)


def _run_programs(opencl: KernelBackend, cache: KernelCache[Any],
                  monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Every program, compiled anew on OpenCL with kernels from ``cache``."""
    monkeypatch.setattr(opencl, "cache", cache)
    values = []
    for program in PROGRAMS:
        closed = refjax.make_jaxpr(lambda x, y, p=program: eval(p, {"xp": jnp, "x": x, "y": y}))(
            X, Y)
        outs = opencl.build_executable(closed).run([opencl.from_numpy(X), opencl.from_numpy(Y)])
        values.append(opencl.to_numpy(outs[0]))
    return values


def _opencl_entries(directory: Path) -> dict[Path, tuple[EntryHeader, bytes]]:
    """The OpenCL entries in a cache directory (each whole), with their headers and payloads."""
    found = {}
    for path in sorted((directory / "kernels" / "opencl").iterdir()):
        decoded = decode_entry(path.read_bytes())
        assert decoded is not None, path
        found[path] = decoded
    return found


@pytest.mark.parametrize("field", ["device", "backend", "version", "name", "options"])
def test_opencl_foreign_entries_are_rebuilt(
    opencl: KernelBackend, field: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entries whose header says another device, backend, version or kernel: never loaded."""
    _check(_run_programs(opencl, _on_cache(opencl, tmp_path), monkeypatch))
    for path, (header, payload) in _opencl_entries(tmp_path).items():
        value: Any = ("-Danother",) if field == "options" else "another"
        path.write_bytes(encode_entry(replace(header, **{field: value}), payload))
    cache = _on_cache(opencl, tmp_path)
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        _check(_run_programs(opencl, cache, monkeypatch))
    n = len(_opencl_entries(tmp_path))
    assert (cache.stats.rebuilt, cache.stats.compiles, cache.stats.disk_hits) == (n, n, 0)
    assert f"built for another {field}" in caplog.text


def test_opencl_payload_is_checked_against_the_request(opencl: KernelBackend) -> None:
    """The backend's load refuses a payload that is another kernel's (header aside)."""
    backend: Any = opencl
    one = Request(
        "__kernel void k(__global float *a) { a[get_global_id(0)] = 1.0f; }", (), "k")
    two = Request(
        "__kernel void k(__global float *a, float b) { a[get_global_id(0)] = b; }", (), "k")
    payload, _ = backend._build(one)
    with pytest.raises(ValueError, match="neither"):
        backend._load(b"junk", one)
    if not payload.startswith(b"source\n"):
        pytest.skip("binary payloads are checked by the header only")
    with pytest.raises(ValueError, match="another kernel"):
        backend._load(payload, two)
    assert backend._load(payload, one) is not None


def test_opencl_damaged_headers_and_payloads(
    opencl: KernelBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _check(_run_programs(opencl, _on_cache(opencl, tmp_path), monkeypatch))
    entries = list(_opencl_entries(tmp_path))
    damages = [_truncate, _flip_header, _flip_payload, _flip_checksum]
    for path, damage in zip(entries, damages, strict=False):
        path.write_bytes(damage(path.read_bytes()))
    cache = _on_cache(opencl, tmp_path)
    with caplog.at_level(logging.WARNING, "refjax.kernels"):
        _check(_run_programs(opencl, cache, monkeypatch))
    assert (cache.stats.rebuilt, cache.stats.compiles) == (4, 4)
    assert cache.stats.disk_hits == len(entries) - 4
    assert caplog.text.count(WARNING) == 4


def test_opencl_read_only_directory_with_a_corrupt_entry(
    opencl: KernelBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _check(_run_programs(opencl, _on_cache(opencl, tmp_path), monkeypatch))
    entries = list(_opencl_entries(tmp_path))
    entries[0].write_bytes(_flip_payload(entries[0].read_bytes()))
    with _locked(entries[0].parent), \
            caplog.at_level(logging.WARNING, "refjax.kernels"):
        cache = _on_cache(opencl, tmp_path)
        _check(_run_programs(opencl, cache, monkeypatch))
        assert (cache.stats.rebuilt, cache.stats.compiles) == (1, 1)
        assert WARNING in caplog.text and "cannot write kernel cache entry" in caplog.text


def test_opencl_kernels_from_8_threads(
    opencl: KernelBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads asking a cold cache for the same real kernels: each built once, none mixed up."""
    rendered = []
    for program in PROGRAMS:
        closed = refjax.make_jaxpr(lambda x, y, p=program: eval(p, {"xp": jnp, "x": x, "y": y}))(
            X, Y)
        rendered += [render(k, opencl.dialect) for k in plan(closed, opencl.options).kernels()]
    cache = _on_cache(opencl, tmp_path)
    options = opencl.dialect.build_options
    start = threading.Barrier(8)
    got: dict[int, list[Any]] = {}

    def work(seed: int) -> None:
        order = random.Random(seed).sample(range(len(rendered)), len(rendered))
        start.wait()
        kernels = {i: cache.get(rendered[i].source, options, rendered[i].name) for i in order}
        got[seed] = [kernels[i] for i in range(len(rendered))]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.stats.compiles == len({(r.source, r.name) for r in rendered}) == len(PROGRAMS)
    for kernels in got.values():  # the same kernel objects in every thread, each the right one
        assert all(a is b for a, b in zip(kernels, got[0], strict=True))
    assert [k.function_name for k in got[0]] == [r.name for r in rendered]
    _check(_run_programs(opencl, cache, monkeypatch))  # all from memory now
    assert cache.stats.compiles == len(PROGRAMS) and cache.stats.disk_hits == 0


# -- processes ------------------------------------------------------------------------------

_SCRIPT = """
import json, os, time, numpy as np, refjax, refjax.numpy as jnp, refjax.profiler
from refjax.backends.base import device_put, get_backend
from tests.backends.test_cache import PROGRAMS, X, Y
x, y = device_put(X, "opencl"), device_put(Y, "opencl")
stats = get_backend("opencl").cache.stats
sync = os.environ.get("SYNC_DIR")
if sync:  # wait for the other processes: then all compile at the same time
    open(os.path.join(sync, str(os.getpid())), "w").close()
    deadline = time.time() + 120
    while len(os.listdir(sync)) < int(os.environ["SYNC_N"]) and time.time() < deadline:
        time.sleep(0.01)
with refjax.profiler.trace_kernels() as log:
    values = [np.asarray(refjax.jit(lambda x, y, p=p: eval(p, {"xp": jnp, "x": x, "y": y}))(x, y))
              for p in PROGRAMS]
print(json.dumps({"compiles": len(log.compiles), "disk_hits": stats.disk_hits,
                  "rebuilt": stats.rebuilt, "values": [v.tolist() for v in values]}))
"""


def _start_process(cache: Path, sync: Path | None = None, n: int = 1) -> subprocess.Popen[str]:
    """A Python process running every program on OpenCL with its kernel cache in ``cache``.

    With ``sync``, it waits until ``n`` processes are ready before compiling anything.
    """
    env = {**os.environ, "REFJAX_CACHE_DIR": str(cache), "REFJAX_BACKEND": "opencl",
           "SYNC_DIR": "" if sync is None else str(sync), "SYNC_N": str(n)}
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen([sys.executable, "-c", _SCRIPT], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    """A finished process's report, its values checked against numpy, and its stderr."""
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    _check(result["values"])
    result["stderr"] = err
    return result


def _run_process(cache: Path) -> dict[str, Any]:
    return _result(_start_process(cache))


def test_a_second_process_compiles_nothing(opencl: KernelBackend, tmp_path: Path) -> None:
    first = _run_process(tmp_path)
    n = first["compiles"]
    assert n == len(PROGRAMS) and first["disk_hits"] == 0
    second = _run_process(tmp_path)
    assert second["compiles"] == 0 and second["disk_hits"] == n

    entries = sorted((tmp_path / "kernels" / "opencl").iterdir())
    assert len(entries) == n
    entries[0].write_bytes(entries[0].read_bytes()[:20])  # truncated
    entries[1].write_bytes(_flip_payload(entries[1].read_bytes()))  # corrupted
    third = _run_process(tmp_path)
    assert third["rebuilt"] == 2 and third["compiles"] == 2 and third["disk_hits"] == n - 2
    assert WARNING in third["stderr"]


def test_swapped_opencl_entries_are_rebuilt(opencl: KernelBackend, tmp_path: Path) -> None:
    """Entries of different kernels with the same name, swapped: loading one crashed PoCL."""
    _run_process(tmp_path)
    by_name: dict[str, list[Path]] = {}
    for path, (header, _) in _opencl_entries(tmp_path).items():
        by_name.setdefault(header.name, []).append(path)
    paths = by_name["map_mul"]
    assert len(paths) == 4
    contents = [p.read_bytes() for p in paths]
    for path, data in zip(paths, contents[1:] + contents[:1], strict=True):  # a rotation
        path.write_bytes(data)
    swapped = _run_process(tmp_path)
    assert swapped["rebuilt"] == 4 and swapped["compiles"] == 4
    assert swapped["stderr"].count(WARNING) == 4
    again = _run_process(tmp_path)
    assert again["compiles"] == 0 and again["rebuilt"] == 0


def test_processes_sharing_a_cold_cache_agree(opencl: KernelBackend, tmp_path: Path) -> None:
    sync = tmp_path / "sync"
    sync.mkdir()
    cache = tmp_path / "cache"
    processes = [_start_process(cache, sync, 3) for _ in range(3)]
    results = [_result(p) for p in processes]
    assert all(r["rebuilt"] == 0 for r in results)  # nobody saw a partial entry
    assert all(r["compiles"] + r["disk_hits"] == len(PROGRAMS) for r in results)
    entries = _opencl_entries(cache)  # every entry whole
    assert len(entries) == len(PROGRAMS)
    assert [p.name for p in (cache / "kernels" / "opencl").iterdir() if p.suffix != ".bin"] == []
    last = _run_process(cache)
    assert last["compiles"] == 0 and last["disk_hits"] == len(PROGRAMS) and last["rebuilt"] == 0
