"""Which language a question is in, as far as retrieval cares: the articles' Russian, Kazakh, or another.

Word matching (BM25, stem overlap) only means something when the question and the articles share a
language; a question in English or Kazakh is matched by meaning alone. Kazakh is written in Cyrillic
too, so it is told apart by the letters Russian does not have. Names are left out of the count: a Russian
question about «Elon Musk» or «Liber servitoris» is still Russian.
"""

from __future__ import annotations

import re

RU, KK, EN, OTHER = "ru", "kk", "en", "other"
ARTICLES = RU
"""The language of the articles (the product indexes Russian news)."""

_KAZAKH = frozenset("әғқңөұүһі")
_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя") | _KAZAKH
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")


_WORD = re.compile(r"[^\W\d_]+")


def detect(text: str) -> str:
    """RU, KK, EN or OTHER by the letters of `text` (RU when it has no letters: nothing to tell), counted in its
    grammar: the words after the first that start with a capital (names, titles, acronyms) and the word after
    one («Liber servitoris») are left out, unless nothing else is left. Counting every letter took
    «Что сказал Elon Musk о Tesla?» for English, and searched it without its Russian words."""
    found = [m.group() for m in _WORD.finditer(text)]
    grammar = [w for n, w in enumerate(found) if n == 0 or not (w[0].isupper() or n > 1 and found[n - 1][0].isupper())]
    letters = [c for c in "".join(grammar or found).lower() if c.isalpha()]
    if not letters:
        return RU
    if any(c in _KAZAKH for c in letters):
        return KK
    cyrillic = sum(c in _CYRILLIC for c in letters) / len(letters)
    latin = sum(c in _LATIN for c in letters) / len(letters)
    return RU if cyrillic >= 0.5 else EN if latin >= 0.5 else OTHER
