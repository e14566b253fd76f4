"""Reading a corpus folder: metadata from front matter (or the news archive's date line), and odd files
skipped with a reason, not fatal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rag
from bench import seed
from rag.corpus import Skipped, load_corpus, parse_article
from rag.errors import RagError
from rag.models import navec
from tests.conftest import SEED, SEED_ARTICLE

pytestmark = pytest.mark.usefixtures("word_model")  # any model does: navec builds in a second


def test_the_seed_is_dated_by_its_first_words_and_added_with_its_title_and_publisher(seed_article: Path) -> None:
    assert (SEED.name, SEED_ARTICLE, seed_article.name) == (seed.PATH.name, seed.NAME, seed.NAME)  # conftest's copies
    archived = parse_article(SEED.name, SEED.read_text(encoding="utf-8"))
    assert archived.date == "2026-03-04" and archived.text.startswith("В условиях текущих геополитических реалий")
    added = parse_article(seed_article.name, seed_article.read_text(encoding="utf-8"))
    assert (added.title, added.date, added.publisher) == (seed.TITLE, "2026-03-04", "Zakon.kz")
    assert added.text == archived.text


@pytest.mark.parametrize("raw, date, text", [
    (" date 2026-03-04 Первый абзац.\n\nВторой абзац.\n", "2026-03-04", "Первый абзац.\n\nВторой абзац."),
    ("\n\tdate 2025-12-31\nТекст статьи.", "2025-12-31", "Текст статьи."),
    ("---\ntitle: Заголовок\n---\ndate 2025-12-31 Текст статьи.", "2025-12-31", "Текст статьи."),
    ("date 2026-13-45 Текст статьи.", None, "date 2026-13-45 Текст статьи."),  # no such day: it is text
    ("date 2026-03-04T10:00 Текст.", None, "date 2026-03-04T10:00 Текст."),
    ("Текст. date 2026-03-04 Ещё текст.", None, "Текст. date 2026-03-04 Ещё текст."),
    ("---\ndate: 2024-01-02\n---\ndate 2026-03-04 Текст.", "2024-01-02", "date 2026-03-04 Текст."),
], ids=["archive", "own-line", "with-a-title", "no-such-day", "date-time", "mid-text", "front-matter-dated"])
def test_the_news_archive_date_line_is_the_date_and_not_the_text(raw: str, date: str | None, text: str) -> None:
    article = parse_article("archive.txt", raw)
    assert (article.date, article.text) == (date, text)


def test_an_archive_article_is_indexed_quoted_and_shown_without_its_date_line(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    body = "Музей угля открылся в Караганде.\n\nБилет в музей угля стоит 500 тенге."
    (corpus / "archive.txt").write_text(f" date 2025-11-02 {body}\n", encoding="utf-8")
    rag.build_index(corpus, index, model=navec.NAME)
    assert [(a.source, a.date) for a in rag.list_articles(index)] == [("archive.txt", "2025-11-02")]
    whole = rag.article_text("archive.txt", index)  # what the chat's article view shows
    assert whole.current and whole.text == body
    passages = rag.retrieve("Сколько стоит билет в музей угля?", index=index)
    assert passages and all(whole.text[p.start:p.end] == p.text for p in passages)
    (corpus / "copy.md").write_text(f"---\ndate: 2025-11-02\n---\n{body}\n", encoding="utf-8")
    assert rag.build_index(corpus, index).skipped == [Skipped("copy.md", "duplicate of archive.txt")]


def test_title_falls_back_to_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "my_article.txt").write_text("Просто текст.", encoding="utf-8")
    (article,) = load_corpus(tmp_path).articles
    assert article.title == "my article" and article.text == "Просто текст."


def test_odd_files_are_skipped_and_named(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("---\ntitle: Хорошая\nurl: https://example.org/a\n---\nТекст статьи.\n")
    (tmp_path / "cp1251.txt").write_bytes("Статья в старой кодировке о внешней политике страны.".encode("cp1251"))
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (tmp_path / "zz_copy.md").write_text("Текст статьи.\n")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nТекст\n")
    (tmp_path / "big.txt").write_bytes(b"a" * (6 * 1024 * 1024))
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("секрет")
    os.symlink(outside, tmp_path / "link.txt")
    (tmp_path / "notes.json").write_text("{}")
    (tmp_path / ".hidden.md").write_text("скрыто")

    scan = load_corpus(tmp_path)
    assert [a.source for a in scan.articles] == ["cp1251.txt", "good.md"]
    good = scan.articles[1]
    assert (good.title, good.url, good.text) == ("Хорошая", "https://example.org/a", "Текст статьи.")
    reasons = {s.source: s.reason for s in scan.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "zz_copy.md", "broken.md", "big.txt", "link.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert reasons["zz_copy.md"] == "duplicate of good.md"
    assert "front matter" in reasons["broken.md"]
    assert "too large" in reasons["big.txt"]
    assert "outside" in reasons["link.txt"]
    assert [n.source for n in scan.notes] == ["cp1251.txt"]
    assert scan.articles[0].text.startswith("Статья в старой кодировке")


def test_a_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="does not exist"):
        load_corpus(tmp_path / "nope")
