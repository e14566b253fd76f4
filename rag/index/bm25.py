"""BM25 made on our side, for an engine that only multiplies sparse vectors (Milvus Lite runs no BM25 itself).

A passage is stored as a sparse vector over the index's vocabulary: for each of its terms, tantivy's BM25
term weight tf·(k1+1) / (tf + k1·(1 − b + b·length/L)), where L is a *reference* passage length fixed when the
index is created. A question is the sparse vector of its terms' IDF, computed at query time from statistics
(document frequencies, passages, total length) that the index version keeps beside its manifest and that an
update changes by its own passages only. So adding or removing an article never rewrites stored vectors:
IDF, the statistic that moves with the archive, lives on the query side. Their inner product ranks passages
by BM25 as if the average length were L; passages are chunks of a fixed size, so the true average stays
close to L, and the candidates are re-scored exactly with the current average (a term's count comes back
exactly from its stored weight and the passage's length), which is what the local tantivy index computes.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.errors import IndexDamaged
from rag.index import checksums, files
from rag.index.words import K1

B = 0.75
"""BM25's length normalisation, tantivy's."""
_EXACT_LENGTHS = 24
"""Lengths below this are kept exactly by tantivy's (and Lucene's) one-byte field norm."""


def field_norm(length: int) -> int:
    """A passage's length as tantivy scores it: Lucene's one-byte field norm (`SmallFloat.intToByte4`, 3 bits of
    mantissa above 24), so that BM25 here equals the local index's to the last digit."""
    if length < _EXACT_LENGTHS:
        return length
    rest = length - _EXACT_LENGTHS
    shift = max(rest.bit_length() - 4, 0)
    return _EXACT_LENGTHS + (rest >> shift << shift)


class TermStats:
    """The vocabulary (term → id in sparse vectors) and BM25's statistics over the live passages."""

    def __init__(self, terms: list[str], df: np.ndarray, passages: int, tokens: int, reference: float) -> None:
        self.terms = terms
        self.ids = {t: i for i, t in enumerate(terms)}
        self.df = df
        self.passages = passages
        self.tokens = tokens
        self.reference = reference
        """L: the passage length the stored weights assume (0 until the first passage comes)."""

    @classmethod
    def empty(cls) -> TermStats:
        return cls([], np.zeros(0, dtype=np.int64), 0, 0, 0.0)

    @classmethod
    def load(cls, path: Path, checksum: str) -> TermStats:
        """The statistics an index version saved (`save`), checked against their checksum."""
        checksums.verify(path, checksum)
        try:
            with np.load(path, allow_pickle=False) as data:
                counts = data["counts"]
                return cls(data["terms"].tolist(), data["df"].astype(np.int64), int(counts[0]), int(counts[1]),
                           float(data["reference"][0]))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexDamaged(f"the term statistics {path} cannot be read ({exc}); run: rag index --rebuild") from exc

    def save(self, path: Path) -> str:
        """Write the statistics to `path` (flushed); returns their checksum."""
        out = io.BytesIO()
        np.savez(out, terms=np.array(self.terms, dtype=str), df=self.df,
                 counts=np.array([self.passages, self.tokens]), reference=np.array([self.reference]))
        files.write_bytes(path, out.getbuffer())
        return checksums.of_bytes(out.getbuffer())

    def frequency(self, term: str) -> int:
        """How many live passages hold a term."""
        i = self.ids.get(term)
        return int(self.df[i]) if i is not None else 0

    def idf(self, term: str) -> float:
        """Tantivy's IDF; a term no live passage holds gets the largest value."""
        df = self.frequency(term)
        return math.log1p((self.passages - df + 0.5) / (df + 0.5))

    def weight(self, query: list[str]) -> float:
        """The most a passage can score for these terms: what the scores are divided by."""
        return (K1 + 1) * sum(self.idf(t) for t in dict.fromkeys(query))

    def question(self, query: list[str]) -> dict[int, float]:
        """The sparse vector of a question: its known terms' IDF."""
        return {self.ids[t]: self.idf(t) for t in dict.fromkeys(query) if t in self.ids and self.df[self.ids[t]]}

    def _norm(self, lengths: np.ndarray, average: float) -> np.ndarray:
        norms = np.array([field_norm(int(n)) for n in np.atleast_1d(lengths)], dtype=np.float64)
        return K1 * (1 - B + B * norms / average)

    def add(self, terms: list[str]) -> dict[int, float]:
        """Count a new passage of these terms in the statistics; returns its sparse vector to store."""
        counts = Counter(terms)
        for term in counts:
            if term not in self.ids:
                self.ids[term] = len(self.terms)
                self.terms.append(term)
        if len(self.terms) > len(self.df):
            self.df = np.concatenate([self.df, np.zeros(max(len(self.terms) - len(self.df), 1024), dtype=np.int64)])
        ids = np.array([self.ids[t] for t in counts], dtype=np.int64)
        self.df[ids] += 1
        self.passages += 1
        self.tokens += len(terms)
        if not self.reference:
            self.reference = float(max(len(terms), 1))
        tf = np.array(list(counts.values()), dtype=np.float64)
        weights = tf * (K1 + 1) / (tf + self._norm(np.array([len(terms)]), self.reference))
        return dict(zip(ids.tolist(), weights.tolist()))

    def remove(self, vectors: Iterable[dict[int, float]], lengths: Iterable[int]) -> None:
        """Stop counting passages (their stored sparse vectors and lengths)."""
        for vector, length in zip(vectors, lengths):
            self.df[np.fromiter(vector.keys(), dtype=np.int64, count=len(vector))] -= 1
            self.passages -= 1
            self.tokens -= int(length)

    def scores(self, query: list[str], vectors: list[dict[int, float]], lengths: np.ndarray) -> np.ndarray:
        """Exact BM25 of stored passages for these terms, divided by `weight(query)` (the 0-1 scale)."""
        out = np.zeros(len(vectors), dtype=np.float64)
        wanted = self.question(query)
        if not wanted or not len(vectors) or not self.passages:
            return out.astype(np.float32)
        lengths = np.asarray(lengths, dtype=np.float64)
        stored_norm = self._norm(lengths, self.reference)
        norm = self._norm(lengths, self.tokens / self.passages)
        for row, vector in enumerate(vectors):
            for term, idf in wanted.items():
                w = vector.get(term)
                if w:
                    tf = round(w * stored_norm[row] / (K1 + 1 - w))  # the stored weight, inverted
                    out[row] += idf * tf * (K1 + 1) / (tf + norm[row])
        return (out / self.weight(query)).astype(np.float32)
