"""Checksums of the index's files, as Lucene's segment footers: damage is found when a file is opened, so a
flipped bit gives an error naming the file, never a different answer.

The manifest records a checksum (xxh3-64) for each file of its version; the commit pointer records the
manifest's own. Files of an index never change once written, so each is verified once per process.

A big file read a few rows at a time (a segment's sentence vectors: gigabytes at a million passages, of which
a question reads a few kilobytes) is verified by block instead, as HDFS does: its `of_blocks` sums, a small
file checksummed whole, are verified at opening, and each block of the big file (`BLOCK` bytes) when its
bytes are first read (`Blocks`), once per process.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path

import numpy as np
import xxhash

from rag.errors import IndexDamaged

BLOCK = 64 * 1024
"""Bytes in a checksummed block of a file verified by block: a passage's sentence vectors lie in one or two."""
_verified: set[tuple[str, int, int, int]] = set()
"""Files already found intact in this process, by path, inode, size and modification time."""
_verified_blocks: dict[tuple[str, int, int, int], np.ndarray] = {}
"""For each file verified by block in this process (keyed as `_verified`), which of its blocks were found intact."""
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


def of_blocks(data: bytes | memoryview) -> np.ndarray:
    """The block size (`BLOCK`) and the checksum of each block of `data`, as the small file of sums holds them."""
    sums = [xxhash.xxh3_64_intdigest(data[at:at + BLOCK]) for at in range(0, len(data), BLOCK)]
    return np.array([BLOCK, *sums], dtype=np.uint64)


class Blocks:
    """A file of the index verified block by block as it is read (`of_blocks` gave `sums`, already verified):
    thread-safe, each block verified once per process."""

    def __init__(self, path: Path, sums: np.ndarray) -> None:
        self.path, self.sums, self.block = path, sums[1:], int(sums[0]) if len(sums) else 0
        try:
            key = _key(path)
        except OSError as exc:
            raise IndexDamaged(f"{path} cannot be read ({exc.strerror}); run: rag index --rebuild") from exc
        if self.block <= 0 or len(self.sums) != -(-key[2] // self.block):
            raise IndexDamaged(f"{path} is damaged (its size is not the one recorded when it was written); "
                               "run: rag index --rebuild")
        with _lock:
            self._intact = _verified_blocks.setdefault(key, np.zeros(len(self.sums), dtype=bool))

    def check(self, start: int, end: int) -> None:
        """Raise `IndexDamaged` naming the file unless the blocks holding its bytes [start, end) are intact."""
        wanted = [b for b in range(start // self.block, -(-end // self.block)) if not self._intact[b]]
        if not wanted:
            return
        try:
            with open(self.path, "rb") as fh:
                damaged = [b for b in wanted if xxhash.xxh3_64_intdigest(
                    os.pread(fh.fileno(), self.block, b * self.block)) != int(self.sums[b])]
        except OSError as exc:
            raise IndexDamaged(f"{self.path} cannot be read ({exc.strerror}); run: rag index --rebuild") from exc
        if damaged:
            raise IndexDamaged(f"{self.path} is damaged (block {damaged[0]}'s checksum is not the one recorded "
                               "when it was written); run: rag index --rebuild")
        with _lock:
            self._intact[wanted] = True


def _key(path: Path) -> tuple[str, int, int, int]:
    """What identifies a file's version: path, inode, size and modification time (OSError when absent)."""
    st = os.stat(path)
    return str(path), st.st_ino, st.st_size, st.st_mtime_ns


def verify(path: Path, expected: str) -> None:
    """Raise `IndexDamaged` naming `path` unless it exists and has the checksum `expected`."""
    try:
        key = _key(path)
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
