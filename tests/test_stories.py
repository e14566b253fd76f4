"""One story, many outlets, and dates that matter: a story republished by another outlet (new headline, an added
paragraph) is grouped with it and answered once, with the other copies named; a question asking for the latest
gets the newer article first, with its date. Articles of our own making, indexed with navec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.index import store
from rag.models import navec
from rag.search.retriever import Copy
from tests.helpers import run
from ui import format as chat

BUDGET = ("Правительство Кортании утвердило проект государственного бюджета на 2026 год. Расходы на образование "
          "вырастут на 12 процентов, на здравоохранение — на 8 процентов. Министр финансов Ирина Велес заявила, "
          "что дефицит бюджета составит 2,1 процента валового продукта. Парламент рассмотрит документ в апреле, "
          "после чего его подпишет президент.")
ADDED = "Оппозиционная партия «Зелёный союз» назвала бюджет нереалистичным и потребовала отставки министра финансов."
ARTICLES = {
    "vestnik_budget.md": ("Кабинет утвердил бюджет", "2026-03-01", "Вестник", "https://vestnik.example/budget", BUDGET),
    "kurier_budget.md": ("Кортания получит новый бюджет", "2026-03-02", "Курьер", "https://kurier.example/b",
                         f"{BUDGET}\n\n{ADDED}"),
    "protests.md": ("Протесты против бюджета", "2026-03-05", "Вестник", None,
                    "В столице Кортании Велграде прошли протесты против проекта бюджета на 2026 год. Тысячи людей "
                    "вышли на улицы и требовали повысить пенсии и зарплаты учителей. Полиция сообщила о задержании "
                    "сорока человек, организаторы обещают новые акции в апреле."),
    "rate_march.md": ("Курс лиры", "2026-03-01", "Вестник", None,
                      "Национальный банк Кортании установил официальный курс лиры: 90 рублей за одну лиру. Эксперты "
                      "связывают укрепление валюты с ростом экспорта зерна."),
    "rate_may.md": ("Лира подешевела", "2026-05-04", "Курьер", None,
                    "Официальный курс кортанской лиры, по данным Национального банка, опустился до 95 рублей. "
                    "Аналитики объясняют ослабление падением цен на нефть и выплатами по внешнему долгу."),
    "football.md": ("Футбол", "2026-03-03", "Спорт", None,
                    "Сборная Кортании по футболу обыграла команду Соседии со счётом 2:1 в отборочном матче "
                    "чемпионата мира. Оба мяча забил нападающий Марк Дорн."),
}


def write(folder: Path, names=ARTICLES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        title, date, publisher, url, text = ARTICLES[name]
        meta = f"title: {title}\ndate: {date}\npublisher: {publisher}\n" + (f"url: {url}\n" if url else "")
        (folder / name).write_text(f"---\n{meta}---\n{text}\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("stories")
    index = work / "index"
    rag.build_index(write(work / "corpus"), index, model=navec.NAME)
    return index


def stories(index: Path) -> dict[str, str]:
    return {source: entry.story for source, entry in store.read_manifest(index)[1].articles.items()}


def test_a_republished_story_is_grouped_and_another_story_on_its_topic_is_not(index: Path) -> None:
    told = stories(index)
    assert told["vestnik_budget.md"] == told["kurier_budget.md"]
    assert len({told[s] for s in ARTICLES if s != "kurier_budget.md"}) == len(ARTICLES) - 1


def test_a_story_is_answered_once_and_names_its_other_copies_both_ways(index: Path) -> None:
    found = rag.retrieve("Какой дефицит бюджета Кортании назвала министр финансов?", k=3, index=index)
    copies = [p for p in found if p.source in ("vestnik_budget.md", "kurier_budget.md")]
    assert len(copies) == 1 and found[0] is copies[0], [p.source for p in found]
    for publisher, other in (("Вестник", "kurier_budget.md"), ("Курьер", "vestnik_budget.md")):
        top = rag.retrieve("Какой дефицит бюджета?", k=1, index=index, publisher=publisher)[0]
        title, date, publisher_, url, _ = ARTICLES[other]
        assert top.same_story == (Copy(title, other, date, publisher_, url),)
    assert all(p.same_story == () for p in found if p not in copies)


def test_the_republished_copys_own_paragraph_is_answerable(index: Path) -> None:
    reply = rag.answer("Чего потребовала оппозиционная партия «Зелёный союз»?", index=index)
    assert reply.passages[0].source == "kurier_budget.md"
    assert reply.answer is not None and "отставки министра" in reply.answer


def test_ask_json_and_the_chat_name_the_other_outlets(index: Path) -> None:
    result = run("ask", "--json", "--index", str(index), "-k", "3", "Чего потребовала оппозиция Кортании?")
    assert result.returncode == 0, result.stderr
    passages = json.loads(result.stdout)["passages"]
    assert passages[0]["same_story"] == [{"title": "Кабинет утвердил бюджет", "source": "vestnik_budget.md",
                                          "date": "2026-03-01", "publisher": "Вестник",
                                          "url": "https://vestnik.example/budget"}]
    assert all(p["same_story"] == [] for p in passages[1:])
    shown = chat.reply(rag.answer("Чего потребовала оппозиция Кортании?", index=index))
    assert "также: <a href=\"https://vestnik.example/budget\"" in shown and "1 марта 2026" in shown


def test_a_question_for_the_latest_gets_the_newer_article_first_with_its_date(index: Path) -> None:
    question = "Какой сейчас официальный курс лиры Кортании?"
    plain = rag.answer("Какой официальный курс лиры установил Национальный банк Кортании?", index=index)
    assert plain.passages[0].source == "rate_march.md"  # without "сейчас", the closer wording wins
    latest = rag.answer(question, index=index)
    assert latest.passages[0].source == "rate_may.md"
    assert "95 рублей" in latest.answer and "2026-05-04" in latest.notice
    assert "4 мая 2026" in chat.reply(latest)


def test_removing_one_copy_leaves_the_other_alone_in_its_story(index: Path, tmp_path: Path) -> None:
    corpus = write(tmp_path / "corpus", ["vestnik_budget.md", "kurier_budget.md", "football.md"])
    own = tmp_path / "index"
    rag.build_index(corpus, own, model=navec.NAME)
    assert rag.retrieve("Чего потребовала оппозиция?", k=1, index=own)[0].same_story
    rag.remove_article(corpus, "vestnik_budget.md", index=own)
    top = rag.retrieve("Чего потребовала оппозиция?", k=1, index=own)[0]
    assert top.source == "kurier_budget.md" and top.same_story == ()
    write(corpus, ["vestnik_budget.md"])  # the other outlet's copy back: found by the index, not re-read
    rag.build_index(corpus, own, only=["vestnik_budget.md"])
    assert stories(own)["vestnik_budget.md"] == stories(own)["kurier_budget.md"]


def test_a_story_is_every_copy_linked_by_shared_keys_whatever_the_order_they_came_in() -> None:
    from rag.index.stories import groups

    keys = {"a.md": [1, 2], "b.md": [2, 3], "c.md": [3, 4], "d.md": [9], "e.md": []}  # a~b~c: one story
    def grouped(order: list[str]) -> dict:
        return groups(order, [np.array(keys[s], dtype=np.uint64) for s in order])

    expected = {s: ("a.md", "b.md", "c.md") for s in ("a.md", "b.md", "c.md")}
    assert grouped(["a.md", "b.md", "c.md", "d.md", "e.md"]) == expected
    assert grouped(["e.md", "c.md", "d.md", "a.md", "b.md"]) == expected  # c came before the copy linking it to a


def test_stories_are_those_of_a_plain_pairwise_reference_on_random_archives() -> None:
    """`groups` sorts the keys once and looks only at those held twice; the reference compares every pair."""
    import random

    from rag.index.stories import encode, groups, stored_groups

    def reference(sources: list[str], keys: list[set[int]]) -> dict[str, tuple[str, ...]]:
        story = {s: {s} for s in sources}
        for i, j in ((i, j) for i in range(len(sources)) for j in range(i) if keys[i] & keys[j]):
            joined = story[sources[i]] | story[sources[j]]
            for s in joined:
                story[s] = joined
        return {s: tuple(sorted(g)) for s, g in story.items() if len(g) > 1}

    rng = random.Random(7)
    for _ in range(300):
        sources = [f"{n:02d}.md" for n in range(rng.randint(0, 25))]
        keys = [{rng.randint(0, 40) for _ in range(rng.randint(0, 3))} for _ in sources]
        arrays = [np.array(sorted(k), dtype=np.uint64) for k in keys]
        assert groups(sources, arrays) == reference(sources, keys)
        assert stored_groups(sources, [encode(k) if len(k) else None for k in arrays]) == reference(sources, keys)
