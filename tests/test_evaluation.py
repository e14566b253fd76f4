"""Measured quality: the metrics on hand-made cases, the article's targets through `rag-bench eval`, XQuAD.

A question's answer is an exact piece of the article; a passage "hits" when it contains it, so every
number is reproducible. Targets the default model does not reach yet are strict xfails: the day they
pass, the marker has to go (see docs/benchmarks.md for the measurements).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rag
from rag.index import store
from bench import xquad
from bench.evaluation import (TARGETS, Outcome, Question, Report, evaluate, first_hit, hit_at, load_questions, mrr,
                              precision_recall)
from bench.tune import fit_threshold
from tests.conftest import ROOT, SEED, SHARED

QUESTIONS = ROOT / "corpus" / "eval" / "questions.jsonl"
XQUAD = SHARED / "data" / "xquad-ru-dev.json"
XQUAD_EN = SHARED / "data" / "xquad-en-dev.json"


# ---- the metrics -----------------------------------------------------------------------------------

def test_a_hit_is_the_first_passage_holding_an_answer_word_for_word() -> None:
    passages = ["Казахстан дружит со всеми.", "Отношения со 186 государствами мира.", "186 Государствами"]
    assert first_hit(passages, ["186 государствами"]) == 2
    assert first_hit(passages, ["187 государствами", "дружит"]) == 1  # any of the answers counts
    assert first_hit(passages, ["186 Государствами"]) == 3  # exact: case matters
    assert first_hit(passages, ["ООН"]) is None


def test_hit_at_k_and_mrr_over_first_hit_ranks() -> None:
    ranks = [1, 2, None, 5]
    assert [hit_at(ranks, k) for k in (1, 3, 5)] == [0.25, 0.5, 0.75]
    assert mrr(ranks) == pytest.approx((1 + 1 / 2 + 0 + 1 / 5) / 4)
    assert hit_at([], 1) == mrr([]) == 0.0


def test_declining_is_measured_by_precision_and_recall() -> None:
    declined, unanswerable = [True, True, False, False], [True, False, True, False]
    assert precision_recall(declined, unanswerable) == (0.5, 0.5)
    assert precision_recall([False, False], [True, False]) == (1.0, 0.0)  # nothing declined: nothing wrong


def test_a_report_checks_the_article_targets() -> None:
    plain, para, none = (Question("q", ("a",), "plain"), Question("q", ("a",), "paraphrase"),
                         Question("q", (), "unanswerable"))
    report = Report([Outcome(plain, 1, True, False), Outcome(plain, 1, False, False),
                     Outcome(para, 1, True, False), Outcome(para, 3, False, True), Outcome(para, None, False, True),
                     Outcome(none, None, False, True), Outcome(none, None, False, False)])
    assert report.retrieval("paraphrase") == pytest.approx(
        {"n": 3, "hit@1": 1 / 3, "hit@3": 2 / 3, "MRR": (1 + 1 / 3) / 3, "quote": 1 / 3})
    assert report.abstention() == {"precision": 1 / 3, "recall": 0.5, "wrongly declined": 2}
    assert report.missed_targets() == ["paraphrase hit@1: 0.333 < 0.90", "paraphrase hit@3: 0.667 < 0.90",
                                       "unanswerable declined: 0.500 < 0.80", "answerable questions declined: 2 > 1"]
    assert "MISSED" in report.format() and "paraphrase" in report.format()


def test_question_files_give_null_answers_only_to_unanswerable_questions(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "Где?", "answer": "в Токио", "kind": "paraphrase"}\n\n'
                    '{"question": "Кто?", "answer": null, "kind": "unanswerable"}\n', encoding="utf-8")
    assert load_questions(good) == [Question("Где?", ("в Токио",), "paraphrase"), Question("Кто?", (), "unanswerable")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Кто?", "answer": null, "kind": "plain"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_questions(bad)


# ---- the article's evaluation set ------------------------------------------------------------------

def test_the_evaluation_set_is_large_varied_and_quotes_the_article(seed_text: str) -> None:
    questions = load_questions(QUESTIONS)
    kinds = [q.kind for q in questions]
    assert len(questions) >= 60 and kinds.count("unanswerable") >= 10
    assert kinds.count("paraphrase") >= len(questions) / 3
    assert all(a in seed_text for q in questions for a in q.answers)


@pytest.fixture(scope="module")
def article_report(seed_index: Path) -> Report:
    return evaluate(QUESTIONS, index=seed_index)


def test_rag_bench_eval_prints_retrieval_quotes_and_abstention(seed_index: Path) -> None:
    from bench.cli import cli

    result = CliRunner().invoke(cli, ["eval", "--index", str(seed_index), "--questions", str(QUESTIONS)])
    assert result.exit_code == 0, result.output
    for words in ("plain", "paraphrase", "hit@1", "hit@3", "MRR", "quote", "unanswerable: 38", "targets:"):
        assert words in result.output


NOT_YET = "not reached with multilingual-e5-small yet; see docs/benchmarks.md"


@pytest.mark.parametrize("target", [
    "plain hit@1",
    pytest.param("paraphrase hit@1", marks=pytest.mark.xfail(strict=True, reason=NOT_YET)),
    "paraphrase hit@3",
    pytest.param("unanswerable declined", marks=pytest.mark.xfail(strict=True, reason=NOT_YET)),
])
def test_the_article_meets_its_target(article_report: Report, target: str) -> None:
    assert article_report.measured()[target] >= TARGETS[target]


def test_at_most_one_answerable_question_is_declined(article_report: Report) -> None:
    assert article_report.abstention()["wrongly declined"] <= 1


def test_the_article_does_not_slip_below_what_it_reaches_now(article_report: Report) -> None:
    """Where a target is still missed, today's level is the floor, so that a regression fails."""
    measured = article_report.measured()
    assert measured["paraphrase hit@1"] >= 0.83
    assert measured["unanswerable declined"] >= 0.6  # the no-answer rule declines 23 of 38 (thresholds alone: 0.41)


