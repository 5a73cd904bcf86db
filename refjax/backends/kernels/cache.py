"""The compiled-kernel cache: in memory, and on disk across processes.

An entry is keyed by the kernel source, the build options and the device (its name and driver
version, or the compiler's version), hashed with SHA-256. On disk an entry is one file holding a
magic line, the SHA-256 of its payload and the payload (a program binary or PTX). Files are
written atomically (a temporary file in the same directory, then ``os.replace``); an entry whose
magic or checksum is wrong (truncated, corrupted) is deleted and rebuilt, never loaded.

The directory is ``$REFJAX_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/refjax`` or
``~/.cache/refjax``; ``REFJAX_CACHE_DIR=off`` keeps the cache in memory only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Generic, TypeVar

from refjax import profiler

CACHE_ENV: Final = "REFJAX_CACHE_DIR"
MAGIC: Final = b"refjax-kernel-cache 2\n"
_DIGEST_BYTES: Final = 64  # hex SHA-256
log = logging.getLogger("refjax.kernels")

T = TypeVar("T")


def cache_dir() -> Path | None:
    """The on-disk cache directory, or None when disk caching is off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "refjax"


def entry_key(source: str, options: Sequence[str], device: str) -> str:
    """The cache key of a build: SHA-256 of the source, the options and the device."""
    h = hashlib.sha256()
    for part in (source, "\0".join(options), device):
        h.update(part.encode())
        h.update(b"\0\0")
    return h.hexdigest()


def encode_entry(payload: bytes) -> bytes:
    """A cache file's bytes: magic, checksum, payload."""
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def decode_entry(data: bytes) -> bytes | None:
    """The payload of a cache file, or None if it is truncated or corrupt."""
    if not data.startswith(MAGIC):
        return None
    head = len(MAGIC)
    digest = data[head : head + _DIGEST_BYTES]
    payload = data[head + _DIGEST_BYTES + 1 :]
    if data[head + _DIGEST_BYTES : head + _DIGEST_BYTES + 1] != b"\n":
        return None
    return payload if hashlib.sha256(payload).hexdigest().encode() == digest else None


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
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class CacheStats:
    """Counts of what the cache did (per process)."""

    compiles: int = 0
    memory_hits: int = 0
    disk_hits: int = 0
    rebuilt: int = 0  # corrupt entries found on disk and rebuilt


class KernelCache(Generic[T]):
    """Compiled programs by key: memory first, then disk, then a build.

    ``build(source, options) -> bytes`` compiles; ``load(payload, name) -> T`` makes the
    runtime's kernel object from a binary. ``device`` identifies the target (name, driver).
    """

    def __init__(
        self,
        backend: str,
        device: str,
        build: Callable[[str, Sequence[str]], bytes],
        load: Callable[[bytes, str], T],
        directory: Path | None = None,
    ) -> None:
        self.backend = backend
        self.device = device
        self._build = build
        self._load = load
        root = cache_dir() if directory is None else directory
        self.directory = None if root is None else root / "kernels" / backend
        self.stats = CacheStats()
        self._memory: dict[str, T] = {}

    def get(self, source: str, options: Sequence[str], name: str) -> T:
        """The loaded kernel ``name`` of ``source`` built with ``options``."""
        key = entry_key(source, options, self.device)
        found = self._memory.get(key)
        if found is not None:
            self.stats.memory_hits += 1
            return found
        payload = self._read(key)
        if payload is not None:
            try:
                loaded = self._memory[key] = self._load(payload, name)
            except Exception as err:  # a stale or foreign entry: rebuild it
                log.warning("refjax: unloadable kernel cache entry %s (%s); rebuilding it",
                            self.path(key), err)
                self.stats.rebuilt += 1
            else:
                self.stats.disk_hits += 1
                return loaded
        payload = self._compile(source, options, name)
        self._write(key, payload)
        loaded = self._memory[key] = self._load(payload, name)
        return loaded

    def _compile(self, source: str, options: Sequence[str], name: str) -> bytes:
        self.stats.compiles += 1
        profiler.record_compile(name, self.backend)
        return self._build(source, options)

    def path(self, key: str) -> Path | None:
        """The file of entry ``key`` (None without a disk cache)."""
        return None if self.directory is None else self.directory / f"{key}.bin"

    def _read(self, key: str) -> bytes | None:
        path = self.path(key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        payload = decode_entry(data)
        if payload is None:
            log.warning("refjax: corrupt kernel cache entry %s; rebuilding it", path)
            self.stats.rebuilt += 1
            path.unlink(missing_ok=True)
        return payload

    def _write(self, key: str, payload: bytes) -> None:
        path = self.path(key)
        if path is None:
            return
        try:
            write_atomic(path, encode_entry(payload))
        except OSError as err:
            log.warning("refjax: cannot write kernel cache entry %s: %s", path, err)

    def clear_memory(self) -> None:
        """Forget the in-memory entries (the disk cache stays)."""
        self._memory.clear()
