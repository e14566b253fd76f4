"""Follow-up questions: an elliptical one («а когда?») is completed from the questions before it, a
self-contained one is left alone, and the answer says how the question was understood."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import rag
from bench.followups import QUESTIONS, load
from rag.cli import cli
from rag.search import answer_type
from rag.search.followup import MAX_HISTORY, Resolved, is_elliptical, resolve
from tests.conftest import ROOT

FOLLOW_UPS = [f for f in load(ROOT / QUESTIONS) if f.corpus == "article"]
"""The evaluation set's follow-ups about the first article (`rag-bench followups --xquad` asks the others)."""


@pytest.mark.parametrize("question", ["А когда?", "а где именно?", "С кем?", "А сколько их всего?",
                                      "А кто это сказал?", "А в каком году?", "А как называется эта миссия?",
                                      "А с Китаем?", "А в 2024 году?"])
def test_a_question_without_a_subject_of_its_own_is_elliptical(question: str) -> None:
    assert is_elliptical(question)


@pytest.mark.parametrize("question", ["Когда Казахстан вступил в ВТО?", "А где выступал Токаев?",
                                      "А кто президент Казахстана?", "А что такое ОДКБ?", "What about Japan?",
                                      "Спасибо!"])
def test_a_question_with_its_own_subject_is_not(question: str) -> None:
    assert not is_elliptical(question)


def test_the_follow_up_takes_the_subject_of_the_last_question_and_keeps_its_own_question_word() -> None:
    history = ["Где ООН разрешила Казахстану разместить контингент под своим флагом?"]
    assert resolve("А когда?", history).text == "Когда ООН разрешила Казахстану разместить контингент под своим флагом?"
    again = resolve("А зачем?", [*history, "А когда?"])  # the chain: «а когда?» was about the contingent too
    assert again.completed and again.text.startswith("Зачем ООН разрешила Казахстану")
    assert resolve("Сколько стоит виза?", history) == resolve("Сколько стоит виза?")  # self-contained: unchanged
    assert not resolve("А когда?").completed  # nothing to refer to


@pytest.mark.parametrize("before, question, understood", [
    ("С каким количеством государств у Казахстана есть дипломатические отношения?", "А с какими организациями?",
     "С какими организациями у Казахстана дипломатические отношения?"),  # the issue's: its own question phrase
    ("Когда Казахстан подписал договор с Россией?", "А с Китаем?", "Когда Казахстан подписал договор с Китаем?"),
    ("Сколько лет было Пейтону Мэннингу, когда он играл в Суперкубке?", "А Джону Элвею?",
     "Сколько лет Джону Элвею когда играл в Суперкубке?"),  # a name for a name
    ("Какова была теория Нормана Кантора о чуме?", "А Твигга?", "Какова теория Твигга о чуме?"),
    ("Где выступал Токаев в конце декабря 2025 года?", "А что он там заявил?",
     "Что заявил Токаев в конце декабря 2025 года?"),  # its own verb
    ("Членом скольких международных организаций является Казахстан?", "А какие именно?",
     "Членом каких международных организаций является Казахстан?"),  # the old noun fills the gap, in its case
    ("Кто проиграл Бронкосу в дивизионном раунде?", "А в чемпионате АФК?", "Кто проиграл Бронкосу в чемпионате АФК?"),
])
def test_what_the_follow_up_brings_replaces_what_plays_its_part_and_the_old_question_fills_the_rest(
        before: str, question: str, understood: str) -> None:
    resolved = resolve(question, [before])
    assert (resolved.text, resolved.completed) == (understood, True)


def test_a_completed_question_says_the_words_the_follow_up_brought_itself_and_the_names_it_keeps() -> None:
    states = "С каким количеством государств у Казахстана есть дипломатические отношения?"
    assert resolve("А с какими организациями?", [states]) == Resolved(
        "С какими организациями у Казахстана дипломатические отношения?", True,
        own="С какими организациями?", focus="С какими организациями у Казахстана?")
    assert resolve("А Джону Элвею?", ["Сколько лет было Пейтону Мэннингу, когда он играл в Суперкубке?"]).focus == \
        "Джону Элвею в Суперкубке?"  # the name it brings replaces the old one
    only_asks = resolve("А когда?", ["Где выступал Токаев?"])  # brings a question word alone: nothing to weigh
    assert only_asks == Resolved("Когда выступал Токаев?", True)


def test_only_the_last_questions_of_a_long_history_are_read() -> None:
    history = ["Где выступал Токаев?"] + ["А почему?"] * MAX_HISTORY  # the first is out of reach
    assert not resolve("А когда?", history).completed
    assert resolve("А когда?", history[:MAX_HISTORY]).completed


def test_the_when_follow_up_of_the_issue_is_answered_with_the_date(seed_index: Path) -> None:
    before = "Кто заявил о приоритетах внешней политики?"
    alone = rag.answer("А когда это было?", index=seed_index)
    reply = rag.answer("А когда это было?", index=seed_index, history=[before])
    assert alone.understood is None and (alone.answer is None or "2025" not in alone.answer)
    assert reply.understood == "Когда заявил о приоритетах внешней политики?"
    assert answer_type.expected(reply.understood) == answer_type.DATE  # so the quote must hold a date
    assert reply.notice.startswith("Понял вопрос как: «Когда заявил о приоритетах внешней политики?».")
    assert "в конце декабря 2025 года" in reply.answer
    assert reply.to_json()["understood"] == reply.understood


def test_a_follow_up_with_an_object_of_its_own_is_answered_about_it_the_same_by_rag_ask_after(seed_index: Path) -> None:
    states = "С каким количеством государств у Казахстана есть дипломатические отношения?"
    reply = rag.answer("А с какими организациями?", k=5, index=seed_index, history=[states])
    assert reply.understood == "С какими организациями у Казахстана дипломатические отношения?"
    assert "ОБСЕ" in reply.answer and "186" not in reply.answer  # not the earlier question's sentence again
    assert "ОБСЕ" in reply.passages[0].text
    printed = CliRunner().invoke(cli, ["ask", "--json", "-k", "5", "--index", str(seed_index), "--after", states,
                                       "А с какими организациями?"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == reply.to_json()  # the chat and the API call rag.answer with the same history


def test_a_follow_up_whose_own_word_no_article_holds_is_not_declined_for_it(seed_index: Path) -> None:
    university = "В каком университете выступал Токаев в конце декабря 2025 года?"
    reply = rag.answer("А в каком городе?", index=seed_index, history=[university])  # «город»: in no article
    assert reply.answer is not None and "в Токио" in reply.answer


@pytest.mark.parametrize("follow_up", FOLLOW_UPS[::4], ids=lambda f: f.question)
def test_follow_ups_of_the_evaluation_set(seed_index: Path, follow_up) -> None:
    reply = rag.answer(follow_up.question, index=seed_index, history=list(follow_up.history))
    assert reply.answer is not None and follow_up.answer in reply.answer
    assert (reply.understood is not None) == (follow_up.kind == "elliptical")


@pytest.mark.parametrize("history", ["Где выступал Токаев?", [1, 2], None])
def test_a_history_that_is_not_a_list_of_questions_is_refused_in_russian(seed_index: Path, history) -> None:
    with pytest.raises(rag.RagError) as error:
        rag.answer("А когда?", index=seed_index, history=history)
    assert error.value.russian == "история должна быть списком предыдущих вопросов (строк)"
