"""Russian words to search terms: lower case, ё folded to е, stop words dropped, snowball stems cut short.

Shared by BM25 (lexical retrieval) and key-quote selection, so both match word forms the same way
("военные расходы" finds "военных расходов"). Stems may be cut to their first letters (`prefix`): Russian
builds related words on the same beginning, which the snowball stemmer's inflection rules keep apart
("казахстанцы" and "казахстанские", "Амазонии" and "Амазонки", "Норман" and "Норманном").
"""

from __future__ import annotations

import re
import threading

import Stemmer
from bm25s.stopwords import STOPWORDS_RUSSIAN

_WORD = re.compile(r"\w+(?:[-']\w+)*")
_QUESTION_WORDS = {
    "это", "какой", "какая", "какое", "какие", "каков", "какова", "каковы", "каким", "каких", "какую",
    "каком", "какого", "какому", "сколько", "скольких", "скольким", "сколькими", "почему", "зачем", "откуда",
    "куда", "чей", "чья", "чье", "чьи",
}
"""Words that shape a question but say nothing of its subject."""
_FUNCTION_WORDS = {
    "который", "которая", "которое", "которые", "которого", "которой", "которому", "которым", "которых",
    "которую", "котором", "которыми", "являться", "является", "являются", "являлся", "являлась", "являлось",
    "являлись", "мочь", "могут", "мог", "могла", "могло", "могли", "такое", "такая", "такие", "таких",
    "таким", "такую", "эта", "этих", "этим", "этими", "свой", "своя", "свое", "свои", "своего", "своей",
    "своему", "своим", "своих", "своими", "весь", "вся", "всей", "всему", "всем", "всеми", "также",
}
"""Forms of pronouns and auxiliary verbs that the stop-word list misses (it has "может", not "могут")."""
_STOPWORDS = frozenset(w.replace("ё", "е") for w in STOPWORDS_RUSSIAN) | _QUESTION_WORDS | _FUNCTION_WORDS

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


def terms(text: str, prefix: int = 0) -> list[str]:
    """Search terms of `text`: the stems of its words, cut to `prefix` letters unless 0, stop words left out."""
    stems = _stemmer().stemWords([w for w in words(text) if w not in _STOPWORDS])
    return [s[:prefix] for s in stems] if prefix else stems
