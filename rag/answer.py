"""Answers: the key quote (verbatim sentences of the best passage), the passages, or an honest "no answer".

The key quote is the sentence of the best passage that matches the question best, by the same hybrid
of embedding similarity and idf-weighted stem overlap that ranks passages; a sentence too short to
stand alone (a heading, "Так и есть.") takes the next one with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rag import answer_type
from rag.retrieval import Passage, Query, Retriever, open_index
from rag.settings import MAX_QUESTION, NO_ANSWER_BELOW

MIN_QUOTE = 60
"""A quote shorter than this many characters takes the following sentence too."""

NO_ANSWER = "В статьях нет ответа на этот вопрос."
EMPTY_QUESTION = "Вопрос пуст: напишите, что вы хотите узнать из статей."

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Answer:
    """The reply to a question.

    `answer` is the key quote, verbatim from `passages[0]` at article offsets
    [`quote_start`, `quote_end`), or None when the corpus holds no answer. `notice` tells the user
    about something done to the question (cut, empty) or why there is no answer.
    """

    question: str
    answer: str | None
    passages: list[Passage] = field(default_factory=list)
    quote_start: int | None = None
    quote_end: int | None = None
    notice: str | None = None

    def to_json(self) -> dict:
        """The `rag ask --json` object: question, answer and passages (article, source, text, start, end, score)."""
        keys = ("article", "source", "text", "start", "end", "score")
        return {
            "question": self.question,
            "answer": self.answer,
            "passages": [{k: v for k, v in asdict(p).items() if k in keys} for p in self.passages],
        }


def clean_question(question: str) -> tuple[str, str | None]:
    """The question as searched (control characters dropped, cut to MAX_QUESTION) and a notice if cut."""
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", str(question))).strip()
    if len(text) > MAX_QUESTION:
        cut = text[:MAX_QUESTION].rsplit(" ", 1)[0] or text[:MAX_QUESTION]
        return cut, f"Вопрос слишком длинный ({len(text)} символов): искали по первым {len(cut)}."
    return text, None


def key_quote(retriever: Retriever, query: Query, passage: Passage) -> tuple[int, int] | None:
    """Article offsets of the sentence(s) of `passage` that answer the question best; None when the
    question asks for a number or a date and no sentence of the passage holds one."""
    sentences = retriever.sentences(passage)
    spans = sentences.spans
    kind = answer_type.expected(query.text)
    fits = np.array([kind is None or kind in held for held in sentences.kinds])
    if not fits.any():
        return None
    if len(spans) <= 1:
        return passage.start, passage.end
    asked = set(query.terms)
    weight = retriever.lexical.weight(list(asked)) or 1.0
    overlap = np.array([sum(retriever.lexical.idf(t) for t in asked & words) for words in sentences.terms]) / weight
    w = retriever.dense_weight
    dense = sentences.vectors @ query.vector if query.vector is not None else 0.0
    best = int(np.argmax(np.where(fits, w * dense + (1 - w) * overlap, -np.inf)))
    start, end = spans[best]
    while end - start < MIN_QUOTE and best + 1 < len(spans):
        best += 1
        end = spans[best][1]
    return start, end


def answer(question: str, k: int = 3, index: str | Path = "index") -> Answer:
    """Answer `question` from the index: key quote and the `k` best passages, or an honest no-answer.

    Never raises for odd question text: an empty one gets a notice instead of a search.
    """
    text, notice = clean_question(question)
    if not any(ch.isalnum() for ch in text):
        return Answer(question, None, notice=EMPTY_QUESTION)
    retriever = open_index(index)
    query = retriever.query(text)
    passages = retriever.search(query, k=max(1, k))
    top = passages[0] if passages else None
    span = key_quote(retriever, query, top) if top and top.score >= NO_ANSWER_BELOW else None
    if span is None:
        return Answer(question, None, passages, notice=" ".join(filter(None, (notice, NO_ANSWER))))
    start, end = span
    return Answer(question, top.text[start - top.start: end - top.start], passages, start, end, notice)


def retrieve(question: str, k: int = 3, index: str | Path = "index") -> list[Passage]:
    """The `k` best passages for `question`, best first (the index is loaded once and cached)."""
    text, _ = clean_question(question)
    return open_index(index).search(text, k)
