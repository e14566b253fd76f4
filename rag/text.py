"""Russian words to search terms: lower case, ё folded to е, stop words dropped, snowball stems cut short.

Shared by BM25 (lexical retrieval) and key-quote selection, so both match word forms the same way
("военные расходы" finds "военных расходов"). Stems may be cut to their first letters (`prefix`): Russian
builds related words on the same beginning, which the snowball stemmer's inflection rules keep apart
("казахстанцы" and "казахстанские", "Амазонии" and "Амазонки", "Норман" and "Норманном").
"""

from __future__ import annotations

import importlib.util
import re
import threading
from pathlib import Path

import Stemmer


def _russian_stopwords() -> list[str]:
    """bm25s's Russian stop words, from its `stopwords` module (plain lists) loaded alone: importing the
    `bm25s` package pulls scipy, a quarter of a second of every one-off `rag ask`."""
    package = importlib.util.find_spec("bm25s")
    spec = importlib.util.spec_from_file_location(
        "rag._stopwords", Path(next(iter(package.submodule_search_locations))) / "stopwords.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STOPWORDS_RUSSIAN


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
_STOPWORDS = frozenset(w.replace("ё", "е") for w in _russian_stopwords()) | _QUESTION_WORDS | _FUNCTION_WORDS

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
