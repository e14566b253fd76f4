"""Questions about a whole article («О чём статья?») get its title, date and central sentences, verbatim with
their offsets and in article order, from the article the question or the conversation points to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import rag
from rag.cli import cli
from rag.models import navec
from rag.search.summary import asks_for_summary
from tests.conftest import ARTICLE
from tests.helpers import NEW_BODY


@pytest.mark.parametrize("question", ["О чём статья?", "О чем эта статья?", "Кратко перескажи",
                                      "Перескажи статью в двух словах", "Какие главные тезисы?",
                                      "Какие основные мысли статьи?", "What is the article about?"])
def test_questions_about_the_whole_article(question: str) -> None:
    assert asks_for_summary(question)


@pytest.mark.parametrize("question", ["Кто заявил о приоритетах внешней политики?",
                                      "О чём говорил Токаев в Токио?", "Какие главные организации включают Казахстан?"])
def test_questions_about_a_fact_are_not(question: str) -> None:
    assert not asks_for_summary(question)


@pytest.mark.parametrize("question", ["О чём эта статья?", "Кратко перескажи", "What is the article about?"])
def test_the_summary_is_the_lead_and_the_central_sentences_verbatim_in_order(seed_index: Path, seed_text: str,
                                                                             lead: str, question: str) -> None:
    reply = rag.answer(question, index=seed_index)
    summary = reply.summary
    assert summary.title.startswith("Внешняя политика Казахстана") and summary.date == "2026-03-04"
    assert 3 <= len(summary.sentences) <= 5 and summary.sentences[0].text == lead
    starts = [s.start for s in summary.sentences]
    assert starts == sorted(starts)
    for sentence in summary.sentences:
        assert seed_text[sentence.start:sentence.end] == sentence.text
        assert sentence.text.count('"') % 2 == 0 and not sentence.text.startswith(("На этом фоне", "Это"))
    assert reply.answer == " … ".join(s.text for s in summary.sentences)
    assert summary.chosen is None  # one article: nothing to choose


def test_with_several_articles_the_summary_says_which_and_why(corpus: Path, tmp_path: Path) -> None:
    (corpus / "velgrad.md").write_text(f"---\ntitle: Столица Кортании\ndate: 2026-05-01\n---\n{NEW_BODY} "
                                       "Велград славится рыбным рынком и старым маяком на мысе.\n", encoding="utf-8")
    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)  # which article is chosen does not depend on the model
    named = rag.answer("О чём статья про Велград?", index=index).summary
    assert named.title == "Столица Кортании" and "о которой вопрос" in named.chosen
    after = rag.answer("Кратко перескажи", index=index,
                       history=["Сколько стоил ветропарк у озера Лунного?"]).summary
    assert after.source == ARTICLE and "предыдущий вопрос" in after.chosen
    latest = rag.answer("О чём статья?", index=index)
    assert latest.summary.title == "Столица Кортании" and "самую свежую" in latest.notice


def test_the_command_line_shows_the_summary(seed_index: Path, lead: str) -> None:
    shown = CliRunner().invoke(cli, ["ask", "Какие главные тезисы?", "--index", str(seed_index)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("Кратко: Внешняя политика Казахстана")
    assert f"1. «{lead}» — символы 0–" in shown.output
    as_json = json.loads(CliRunner().invoke(cli, ["ask", "О чём статья?", "--json", "--index", str(seed_index)])
                         .output)
    assert as_json["summary"]["sentences"][0] == {"text": lead, "start": 0, "end": len(lead)}
