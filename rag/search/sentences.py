"""The sentences of a passage, as key quotes and re-scoring see them."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from rag.errors import IndexDamaged
from rag.index.sentences import sentence_spans
from rag.search import answer_type


@dataclass(frozen=True)
class Sentences:
    """The sentences of a passage: article offsets, search terms, unit vectors and the answer types each can
    give (see `rag.search.answer_type`)."""

    spans: list[tuple[int, int]]
    terms: list[frozenset[str]]
    vectors: np.ndarray
    kinds: list[frozenset[str]]


def analyse(passages: list[tuple[str, int]], stored: list[np.ndarray | None], terms, encode) -> list[Sentences]:
    """The sentences of passages given as (text, article offset), with `terms(text)` applied to each sentence and
    their vectors as the index stored them (`stored`, per passage: `rag.index.sentences`); only a passage
    without stored vectors (None: an index of format 5) has its sentences given to `encode(texts)`, all of them
    in one call."""
    spans = [sentence_spans(text) for text, _ in passages]
    texts = [[text[a:b] for a, b in s] for (text, _), s in zip(passages, spans)]
    unknown = [t for ts, vectors in zip(texts, stored) if vectors is None for t in ts]
    encoded, at = encode(unknown) if unknown else None, 0
    out = []
    for (_, start), s, ts, vectors in zip(passages, spans, texts, stored):
        if vectors is None:
            vectors, at = encoded[at:at + len(ts)], at + len(ts)
        elif len(vectors) != len(ts):
            raise IndexDamaged(f"the index stores {len(vectors)} sentence vectors for a passage of {len(ts)} "
                               "sentences (split by another version?); run: rag index --rebuild")
        out.append(Sentences([(start + a, start + b) for a, b in s], [frozenset(terms(t)) for t in ts],
                             np.asarray(vectors, dtype=np.float32), [answer_type.held(t) for t in ts]))
    return out


class SentenceCache:
    """The analysed sentences of the `size` passages read latest, thread-safe: analysing reads the stored vectors
    and splits the text, the same whatever the retrieval settings, so the retrievers of one index version share
    one cache (`Retriever.with_fitted`)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, Sentences] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, passages: list[Hashable], analyse: Callable[[list], list[Sentences]]) -> list[Sentences]:
        """The sentences of `passages`, in order: those cached, the rest given to `analyse` in one call (outside the
        lock, so readers of cached passages never wait for it) and kept, the least recently read dropped."""
        with self._lock:
            known = {p: self._kept[p] for p in passages if p in self._kept}
            for p in known:
                self._kept.move_to_end(p)
        missing = [p for p in dict.fromkeys(passages) if p not in known]
        if missing:
            found = dict(zip(missing, analyse(missing)))
            known.update(found)
            with self._lock:
                self._kept.update(found)
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return [known[p] for p in passages]


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
