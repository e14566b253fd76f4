"""Question analysis: what a question asks for (a person, a place, a date, a number, the noun «какой» qualifies)
and the names it is about, by natasha's NER for Russian, question words and capitals for English and Kazakh."""

from __future__ import annotations

import pytest

from rag.search.answer_type import DATE, NUMBER
from rag.search.question import ORGANISATION, PERSON, PLACE, analyse

WHO = {PERSON, ORGANISATION}


@pytest.mark.parametrize("text, kinds, thing, names", [
    ("Кто такой Нильс Бор?", WHO, None, ("Нильс Бор",)),
    ("Где выступал Токаев в конце декабря?", {PLACE}, None, ("Токаев",)),
    ("Откуда прибыли гугеноты?", {PLACE}, None, ()),
    ("Когда Казахстан вступил в ВТО?", {DATE}, None, ("Казахстан", "ВТО")),
    ("Когда начинается конфликт, что делает Казахстан?", set(), None, ("Казахстан",)),  # asks what, not when
    ("Сколько государств признали Казахстан?", {NUMBER}, None, ("Казахстан",)),
    ("Какое количество стран входит в ОДКБ?", {NUMBER}, "количество", ("ОДКБ",)),
    ("Какую премию получил Нильс Бор?", set(), "премию", ("Нильс Бор",)),
    ("Who founded the Huguenot Society of America?", WHO, None, ("Huguenot Society", "America")),
    ("When did Kazakhstan join the WTO?", {DATE}, None, ("Kazakhstan", "WTO")),
    ("How many countries recognise Kazakhstan?", {NUMBER}, None, ("Kazakhstan",)),
    ("Қазақстан қашан ДСҰ-ға кірді?", {DATE}, None, ("ДСҰ-ға",)),
    ("Қазақстан неше мемлекетпен қарым-қатынас орнатқан?", {NUMBER}, None, ()),
])
def test_what_a_question_asks_for_and_whom_it_names(text: str, kinds: set[str], thing: str | None,
                                                    names: tuple[str, ...]) -> None:
    asked = analyse(text)
    assert (asked.kinds, asked.thing, asked.names) == (kinds, thing, names)


def test_only_the_people_among_the_names_are_people() -> None:
    assert analyse("Где Касым-Жомарт Токаев выступил в Астане?").people == ("Касым-Жомарт Токаев",)
    assert analyse("Где находится Астана?").people == ()
    assert analyse("Who is Niels Bohr?").people == ()  # NER reads Russian only: a foreign name is no evidence


def test_opening_an_index_loads_the_name_finder(word_index) -> None:
    """NER (~0.9 s) is loaded when an index is opened, not by its first question naming someone: checked in a
    fresh process (in this one an earlier test has loaded it)."""
    import subprocess
    import sys

    code = ("import sys; from rag.search import question; from rag.search.live import open_index; "
            "open_index(sys.argv[1]); print(question._natasha.cache_info().currsize)")
    done = subprocess.run([sys.executable, "-c", code, str(word_index)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "1"
