"""The sentences of a passage, as key quotes and re-scoring see them."""

from __future__ import annotations

import re
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


_PAIRS = {"«": "»", "“": "”"}
_TRAILING = ".,;:!?…–—- \t"
_CLOSES_SENTENCE = re.compile(r'(?<=\w)"[.!?…]?\s')


def balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) of `text` without a quotation mark it does not close or open: a sentence that begins a
    quotation running on into the next one (`"Количество … долларов.`) loses its opening mark, one that ends
    it (`… конфликты".`, or `… конфликты". Касым-Жомарт Токаев`) loses the closing mark and what follows it,
    so a key quote never starts or ends with a stray «"»."""
    span = text[start:end]
    if span.count('"') % 2:
        if span.lstrip().startswith('"'):
            start += span.index('"') + 1
        elif (tail := span.rstrip(_TRAILING)).endswith('"'):
            end = start + len(tail) - 1
        elif inside := list(_CLOSES_SENTENCE.finditer(span)):  # `… конфликты". Касым-Жомарт Токаев`
            end = start + inside[-1].start()
    for opening, closing in _PAIRS.items():
        span = text[start:end]
        if span.count(opening) > span.count(closing) and span.lstrip().startswith(opening):
            start += span.index(opening) + 1
        elif span.count(closing) > span.count(opening) and (tail := span.rstrip(_TRAILING)).endswith(closing):
            end = start + len(tail) - 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
