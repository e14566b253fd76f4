"""Asking about the first article: the answer quotes it word for word, or says it has no answer."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag
from rag.index import store
from tests.conftest import SEED_ARTICLE

ANSWERED = [
    ("Со сколькими государствами у Казахстана дипломатические отношения?", "186 государствами"),
    ("Сколько составили глобальные военные расходы в прошлом году?", "2,7 трлн долларов"),
    ("С какого года казахстанские миротворцы участвуют в миссиях ООН?", "начиная с 2014 года"),
    ("Членом скольких международных организаций является Казахстан?", "более 40 международных организаций"),
    ("Где выступал Токаев в конце декабря 2025 года?", "в Токио"),
    ("Где ООН разрешила Казахстану разместить контингент под своим флагом?", "на Голанских высотах"),
    ("В скольких странах казахстанцы могут бывать без визы?", "более 80-ти стран"),
]

UNANSWERED = [
    "Как приготовить бешбармак в домашних условиях?",
    "Кто выиграл чемпионат мира по футболу 2022 года?",
]


@pytest.mark.parametrize("question, words", ANSWERED, ids=["relations", "military", "peacekeepers", "organisations", "tokyo", "golan", "visa-free"])
def test_answers_quote_the_article(seed_index: Path, seed_text: str, question: str, words: str) -> None:
    reply = rag.answer(question, index=seed_index)
    assert reply.answer is not None and words in reply.answer
    top = reply.passages[0]
    assert seed_text[reply.quote_start:reply.quote_end] == reply.answer
    assert top.start <= reply.quote_start < reply.quote_end <= top.end


@pytest.mark.parametrize("question", UNANSWERED, ids=["cooking", "football"])
def test_no_answer_is_said_plainly(seed_index: Path, question: str) -> None:
    reply = rag.answer(question, index=seed_index)
    assert reply.answer is None
    assert reply.notice == "В статьях нет ответа на этот вопрос."


CROSS_LINGUAL = [
    ("With how many countries does Kazakhstan have diplomatic relations?", "186 государствами",
     "The quote is in Russian, the language of the article."),
    ("How many international organizations is Kazakhstan a permanent member of?", "более 40",
     "The quote is in Russian, the language of the article."),
    ("Қазақстан қанша мемлекетпен дипломатиялық қарым-қатынас орнатқан?", "186 государствами",
     "Дәйексөз мақаланың тілінде, орыс тілінде берілген."),
]


@pytest.mark.parametrize("question, words, notice", CROSS_LINGUAL, ids=["english", "english-count", "kazakh"])
def test_a_question_in_another_language_gets_the_russian_quote_and_is_told_so(
        seed_index: Path, seed_text: str, question: str, words: str, notice: str) -> None:
    reply = rag.answer(question, index=seed_index)
    assert reply.answer is not None and words in reply.answer
    assert seed_text[reply.quote_start:reply.quote_end] == reply.answer
    assert reply.notice == notice


def test_no_answer_is_said_in_the_language_of_the_question(seed_index: Path) -> None:
    reply = rag.answer("Who won the 2022 football World Cup?", index=seed_index)
    assert reply.answer is None and reply.notice == "The articles do not answer this question."


def test_passages_are_exact_slices_best_first(seed_index: Path, seed_text: str) -> None:
    passages = rag.retrieve("многовекторность внешней политики", k=5, index=seed_index)
    assert len(passages) == 5
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert seed_text[p.start:p.end] == p.text
        assert len(p.text) <= store.read_manifest(seed_index)[1].fitted.chunk_size
        assert p.source == SEED_ARTICLE and p.date == "2026-03-04" and p.publisher == "Zakon.kz"


def test_empty_and_overlong_questions_get_notices(seed_index: Path) -> None:
    empty = rag.answer("  ?!  ", index=seed_index)
    assert empty.answer is None and empty.passages == [] and "пуст" in empty.notice
    long = rag.answer("Сколько составили глобальные военные расходы? " * 500, index=seed_index)
    assert long.notice.startswith("Вопрос слишком длинный (22999 символов, можно до 1000): искали по первым 994, "
                                  "до слов «…расходы? Сколько составили глобальные».")
    assert long.answer is not None and "2,7 трлн" in long.answer


def test_the_loaded_index_is_cached(seed_index: Path) -> None:
    from rag.search.live import open_index

    assert open_index(seed_index) is open_index(seed_index)


def test_opening_an_index_pays_for_its_first_search(seed_article: Path, seed_index: Path, tmp_path: Path) -> None:
    """The first question of a process waits no longer than later ones (`Retriever.warm_up`): opening the index
    has already searched once, so the passages it found have their sentences analysed before any question."""
    from rag.search.live import open_index
    from tests.conftest import indexed_copy

    _, index = indexed_copy(seed_article, seed_index, tmp_path)
    retriever = open_index(index)
    passages = sum(n for (n,) in retriever.stored.manifest.articles.columns("passages"))
    assert len(retriever.sentence_cache) == passages, "a small index has every passage's sentences analysed"


def test_opening_an_archive_analyses_the_sentences_of_its_newest_articles(corpus: Path, monkeypatch) -> None:
    """An archive too big to analyse whole at opening has its latest news analysed: what people ask about."""
    from rag.models import navec
    from rag.search import retriever
    from rag.search.live import open_index

    rag.build_index(corpus, corpus.parent / "index", model=navec.NAME)
    (corpus / "001_latest.md").write_text("Новость дня. В Северозерске открыли второй ветропарк.\n", encoding="utf-8")
    rag.build_index(corpus, corpus.parent / "index")
    monkeypatch.setattr(retriever, "WARM_PASSAGES", 1)
    opened = open_index(corpus.parent / "index")
    assert [p.source for p in opened.sentence_cache._kept] == ["001_latest.md"]
    assert opened.article_terms.cache_info().currsize == 1, "its article's words were read at opening too"
    assert set(opened.words.terms("ветропарк")) <= opened.article_terms("001_latest.md")
    assert opened.article_terms.cache_info().hits == 1


@pytest.mark.parametrize("question", [
    "Сколько составили глобальные военные расходы в прошлом году?",  # the sentence opens Tokayev's quotation
    "К чему привело соперничество между ведущими державами?",  # this one closes it
    "Почему Совет Безопасности ООН не может решать крупные конфликты?",  # …closes it, then names him
], ids=["opens", "closes", "closes-then-names"])
def test_key_quotes_have_balanced_quotation_marks(seed_index: Path, seed_text: str, question: str) -> None:
    reply = rag.answer(question, index=seed_index)
    assert reply.answer is not None and seed_text[reply.quote_start:reply.quote_end] == reply.answer
    assert reply.answer.count('"') % 2 == 0, "a mark opened is closed (the quote may hold the whole quotation)"
    assert reply.answer == reply.answer.strip()


def test_a_quotation_mark_left_open_or_closed_by_the_sentence_is_trimmed() -> None:
    from rag.search.sentences import balanced

    def trimmed(text: str) -> str:
        return text[slice(*balanced(text, 0, len(text)))]

    assert trimmed('"Расходы выросли до 2,7 трлн.') == "Расходы выросли до 2,7 трлн."
    assert trimmed('Совет не решает конфликты".') == "Совет не решает конфликты"
    assert trimmed('Совет не решает конфликты". Касым-Жомарт Токаев') == "Совет не решает конфликты"
    assert trimmed("«Мир через созидание» имеет шансы.") == "«Мир через созидание» имеет шансы."
    assert trimmed('"Мир", – отмечал Токаев.') == '"Мир", – отмечал Токаев.'
    assert trimmed("Так называемой “игре мышцами” и провокациям.") == "Так называемой “игре мышцами” и провокациям."


def test_an_index_without_articles_says_there_is_nothing_to_ask_about_yet(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rag.build_index(corpus, tmp_path / "index")
    reply = rag.answer("Какая столица у Кортании?", index=tmp_path / "index")
    assert reply.answer is None and reply.passages == []
    assert reply.notice == "В индексе пока нет статей: спрашивать не о чем."
    assert rag.retrieve("Какая столица у Кортании?", index=tmp_path / "index") == []


def test_the_title_keeps_its_old_name_article_for_one_release_and_warns() -> None:
    """A passage's and a summary's title was `article` until 0.2: the attribute warns, the JSON has both keys."""
    passage = rag.Passage("Столица Кортании", "kortania.md", "Велград", 0, 7, 0.5)
    summary = rag.Summary("Столица Кортании", "kortania.md", None, None, None, [])
    for record in (passage, summary):
        with pytest.warns(DeprecationWarning, match=r"\.article is deprecated and goes in 0\.2: use \.title"):
            assert record.article == "Столица Кортании"
    reply = rag.Answer("?", "Велград", [passage], 0, 7, summary=summary).to_json()
    assert reply["passages"][0]["article"] == reply["passages"][0]["title"] == "Столица Кортании"
    assert reply["summary"]["article"] == reply["summary"]["title"] == "Столица Кортании"
