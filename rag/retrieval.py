"""Hybrid retrieval: dense (inner product of unit vectors) and BM25 over stems, fused linearly.

Both scores live on fixed scales (cosine, and BM25 divided by the question's total IDF), so the fused
score of the best passage also says how well the corpus covers the question at all. Each passage's
score is blended with its whole article's. A question in another language than the articles' is
scored by meaning alone: word matches across languages are accidents (a number, a Latin name). The
weights come from the index (`rag.fitted`: fitted per model by `rag tune`).
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from razdel import sentenize

from rag import answer_type, language, store
from rag.errors import ModelMismatch
from rag.fitted import Fitted
from rag.lexical import LexicalIndex
from rag.models import Embedder, shared_model

log = logging.getLogger("rag")

SENTENCE_CACHE = 4096
"""Passages whose sentences (spans, terms, vectors) are kept for key quotes."""


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


@dataclass(frozen=True)
class Query:
    """A question as retrieval uses it: its search terms, its unit vector, and its language (`rag.language`)."""

    text: str
    terms: list[str]
    vector: np.ndarray
    language: str = language.ARTICLES

    @property
    def same_language(self) -> bool:
        """Whether the question is in the articles' language, so that word matches mean something."""
        return self.language == language.ARTICLES


@dataclass(frozen=True)
class Sentences:
    """The sentences of a passage, for key quotes: article offsets, search terms, unit vectors and the
    answer types each can give (see `rag.answer_type`)."""

    spans: list[tuple[int, int]]
    terms: list[frozenset[str]]
    vectors: np.ndarray
    kinds: list[frozenset[str]]


def fuse(parts: np.ndarray, dense_weight: float, article_weight: float) -> np.ndarray:
    """Hybrid scores from `Retriever.parts` (or a stack of them): dense and lexical weighed, the article's
    match added with `article_weight` next to the passage's 1, on the same 0-1 scale as the parts."""
    passage = dense_weight * parts[..., 0, :] + (1 - dense_weight) * parts[..., 1, :]
    article = dense_weight * parts[..., 2, :] + (1 - dense_weight) * parts[..., 3, :]
    return (passage + article_weight * article) / (1 + article_weight)


