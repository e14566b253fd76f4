"""Adding articles to a corpus folder (validated, safely named, atomic) and listing the indexed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag
from rag.articles import MAX_ADD_BYTES, add_article, list_articles, save_article, slug
from rag.corpus import load_corpus
from rag.errors import RagError
from tests.conftest import ARTICLE

pytestmark = pytest.mark.usefixtures("word_model")  # any model does: navec builds in a second

BODY = "Столица Республики Кортания — город Велград. Его основали рыбаки в 1312 году на берегу залива."


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_pasted_article_is_saved_with_front_matter_and_read_back(corpus: Path) -> None:
    path = save_article(corpus, title="Столица Кортании: история", text=f"\n{BODY}\n", date="2026-05-01",
                       publisher="Вестник", url="https://example.org/a?b=1")
    assert path.parent == corpus and path.name == "stolitsa_kortanii_istoriya.md"
    article = next(a for a in load_corpus(corpus).articles if a.source == path.name)
    assert (article.title, article.text, article.date, article.publisher, article.url) == (
        "Столица Кортании: история", BODY, "2026-05-01", "Вестник", "https://example.org/a?b=1")
    assert not [p for p in corpus.iterdir() if p.name.startswith(".")], "temporary file left behind"


def test_publisher_given_as_source_still_works_for_one_release_and_warns(corpus: Path) -> None:
    """`source=` was the publisher's keyword until `publisher=` (a source is a file everywhere else)."""
    with pytest.warns(DeprecationWarning, match="give the publisher as publisher="):
        path = save_article(corpus, title="Велград", text=BODY, source="Вестник")
    assert next(a for a in load_corpus(corpus).articles if a.source == path.name).publisher == "Вестник"


def test_upload_keeps_its_front_matter_and_legacy_encoding_is_decoded(corpus: Path) -> None:
    data = f"---\ntitle: Из файла\ndate: 2025-01-02\n---\n{BODY}".encode("cp1251")
    path = save_article(corpus, title="", data=data, filename="Новость дня.TXT")
    assert path.name == "novost_dnya.txt"
    article = next(a for a in load_corpus(corpus).articles if a.source == path.name)
    assert (article.title, article.date, article.text) == ("Из файла", "2025-01-02", BODY)


def test_upload_without_title_is_named_after_its_file(corpus: Path) -> None:
    path = save_article(corpus, title=" ", data=BODY.encode(), filename="velgrad_news.md")
    assert next(a for a in load_corpus(corpus).articles if a.source == path.name).title == "velgrad news"


@pytest.mark.parametrize("filename", ["../../evil.md", "..\\..\\evil.md", "/etc/evil.md", ".hidden.md", "..md"])
def test_file_names_never_leave_the_corpus_folder_or_hide(corpus: Path, filename: str) -> None:
    path = save_article(corpus, title="Т", data=BODY.encode(), filename=filename)
    assert path.parent == corpus and not path.name.startswith(".")
    assert path.stem == slug(Path(filename.replace("\\", "/")).stem)
    assert not (corpus.parent / "evil.md").exists()


def test_same_name_gets_a_new_file_instead_of_replacing(corpus: Path) -> None:
    first = save_article(corpus, title="Велград", text=BODY)
    second = save_article(corpus, title="Велград", text=BODY + " Второй текст.")
    assert (first.name, second.name) == ("velgrad.md", "velgrad_2.md")
    assert BODY + " Второй" not in first.read_text(encoding="utf-8")


@pytest.mark.parametrize("kwargs, message, russian", [
    ({"data": b"text", "filename": "article.pdf"}, "only .txt, .md", "только .txt, .md"),
    ({"data": b"text", "filename": "article"}, "only .txt, .md", "только .txt, .md"),
    ({"data": b"\x00\x01binary", "filename": "a.txt"}, "cannot be read as text", "не читается как текст"),
    ({"data": b"x" * (MAX_ADD_BYTES + 1), "filename": "a.txt"}, "too large", "слишком большая"),
    ({"text": "   \n  "}, "empty article", "статья не принята"),
    ({"text": "---\ntitle: [broken\n---\nbody"}, "broken front matter", "статья не принята"),
    ({"text": BODY, "title": "  "}, "needs a title", "укажите заголовок"),
    ({"text": BODY, "data": b"x", "filename": "a.txt"}, "pass one of them", "не оба сразу"),
    ({}, "pass its text or a file", "вставьте текст статьи или загрузите файл"),
    ({"text": BODY, "date": "4 марта"}, "YYYY-MM-DD", "ГГГГ-ММ-ДД"),
    ({"text": BODY, "url": "javascript:alert(1)"}, "http://", "http://"),
])
def test_bad_article_is_refused_with_a_reason_and_nothing_is_written(corpus: Path, kwargs: dict, message: str,
                                                                     russian: str) -> None:
    """The reason in English (the command line's) with a Russian line for the chat."""
    before = files(corpus)
    with pytest.raises(RagError, match=message) as caught:
        save_article(corpus, **{"title": "Заголовок", **kwargs})
    assert russian in caught.value.russian
    assert files(corpus) == before


def test_duplicate_of_an_article_in_the_corpus_is_refused(corpus: Path, article: Path) -> None:
    with pytest.raises(RagError, match=ARTICLE):
        save_article(corpus, title="Копия", data=article.read_bytes(), filename="copy.md")


def test_added_article_is_indexed_incrementally_and_listed(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    rag.build_index(corpus, index)
    assert [a.source for a in list_articles(index)] == [ARTICLE]
    added = add_article(corpus, title="Столица Кортании", text=BODY, date="2026-05-01", index=index)
    path, report = added.path, added.report
    assert (report.added, report.unchanged) == ([path.name], [])  # the new article alone: nothing else read
    listed = {a.source: a for a in list_articles(index)}
    assert listed[path.name].title == "Столица Кортании" and listed[path.name].date == "2026-05-01"
    assert listed[path.name].passages == 1 and listed[ARTICLE].passages > 5
    with pytest.warns(DeprecationWarning, match=r"ArticleInfo\.chunks is deprecated and goes in 0\.2: use \.passages"):
        assert listed[path.name].chunks == 1  # the old name, until 0.2
    assert "Велград" in rag.answer("Как называется столица Кортании?", index=index).answer


def test_add_without_an_index_still_only_saves_for_one_release_and_warns(corpus: Path) -> None:
    """Until 0.2 `add_article` only saved; now it indexes what it adds, as replace and remove do."""
    with pytest.warns(DeprecationWarning, match="call save_article to only save"):
        path = add_article(corpus, title="Велград", text=BODY)
    assert path.parent == corpus and path.name in {a.source for a in load_corpus(corpus).articles}


def test_with_its_index_an_add_reads_only_the_files_changed_since(corpus: Path, word_index: Path,
                                                                    corpus_reads: list[int]) -> None:
    indexed = load_corpus(corpus).articles[0].text
    corpus_reads.clear()
    with pytest.raises(RagError, match=f"the corpus already holds this article: {ARTICLE}"):
        save_article(corpus, title="Копия", text=indexed, index=word_index)
    assert corpus_reads == []  # the indexed article was known by its size, time and text hash
    first = save_article(corpus, title="Велград", text=BODY, index=word_index)
    with pytest.raises(RagError, match=f"the corpus already holds this article: {first.name}"):
        save_article(corpus, title="Велград снова", text=BODY, index=word_index)
    assert corpus_reads == [first.stat().st_size]  # the new, not yet indexed file is read
