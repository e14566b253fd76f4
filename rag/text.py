"""Russian words to search terms: lower case, ё folded to е, stop words dropped, snowball stems.

Shared by BM25 (lexical retrieval) and key-quote selection, so both match word forms the same way
("военные расходы" finds "военных расходов").
"""

from __future__ import annotations

import re
import threading

import Stemmer
from bm25s.stopwords import STOPWORDS_RUSSIAN

_WORD = re.compile(r"\w+(?:[-']\w+)*")
_QUESTION_WORDS = {
    "это", "какой", "какая", "какое", "какие", "каков", "какова", "каковы", "каким", "каких", "какую",
    "каком", "какого", "какому", "сколько", "почему", "зачем", "откуда", "куда", "чей", "чья", "чье", "чьи",
}
_STOPWORDS = frozenset(w.replace("ё", "е") for w in STOPWORDS_RUSSIAN) | _QUESTION_WORDS
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """One stemmer per thread: PyStemmer objects must not be shared between threads."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("russian")
    return stemmer


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased with ё folded to е."""
    return _WORD.findall(text.lower().replace("ё", "е"))


def terms(text: str) -> list[str]:
    """Search terms of `text`: stems of its words, stop words left out."""
    kept = [w for w in words(text) if w not in _STOPWORDS]
    return _stemmer().stemWords(kept)
