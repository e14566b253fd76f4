"""Odd questions get an answer or a clear notice: never an exception, never a quote that is not verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rag

ODD = {
    "empty": "",
    "spaces": "   \t  \n ",
    "punctuation": "?!…,.;:—«»()",
    "huge": "Казахстан и ООН " * 1250,  # 20 000 characters
    "control": "Сколько\x00 стран\x07 в ООН\x1b[31m?\x7f",
    "emoji": "🇰🇿🤝🌍 сколько стран? 😀",
    "latin": "How many countries does Kazakhstan have diplomatic relations with?",
    "kazakh": "Қазақстан неше мемлекетпен дипломатиялық қатынас орнатқан?",
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)> ООН",
    "markdown": "# Заголовок\n```\n|a|b|\n|---|---|\n> **[ссылка](javascript:alert(1))**",
    "only-stopwords": "и в на что это как",
}


def check(reply: rag.Answer, question: str) -> None:
    assert reply.question == question
    if reply.answer is None:
        assert reply.notice
    else:
        top = reply.passages[0]
        assert top.text[reply.quote_start - top.start:reply.quote_end - top.start] == reply.answer
    assert all(len(p.text) <= 1000 for p in reply.passages)


@pytest.mark.parametrize("name", ODD)
def test_odd_questions(seed_index: Path, name: str) -> None:
    reply = rag.answer(ODD[name], index=seed_index)
    check(reply, ODD[name])
    if name in ("empty", "spaces", "punctuation"):
        assert reply.passages == [] and "пуст" in reply.notice
    if name == "huge":  # cut, and what is left is asked: it names no fact the article holds
        assert reply.notice.startswith("Вопрос слишком длинный (19999 символов, можно до 1000): искали по первым ")
        assert reply.notice.endswith("В статьях нет ответа на этот вопрос.") == (reply.answer is None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.text(max_size=300) | st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюя ?.,\x00<>&*_#`", max_size=300))
def test_any_text_gets_a_reply(seed_index: Path, question: str) -> None:
    check(rag.answer(question, index=seed_index), question)
