"""BM25 over Russian stems (bm25s), with scores put on a per-question scale from 0 to about 1.

A raw BM25 score grows with the question's length and rarity of its words, so it cannot be compared
across questions. Dividing by the sum of the question terms' IDF (BM25's score for a passage that holds
each term once, at average length) makes it roughly "the share of the question's information the
passage holds", which hybrid fusion and the "not in the article" threshold can rely on. Terms the
corpus has never seen count with the highest IDF: a question about something absent scores low.
"""

from __future__ import annotations

import math

import bm25s
import numpy as np

from rag.text import terms


class LexicalIndex:
    """BM25 scores of every passage for a question, normalised by the question's total IDF."""

    def __init__(self, texts: list[str]) -> None:
        tokenized = [terms(t) or ["\x00"] for t in texts]  # bm25s rejects an empty document
        self._bm25 = bm25s.BM25(method="lucene")
        self._bm25.index(tokenized, show_progress=False)
        n = len(tokenized)
        df: dict[str, int] = {}
        for doc in tokenized:
            for term in set(doc):
                df[term] = df.get(term, 0) + 1
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self._unseen_idf = math.log(1 + (n + 0.5) / 0.5)
        self.size = n

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term; unseen terms get the largest possible value."""
        return self._idf.get(term, self._unseen_idf)

    def scores(self, question: str) -> np.ndarray:
        """Normalised BM25 score of every passage for `question` (zeros when it has no search terms)."""
        query = list(dict.fromkeys(terms(question)))
        if not query:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in query if t in self._idf]
        raw = self._bm25.get_scores(known) if known else np.zeros(self.size, dtype=np.float32)
        return (raw / sum(self.idf(t) for t in query)).astype(np.float32)
