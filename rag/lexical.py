"""BM25 over Russian stems, with scores put on a per-question scale from 0 to about 1.

A raw BM25 score grows with the question's length and rarity of its words, so it cannot be compared
across questions. Dividing by the sum of the question terms' IDF (the most a passage can score, each
term's saturation tending to 1) makes it "the share of the question's information the passage holds",
which hybrid fusion and the "not in the article" threshold can rely on. Terms the corpus has never
seen count with the highest IDF: a question about something absent scores low.

The index is a term -> (passages, weights) postings table in numpy, so a question costs one slice per
term (microseconds) and the scores are the same formula as Lucene's BM25.
"""

from __future__ import annotations

import math

import numpy as np

from rag.text import terms

class LexicalIndex:
    """BM25 scores of every passage for a question, normalised by the question's total IDF (thread-safe)."""

    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75, prefix: int = 0) -> None:
        self.prefix = prefix
        documents = [self.terms(t) for t in texts]
        flat = [term for document in documents for term in document]
        vocabulary = {term: i for i, term in enumerate(dict.fromkeys(flat))}
        width = max(len(vocabulary), 1)
        lengths = np.array([len(d) for d in documents], dtype=np.int64)
        term_ids = np.fromiter(map(vocabulary.__getitem__, flat), dtype=np.int64, count=len(flat))
        pairs, counts = np.unique(np.repeat(np.arange(len(documents)), lengths) * width + term_ids, return_counts=True)
        self._build(vocabulary, pairs // width, pairs % width, counts.astype(np.float64),
                    lengths.astype(np.float64), k1, b)

    def grouped(self, groups: np.ndarray) -> LexicalIndex:
        """An index over groups of this index's documents (document i belongs to group `groups[i]`), as if
        each group's documents were one text: what a whole article holds, from its passages' counts."""
        index = self.__class__.__new__(self.__class__)
        index.prefix = self.prefix
        width = max(len(self._vocabulary), 1)
        pairs, inverse = np.unique(groups[self._doc_ids] * width + self._term_ids, return_inverse=True)
        lengths = np.bincount(groups, weights=self._lengths, minlength=int(groups.max(initial=-1)) + 1)
        index._build(self._vocabulary, pairs // width, pairs % width, np.bincount(inverse, weights=self._tf),
                     lengths, self._k1, self._b)
        return index

    def _build(self, vocabulary: dict[str, int], doc_ids: np.ndarray, term_ids: np.ndarray, tf: np.ndarray,
               lengths: np.ndarray, k1: float, b: float) -> None:
        """The postings table from (document, term, count) triples; the triples are kept for `grouped`."""
        self._vocabulary, self._doc_ids, self._term_ids, self._tf = vocabulary, doc_ids, term_ids, tf
        self._lengths, self._k1, self._b = lengths, k1, b
        self.size = n = len(lengths)
        df = np.bincount(term_ids, minlength=len(vocabulary))
        self._idf = np.log1p((n - df + 0.5) / (df + 0.5))
        self._unseen_idf = math.log1p((n + 0.5) / 0.5)
        norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1.0)) if n else lengths
        weights = self._idf[term_ids] * tf / (tf + norm[doc_ids])
        order = np.argsort(term_ids, kind="stable")
        self._docs, self._weights = doc_ids[order], weights[order].astype(np.float32)
        self._starts = np.concatenate([[0], np.cumsum(df)])

    def terms(self, text: str) -> list[str]:
        """The search terms of `text` as this index cuts them (see `rag.text.terms`)."""
        return terms(text, self.prefix)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term; unseen terms get the largest possible value."""
        i = self._vocabulary.get(term)
        return self._unseen_idf if i is None else float(self._idf[i])

    def weight(self, query: list[str]) -> float:
        """The total IDF of a question's distinct terms: what a passage holding all of them would score."""
        return sum(self.idf(t) for t in dict.fromkeys(query))

    def term_scores(self, query: list[str]) -> np.ndarray:
        """Normalised BM25 score of every passage for a question already cut into terms."""
        scores = np.zeros(self.size, dtype=np.float32)
        query = list(dict.fromkeys(query))
        if not query:
            return scores
        for term in query:
            i = self._vocabulary.get(term)
            if i is not None:
                start, end = self._starts[i], self._starts[i + 1]
                scores[self._docs[start:end]] += self._weights[start:end]
        return scores / np.float32(self.weight(query))

    def scores(self, question: str) -> np.ndarray:
        """Normalised BM25 score of every passage for `question` (zeros when it has no search terms)."""
        return self.term_scores(self.terms(question))
