"""Answers that know what was asked: a decline says why, an answer says how sure, a borderline one is offered as
one, and the key quote is the sentence that answers, not its neighbour nor what the article says something is not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rag
from rag.cli import cli
from rag.fitted import NO_ANSWER_FEATURES, Fitted
from rag.index import store
from rag.models import navec, shared_model
from rag.search import no_answer
from rag.search.answer import SURE
from rag.search.retriever import Retriever
from ui import format

NIELS_BOHR = "Какой вклад Нильс Бор внёс во внешнюю политику Казахстана?"


def ask_json(index: Path, question: str) -> dict:
    result = CliRunner().invoke(cli, ["ask", "--index", str(index), "--json", question])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_question_about_someone_no_article_mentions_is_declined_with_that_reason(seed_index: Path) -> None:
    reply = ask_json(seed_index, NIELS_BOHR)
    assert reply["answer"] is None and reply["why"] == "no article mentions «Нильс Бор»"
    chat = format.reply(rag.answer(NIELS_BOHR, index=seed_index))
    assert "Причина: ни одна статья не упоминает «Нильс Бор»." in chat
    # a name in another case form is a mention: «о Токаеве» asks about «Токаев», whom the article names
    assert "no article mentions" not in ask_json(seed_index, "Что говорится в статье о Токаеве?").get("why", "")


def test_only_a_name_no_article_holds_a_word_of_is_declined_outright(seed_index: Path) -> None:
    """A name misspelt («Аарона Спелинга» for «Аарон Спеллинг») or taken too wide by the NER («Доктора Кто»)
    shares a word with the articles: declining it outright lost 10 answerable held-out XQuAD-ru questions."""
    words = store.load(seed_index).words
    assert no_answer.unheard_of(words, "Нильс Бор")
    assert not no_answer.unheard_of(words, "Нильс Токаев") and not no_answer.mentioned(words, "Нильс Токаев")
    assert no_answer.mentioned(words, "Токаевым")


def test_an_answer_says_how_sure_it_is_and_a_borderline_one_is_offered_as_possible(seed_index: Path) -> None:
    question = "С каким количеством государств у Казахстана есть дипломатические отношения?"
    reply = ask_json(seed_index, question)
    assert "186 государствами" in reply["answer"] and 0.5 <= reply["confidence"] <= 1.0 and "why" not in reply
    answer = rag.answer(question, index=seed_index)
    assert "Возможно:" not in format.reply(replace(answer, confidence=max(answer.confidence, SURE)))
    borderline = format.reply(replace(answer, confidence=SURE - 0.01))
    assert borderline.index("<b>Возможно:</b>") < borderline.index(format.escape(answer.answer))


def test_the_quote_says_what_the_policy_is_based_on_not_what_it_is_not(seed_index: Path) -> None:
    reply = rag.answer("What is Kazakhstan's foreign policy based on?", index=seed_index)
    assert reply.answer is not None and "популизм" not in reply.answer
    assert any(word in reply.answer for word in ("прагматизм", "многовекторность", "принцип"))


BRIDGE = """---
title: Мост через Ишим
date: 2026-05-01
---
В Астане открыли новый пешеходный мост через реку Ишим. Мост назвали в честь архитектора Ивана Петрова, который \
спроектировал городскую набережную. Длина моста составляет 420 метров, а ширина достигает двенадцати метров. \
Он стал самым длинным пешеходным мостом страны.
"""


def test_a_quote_takes_its_neighbour_only_when_it_cannot_stand_alone(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "bridge.md").write_text(BRIDGE, encoding="utf-8")
    rag.build_index(tmp_path / "corpus", tmp_path / "index")
    named = rag.answer("В честь кого назвали мост?", index=tmp_path / "index")
    assert named.answer == "Мост назвали в честь архитектора Ивана Петрова, который спроектировал городскую набережную."
    longest = rag.answer("Какой мост стал самым длинным пешеходным в стране?", index=tmp_path / "index")
    assert longest.answer is not None and longest.answer.startswith("Длина моста")  # «Он стал…» needs its subject


FORT = """---
title: Подкрепление для крепости
date: 2026-05-02
---
В мае подкрепление в крепость привёл полковник, ветеран двух кампаний, которого солдаты очень уважали. \
Его звали Андрей Волков. Крепость с тех пор ни разу не сдавалась, хотя осада длилась ещё полгода.
"""


def test_a_who_question_s_quote_takes_the_neighbour_that_names_someone(tmp_path: Path) -> None:
    """The sentence holding every word of the question names no one; the next one, of the same paragraph, does."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "fort.md").write_text(FORT, encoding="utf-8")
    rag.build_index(tmp_path / "corpus", tmp_path / "index")
    who = rag.answer("Кто был полковником, который привёл подкрепление в крепость?", index=tmp_path / "index")
    assert who.answer is not None and who.answer.endswith("Его звали Андрей Волков.")
    which = rag.answer("Какой полковник привёл подкрепление в крепость?", index=tmp_path / "index")
    assert which.answer == "В мае подкрепление в крепость привёл полковник, ветеран двух кампаний, которого солдаты очень уважали."


def test_a_question_s_rare_words_count_for_the_article_that_holds_them(corpus: Path, tmp_path: Path) -> None:
    """A question about an article that is not indexed lands on a neighbouring one, which lacks its rare words."""
    (corpus / "bridge.md").write_text(BRIDGE, encoding="utf-8")
    rag.build_index(corpus, tmp_path / "index", model=navec.NAME)
    stored = store.load(tmp_path / "index")
    retriever = Retriever(stored, shared_model(navec.NAME))
    bridge = next(source for source in stored.manifest.articles if "bridge" in source)
    other = next(source for source in stored.manifest.articles if source != bridge)
    terms = stored.words.terms("Какова длина пешеходного моста через Ишим, который назвали в честь квазара?")
    unknown, held = no_answer.word_shares(stored.words, terms, retriever.article_terms(bridge))
    assert held == 1.0 and 0.0 < unknown < 0.5  # «квазар» is in no article, the rest all in the bridge's
    assert no_answer.word_shares(stored.words, terms, retriever.article_terms(other))[1] < 0.5
    assert no_answer.word_shares(stored.words, [], retriever.article_terms(other)) == (0.0, 1.0)
    ids = np.array(stored.manifest.articles[bridge].ids)
    for term in set(stored.words.terms(BRIDGE + " квазар")):  # the article's terms are what its passages are found by
        assert (term in retriever.article_terms(bridge)) == bool((stored.words.scores([term], ids) > 0).any())


def test_a_no_answer_rule_over_other_signals_than_this_version_s_is_refused() -> None:
    rule = [0.0] * (len(NO_ANSWER_FEATURES) + 1)
    assert Fitted.from_json({"no_answer_rule": rule, "no_answer_signals": list(NO_ANSWER_FEATURES)}).no_answer_rule
    for signals in ([], ["passage score"] * len(NO_ANSWER_FEATURES)):  # recorded before the names, or others
        with pytest.raises(ValueError, match="no-answer rule"):
            Fitted.from_json({"no_answer_rule": rule, "no_answer_signals": signals})
