"""How the fitted settings steer an answer: language, re-scoring by the closest sentence, quotes, thresholds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.evaluation import load_questions
from rag import language
from rag.index import store
from rag.models import shared_model
from rag.search.answer import respond
from rag.search.retriever import Retriever
from rag.search.summary import summarise
from tests.conftest import ROOT

QUESTIONS = [q.question for q in load_questions(ROOT / "corpus" / "eval" / "questions.jsonl")][:20]


@pytest.mark.parametrize("text, expected", [
    ("Со сколькими государствами у Казахстана отношения?", language.RU),
    ("With how many countries does Kazakhstan have relations?", language.EN),
    ("Қазақстан қанша мемлекетпен қарым-қатынас орнатқан?", language.KK),
    ("Ile krajów uznaje Kazachstan? 日本", language.EN),
    ("日本はどこですか", language.OTHER),
    ("2025?", language.RU),
    ("Что такое OPEC+?", language.RU),
    ("Что сказал Elon Musk о Tesla?", language.RU),
    ("Кто написал Liber servitoris?", language.RU),
    ("When did Казахстан join the UN?", language.EN),
    ("Tesla?", language.EN),
])
def test_the_language_of_a_question_is_told_by_the_letters_of_its_words_not_its_names(text: str, expected: str) -> None:
    assert language.detect(text) == expected


def test_sentences_are_split_within_lines_and_never_empty() -> None:
    from rag.search.sentences import sentence_spans

    text = "Заголовок без точки\n\n  \nПервое предложение. Второе!\r\nТретье"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Заголовок без точки", "Первое предложение.", "Второе!", "Третье"]


@pytest.fixture(scope="module")
def retriever(seed_index: Path) -> Retriever:
    stored = store.load(seed_index)
    return Retriever(stored, shared_model(stored.manifest.model))


def test_lexical_matches_count_only_for_questions_in_the_articles_language(retriever: Retriever) -> None:
    russian, english = retriever.query("военные расходы"), retriever.query("military spending 2,7")
    assert retriever.dense_weight(russian) == retriever.fitted.dense_weight < 1
    assert retriever.dense_weight(english) == 1.0
    assert retriever.no_answer_below(english) == retriever.fitted.no_answer_below_cross


def test_passages_are_reranked_by_their_closest_sentence_as_fitted(retriever: Retriever) -> None:
    n = retriever.stored.manifest.passages
    rescoring = retriever.with_fitted(replace(retriever.fitted, rerank_depth=n, rerank_weight=1.0))
    for question in QUESTIONS:
        query = rescoring.query(question)
        passages = rescoring.search(query, n)
        closest = [float(rescoring.similarities(query, p).max()) for p in passages]
        assert closest == sorted(closest, reverse=True)
        assert [p.score for p in passages] == pytest.approx(closest, abs=1e-4)
    fused_only = rescoring.with_fitted(replace(rescoring.fitted, rerank_weight=0.0))
    query = fused_only.query(QUESTIONS[0])
    _, fused = fused_only.candidates(query).best(fused_only.dense_weight(query), 3)
    assert [p.score for p in fused_only.search(query, 3)] == pytest.approx(fused, abs=1e-4)


def test_a_copy_with_other_settings_shares_the_index_and_its_sentences_and_leaves_the_original_alone(
        retriever: Retriever) -> None:
    base = retriever.fitted
    other = retriever.with_fitted(replace(base, rerank_depth=5, rerank_weight=0.9, quote_margin=0.3))
    assert (other.fitted.rerank_weight, retriever.fitted) == (0.9, base)
    assert other.stored is retriever.stored and other.sentence_cache is retriever.sentence_cache
    other.search(QUESTIONS[0], 5)
    assert len(retriever.sentence_cache) >= 5  # what the copy analysed, the original reads from the cache
    for changed in ({"chunk_size": base.chunk_size + 100}, {"chunk_overlap": base.chunk_overlap + 1},
                    {"prefix": base.prefix + 1}):
        with pytest.raises(ValueError, match=f"{next(iter(changed))} are the index's own"):
            retriever.with_fitted(replace(base, **changed))
    with pytest.raises(AttributeError):
        retriever.fitted = base  # settings change by a copy only


def test_a_quote_joins_its_neighbour_only_within_a_paragraph(retriever: Retriever) -> None:
    single_quotes = retriever.with_fitted(replace(retriever.fitted, quote_margin=0.0, quote_window=0.0, answer_types=False,
                                                  sentence_below=float("-inf"), no_answer_below=float("-inf"),
                                                  no_answer_rule=()))
    joined_quotes = single_quotes.with_fitted(replace(single_quotes.fitted, quote_margin=10.0))
    single = [respond(single_quotes, q) for q in QUESTIONS]
    joined = [respond(joined_quotes, q) for q in QUESTIONS]
    assert all(a.answer and "\n" not in a.answer for a in single + joined)
    assert all(s.answer in j.answer for s, j in zip(single, joined))
    # 8 of these 20 join: a best sentence holding every word of its question answers alone (4), others have no
    # neighbour in their paragraph
    assert sum(len(j.answer) > len(s.answer) for s, j in zip(single, joined)) >= len(QUESTIONS) // 3


def test_a_quote_by_windows_is_one_sentence_or_two_of_a_paragraph(retriever: Retriever) -> None:
    plain = replace(retriever.fitted, quote_margin=0.0, quote_window=0.0, answer_types=False, no_answer_rule=(),
                    sentence_below=float("-inf"), no_answer_below=float("-inf"))
    windowed = {single: retriever.with_fitted(replace(plain, quote_window=0.3, quote_single=single))
                for single in (10.0, -10.0)}
    best_sentence = [respond(retriever.with_fitted(plain), q).answer for q in QUESTIONS]
    # a lone sentence that outscores every window is the best sentence
    assert [respond(windowed[10.0], q).answer for q in QUESTIONS] == best_sentence
    pairs = [respond(windowed[-10.0], q).answer for q in QUESTIONS]
    assert all(p and "\n" not in p for p in pairs)
    # windows that outscore every lone sentence: two sentences, unless the best one answers alone or has no
    # neighbour in its paragraph (8 of these 20, as above)
    assert sum(len(p) > len(s) for p, s in zip(pairs, best_sentence)) >= len(QUESTIONS) // 3


def test_no_sentence_close_enough_means_no_answer(retriever: Retriever) -> None:
    strict = retriever.with_fitted(replace(retriever.fitted, no_answer_below=float("-inf"), sentence_below=1.01,
                                           no_answer_rule=()))
    assert all(respond(strict, q).answer is None for q in QUESTIONS)
    lenient = strict.with_fitted(replace(strict.fitted, sentence_below=float("-inf")))
    assert all(respond(lenient, q).answer is not None for q in QUESTIONS)


def test_the_no_answer_rule_weighs_a_russian_question_s_best_passage_and_leaves_other_languages_to_thresholds(
        retriever: Retriever) -> None:
    from rag.search.answer import evidence, read
    from rag.fitted import NO_ANSWER_FEATURES as FEATURES

    english = "With how many countries does Kazakhstan have diplomatic relations?"
    open_ = replace(retriever.fitted, no_answer_below=float("-inf"), sentence_below=float("-inf"),
                    no_answer_below_cross=float("-inf"), sentence_below_cross=float("-inf"), answer_types=False,
                    no_answer_bar=0.5)

    def ruled(*rule: float) -> Retriever:
        return retriever.with_fitted(replace(open_, no_answer_rule=rule))

    assert all(respond(ruled(), q).answer is not None for q in QUESTIONS + [english])
    query = retriever.query(QUESTIONS[0])
    top = ruled().search(query, 1)[0]
    features = evidence(ruled(), query, top, read(ruled(), query, top)).features
    assert len(features) == len(FEATURES) and features[3] == 0.0  # every word of the question is known
    assert features[4] == 1.0 and features[5] == 1.0  # the one article holds them and names what it asks about
    # a rule declining what scores under its passage-score bar: bias -bar, weight -1 on the passage score
    bar, rest = float(features[0]) + 1e-3, (0.0,) * (len(FEATURES) - 1)
    assert respond(ruled(bar, -1.0, *rest), QUESTIONS[0]).answer is None
    assert respond(ruled(-1.0, 0.0, *rest), QUESTIONS[0]).answer is not None
    declining = ruled(1.0, 0.0, *rest)  # declines every Russian question
    assert all(respond(declining, q).answer is None for q in QUESTIONS)
    assert respond(declining, english).answer is not None


class CountingSentences:
    """A real embedder (the index's model) that records how many sentences each call asks it to encode."""

    def __init__(self, model) -> None:
        self.model, self.name, self.dimension, self.calls = model, model.name, model.dimension, []

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.model.encode_queries(texts)

    def encode_passages(self, texts: list[str], progress=None) -> np.ndarray:
        return self.model.encode_passages(texts, progress)

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return self.model.encode_sentences(texts)


def test_answering_encodes_no_sentence_the_index_stored_them(seed_index: Path) -> None:
    stored = store.load(seed_index)
    counting = CountingSentences(shared_model(stored.manifest.model))
    retriever = Retriever(stored, counting)
    assert retriever.fitted.rerank_depth and retriever.fitted.rerank_weight, "re-scoring reads sentences too"
    replies = [respond(retriever, q) for q in QUESTIONS + ["What is the article about?"]]
    assert summarise(retriever, "О чём статья?", []).sentences
    assert counting.calls == [], "the sentences of re-scored, quoted and summarised passages come from the index"
    assert sum(r.answer is not None for r in replies) >= len(QUESTIONS) // 2


def test_candidates_are_scored_by_words_only_as_far_as_the_best_need(retriever: Retriever) -> None:
    from rag.search.candidates import gather

    vectors, words, skipped = retriever.stored.vectors, retriever.words, 0
    for question in QUESTIONS:
        query = retriever.query(question)
        weight = retriever.dense_weight(query)
        for pool, depth in [(3, 1), (4, 2), (5, 3)]:  # pools smaller than the article, so the bounds matter
            exact = gather(query, vectors, words, pool)
            pruned = gather(query, vectors, words, pool, (weight, depth))
            assert [a.tolist() for a in pruned.best(weight, depth)] == [a.tolist() for a in exact.best(weight, depth)]
            skipped += int((pruned.parts[1] != exact.parts[1]).sum())
    assert skipped > 0, "some word scores were left out"


def test_a_word_search_that_found_fewer_than_asked_found_every_passage_with_a_word(retriever: Retriever) -> None:
    from rag.search.candidates import gather

    vectors, words, n = retriever.stored.vectors, retriever.words, 100  # more than the article's passages
    asked: list[int] = []

    class Counting:  # the word index, counting the passages gather asks it to score
        search = staticmethod(words.search)

        @staticmethod
        def scores(terms: list[str], ids: np.ndarray) -> np.ndarray:
            asked.extend(ids)
            return words.scores(terms, ids)

    missed = 0
    for question in QUESTIONS:
        query = retriever.query(question)
        found, _ = words.search(query.terms, n)
        assert len(found) < n
        pooled = gather(query, vectors, Counting(), n)
        others = pooled.ids[~np.isin(pooled.ids, found)]
        assert not words.scores(query.terms, others).any()  # they score 0 by words, as gather assumes...
        missed += len(others)
    assert missed > 0 and asked == []  # ...so it never asked about them
