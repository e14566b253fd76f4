"""Passage vectors: the `VectorIndex` interface retrieval uses, and its FAISS implementation in segments.

Each update writes only its new passages' vectors as a new immutable segment (`<name>.faiss` with the
vectors, `<name>.ids.npy` with their passage ids, `<name>.sentences.npy` with the vectors of their sentences,
`<name>.sentence_counts.npy` with each passage's count: `rag.index.sentences`, and
`<name>.sentence_blocks.npy` with the checksums of the sentence file's blocks), read back with memory
mapping. Opening a segment verifies its files' checksums, the sentence file's by block as its rows are read
(`checksums.Blocks`: at a million passages it is gigabytes, of which a question reads kilobytes). A removed
article is a deletion: its ids stop being live (the manifest no longer lists them) and
searches skip them. Segments merge by `rag.index.merging`'s policy, so a passage (and its sentences) is
rewritten about log(archive) times. A segment of `APPROXIMATE_FROM` vectors or more is searched with HNSW
instead of exactly.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable

import faiss
import numpy as np

from rag.errors import IndexDamaged
from rag.index import checksums, files
from rag.index import sentences as sentence_store
from rag.index.manifest import SegmentEntry

APPROXIMATE_FROM = 100_000
"""Vectors from which a segment is an HNSW graph. On passage-like word vectors (docs/scale.md, "Vector
segments") one exact query over 100,000 takes ~9 ms on one core, HNSW at the depth below ~2 ms; below that
exact search is as fast and exact."""
HNSW_LINKS = 48
HNSW_BUILD_DEPTH = 200
HNSW_SEARCH_DEPTH = 256
"""HNSW graph degree and candidate-list sizes while building and searching (FAISS' M, efConstruction,
efSearch). The search depth is over twice the 100 passages a question pools from each side. On the 1M archive
(docs/scale.md, "HNSW search depth") 256 answers the same top 3 as 1024 for 598 of 600 passages (top 10:
99.4 %) with warm p95 13-15 ms against 24-26: its word-vector questions score almost alike against every
passage (the 1st and the 100th within 0.03), so no depth finds their exact neighbours (recall@10 0.47 at 1024,
0.31 at 256) and words carry the ranking; passage-like queries reach recall@10 0.993 at 1024, 0.982 at 512."""
BUILD_THREADS = os.cpu_count() or 1
"""FAISS's threads while building an HNSW graph. A search uses one: a question's vector search already runs
beside its word search, and FAISS's threads for one query cost more than they bring (exact search over 44k
vectors on this 2-core machine: 7.0 ms with two, 4.2 ms with one)."""
faiss.omp_set_num_threads(1)
_SEARCHING = ThreadPoolExecutor(max_workers=BUILD_THREADS, thread_name_prefix="rag-segments")
"""Searches the HNSW segments of one question in parallel: FAISS releases the GIL and the asking thread only
waits (five 200k-vector graphs at 1M passages: 26 ms one after the other on this machine)."""
@runtime_checkable
class VectorIndex(Protocol):
    """The live passages' unit vectors, searched by inner product (cosine)."""

    dimension: int

    def search(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and similarities of the `n` live passages closest to `vector`, best first (ties by id); with
        `allowed` (a mask over passage ids) only among those it marks."""
        ...

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of the given live passage ids, one row each."""
        ...

    def sentences(self, ids: list[int]) -> list[np.ndarray | None]:
        """The stored vectors of each given live passage's sentences (`rag.index.sentences`), None for a
        passage whose sentence vectors were not stored."""
        ...


class Segment:
    """One segment file opened for search; `live` is the mask of its rows still live."""

    def __init__(self, folder: Path, entry: SegmentEntry, live: np.ndarray) -> None:
        self.entry = entry
        checksums.verify(folder / f"{entry.name}.faiss", entry.checksum)
        checksums.verify(folder / f"{entry.name}.ids.npy", entry.ids_checksum)
        try:
            self.ids = np.load(folder / f"{entry.name}.ids.npy", mmap_mode="r")
            self.index = faiss.read_index(str(folder / f"{entry.name}.faiss"), faiss.IO_FLAG_MMAP_IFC)
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexDamaged(f"vector segment {folder / entry.name} cannot be read ({exc}); "
                               "run: rag index --rebuild") from exc
        if self.index.ntotal != entry.rows or len(self.ids) != entry.rows:
            raise IndexDamaged(f"vector segment {folder / entry.name} holds {self.index.ntotal} vectors, "
                               f"the manifest says {entry.rows}; run: rag index --rebuild")
        if len(self.ids) and int(self.ids[-1]) >= len(live):
            raise IndexDamaged(f"vector segment {folder / entry.name} holds passage ids the manifest never gave "
                               "out; run: rag index --rebuild")
        self.sentence_rows = SentenceRows(folder, entry, self.index.d)
        self.mask = live[np.asarray(self.ids)]
        self.live = int(self.mask.sum())
        self._params = self._search_parameters(self.mask, self.live)

    def _search_parameters(self, mask: np.ndarray, rows: int) -> faiss.SearchParameters:
        """FAISS's parameters for searching the `rows` rows `mask` marks (a bitmap selector unless all)."""
        depth = {"efSearch": HNSW_SEARCH_DEPTH} if self.entry.approximate else {}
        kind = faiss.SearchParametersHNSW if self.entry.approximate else faiss.SearchParameters
        if rows == self.entry.rows:
            return kind(**depth)
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
        params = kind(sel=selector, **depth)
        params.keep = (bitmap, selector)  # FAISS holds only pointers: they live as long as the parameters
        return params

    def search(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The `n` closest live rows (and, with `allowed`, a mask over passage ids, only those it marks)."""
        params, rows = self._params, self.live
        if allowed is not None:
            mask = self.mask & allowed[np.asarray(self.ids)]
            rows = int(mask.sum())
            params = self._search_parameters(mask, rows) if rows else None
        if not rows or n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, found_rows = self.index.search(vector[None, :], min(n, rows), params=params)
        found = found_rows[0] >= 0
        return np.asarray(self.ids)[found_rows[0][found]], scores[0][found]

    def rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of `ids` this segment holds, and at which rows."""
        rows = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.asarray(self.ids)[rows] == ids, rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def sentences(self, row: int) -> np.ndarray | None:
        """The stored sentence vectors of a row, None when not stored."""
        return self.sentence_rows.of(row)

    def live_vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Ids, vectors, sentence counts and sentence vectors of every live row (for a merge)."""
        return (np.asarray(self.ids)[self.mask], self.index.reconstruct_n(0, self.entry.rows)[self.mask],
                *self.sentence_rows.live(self.mask))


class SentenceRows:
    """A segment's sentence counts and sentence vectors, memory-mapped and checked: the vectors of a segment with
    block checksums block by block as they are read, those of one written before (whole-file checksum) at
    opening. A segment written before sentence vectors were stored (format 5) gives every row the count
    UNKNOWN."""

    def __init__(self, folder: Path, entry: SegmentEntry, dimension: int) -> None:
        self.blocks: checksums.Blocks | None = None
        if entry.sentences is None or entry.sentence_counts is None:
            self.counts = np.full(entry.rows, sentence_store.UNKNOWN, dtype=np.int32)
            self.vectors = np.zeros((0, dimension), dtype=sentence_store.STORED)
            self.first, self.offset = sentence_store.starts(self.counts), 0
            return
        path, counts_path = folder / f"{entry.name}.sentences.npy", folder / f"{entry.name}.sentence_counts.npy"
        blocks_path = folder / f"{entry.name}.sentence_blocks.npy"
        checksums.verify(counts_path, entry.sentence_counts)
        if entry.sentence_blocks is None:
            checksums.verify(path, entry.sentences)
        else:
            checksums.verify(blocks_path, entry.sentence_blocks)
        try:
            if entry.sentence_blocks is not None:
                self.blocks = checksums.Blocks(path, np.load(blocks_path))
                self.blocks.check(0, 1)  # the .npy header: its shape and type are read now
            self.vectors, self.counts = np.load(path, mmap_mode="r"), np.load(counts_path, mmap_mode="r")
            self.offset = path.stat().st_size - self.vectors.nbytes  # where the rows start in the file
        except (OSError, ValueError) as exc:
            raise IndexDamaged(f"the sentence vectors of segment {folder / entry.name} cannot be read ({exc}); "
                               "run: rag index --rebuild") from exc
        if (len(self.counts) != entry.rows or self.vectors.ndim != 2 or self.vectors.shape[1] != dimension
                or self.vectors.dtype != sentence_store.STORED
                or int(np.maximum(self.counts, 0).sum()) != len(self.vectors)):
            raise IndexDamaged(f"the sentence vectors of segment {folder / entry.name} do not match its passages; "
                               "run: rag index --rebuild")
        self.first = sentence_store.starts(self.counts)

    def of(self, row: int) -> np.ndarray | None:
        """The stored sentence vectors of a row, None when not stored; `IndexDamaged` for a damaged block."""
        if self.counts[row] == sentence_store.UNKNOWN:
            return None
        first, end = int(self.first[row]), int(self.first[row + 1])
        if self.blocks is not None and end > first:
            row_bytes = self.vectors.itemsize * self.vectors.shape[1]
            self.blocks.check(self.offset + first * row_bytes, self.offset + end * row_bytes)
        return self.vectors[first:end]

    def live(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence counts and vectors of the rows `mask` marks; a merge reads every block, so it verifies
        every block."""
        if self.blocks is not None:
            self.blocks.check(0, self.offset + self.vectors.nbytes)
        rows = np.repeat(mask, np.maximum(self.counts, 0))
        return self.counts[mask], np.asarray(self.vectors)[rows]


class FaissSegments:
    """A `VectorIndex` over the segments of one index version (thread-safe for searching)."""

    def __init__(self, folder: Path, entries: Iterable[SegmentEntry], live: np.ndarray, dimension: int) -> None:
        self.dimension = dimension
        self.segments = [s for s in (Segment(folder, e, live) for e in entries) if s.live]
        for segment in self.segments:
            if segment.index.d != dimension:
                raise IndexDamaged(f"vector segment {segment.entry.name} has dimension {segment.index.d}, "
                                   f"the manifest says {dimension}; run: rag index --rebuild")

    def search(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        if n <= 0:
            found = []
        elif sum(s.entry.approximate for s in self.segments) > 1:  # graphs of an archive: searched side by side
            found = list(_SEARCHING.map(lambda segment: segment.search(vector, n, allowed), self.segments))
        else:
            found = [s.search(vector, n, allowed) for s in self.segments]
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids = np.concatenate([f[0] for f in found]).astype(np.int64)
        scores = np.concatenate([f[1] for f in found])
        best = np.lexsort((ids, -scores))[:n]
        return ids[best], scores[best]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for segment in self.segments:  # segments hold disjoint ids
            inside, rows = segment.rows(ids)
            if inside.any():
                out[inside] = segment.vectors(rows[inside])
        return out

    def sentences(self, ids: list[int]) -> list[np.ndarray | None]:
        found: list[np.ndarray | None] = [None] * len(ids)
        wanted = np.asarray(ids, dtype=np.int64)
        for segment in self.segments:
            inside, rows = segment.rows(wanted)
            for at in np.flatnonzero(inside):
                found[at] = segment.sentences(int(rows[at]))
        return found


def write_segment(folder: Path, name: str, ids: np.ndarray, vectors: np.ndarray,
                  sentences: tuple[np.ndarray, np.ndarray], approximate_from: int | None = None) -> SegmentEntry:
    """Write a segment of `vectors` (row i is passage `ids[i]`, ids ascending) and `sentences` (each row's
    sentence count and all their vectors, row after row), flushed to disk; an HNSW graph from
    `approximate_from` vectors (default `APPROXIMATE_FROM`)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    approximate = len(vectors) >= (APPROXIMATE_FROM if approximate_from is None else approximate_from)
    if approximate:
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_BUILD_DEPTH
    else:
        index = faiss.IndexFlatIP(vectors.shape[1])
    faiss.omp_set_num_threads(BUILD_THREADS if approximate else 1)
    try:
        index.add(vectors)
    finally:
        faiss.omp_set_num_threads(1)
    folder.mkdir(parents=True, exist_ok=True)
    data = faiss.serialize_index(index)
    files.write_bytes(folder / f"{name}.faiss", data)
    counts, sentence_rows = sentences
    sentence_file = _npy(sentence_store.stored(sentence_rows))
    sums = [_write(folder / f"{name}.{part}.npy", data) for part, data in (
        ("ids", _npy(np.asarray(ids, dtype=np.int64))), ("sentences", sentence_file),
        ("sentence_counts", _npy(np.asarray(counts, dtype=np.int32))),
        ("sentence_blocks", _npy(checksums.of_blocks(sentence_file))))]
    return SegmentEntry(name, len(vectors), approximate, checksums.of_bytes(data), *sums)


def _npy(array: np.ndarray) -> memoryview:
    """`array` as the bytes of a `.npy` file."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getbuffer()


def _write(path: Path, data: memoryview) -> str:
    """Write `data` to `path`, flushed to disk; returns its checksum."""
    files.write_bytes(path, data)
    return checksums.of_bytes(data)


def merge(folder: Path, name: str, segments: list[SegmentEntry], live: np.ndarray, dimension: int) -> SegmentEntry | None:
    """Rewrite `segments` as one segment of their live vectors; None when none is left."""
    parts = [Segment(folder, e, live).live_vectors() for e in segments]
    ids = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    if not len(ids):
        return None
    order = np.argsort(ids, kind="stable")
    vectors = np.concatenate([p[1] for p in parts]).reshape(len(ids), dimension)
    counts = np.concatenate([p[2] for p in parts])
    rows = np.concatenate([p[3] for p in parts]).reshape(-1, dimension)
    first = sentence_store.starts(counts)
    ordered = [rows[first[i]:first[i + 1]] for i in order]
    return write_segment(folder, name, ids[order], vectors[order],
                         (counts[order], np.concatenate(ordered) if ordered else rows))
