"""Lexical retrieval: Lucene BM25 over Russian stems, on a per-question 0-1 scale."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from rag.chunking import chunk_text
from rag.corpus import parse_article
from rag.lexical import LexicalIndex
from tests.conftest import ARTICLE

TEXTS = [c.text for c in chunk_text("a", parse_article("a", ARTICLE.read_text(encoding="utf-8")).text, 300, 50)]
QUESTIONS = ["Сколько составили глобальные военные расходы?", "многовекторность дипломатии Казахстана",
             "миротворцы ООН на Голанских высотах", "рецепт бешбармака", "и в на"]


@pytest.mark.parametrize("k1, b, prefix", [(1.2, 0.75, 0), (0.9, 0.4, 5)])
def test_scores_are_bm25s_lucene_scores_divided_by_the_questions_idf(k1: float, b: float, prefix: int) -> None:
    """The numpy postings table gives bm25s's own scores, at a fraction of its per-question cost."""
    ours = LexicalIndex(TEXTS, k1, b, prefix)
    reference = bm25s.BM25(method="lucene", k1=k1, b=b)
    reference.index([ours.terms(t) for t in TEXTS], show_progress=False)
    for question in QUESTIONS:
        query = list(dict.fromkeys(ours.terms(question)))
        known = [t for t in query if t in reference.vocab_dict]
        expected = reference.get_scores(known) / ours.weight(query) if known else np.zeros(len(TEXTS))
        assert np.allclose(ours.scores(question), expected, atol=1e-5), question


def test_word_forms_match_and_unknown_words_lower_the_score() -> None:
    index = LexicalIndex(TEXTS, prefix=5)
    best = int(np.argmax(index.scores("военных расходов")))
    assert "военные расходы" in TEXTS[best]
    known, with_unknown = index.scores("военные расходы").max(), index.scores("военные расходы бешбармак").max()
    assert 0 < with_unknown < known <= 1.0


def test_an_article_is_scored_as_the_sum_of_its_passages() -> None:
    index = LexicalIndex(TEXTS)
    halves = np.array([0] * (len(TEXTS) // 2) + [1] * (len(TEXTS) - len(TEXTS) // 2))
    grouped = index.grouped(halves)
    joined = LexicalIndex([" ".join(TEXTS[: len(TEXTS) // 2]), " ".join(TEXTS[len(TEXTS) // 2:])])
    for question in QUESTIONS:
        assert np.allclose(grouped.scores(question), joined.scores(question), atol=1e-5)
