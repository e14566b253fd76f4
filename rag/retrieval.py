"""Hybrid retrieval: dense (FAISS inner product of unit vectors) and BM25 over stems, fused linearly.

Both scores live on fixed scales (cosine, and BM25 divided by the question's total IDF), so the fused
score of the best passage also says how well the corpus covers the question at all.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag import store
from rag.embeddings import Embedder, shared_model
from rag.errors import ModelMismatch
from rag.lexical import LexicalIndex
from rag.settings import DENSE_WEIGHT

log = logging.getLogger("rag")


@dataclass(frozen=True)
class Passage:
    """A retrieved passage: `text == article_text[start:end]` of the article at `source`."""

    article: str
    source: str
    text: str
    start: int
    end: int
    score: float
    date: str | None = None
    publisher: str | None = None
    url: str | None = None


class Retriever:
    """One loaded index version with its model and BM25, answering searches (thread-safe)."""

    def __init__(self, stored: store.Stored, embedder: Embedder, dense_weight: float = DENSE_WEIGHT) -> None:
        if embedder.dimension != stored.vectors.d:
            raise ModelMismatch(
                f"the index holds {stored.vectors.d}-dimensional vectors but {embedder.name} gives "
                f"{embedder.dimension}; run: rag index --rebuild"
            )
        self.stored = stored
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.lexical = LexicalIndex([c.text for c in stored.chunks])

    @property
    def version(self) -> str:
        return self.stored.version

    def dense_scores(self, question: str) -> np.ndarray:
        """Cosine similarity of the question to every passage, in index order."""
        n = self.stored.vectors.ntotal
        query = self.embedder.encode_queries([question])
        sims, rows = self.stored.vectors.search(query, n)
        scores = np.zeros(n, dtype=np.float32)
        scores[rows[0]] = sims[0]
        return scores

    def scores(self, question: str) -> np.ndarray:
        """Hybrid score of every passage for `question`."""
        if self.stored.vectors.ntotal == 0:
            return np.zeros(0, dtype=np.float32)
        w = self.dense_weight
        return w * self.dense_scores(question) + (1 - w) * self.lexical.scores(question)

    def passage(self, row: int, score: float) -> Passage:
        chunk = self.stored.chunks[row]
        meta = self.stored.manifest["articles"][chunk.source]
        return Passage(meta["title"], chunk.source, chunk.text, chunk.start, chunk.end, round(float(score), 4),
                       meta.get("date"), meta.get("publisher"), meta.get("url"))

    def search(self, question: str, k: int = 3) -> list[Passage]:
        """The `k` best passages for `question`, best first."""
        scores = self.scores(question)
        best = np.argsort(-scores, kind="stable")[: max(k, 0)]
        return [self.passage(int(i), scores[i]) for i in best]


_open: dict[Path, Retriever] = {}
_failed: dict[Path, str | None] = {}
_open_lock = threading.Lock()


def open_index(index: str | Path, build_if_missing: bool = True) -> Retriever:
    """The retriever for the live version of `index`, cached; reloaded when the index changes.

    When a changed index fails to load, the last good version keeps serving (with the error logged).
    A missing index is built from the default corpus first when `build_if_missing` is set.
    """
    key = Path(index).resolve()
    cached = _open.get(key)
    if cached is not None and store.current_version(key) in (cached.version, _failed.get(key)):
        return cached
    if cached is not None and not _open_lock.acquire(blocking=False):
        return cached  # another thread is loading the new version: keep answering from this one
    if cached is None:
        _open_lock.acquire()
    try:
        return _reload(index, key, build_if_missing)
    finally:
        _open_lock.release()


def _reload(index: str | Path, key: Path, build_if_missing: bool) -> Retriever:
    """The retriever for the live version, loading it if needed; called with `_open_lock` held."""
    cached = _open.get(key)
    version = store.current_version(key)
    if cached is not None and version in (cached.version, _failed.get(key)):
        return cached
    try:
        if version is None and cached is None and build_if_missing:
            _build_default(index, key)
        stored = store.load(key)
        retriever = Retriever(stored, shared_model(stored.manifest["model"]))
    except Exception as exc:
        if cached is None:
            raise
        log.error("keeping the previous index: %s", exc)
        _failed[key] = version
        return cached
    _open[key] = retriever
    return retriever


def _build_default(index: str | Path, key: Path) -> None:
    """Build a missing index from the default corpus, saying so."""
    from rag.indexer import build_index
    from rag.settings import default_corpus

    log.warning("no index in %s yet: building it from %s", index, default_corpus())
    log.warning(build_index(default_corpus(), key).summary())
