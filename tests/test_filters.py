"""Filters by date and publisher: applied inside the index (words and vectors), set by a question naming a
period of the news, and refused in Russian when they make no sense."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rag
from rag.cli import cli
from rag.index.filters import Filter, admitted
from rag.models import navec
from rag.search.live import open_index
from rag.search.scope import period
from tests.conftest import ARTICLE
from tests.helpers import HERALD

QUESTION = "Во сколько обошлось строительство ветропарка у озера Лунного?"
TODAY = datetime.date(2026, 3, 15)


@pytest.fixture
def news(corpus: Path, tmp_path: Path) -> Path:
    """The first article (Северозёрская правда, 2026-03-04) and a one-passage article of another publisher and year,
    indexed with word vectors."""
    (corpus / "herald.md").write_text(HERALD, encoding="utf-8")
    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    return index


def test_a_filter_picks_the_best_among_the_admitted_not_what_is_left_of_the_best(news: Path) -> None:
    unfiltered = rag.retrieve(QUESTION, k=3, index=news)
    assert {p.source for p in unfiltered} == {ARTICLE}, "the first article's passages outrank the herald's"
    only = rag.retrieve(QUESTION, k=5, index=news, publisher="степной ВЕСТНИК")
    assert [p.source for p in only] == ["herald.md"] and only[0].publisher == "Степной вестник"
    dated = rag.retrieve(QUESTION, k=5, index=news, since="2025-01-01", until="2025-12-31")
    assert [p.source for p in dated] == ["herald.md"]
    assert rag.retrieve(QUESTION, k=3, index=news, since="2026-03-04") == unfiltered


def test_both_halves_of_the_index_search_only_the_admitted_passages(news: Path) -> None:
    retriever = open_index(news)
    manifest = retriever.stored.manifest
    where = Filter(publisher="Степной вестник")
    mask = admitted(manifest, where)
    herald = list(manifest.articles["herald.md"].ids)
    assert np.flatnonzero(mask).tolist() == herald
    query = retriever.query("музей в степи и дипломатия государства", where=where)
    assert set(retriever.words.search(query.terms, 100)[0].tolist()) > set(herald)
    ids, _ = retriever.words.search(query.terms, 100, where)
    assert ids.tolist() == herald
    ids, _ = retriever.stored.vectors.search(query.vector, 100, mask)
    assert ids.tolist() == herald
    none = Filter(since=datetime.date(2030, 1, 1))
    assert retriever.words.search(query.terms, 100, none)[0].size == 0
    assert retriever.stored.vectors.search(query.vector, 100, admitted(manifest, none))[0].size == 0


@pytest.mark.parametrize(("question", "expected"), [
    ("Что писали о визах в марте 2024 года?", ("2024-03-01", "2024-03-31", "за март 2024 года")),
    ("Какие новости были в прошлом месяце?", ("2026-02-01", "2026-02-28", "за прошлый месяц")),
    ("Какие статьи вышли в 2025 году о дипломатии?", ("2025-01-01", "2025-12-31", "за 2025 год")),
    ("Что сообщали за май 2025?", ("2025-05-01", "2025-05-31", "за май 2025 года")),
    ("Какие новости на этой неделе?", ("2026-03-09", "2026-03-15", "за эту неделю")),
    ("Сколько составили глобальные военные расходы в прошлом году?", None),  # the event's year, not the article's
    ("Что произошло в 1945 году?", None),
])
def test_a_question_about_the_news_that_names_a_period_sets_the_dates(question: str, expected) -> None:
    found = period(question, TODAY)
    assert (found and (found[0].isoformat(), found[1].isoformat(), found[2])) == expected


def test_the_answer_says_which_articles_it_searched(news: Path) -> None:
    reply = rag.answer("Что писали о дипломатических отношениях в феврале 2025 года?", index=news)
    assert reply.notice.startswith("Искали только в статьях за февраль 2025 года (с 2025-02-01 по 2025-02-28).")
    assert {p.source for p in reply.passages} == {"herald.md"}
    given = rag.answer(QUESTION, index=news, publisher="Северозёрская правда", since="2026-01-01")
    assert given.notice.startswith("Искали только в статьях с 2026-01-01, издания «Северозёрская правда».")
    empty = rag.answer(QUESTION, index=news, until="2000-01-01")
    assert empty.answer is None and empty.passages == [] and "не подходит ни одна статья" in empty.notice


@pytest.mark.parametrize(("kwargs", "russian"), [
    ({"since": "вчера"}, "«вчера» — не дата: укажите её как ГГГГ-ММ-ДД"),
    ({"until": "2025-02-30"}, "«2025-02-30» — не дата"),
    ({"since": "2025-05-01", "until": "2025-01-01"}, "начало периода (2025-05-01) позже его конца (2025-01-01)"),
    ({"publisher": "ТАСС"}, "в индексе нет статей издания «ТАСС» (издания: Северозёрская правда, Степной вестник)"),
])
def test_bad_filters_are_refused_with_a_russian_line(news: Path, kwargs: dict, russian: str) -> None:
    with pytest.raises(rag.RagError) as caught:
        rag.answer(QUESTION, index=news, **kwargs)
    assert caught.value.russian.startswith(russian)


def test_rag_ask_takes_the_filters(news: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--index", str(news), "--json", "--publisher", "Степной вестник"])
    assert result.exit_code == 0, result.output
    assert '"source": "herald.md"' in result.output and ARTICLE not in result.output
    bad = CliRunner().invoke(cli, ["ask", QUESTION, "--index", str(news), "--since", "03.02.2025"])
    assert bad.exit_code == 1 and "is not a date: use YYYY-MM-DD" in bad.output
