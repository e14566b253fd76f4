"""A web page into the corpus: fetched by link (`add_url`) or read from a saved file (`add_html`), its article
extracted and saved through `rag.save_article`, so checks, duplicates and limits are a pasted article's.

The same article under its canonical link (after redirects, normalised by courlan) is not added twice: when
the index already holds that link, the article is rewritten if its text changed and refused if it did not.

    rag.add_url("https://example.org/news/1", corpus="corpus", index="index").path
"""

from __future__ import annotations

import datetime
from pathlib import Path

import yaml

from rag.articles import Added, index_article, rewrite_article, save_article
from rag.errors import RagError
from rag.index import store
from rag.ingest.extract import Extracted, article, canonical
from rag.ingest.fetch import MAX_PAGE_BYTES, decode_html, fetch

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
"""Saved pages: `rag add FILE.html` and the chat's upload extract their article like a fetched page."""

MAX_TITLE_FROM_TEXT = 120
"""A page without a title is named by its first line, cut to this many characters."""


def is_html(filename: str) -> bool:
    """True for a saved web page's file name (.html, .htm, .xhtml)."""
    return Path(filename.replace("\\", "/")).suffix.lower() in HTML_SUFFIXES


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _indexed_at(index: Path | None, url: str) -> str | None:
    """The indexed article whose link is `url` (both canonical), if any: one scan of the link column."""
    try:
        manifest = store.read_manifest(index)[1] if index is not None else None
    except RagError:
        return None
    if manifest is None:
        return None
    return next((source for source, link in manifest.articles.columns("source", "url")
                 if link and canonical(link) == url), None)


def save(found: Extracted, corpus: str | Path, *, index: str | Path | None, fetched_at: str | None = None) -> Added:
    """Save an extracted article into `corpus` (not indexed yet): a new file, or the file of the indexed article
    with the same canonical link rewritten when the text changed (RagError when it did not)."""
    corpus = Path(corpus)
    title = found.title or found.text.split("\n", 1)[0][:MAX_TITLE_FROM_TEXT]
    meta = {"title": title, "date": found.date, "publisher": found.publisher, "url": found.url}
    if (source := found.url and _indexed_at(Path(index) if index else None, found.url)) is not None:
        front = yaml.safe_dump({k: v for k, v in meta.items() if v}, allow_unicode=True, sort_keys=False,
                               width=10_000)
        path = rewrite_article(corpus, source, index=index, text=f"---\n{front}---\n{found.text}\n",
                               fetched_at=fetched_at)
        return Added(path, True)
    path = save_article(corpus, text=found.text, index=index, fetched_at=fetched_at, **meta)
    return Added(path, False)


def _indexed(added: Added, corpus: str | Path, index: str | Path) -> Added:
    return Added(added.path, added.replaced, index_article(corpus, added.path, index=index))


def add_url(url: str, corpus: str | Path, *, index: str | Path, timeout: float | None = None) -> Added:
    """Fetch the web page at `url` (http/https, public addresses only, see `rag.ingest.guard`), extract its
    article (text, title, date, publisher, canonical link) and save it into `corpus` with front matter
    (`fetched_at` too), then index it alone. Any refusal (link, size, type, status, time, no article text,
    a duplicate) raises RagError and writes nothing."""
    page = fetch(url.strip(), timeout=timeout)
    found = article(decode_html(page.data, page.charset), page.url)
    return _indexed(save(found, corpus, index=index, fetched_at=_now()), corpus, index)


def add_html(data: bytes, corpus: str | Path, *, index: str | Path, filename: str = "page.html") -> Added:
    """Extract the article of a saved web page (`data`, at most a fetched page's 5 MiB) as `add_url` does,
    save it into `corpus` and index it alone."""
    if len(data) > MAX_PAGE_BYTES:
        raise RagError(f"{filename} is larger than {MAX_PAGE_BYTES // 2**20} MiB",
                       russian=f"страница «{filename}» больше {MAX_PAGE_BYTES // 2**20} МиБ")
    found = article(decode_html(data), None)
    return _indexed(save(found, corpus, index=index), corpus, index)
