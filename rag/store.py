"""The index on disk: immutable versions and a CURRENT pointer swapped atomically.

    index/
      CURRENT          name of the live version (replaced with os.replace, so always whole)
      .lock            held by the one process updating the index
      v-<time>-<pid>/  manifest.json, chunks.jsonl, vectors.faiss

A new version is written beside the live one, flushed to disk, and only then made live by replacing
CURRENT. A process killed at any moment leaves CURRENT naming a complete version; half-written
versions are removed by the next update.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import faiss
import numpy as np
from filelock import FileLock, Timeout

from rag.chunking import Chunk
from rag.errors import IndexDamaged, IndexMissing, RagError
from rag.fitted import Fitted

FORMAT = 2
"""Version 2: the manifest holds the retrieval settings fitted for its model ("fitted")."""
POINTER = "CURRENT"
KEEP_VERSIONS = 2
"""The live version and the one before it stay on disk, so a reader that just resolved the old
pointer can still finish loading it."""


@dataclass
class Stored:
    """A loaded index version: manifest, passages and their vectors (row i belongs to chunks[i])."""

    version: str
    manifest: dict
    chunks: list[Chunk]
    vectors: faiss.Index

    @property
    def fitted(self) -> Fitted:
        """The retrieval settings this index was built with (see `rag.fitted`)."""
        return Fitted.from_json(self.manifest["fitted"])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def check_folder(index: Path) -> None:
    """Raise a clear error when the index path exists but is not a folder."""
    if index.exists() and not index.is_dir():
        raise RagError(f"index path {index} is a file, not a folder: remove it or pass another --index")


def current_version(index: str | Path) -> str | None:
    """Name of the live version, or None when there is no index (one file read: it runs per question)."""
    try:
        with open(os.path.join(index, POINTER), encoding="utf-8") as fh:
            return fh.read().strip() or None
    except (FileNotFoundError, NotADirectoryError):
        check_folder(Path(index))
        return None
    except OSError as exc:
        raise IndexDamaged(f"cannot read {Path(index) / POINTER}: {exc}; run: rag index --rebuild") from exc


def pointer_stamp(index: str | Path) -> tuple[int, int, int] | None:
    """Identity of the CURRENT file (inode, mtime, size), which every swap changes: a stat, cheaper than a read."""
    try:
        st = os.stat(os.path.join(index, POINTER))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def load(index: str | Path) -> Stored:
    """The live version of the index, checked for consistency."""
    index = Path(index)
    version = current_version(index)
    if version is None:
        raise IndexMissing(f"no index in {index}: run: rag index --index {index}")
    folder = index / version
    damaged = f"the index in {index} is damaged"
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        vectors = faiss.read_index(str(folder / "vectors.faiss"))
        with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
            chunks = [Chunk(**json.loads(line)) for line in fh]
    except (OSError, ValueError, TypeError, RuntimeError) as exc:  # faiss reports bad files as RuntimeError
        raise IndexDamaged(f"{damaged} ({exc}); run: rag index --rebuild") from exc
    try:
        dimension, n_chunks, model = int(manifest["dimension"]), int(manifest["chunks"]), str(manifest["model"])
        articles = manifest["articles"]
        Fitted.from_json(manifest["fitted"])
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexDamaged(f"{damaged} (manifest.json lacks or garbles {exc}); run: rag index --rebuild") from exc
    if manifest.get("format") != FORMAT:
        raise IndexDamaged(f"the index in {index} has format {manifest.get('format')}, not {FORMAT}; "
                           "run: rag index --rebuild")
    problems = []
    if vectors.d != dimension:
        problems.append(f"vectors have dimension {vectors.d}, the manifest says {dimension} for {model}")
    if vectors.ntotal != len(chunks) or n_chunks != len(chunks):
        problems.append(f"{vectors.ntotal} vectors, {len(chunks)} passages, manifest says {n_chunks}")
    if not isinstance(articles, dict) or any(c.source not in articles for c in chunks):
        problems.append("passages of articles the manifest does not list")
    if problems:
        raise IndexDamaged(f"{damaged}: {'; '.join(problems)}; run: rag index --rebuild")
    return Stored(version, manifest, chunks, vectors)


def save(index: str | Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray) -> str:
    """Write a new version and make it live atomically; returns its name. Call with `writing()` held."""
    index = Path(index)
    version = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    tmp = index / f".tmp-{version}"
    tmp.mkdir(parents=True)
    flat = faiss.IndexFlatIP(int(manifest["dimension"]))
    if len(vectors):
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _write(tmp / "vectors.faiss", faiss.serialize_index(flat).tobytes())
    lines = "".join(json.dumps(c.__dict__, ensure_ascii=False) + "\n" for c in chunks)
    _write(tmp / "chunks.jsonl", lines.encode("utf-8"))
    manifest = {**manifest, "format": FORMAT, "chunks": len(chunks)}
    _write(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    _fsync_dir(tmp)
    os.rename(tmp, index / version)
    _fsync_dir(index)
    _write(index / f"{POINTER}.tmp", version.encode())
    os.replace(index / f"{POINTER}.tmp", index / POINTER)
    _fsync_dir(index)
    _collect_garbage(index)
    return version


def _collect_garbage(index: Path) -> None:
    """Remove half-written versions and all but the newest KEEP_VERSIONS complete ones."""
    live = current_version(index)
    versions = sorted(p for p in index.glob("v-*") if p.is_dir())
    keep = {p.name for p in versions[-KEEP_VERSIONS:]} | {live}
    for path in index.iterdir():
        stale = path.name.startswith(".tmp-") or (path.name.startswith("v-") and path.name not in keep)
        if stale and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def writing(index: str | Path, on_wait=None) -> Iterator[None]:
    """Hold the index's writer lock; `on_wait()` is called once if another writer holds it first."""
    index = Path(index)
    check_folder(index)
    try:
        index.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RagError(f"cannot create the index folder {index}: {exc.strerror}") from exc
    lock = FileLock(str(index / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait:
            on_wait()
        lock.acquire()
    except OSError as exc:
        raise RagError(f"cannot lock the index folder {index}: {exc.strerror}") from exc
    try:
        yield
    finally:
        lock.release()
