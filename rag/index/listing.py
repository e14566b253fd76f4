"""The indexed articles as readers see them: listed, looked up by name, and read whole, from the live version
(`rag.index.live`) that answers questions. `rag.articles`, which edits the corpus, and the chat use them.

    [a.title for a in list_articles("index")]
    article_text(source, "index").text       # what the passages' offsets point into
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.corpus import decode, parse_article, text_hash
from rag.deprecated import renamed
from rag.errors import RagError
from rag.index.live import open_stored
from rag.index.manifest import ArticleEntry, Manifest


@dataclass(frozen=True)
class ArticleInfo:
    """An indexed article as the live index lists it: where it is, its title, date, publisher and passages."""

    source: str
    title: str
    date: str | None
    publisher: str | None
    url: str | None
    passages: int
    chunks = renamed("chunks", "passages")


def list_articles(index: str | Path) -> list[ArticleInfo]:
    """The articles of the index version now answering questions, in corpus order (by file name)."""
    manifest = open_stored(index).manifest
    return sorted((ArticleInfo(source, a.title, a.date, a.publisher, a.url, a.passages)
                   for source, a in manifest.articles.items()), key=lambda a: a.source)


def indexed(manifest: Manifest, source: str) -> ArticleEntry:
    """The entry of an article the manifest lists; RagError (in Russian too) for any other name."""
    entry = manifest.articles.get(source) if isinstance(source, str) else None
    if entry is None:
        shown = str(source)[:200]
        raise RagError(f"the index holds no article {shown!r}", russian=f"в индексе нет статьи «{shown}»")
    return entry


def corpus_file(corpus: Path, source: str) -> Path:
    """The file of an indexed article in `corpus`; never a path outside it."""
    path = corpus / source
    if not path.resolve().is_relative_to(corpus.resolve()):
        raise RagError(f"{source!r} lies outside the corpus folder", russian=f"«{source}» — не статья корпуса")
    return path


@dataclass(frozen=True)
class ArticleText:
    """An indexed article whole, as passages' offsets refer to it: `text[p.start:p.end] == p.text`."""

    source: str
    title: str
    date: str | None
    publisher: str | None
    url: str | None
    text: str
    current: bool
    """False when the corpus file changed since it was indexed: the text is then put together from the
    indexed passages (offsets still right, the blank between passages shown as spaces)."""


def article_text(source: str, index: str | Path) -> ArticleText:
    """The whole text of the indexed article `source`, for showing a quote in its context (RagError for any
    name the live index does not list). Read from the corpus file when it still holds the indexed text,
    else rebuilt from the index's own passages."""
    stored = open_stored(index)
    entry = indexed(stored.manifest, source)
    text = _corpus_text(Path(stored.manifest.corpus), source, entry.text_hash)
    current = text is not None
    if text is None:
        passages = sorted(stored.words.passages(list(entry.ids)).values(), key=lambda p: p.start)
        chars = [" "] * max((p.end for p in passages), default=0)
        for p in passages:
            chars[p.start:p.end] = p.text
        text = "".join(chars)
    return ArticleText(source, entry.title, entry.date, entry.publisher, entry.url, text, current)


def _corpus_text(corpus: Path, source: str, digest: str) -> str | None:
    """The article's text from its corpus file when it is still the one indexed (`digest`), else None."""
    try:
        path = corpus_file(corpus, source)
        article = parse_article(source, decode(path.read_bytes())[0])
    except (OSError, ValueError, RagError):
        return None
    return article.text if text_hash(article.text) == digest else None
