"""What `rag-bench tune` builds its no-answer sets and reports from: the half-indexed XQuAD split, the confusion
counts, the passage-vector cache between runs, and the report sections another benchmark keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import xquad
from bench.evaluation import Confusion, Question
from bench.report import sections, write_section
from bench.tune import XQUAD_TUNING_ARTICLES, half_indexed, load_vectors, save_vectors


def test_half_indexed_keeps_every_other_article_and_makes_questions_about_the_rest_unanswerable() -> None:
    articles = [xquad.Article(f"t{n}", f"text {n}", [Question(f"q{n}", (f"a{n}",))], ["c"]) for n in range(26)]
    kept, tuning, held = half_indexed(articles)
    assert [a.title for a in kept] == [f"t{n}" for n in range(0, 26, 2)]
    assert [q.question for q in tuning] == [f"q{n}" for n in range(XQUAD_TUNING_ARTICLES)]
    assert [q.answerable for q in tuning] == [n % 2 == 0 for n in range(XQUAD_TUNING_ARTICLES)]
    assert len(held) == 26 - XQUAD_TUNING_ARTICLES and held[1] == Question("q13", (), "unanswerable")


def test_the_confusion_counts_each_question_once() -> None:
    answerable = [True, True, True, False, False]
    quote_hit = [True, False, False, False, False]
    declined = [False, False, True, True, False]
    assert Confusion.of(answerable, quote_hit, declined) == Confusion(1, 2, 1, 1)
    assert Confusion(1, 2, 1, 1).row("set") == "| set | 1 | 2 | 1 | 1 |"


def test_passage_vectors_kept_between_runs_come_back_for_the_same_model_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    encoded = {"один": (rng.random(4, dtype=np.float32), rng.random((2, 4), dtype=np.float32)),
               "два": (rng.random(4, dtype=np.float32), rng.random((3, 4), dtype=np.float32))}
    path = tmp_path / "vectors.npz"
    save_vectors(path, "m", encoded)
    back = load_vectors(path, "m")
    assert list(back) == ["один", "два"]
    for text, (vector, sentences) in encoded.items():
        assert np.array_equal(back[text][0], vector) and np.allclose(back[text][1], sentences, atol=1e-3)
    assert load_vectors(path, "other") == {} and load_vectors(tmp_path / "absent.npz", "m") == {}


def test_a_report_rewritten_whole_can_carry_the_other_benchmarks_sections(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nold numbers\n", encoding="utf-8")
    write_section(out, "answers", "## Answers\n\n| a | b |")
    write_section(out, "ray", "## Ray\n\ntext")
    write_section(out, "answers", "## Answers\n\n| c | d |")
    assert sections(out) == ["<!-- answers:start -->\n## Answers\n\n| c | d |\n<!-- answers:end -->",
                             "<!-- ray:start -->\n## Ray\n\ntext\n<!-- ray:end -->"]
    assert sections(tmp_path / "absent.md") == []
