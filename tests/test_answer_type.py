"""Expected answer types: "how many" wants a number, "when" a date; a passage without one does not answer."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag
from rag.search.answer_type import DATE, NUMBER, expected, held


@pytest.mark.parametrize("question, kind", [
    ("Сколько стран входит в ОДКБ?", NUMBER),
    ("Членом скольких организаций является Казахстан?", NUMBER),
    ("Какой объем товарооборота с Китаем?", NUMBER),
    ("В каком году Казахстан вступил в ВТО?", DATE),
    ("С какого года миротворцы участвуют в миссиях?", DATE),
    ("Когда Казахстан станет членом БРИКС?", DATE),
    ("Когда начинается конфликт, что делает Казахстан?", None),
    ("Что Казахстан делает, когда возникают конфликты?", None),
    ("Кто президент Казахстана?", None),
])
def test_what_a_question_asks_for(question: str, kind: str | None) -> None:
    assert expected(question) == kind


@pytest.mark.parametrize("sentence, kinds", [
    ("Казахстан имеет отношения со 186 государствами.", {NUMBER}),
    ("Принципы – их всего три, и все они важны.", {NUMBER}),
    ("Расходы составили рекордные 2,7 трлн долларов.", {NUMBER}),
    ("Шестикратный обладатель премии.", {NUMBER}),
    ("А в 2024 году ООН предоставил Казахстану право.", {DATE}),
    ("Акт о школах принят в 1996 г.", {DATE}),
    ("Выступление состоялось в конце декабря.", {DATE}),
    ("Музей работает ежедневно, кроме вторника.", {DATE}),
    ("С 1992 года по 15 марта прошло немало.", {DATE, NUMBER}),
    ("Казахстан против любого проявления хаоса.", set()),
])
def test_what_a_sentence_can_answer(sentence: str, kinds: set[str]) -> None:
    assert held(sentence) == kinds


def test_a_count_the_article_does_not_give_is_declined(seed_index: Path) -> None:
    # the Golan passage is found, but it dates the mission and counts no peacekeepers
    counted = rag.answer("Сколько казахстанских миротворцев служит на Голанских высотах?", index=seed_index)
    assert counted.answer is None and any("Голанских" in p.text for p in counted.passages)
    dated = rag.answer("С какого года ООН разрешает Казахстану размещать контингент на Голанских высотах?",
                       index=seed_index)
    assert dated.answer is not None and "2024 году" in dated.answer
