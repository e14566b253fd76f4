"""Which language a question is in, as far as retrieval cares: the articles' Russian, Kazakh, or another.

Word matching (BM25, stem overlap) only means something when the question and the articles share a
language; a question in English or Kazakh is matched by meaning alone. Kazakh is written in Cyrillic
too, so it is told apart by the letters Russian does not have.
"""

from __future__ import annotations

RU, KK, EN, OTHER = "ru", "kk", "en", "other"
ARTICLES = RU
"""The language of the articles (the product indexes Russian news)."""

_KAZAKH = frozenset("әғқңөұүһі")
_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя") | _KAZAKH
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")


def detect(text: str) -> str:
    """RU, KK, EN or OTHER by the letters of `text` (RU when it has no letters: nothing to tell)."""
    letters = [c for c in text.lower() if c.isalpha()]
    if not letters:
        return RU
    if any(c in _KAZAKH for c in letters):
        return KK
    cyrillic = sum(c in _CYRILLIC for c in letters) / len(letters)
    latin = sum(c in _LATIN for c in letters) / len(letters)
    return RU if cyrillic >= 0.5 else EN if latin >= 0.5 else OTHER
