"""The sentences of a passage, as key quotes and re-scoring see them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from razdel import sentenize

from rag.search import answer_type


@dataclass(frozen=True)
class Sentences:
    """The sentences of a passage: article offsets, search terms, unit vectors and the answer types each can
    give (see `rag.search.answer_type`)."""

    spans: list[tuple[int, int]]
    terms: list[frozenset[str]]
    vectors: np.ndarray
    kinds: list[frozenset[str]]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of `text`: razdel's sentences within each line, so that a heading or a
    paragraph without a final full stop never runs into the next one (blank lines give no sentence)."""
    spans, start = [], 0
    for line in text.split("\n"):
        spans += [(start + s.start, start + s.stop) for s in sentenize(line) if s.text.strip()]
        start += len(line) + 1
    return spans


def analyse(text: str, start: int, terms, encode) -> Sentences:
    """The sentences of a passage at article offset `start`, with `terms(text)` and `encode(texts)` applied."""
    spans = sentence_spans(text)
    texts = [text[a:b] for a, b in spans]
    return Sentences([(start + a, start + b) for a, b in spans], [frozenset(terms(t)) for t in texts],
                     encode(texts), [answer_type.held(t) for t in texts])
