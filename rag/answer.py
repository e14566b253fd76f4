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

from rag.retrieval import Passage, Retriever, open_index
from rag.settings import MAX_QUESTION, NO_ANSWER_BELOW
from rag.text import terms

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


def key_quote(retriever: Retriever, question: str, passage: Passage) -> tuple[int, int]:
    """Article offsets of the sentence(s) of `passage` that answer `question` best."""
    sentences = retriever.sentences(passage)
    spans = sentences.spans
    if len(spans) <= 1:
        return passage.start, passage.end
    query = set(terms(question))
    weight = retriever.lexical.weight(list(query)) or 1.0
    overlap = np.array([sum(retriever.lexical.idf(t) for t in query & words) for words in sentences.terms]) / weight
    dense = sentences.vectors @ retriever.encode_question(question)
    w = retriever.dense_weight
    best = int(np.argmax(w * dense + (1 - w) * overlap))
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
    if not terms(text) and not any(ch.isalnum() for ch in text):
        return Answer(question, None, notice=EMPTY_QUESTION)
    retriever = open_index(index)
    passages = retriever.search(text, k=max(1, k))
    if not passages or passages[0].score < NO_ANSWER_BELOW:
        return Answer(question, None, passages, notice=notice or NO_ANSWER)
    top = passages[0]
    start, end = key_quote(retriever, text, top)
    quote = top.text[start - top.start: end - top.start]
    return Answer(question, quote, passages, start, end, notice)


def retrieve(question: str, k: int = 3, index: str | Path = "index") -> list[Passage]:
    """The `k` best passages for `question`, best first (the index is loaded once and cached)."""
    text, _ = clean_question(question)
    return open_index(index).search(text, k)
