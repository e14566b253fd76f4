"""What a question asks for and what it is about: the kind of answer and the names it holds.

The kind comes from the question word (кто → a person or organisation, где/куда/откуда → a place, когда → a date,
сколько → a number: `answer_type.expected` for the Russian number and date, which tells «Когда X, что Y?» from
«Когда X?»; какой/какая → the noun it qualifies); the names from natasha's slovnet NER (PER, LOC, ORG), whose
weights ship in its PyPI packages, loaded once per process when an index is opened (~0.9 s), then ~3 ms for a
question with a capital after its first letter (one without names no one, and skips NER). A question not in
Russian gets its capitalised words after the first as its names (NER is trained on Russian)
and its numbers and dates from English or Kazakh question words.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

from rag import language
from rag.search import answer_type
from rag.text import words

PERSON, PLACE, ORGANISATION = "PER", "LOC", "ORG"
_ASKS = [
    (re.compile(r"^(кто|кого|кому|кем|ким|who|whom|whose)$"), frozenset({PERSON, ORGANISATION})),
    (re.compile(r"^(где|куда|откуда|қайда|where)$"), frozenset({PLACE})),
    (re.compile(r"^(когда|қашан|when)$"), frozenset({answer_type.DATE})),
    (re.compile(r"^(сколько|қанша|неше)$"), frozenset({answer_type.NUMBER})),
]
"""Question words and the kinds of answer they ask for, in any language (the first match among the first words)."""
_WHICH = re.compile(r"^(какая|какой|какое|какие|какую|каким|какими|каких|каком|какого|какому)$")
_HOW_MANY = re.compile(r"\bhow (many|much)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-ZА-ЯЁ][\w-]*(?:\s+[A-ZА-ЯЁ][\w-]*)*")
_CAPITAL = re.compile(r"[A-ZА-ЯЁ]")
MAX_ANALYSED = 2000
"""Characters NER reads at most (a question is at most `settings.MAX_QUESTION`)."""
_lock = threading.Lock()


@dataclass(frozen=True)
class Asked:
    """A question's analysis: the `kinds` of answer it asks for (empty: none in particular), the noun a
    «какой» qualifies (`thing`), the names it is about as written, and which of them NER finds to be people."""

    kinds: frozenset[str] = frozenset()
    thing: str | None = None
    names: tuple[str, ...] = ()
    people: tuple[str, ...] = ()


def load() -> None:
    """Load the NER model now (~0.9 s) and run it once (its first run pays ~1 ms more than the next), so that the
    first Russian question naming someone does not wait for it."""
    _natasha()
    entities("Что сказал Токаев в Астане?")


@functools.lru_cache(maxsize=1)
def _natasha():
    """natasha's segmenter and NER tagger (its news embedding), loaded once per process, and the process's thread
    pools (finding them takes milliseconds: once)."""
    from natasha import NewsEmbedding, NewsNERTagger, Segmenter
    from threadpoolctl import ThreadpoolController

    return Segmenter(), NewsNERTagger(NewsEmbedding()), ThreadpoolController()


def entities(text: str) -> list[tuple[str, str]]:
    """(kind, text) of the people, places and organisations natasha finds in Russian `text`, in order."""
    from natasha import Doc

    segmenter, tagger, pools = _natasha()
    doc = Doc(text[:MAX_ANALYSED])
    # slovnet's tagger is not documented as thread-safe; a question takes a few milliseconds. Its tiny matrix
    # products run on one BLAS thread: threads left spinning after it slowed the next query's encoding 15 -> 45 ms
    with _lock, pools.limit(limits=1, user_api="blas"):
        doc.segment(segmenter)
        doc.tag_ner(tagger)
    return [(span.type, span.text) for span in doc.spans]


@functools.lru_cache(maxsize=4096)
def analyse(question: str) -> Asked:
    """What `question` asks for and which names it holds (cached: the answer and its checks ask again)."""
    found = words(question)
    kinds = next((k for w in found[:4] for pattern, k in _ASKS if pattern.match(w)), frozenset())
    which = next((n for n, w in enumerate(found[:4]) if _WHICH.match(w)), None)
    thing = found[which + 1] if which is not None and which + 1 < len(found) else None
    if language.detect(question) == language.ARTICLES:
        expected = answer_type.expected(question)
        kinds = frozenset({expected}) if expected else kinds - {answer_type.DATE}  # «Когда X, что Y?» asks Y
        named = entities(question) if _CAPITAL.search(question, 1) else []  # no capital after the first: no name
        return Asked(kinds, thing, tuple(dict.fromkeys(t for _, t in named)),
                     tuple(dict.fromkeys(t for k, t in named if k == PERSON)))
    kinds = frozenset({answer_type.NUMBER}) if _HOW_MANY.search(question) else kinds
    return Asked(kinds, None, tuple(dict.fromkeys(capitalised(question))))


def capitalised(text: str) -> list[str]:
    """The capitalised words after the first of `text` (runs of them together, «Elon Musk»): its names, as far as
    capitals tell, in any language."""
    return [m.group() for m in _NAME.finditer(text) if m.start() > 0]
