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


def analyse(passages: list[tuple[str, int]], terms, encode) -> list[Sentences]:
    """The sentences of passages given as (text, article offset), with `terms(text)` applied to each sentence
    and `encode(texts)` to all of them in one call (one model call per question, not one per passage)."""
    spans = [sentence_spans(text) for text, _ in passages]
    texts = [[text[a:b] for a, b in s] for (text, _), s in zip(passages, spans)]
    flat = [t for ts in texts for t in ts]
    vectors = encode(flat)
    out, at = [], 0
    for (_, start), s, ts in zip(passages, spans, texts):
        out.append(Sentences([(start + a, start + b) for a, b in s], [frozenset(terms(t)) for t in ts],
                             vectors[at:at + len(ts)], [answer_type.held(t) for t in ts]))
        at += len(ts)
    return out
