"""The add panel's web side: an article by its link («Ссылка» with no file or text) or from a saved .html page,
and the list of followed feeds. The work is `rag.ingest`'s; a read-only chat has no add panel, so it never
fetches."""

from __future__ import annotations

from pathlib import Path

from rag.ingest.feeds import list_feeds
from rag.ingest.pages import Added, add_html, add_url, is_html
from ui import format
from ui.limits import take_upload

FILE_TYPES = [".html", ".htm"]
"""Saved pages the upload takes beside .txt and .md."""


def wanted(file: str | None, text: str, url: str) -> bool:
    """Whether the add panel's input is a web page: an uploaded .html, or a link with neither file nor text."""
    return bool(file and is_html(file)) or (not file and not text.strip() and bool(url.strip()))


def add(file: str | None, url: str, corpus: Path, index: Path, upload_cache: str) -> Added:
    """Save and index the page: the uploaded file (read, then removed from the cache) or the one at `url`."""
    if file:
        upload = take_upload(file, upload_cache)
        return add_html(upload["data"], corpus, index=index, filename=upload["filename"])
    return add_url(url, corpus, index=index)


def done(added: Added) -> str:
    """The panel's line for a page saved and indexed."""
    what = "Статья по ссылке обновлена" if added.replaced else "Добавлена статья со страницы"
    return (f"<p>✓ {what}: <code>{format.escape(added.path.name)}</code>; индекс обновлён за "
            f"{added.report.seconds:.1f} с. Можно задавать вопросы.</p>")


def feeds_html(index: Path) -> str:
    """The followed feeds as a short list (nothing when there are none)."""
    try:
        feeds = list_feeds(index)
    except Exception:  # noqa: BLE001 (a damaged state file must not keep the chat from opening)
        return format.problem("Список лент не читается.")
    if not feeds:
        return ""
    items = "".join(f"<li><a href=\"{format.escape(f.url)}\" target=\"_blank\" rel=\"noopener\">"
                    f"{format.escape(f.title or f.url)}</a> — {len(f.seen)} статей, обновлена "
                    f"{format.escape(f.updated_at or 'ещё не обновлялась')}</li>" for f in feeds)
    return f"<p><b>Ленты</b> (обновляются командой rag feeds update или rag serve --follow):</p><ul>{items}</ul>"