def test_the_no_answer_threshold_declines_at_most_one_answerable_tuning_question() -> None:
    answerable, unanswerable = np.array([0.1, 0.3, 0.5, 0.7]), np.array([0.05, 0.2, 0.25, 0.6])
    threshold = fit_threshold([answerable], unanswerable)
    assert 0.25 < threshold < 0.3  # just above the highest score it declines, below the second answerable
    assert (answerable < threshold).sum() == 1 and (unanswerable < threshold).sum() == 3


# ---- XQuAD: several articles as one corpus -------------------------------------------------------------

@pytest.mark.slow  # e5 over 3 articles; make test keeps the first article's targets, make bench all of XQuAD
@pytest.mark.skipif(not XQUAD.is_file(), reason=f"no XQuAD file at {XQUAD}")
def test_xquad_articles_become_a_corpus_whose_passages_hold_the_answers(tmp_path: Path) -> None:
    articles = xquad.load(XQUAD, articles=3)
    assert len(articles) == 3 and all("\n\n" in a.text for a in articles)
    corpus = xquad.write_corpus(articles, tmp_path / "corpus")
    rag.build_index(corpus, tmp_path / "index")
    questions = xquad.questions(articles)
    assert all(any(ans in a.text for ans in q.answers) for a in articles for q in a.questions)
    # each question keeps the paragraph it was asked about, and how many of its words that paragraph holds
    assert all(any(ans in c for ans in q.answers) and c in a.text for a in articles
               for q, c in zip(a.questions, a.contexts, strict=True))
    overlap = xquad.word_overlap(articles)
    assert len(overlap) == len(questions) and all(0 <= share <= 1 for share in overlap) and max(overlap) == 1
    ranks = [first_hit([p.text for p in rag.retrieve(q.question, k=5, index=tmp_path / "index")], q.answers)
             for q in questions]
    assert hit_at(ranks, 1) >= 0.9 and hit_at(ranks, 5) >= 0.97
    if XQUAD_EN.is_file():  # the same questions asked in English, over the Russian articles
        english = xquad.questions(xquad.load(XQUAD, articles=3, asked_in=XQUAD_EN))
        assert [q.answers for q in english] == [q.answers for q in questions] and english[0].question.isascii()
        ranks = [first_hit([p.text for p in rag.retrieve(q.question, k=5, index=tmp_path / "index")], q.answers)
                 for q in english]
        assert hit_at(ranks, 1) >= 0.75 and hit_at(ranks, 5) >= 0.95


