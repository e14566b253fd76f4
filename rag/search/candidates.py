"""Candidate passages for a question and their fused scores, without touching the rest of the archive.

The `n` best passages by meaning (the vector index) and the `n` best by words (BM25) are pooled; each pooled
passage then gets both scores exactly (its vector or its words looked up by id), and the two are fused
linearly with the weight fitted for the model (`rag.fitted`). Both scores are on fixed scales (cosine, and
BM25 as a share of the most the question's words could score), so the fused score of the best passage also
says how well the archive covers the question at all. A question in another language than the articles' is
scored by meaning alone: word matches across languages are accidents (a number, a Latin name).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rag import language
from rag.index.filters import Filter
from rag.index.vectors import VectorIndex
from rag.index.words import LexicalIndex

POOL = 100
"""Passages taken from each side (meaning, words) before fusion."""
_beside = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rag-words")
"""Runs a question's word search while its thread searches the vectors (one worker per question in flight)."""


@dataclass(frozen=True)
class Query:
    """A question as retrieval uses it: its search terms, its unit vector, its language (`rag.language`) and
    the articles it searches (`where`; None: all)."""

    text: str
    terms: list[str]
    vector: np.ndarray
    language: str = language.ARTICLES
    where: Filter | None = None

    @property
    def same_language(self) -> bool:
        """Whether the question is in the articles' language, so that word matches mean something."""
        return self.language == language.ARTICLES


@dataclass(frozen=True)
class Candidates:
    """Pooled passages (ids ascending) and their scores: row 0 by meaning, row 1 by words."""

    ids: np.ndarray
    parts: np.ndarray

    def fused(self, dense_weight: float) -> np.ndarray:
        """The hybrid score of each candidate."""
        return fuse(self.parts, dense_weight)

    def best(self, dense_weight: float, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and fused scores of the `n` best candidates, best first (ties by id)."""
        scores = self.fused(dense_weight)
        order = np.lexsort((self.ids, -scores))[:max(n, 0)]
        return self.ids[order], scores[order]


def fuse(parts: np.ndarray, dense_weight) -> np.ndarray:
    """Dense and lexical scores (`Candidates.parts`, or a stack of them) weighed into one, on their 0-1 scale."""
    return dense_weight * parts[..., 0, :] + (1 - dense_weight) * parts[..., 1, :]


def gather(query: Query, vectors: VectorIndex, words: LexicalIndex, n: int = POOL,
           best: tuple[float, int] | None = None, allowed: np.ndarray | None = None) -> Candidates:
    """The pooled candidates of a question with both of their scores (words only for a same-language question).

    A candidate the word search missed scores 0 by words when that search found fewer than `n` (it found
    every passage holding a word of the question), and less than its `n`-th otherwise. With `best` =
    (dense weight, depth) only what decides the `depth` best by fused score is exact: a missed candidate is
    then scored by words only if it could still reach them (`_could_reach`), the others keep 0, a lower
    bound. That saves most of the word index's work per question. A question with a filter (`query.where`)
    pools only passages it admits: `allowed` is the filter as a mask over passage ids, for the vectors."""
    if not query.same_language:
        ids, dense = vectors.search(query.vector, n, allowed)
        order = np.argsort(ids)
        return Candidates(ids[order], np.stack([dense[order], np.zeros(len(ids), dtype=np.float32)]))
    # The word search beside, the vector search here: FAISS holds no GIL while it searches, so the two overlap
    # (1M passages: p95 31.3 -> 26.6 ms). The other way round doubled the time at 44k (5.6 -> 11.3 ms): this
    # thread's Python work and the vector thread waited on each other for the GIL.
    word_search = _beside.submit(words.search, query.terms, n, query.where)
    dense_ids, dense = vectors.search(query.vector, n, allowed)
    word_ids, lexical = word_search.result()
    ids = np.union1d(dense_ids, word_ids)
    parts = np.zeros((2, len(ids)), dtype=np.float32)
    missing_vectors = _fill(parts[0], ids, dense_ids, dense)
    missing_words = _fill(parts[1], ids, word_ids, lexical)
    parts[0, missing_vectors] = vectors.vectors(ids[missing_vectors]) @ query.vector
    if len(word_ids) < n:
        missing_words[:] = False  # their word score is 0: the search found every passage with a word
    elif best is not None:
        missing_words &= _could_reach(parts, missing_words, float(lexical.min()), *best)
    parts[1, missing_words] = words.scores(query.terms, ids[missing_words])
    return Candidates(ids, parts)


def _could_reach(parts: np.ndarray, unknown: np.ndarray, floor: float, dense_weight: float, depth: int) -> np.ndarray:
    """Which candidates, their word score `unknown` but at most `floor`, could be among the `depth` best by fused
    score: the fused scores known so far are lower bounds, so the `depth`-th best of them is a bar that only
    a candidate whose upper bound reaches it can clear."""
    low = fuse(parts, dense_weight)
    if len(low) <= depth:
        return np.ones(len(low), dtype=bool)
    bar = np.partition(low, len(low) - depth)[len(low) - depth]
    return ~unknown | (low + (1 - dense_weight) * floor >= bar)


def _fill(row: np.ndarray, ids: np.ndarray, found: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Put the scores a search found into `row`; returns the mask of the candidates that search missed."""
    row[np.searchsorted(ids, found)] = scores
    return ~np.isin(ids, found)
