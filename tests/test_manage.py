"""Managing articles of an index: reading one whole, removing and replacing it (CLI and API), incrementally."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import rag
from rag.cli import cli
from rag.index import store
from rag.models import navec
from tests.conftest import ARTICLE

NEW = """---
title: Кортания
date: 2025-02-03
source: Степной вестник
---
Столица Республики Кортания — город Велград. Его основали рыбаки в 1312 году на берегу залива.
"""
MOVED = "Столица Кортании теперь — город Новоград: правительство переехало туда в 2024 году."


@pytest.fixture
def two(corpus: Path, word_index: Path) -> Path:
    """The word-vector index over the first article and a short one, `kortania.md`."""
    (corpus / "kortania.md").write_text(NEW, encoding="utf-8")
    rag.build_index(corpus, word_index)
    return word_index


def test_article_text_is_the_whole_article_its_passages_point_into(two: Path) -> None:
    whole = rag.article_text(ARTICLE, two)
    assert whole.current and whole.title.startswith("Ветропарк у озера Лунного")
    assert whole.publisher == "Северозёрская правда"
    passages = rag.retrieve("ветряки на берегу озера", k=5, index=two, publisher=whole.publisher)
    assert len(passages) == 5 and all(whole.text[p.start:p.end] == p.text for p in passages)


def test_article_text_of_an_edited_file_comes_from_the_index_with_its_offsets(corpus: Path, two: Path) -> None:
    (corpus / "kortania.md").write_text("Совсем другой текст, ещё не проиндексированный.", encoding="utf-8")
    shown = rag.article_text("kortania.md", two)
    assert not shown.current and shown.text.startswith("Столица Республики Кортания — город Велград.")


@pytest.mark.parametrize("source", ["../corpus/kortania.md", "/etc/passwd", "нет_такой.md", ""])
def test_only_indexed_articles_can_be_read_removed_or_replaced(corpus: Path, two: Path, source: str) -> None:
    for action in (lambda: rag.article_text(source, two), lambda: rag.remove_article(corpus, source, index=two),
                   lambda: rag.replace_article(corpus, source, index=two, text=MOVED)):
        with pytest.raises(rag.RagError) as caught:
            action()
        assert caught.value.russian == f"в индексе нет статьи «{source}»"
    assert sorted(p.name for p in corpus.iterdir()) == [ARTICLE, "kortania.md"]


def test_removing_an_article_deletes_its_file_and_only_its_passages(corpus: Path, two: Path) -> None:
    before = store.read_manifest(two)[1]
    report = rag.remove_article(corpus, "kortania.md", index=two)
    assert (report.removed, report.added, report.changed) == (["kortania.md"], [], [])
    after = store.read_manifest(two)[1]
    assert not (corpus / "kortania.md").exists() and list(after.articles) == [ARTICLE]
    assert after.articles[ARTICLE] == before.articles[ARTICLE], "the other article was re-indexed"
    assert "Велград" not in " ".join(p.text for p in rag.retrieve("столица Кортании", k=10, index=two))


def test_replacing_keeps_the_name_and_metadata_and_swaps_the_passages(corpus: Path, two: Path, article: Path) -> None:
    report = rag.replace_article(corpus, "kortania.md", index=two, text=MOVED)
    assert report.changed == ["kortania.md"] and report.added == []
    (info,) = [a for a in rag.list_articles(two) if a.source == "kortania.md"]
    assert (info.title, info.date, info.publisher) == ("Кортания", "2025-02-03", "Степной вестник")
    assert rag.article_text("kortania.md", two).text == MOVED
    found = " ".join(p.text for p in rag.retrieve("столица Кортании", k=10, index=two))
    assert "Новоград" in found and "Велград" not in found
    with pytest.raises(rag.RagError, match="is the same as the old"):
        rag.replace_article(corpus, "kortania.md", index=two, text=MOVED)
    with pytest.raises(rag.RagError, match="the corpus already holds this article"):
        rag.replace_article(corpus, "kortania.md", index=two, data=article.read_bytes(), filename="copy.md")


def test_a_replacement_file_with_its_own_front_matter_renames_the_article(corpus: Path, two: Path) -> None:
    data = f"---\ntitle: Новоград\n---\n{MOVED}".encode()
    rag.replace_article(corpus, "kortania.md", index=two, data=data, filename="new.md")
    (info,) = [a for a in rag.list_articles(two) if a.source == "kortania.md"]
    assert (info.title, info.date) == ("Новоград", "2025-02-03")


def test_rag_remove_and_replace_and_an_edited_file_reindexed(corpus: Path, two: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    new = tmp_path / "moved.txt"
    new.write_text(MOVED, encoding="utf-8")
    args = ["--corpus", str(corpus), "--index", str(two)]
    replaced = runner.invoke(cli, ["replace", "kortania.md", str(new), *args])
    assert replaced.exit_code == 0 and "0 new, 1 changed, 0 removed" in replaced.output
    (corpus / "kortania.md").write_text(NEW.replace("Велград", "Старград"), encoding="utf-8")  # edited by hand
    reindexed = runner.invoke(cli, ["index", *args])
    assert "0 new, 1 changed, 0 removed" in reindexed.output
    assert "Старград" in rag.article_text("kortania.md", two).text
    removed = runner.invoke(cli, ["remove", "kortania.md", *args])
    assert removed.exit_code == 0 and "0 new, 0 changed, 1 removed" in removed.output
    again = runner.invoke(cli, ["remove", "kortania.md", *args])
    assert again.exit_code == 1 and "the index holds no article 'kortania.md'" in again.output


def test_an_article_whose_folder_became_a_link_out_of_the_corpus_is_not_touched(corpus: Path, tmp_path: Path) -> None:
    (corpus / "desk").mkdir()
    (corpus / "desk" / "note.md").write_text(NEW, encoding="utf-8")
    index = tmp_path / "index"
    rag.build_index(corpus, index, model=navec.NAME)
    outside = tmp_path / "outside"
    (corpus / "desk").rename(outside)
    (corpus / "desk").symlink_to(outside)
    with pytest.raises(rag.RagError, match="lies outside the corpus folder"):
        rag.remove_article(corpus, "desk/note.md", index=index)
    assert (outside / "note.md").exists()
