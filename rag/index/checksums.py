"""Checksums of the index's files, as Lucene's segment footers: damage is found when a file is opened, so a
flipped bit gives an error naming the file, never a different answer.

The manifest records a checksum (xxh3-64) for each file of its version; the commit pointer records the
manifest's own. Files of an index never change once written, so each is verified once per process.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path

import xxhash

from rag.errors import IndexDamaged

_verified: set[tuple[str, int, int, int]] = set()
"""Files already found intact in this process, by path, inode, size and modification time."""
_lock = threading.Lock()


def of_bytes(data: bytes | memoryview) -> str:
    """The checksum of `data`, as hex."""
    return xxhash.xxh3_64_hexdigest(data)


def of_file(path: Path) -> str:
    """The checksum of the file at `path` (read through a memory map: no copy of a big segment in memory)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return of_bytes(b"")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return of_bytes(view)


def verify(path: Path, expected: str) -> None:
    """Raise `IndexDamaged` naming `path` unless it exists and has the checksum `expected`."""
    try:
        st = os.stat(path)
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
        if key in _verified:
            return
        actual = of_file(path)
    except OSError as exc:
        raise IndexDamaged(f"{path} cannot be read ({exc.strerror}); run: rag index --rebuild") from exc
    if actual != expected:
        raise IndexDamaged(f"{path} is damaged (its checksum is not the one recorded when it was written); "
                           "run: rag index --rebuild")
    with _lock:
        _verified.add(key)


def of_folder(folder: Path, known: dict[str, str], known_folder: Path | None) -> dict[str, str]:
    """Checksums of every file in `folder` (lock files left out). A file hard-linked from `known_folder`, whose
    checksum `known` holds, is not read again: that keeps an update's cost to the files it wrote."""
    sums = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".tantivy-") or not path.is_file():
            continue
        old = known_folder / path.name if known_folder is not None else None
        if path.name in known and old is not None and _same_file(path, old):
            sums[path.name] = known[path.name]
        else:
            sums[path.name] = of_file(path)
    return sums


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False
