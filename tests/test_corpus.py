"""Reading a corpus folder: metadata from front matter, and odd files skipped with a reason, not fatal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.corpus import load_corpus, parse_article
from rag.errors import RagError
from tests.conftest import ARTICLE, SHARED

SEED = SHARED / "seeds" / "000_15e088e1b15391c7.txt"


def test_the_corpus_article_is_the_seed_with_metadata() -> None:
    article = parse_article(ARTICLE.name, ARTICLE.read_text(encoding="utf-8"))
    assert (article.date, article.publisher) == ("2026-03-04", "Zakon.kz")
    assert "Казахстан" in article.title
    if not SEED.exists():
        pytest.skip("../shared/seeds is not beside this checkout")
    seed = parse_article(SEED.name, SEED.read_text(encoding="utf-8"))
    assert seed.text == article.text and seed.date == article.date


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
