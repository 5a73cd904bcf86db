"""The compiled-kernel cache: in memory (shared by threads), on disk (shared by processes).

An entry is keyed by the kernel source, the build options, the device (its name and driver
version, or the compiler's version) and the kernel name, hashed with SHA-256. On disk an entry is
one file: a magic line, the SHA-256 of the rest, a one-line JSON header saying what the entry was
built from (backend, device, refjax version, key, kernel name, build options, SHA-256 of the
source) and the payload (a program binary, PTX, or with PoCL the source itself). An entry is
loaded only if its checksum holds and its header equals what the caller asks for, and the
backend's ``load`` checks the payload once more (with PoCL: that it is the requested source). An
entry that fails any check (truncated, corrupted, swapped with another key's, written by another
backend, device or refjax version), that cannot be loaded, or that cannot be read, is rebuilt
with a ``log.warning``, never loaded. A bad entry is not deleted: the rebuilt one replaces it.

Files are written atomically (a temporary file in the same directory, then ``os.replace``), so a
reader sees a whole old entry or a whole new one; processes sharing a cold cache may each build
an entry, and the last one to finish replaces the others' identical copies. A directory that
cannot be read or written (read-only, a full disk) is a warning, once per cache, and the cache
keeps working in memory.

Threads: one ``KernelCache`` serves every thread of a process. A lock guards the in-memory dict
and the stats; each key being built has a lock of its own, held while it is read from disk or
built and loaded, so a key is compiled once however many threads ask for it at the same time,
while different keys build in parallel (a build that fails leaves no entry: the next ``get``
tries again). ``build`` returns the loaded kernel with its payload, so
no state passes between a build and a load.

The directory is ``$REFJAX_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/refjax`` or
``~/.cache/refjax``; ``REFJAX_CACHE_DIR=off`` keeps the cache in memory only.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Final, Generic, TypeVar

from refjax import profiler

CACHE_ENV: Final = "REFJAX_CACHE_DIR"
MAGIC: Final = b"refjax-kernel-cache 3\n"
_DIGEST_BYTES: Final = 64  # hex SHA-256
log = logging.getLogger("refjax.kernels")

T = TypeVar("T")


@functools.cache
def refjax_version() -> str:
    """The installed refjax version (part of every entry's header)."""
    try:
        return importlib.metadata.version("refjax")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def cache_dir() -> Path | None:
    """The on-disk cache directory, or None when disk caching is off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "refjax"


def entry_key(source: str, options: Sequence[str], device: str, name: str = "") -> str:
    """The cache key of a build: SHA-256 of the source, the options, the device and the name."""
    h = hashlib.sha256()
    for part in (source, "\0".join(options), device, name):
        h.update(part.encode())
        h.update(b"\0\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Request:
    """What a caller asks the cache for: kernel ``name`` of ``source`` built with ``options``."""

    source: str
    options: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class EntryHeader:
    """What a cache entry was built from; stored in front of its payload, checked on load."""

    backend: str
    device: str
    version: str
    key: str
    name: str
    options: tuple[str, ...]
    source_sha256: str

    def to_json(self) -> bytes:
        """The header as one line of JSON."""
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> EntryHeader | None:
        """The header in ``data``, or None if it is not one."""
        try:
            raw = json.loads(data)
        except ValueError:  # also UnicodeDecodeError
            return None
        names = {f.name for f in fields(cls)}
        if not isinstance(raw, dict) or set(raw) != names:
            return None
        options = raw.pop("options")
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            return None
        if not all(isinstance(v, str) for v in raw.values()):
            return None
        return cls(options=tuple(options), **raw)

    def differences(self, other: EntryHeader) -> list[str]:
        """The names of the fields where ``other`` differs from this header."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def encode_entry(header: EntryHeader, payload: bytes) -> bytes:
    """A cache file's bytes: magic, checksum of the rest, header line, payload."""
    body = header.to_json() + b"\n" + payload
    return MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def decode_entry(data: bytes) -> tuple[EntryHeader, bytes] | None:
    """The header and payload of a cache file, or None if it is truncated or corrupt."""
    if not data.startswith(MAGIC):
        return None
    head = len(MAGIC)
    digest = data[head : head + _DIGEST_BYTES]
    if data[head + _DIGEST_BYTES : head + _DIGEST_BYTES + 1] != b"\n":
        return None
    body = data[head + _DIGEST_BYTES + 1 :]
    if hashlib.sha256(body).hexdigest().encode() != digest:
        return None
    line, newline, payload = body.partition(b"\n")
    header = EntryHeader.from_json(line) if newline else None
    return None if header is None else (header, payload)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass
class CacheStats:
    """Counts of what the cache did (per process)."""

    compiles: int = 0
    memory_hits: int = 0
    disk_hits: int = 0
    rebuilt: int = 0  # bad entries found on disk (corrupt, foreign, unloadable) and rebuilt


class KernelCache(Generic[T]):
    """Compiled programs by key: memory first, then disk, then a build; safe across threads.

    ``build(request) -> (payload, kernel)`` compiles and loads; ``load(payload, request) -> T``
    makes the runtime's kernel object from a payload read from disk, and raises if the payload
    is not what ``request`` asks for. ``device`` identifies the target (name, driver).
    """

    def __init__(
        self,
        backend: str,
        device: str,
        build: Callable[[Request], tuple[bytes, T]],
        load: Callable[[bytes, Request], T],
        directory: Path | None = None,
        version: str | None = None,
    ) -> None:
        self.backend = backend
        self.device = device
        self.version = refjax_version() if version is None else version
        self._build = build
        self._load = load
        root = cache_dir() if directory is None else directory
        self.directory = None if root is None else root / "kernels" / backend
        self.stats = CacheStats()
        self._memory: dict[str, T] = {}
        self._lock = threading.Lock()  # guards _memory, _building, stats, _warned
        self._building: dict[str, threading.Lock] = {}  # a lock per key being built
        self._warned: set[str] = set()  # what went wrong already (read, write)

    def get(self, source: str, options: Sequence[str], name: str) -> T:
        """The loaded kernel ``name`` of ``source`` built with ``options``."""
        request = Request(source, tuple(options), name)
        key = entry_key(source, options, self.device, name)
        with self._lock:
            found = self._hit(key)
            if found is not None:
                return found
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:  # another thread may have built it while this one waited
                found = self._hit(key)
            if found is not None:
                return found
            loaded = self._from_disk(key, request)
            if loaded is None:
                loaded = self._compile(key, request)
            with self._lock:
                self._memory[key] = loaded
                self._building.pop(key, None)
            return loaded

    def _hit(self, key: str) -> T | None:
        """The in-memory entry ``key``, counted as a hit (call with the lock held)."""
        found = self._memory.get(key)
        if found is not None:
            self.stats.memory_hits += 1
        return found

    def header(self, key: str, request: Request) -> EntryHeader:
        """The header an entry for ``request`` has."""
        source_sha = hashlib.sha256(request.source.encode()).hexdigest()
        return EntryHeader(self.backend, self.device, self.version, key, request.name,
                           request.options, source_sha)

    def _from_disk(self, key: str, request: Request) -> T | None:
        """The kernel of entry ``key`` on disk, or None (with a warning if the entry is bad)."""
        path = self.path(key)
        if path is None:
            return None
        data = self._read(path)
        if data is None:
            return None
        decoded = decode_entry(data)
        expected = self.header(key, request)
        if decoded is None:
            self._reject(path, "it is truncated or corrupt")
            return None
        header, payload = decoded
        if header != expected:
            differ = ", ".join(expected.differences(header))
            self._reject(path, f"it was built for another {differ}")
            return None
        try:
            loaded = self._load(payload, request)
        except Exception as err:  # a stale entry the runtime refuses
            self._reject(path, f"it cannot be loaded: {err}")
            return None
        with self._lock:
            self.stats.disk_hits += 1
        return loaded

    def _reject(self, path: Path, why: str) -> None:
        """Warn that the entry at ``path`` is bad and will be rebuilt."""
        log.warning("refjax: ignoring kernel cache entry %s (%s); rebuilding it", path, why)
        with self._lock:
            self.stats.rebuilt += 1

    def _warn_once(self, what: str, message: str, *args: object) -> None:
        """Log a warning the first time ``what`` goes wrong in this cache, then debug lines."""
        with self._lock:
            first = what not in self._warned
            self._warned.add(what)
        (log.warning if first else log.debug)(message, *args)

    def _compile(self, key: str, request: Request) -> T:
        """Build and load ``request``, and store its entry on disk."""
        with self._lock:
            self.stats.compiles += 1
        profiler.record_compile(request.name, self.backend)
        payload, loaded = self._build(request)
        path = self.path(key)
        if path is not None:
            self._write(path, encode_entry(self.header(key, request), payload))
        return loaded

    def path(self, key: str) -> Path | None:
        """The file of entry ``key`` (None without a disk cache)."""
        return None if self.directory is None else self.directory / f"{key}.bin"

    def _read(self, path: Path) -> bytes | None:
        """The bytes of ``path``, or None if it is missing or unreadable (with a warning)."""
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            self._warn_once("read", "refjax: cannot read kernel cache entry %s (%s); building it",
                            path, err)
            return None

    def _write(self, path: Path, data: bytes) -> None:
        """Store an entry; a failure is a warning (the first time), not an error."""
        try:
            write_atomic(path, data)
        except OSError as err:
            self._warn_once("write", "refjax: cannot write kernel cache entry %s (%s); kernels "
                            "stay in memory", path, err)

    def clear_memory(self) -> None:
        """Forget the in-memory entries (the disk cache stays)."""
        with self._lock:
            self._memory.clear()