class Retriever:
    """One loaded index version with its model and BM25, answering searches (thread-safe).

    A passage's score blends its own match with its whole article's (`article_weight`): questions often
    name the article's subject in words that only its other passages hold. FAISS scores the passages;
    an article's vector is the normalised sum of its passages' vectors. `fitted` defaults to the values
    the index was built with.
    """

    def __init__(self, stored: store.Stored, embedder: Embedder, fitted: Fitted | None = None) -> None:
        if embedder.dimension != stored.vectors.d:
            raise ModelMismatch(
                f"the index holds {stored.vectors.d}-dimensional vectors but {embedder.name} gives "
                f"{embedder.dimension}; run: rag index --rebuild"
            )
        self.stored = stored
        self.embedder = embedder
        self.fitted = fitted or stored.fitted
        chunks = stored.chunks
        self.lexical = LexicalIndex([c.text for c in chunks], self.fitted.k1, self.fitted.b, self.fitted.prefix)
        number = {source: i for i, source in enumerate(dict.fromkeys(c.source for c in chunks))}
        self._article_of = np.array([number[c.source] for c in chunks], dtype=np.int64)
        self._articles = self.lexical.grouped(self._article_of)
        sums = np.zeros((len(number), stored.vectors.d), dtype=np.float32)
        if chunks:
            np.add.at(sums, self._article_of, stored.vectors.reconstruct_n(0, len(chunks)))
        self._article_vectors = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        self._rows = {(c.source, c.start): row for row, c in enumerate(chunks)}
        self._sentences = functools.lru_cache(maxsize=SENTENCE_CACHE)(self._analyse)

    @property
    def version(self) -> str:
        return self.stored.version

    def query(self, question: str, vector: np.ndarray | None = None) -> Query:
        """The question's terms, vector (encoded unless given) and language, computed once for ranking and
        for the key quote."""
        if vector is None:
            vector = self.embedder.encode_queries([question])[0]
        return Query(question, self.lexical.terms(question), vector, language.detect(question))

    def parts(self, query: Query) -> np.ndarray:
        """Every passage's match, four rows: dense, lexical, and the same two for its whole article."""
        n = len(self.stored.chunks)
        parts = np.zeros((4, n), dtype=np.float32)
        if not n:
            return parts
        parts[1] = self.lexical.term_scores(query.terms)
        parts[3] = self._articles.term_scores(query.terms)[self._article_of]
        similarities, rows = self.stored.vectors.search(query.vector[None, :], n)
        parts[0, rows[0]] = similarities[0]
        parts[2] = (self._article_vectors @ query.vector)[self._article_of]
        return parts

    def dense_weight(self, query: Query) -> float:
        """The dense score's share for this question: all of it when the question is in another language."""
        return self.fitted.dense_weight if query.same_language else 1.0

    def scores(self, query: Query) -> np.ndarray:
        """Hybrid score of every passage, blended with its article's (see the class)."""
        return fuse(self.parts(query), self.dense_weight(query), self.fitted.article_weight)

    def no_answer_below(self, query: Query, sentence: bool = False) -> float:
        """The best passage score (or, with `sentence`, the best sentence similarity) under which the index
        holds no answer to this question: thresholds of its own for questions in another language."""
        f = self.fitted
        if sentence:
            return f.sentence_below if query.same_language else f.sentence_below_cross
        return f.no_answer_below if query.same_language else f.no_answer_below_cross

    def passage(self, row: int, score: float) -> Passage:
        chunk = self.stored.chunks[row]
        meta = self.stored.manifest["articles"][chunk.source]
        return Passage(meta["title"], chunk.source, chunk.text, chunk.start, chunk.end, round(float(score), 4),
                       meta.get("date"), meta.get("publisher"), meta.get("url"))

    def search(self, question: str | Query, k: int = 3) -> list[Passage]:
        """The `k` best passages for a question, best first.

        With `rerank_depth` fitted, the best max(k, depth) passages are re-scored by their sentence closest in
        meaning to the question (weight `rerank_weight`): a passage that says the answer in one sentence beats
        one that is only about the same subject throughout, which matters most across languages.
        """
        query = question if isinstance(question, Query) else self.query(question)
        scores = self.scores(query)
        depth = min(max(k, self.fitted.rerank_depth if self.fitted.rerank_weight else 0, 0), len(scores))
        if depth == 0 or k <= 0:
            return []
        best = np.argpartition(-scores, depth - 1)[:depth]
        best = best[np.lexsort((best, -scores[best]))]  # best first, ties in index order
        final = scores[best]
        if self.fitted.rerank_weight and self.fitted.rerank_depth:
            closest = np.array([self.similarities(query, int(row)).max(initial=-1.0) for row in best])
            final = (1 - self.fitted.rerank_weight) * final + self.fitted.rerank_weight * closest
            order = np.lexsort((np.arange(len(best)), -final))  # stable: ties keep the fused order
            best, final = best[order], final[order]
        return [self.passage(int(row), score) for row, score in zip(best[:k], final[:k])]

    def similarities(self, query: Query, passage: Passage | int) -> np.ndarray:
        """Cosine of the question with each sentence of a passage (given, or by its row)."""
        row = passage if isinstance(passage, int) else self._rows[(passage.source, passage.start)]
        return self._sentences(row).vectors @ query.vector

    def sentences(self, passage: Passage) -> Sentences:
        """The sentences of a passage of this index (analysed once, then cached)."""
        return self._sentences(self._rows[(passage.source, passage.start)])

    def _analyse(self, row: int) -> Sentences:
        chunk = self.stored.chunks[row]
        spans = sentence_spans(chunk.text)
        texts = [chunk.text[a:b] for a, b in spans]
        return Sentences([(chunk.start + a, chunk.start + b) for a, b in spans],
                         [frozenset(self.lexical.terms(t)) for t in texts], self.embedder.encode_sentences(texts),
                         [answer_type.held(t) for t in texts])


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of `text`: razdel's sentences within each line, so that a heading or a
    paragraph without a final full stop never runs into the next one (blank lines give no sentence)."""
    spans, start = [], 0
    for line in text.split("\n"):
        spans += [(start + s.start, start + s.stop) for s in sentenize(line) if s.text.strip()]
        start += len(line) + 1
    return spans


_keys: dict[str | Path, Path] = {}
"""Index paths as given, resolved once: resolving on every question costs more than the search."""
_open: dict[Path, Retriever] = {}
_stamps: dict[Path, tuple[int, int, int] | None] = {}
"""The CURRENT file as it was when its version was last found to be the cached one."""
_failed: dict[Path, str | None] = {}
_open_lock = threading.Lock()


def open_index(index: str | Path, build_if_missing: bool = True) -> Retriever:
    """The retriever for the live version of `index`, cached; reloaded when the index changes.

    When a changed index fails to load, the last good version keeps serving (with the error logged).
    A missing index is built from the default corpus first when `build_if_missing` is set.
    """
    key = _keys.get(index) or _keys.setdefault(index, Path(index).resolve())
    cached = _open.get(key)
    stamp = store.pointer_stamp(key)
    if cached is not None and stamp is not None and stamp == _stamps.get(key):
        return cached
    if cached is not None and store.current_version(key) in (cached.version, _failed.get(key)):
        _stamps[key] = stamp
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