@pytest.mark.slow  # tooling: make bench runs the workers on every set
@pytest.mark.skipif(not XQUAD.is_file(), reason=f"no XQuAD file at {XQUAD}")
def test_a_benchmark_worker_measures_quality_time_and_memory(tmp_path: Path) -> None:
    from bench.quality import run_worker

    articles = xquad.load(XQUAD, articles=2)
    corpus = xquad.write_corpus(articles, tmp_path / "corpus")
    questions = tmp_path / "questions.json"
    questions.write_text(json.dumps([q.__dict__ for q in xquad.questions(articles)[:20]]), encoding="utf-8")
    result = run_worker("bm25", corpus, questions)
    assert len(result["latencies"]) == len(result["ranks"]) == 20 and result["build_seconds"] > 0
    assert hit_at(result["ranks"], 5) >= 0.9
    assert result["memory_mib"] is None or result["memory_mib"] >= 0


def test_the_benchmark_times_the_first_question_after_opening_an_index(word_index: Path, tmp_path: Path) -> None:
    """`bench.quality --fresh`'s measure: opening, the first question, the median of the next ones, and the first asked again."""
    from bench.quality import FRESH_QUESTIONS, first_question

    questions = tmp_path / "questions.json"
    questions.write_text(json.dumps([q.__dict__ for q in load_questions(QUESTIONS)][:FRESH_QUESTIONS + 5]),
                         encoding="utf-8")
    measured = first_question(word_index, questions)
    assert set(measured) == {"open_seconds", "first_ms", "warm_ms", "again_ms"} and min(measured.values()) > 0


def test_rag_bench_tune_fits_a_model_and_records_what_new_indexes_take(tmp_path: Path, monkeypatch, seed_corpus: Path) -> None:
    """On the article's questions alone (XQuAD left out to stay quick): every setting fitted, then recorded."""
    from bench.cli import cli
    from rag import fitted
    from rag.models import navec

    monkeypatch.setattr(fitted, "FILE", tmp_path / "fitted.json")
    result = CliRunner().invoke(cli, ["tune", "--model", navec.NAME, "--xquad", str(tmp_path / "none.json"),
                                      "--questions", str(QUESTIONS), "--seed", str(SEED), "--write"])
    assert result.exit_code == 0, result.output
    assert "held out:" in result.output and f"recorded in {tmp_path / 'fitted.json'}" in result.output
    values = fitted.for_model(navec.NAME)
    assert fitted.is_fitted(navec.NAME) and values.no_answer_below > 0 and values.sentence_below > 0
    rag.build_index(seed_corpus, tmp_path / "index", model=navec.NAME)
    assert store.read_manifest(tmp_path / "index")[1].fitted == values


@pytest.mark.parametrize("args, says", [
    (["quality"], "the article set needs it"),
    (["load"], "give its path with --seed FILE"),
    (["tune", "--model", "navec-news-v1-static", "--xquad", "/nonexistent/xquad.json"], "nothing to tune on"),
], ids=["quality", "load", "tune"])
def test_the_benchmarks_say_in_a_line_that_the_seed_article_is_absent(tmp_path: Path, args: list[str],
                                                                       says: str) -> None:
    from bench.cli import cli

    result = CliRunner().invoke(cli, [*args, "--seed", str(tmp_path / "none.txt")])
    assert result.exit_code == 1 and f"no seed article at {tmp_path / 'none.txt'}" in result.output
    assert says in result.output and "Traceback" not in result.output
