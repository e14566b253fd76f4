"""The article view: `/article?source=…&start=…&end=…` shows an indexed article whole, the quoted span marked and
scrolled into view (the links in the chat's sources and in `/ask` replies point here).

Only articles the live index lists are shown (`rag.article_text`: a name is looked up, never opened as a
path), offsets are bounded by the article, every character of it is escaped, and behind a login the page
needs the same login as the chat.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from rag.articles import ArticleText, article_text
from rag.errors import RagError
from ui.format import ARTICLE_PATH as PATH
from ui.format import date
from ui.limits import logged_in

MAX_SOURCE = 1000
"""Longest article name accepted in the address."""

STYLE = """
body { font: 17px/1.6 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; color: #1f2937;
       overflow-wrap: anywhere; }
h1 { font-size: 1.4rem; line-height: 1.3; }
.meta { color: #6b7280; font-size: .9rem; }
.text { white-space: pre-wrap; }
mark { background: #fde68a; padding: 0 2px; border-radius: 3px; scroll-margin-top: 30vh; }
.note { background: #fef3c7; padding: .5rem .75rem; border-radius: 6px; }
"""
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}
"""The page runs no script and loads nothing: whatever an article holds stays text."""


def page(article: ArticleText, start: int | None, end: int | None) -> str:
    """The article as a whole HTML page, the span [start, end) in <mark id="quote">."""
    text = article.text
    if start is not None and end is not None:
        body = (f"{html.escape(text[:start])}<mark id='quote'>{html.escape(text[start:end])}</mark>"
                f"{html.escape(text[end:])}")
    else:
        body = html.escape(text)
    meta = " · ".join(x for x in (date(article.date), html.escape(article.publisher or ""),
                                  f"<code>{html.escape(article.source)}</code>") if x)
    url = article.url or ""
    original = (f" · <a href='{html.escape(url, quote=True)}' rel='noopener noreferrer nofollow'>источник</a>"
                if url.lower().startswith(("http://", "https://")) else "")
    note = ("" if article.current else "<p class='note'>Файл статьи изменился после индексации: показан текст из "
            "индекса, каким на него отвечал чат.</p>")
    return (f"<!doctype html><html lang='ru'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(article.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(article.title)}</h1><p class='meta'>{meta}{original}</p>{note}"
            f"<div class='text'>{body}</div></body></html>")


def problem(text: str, status: int) -> HTMLResponse:
    """A small Russian page saying what is wrong with the address."""
    return HTMLResponse(f"<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>Статья не найдена</title>"
                        f"<style>{STYLE}</style></head><body><p>⚠️ {html.escape(text)}</p></body></html>",
                        status_code=status, headers=HEADERS)


def _offset(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 9:
        raise ValueError(value)
    return int(value)


def route(index: str | Path) -> Route:
    """The article view over `index` as a route for the chat's server."""

    def view(request: Request) -> HTMLResponse:
        if not logged_in(request):
            return problem("Сначала войдите в чат: статьи видны только после входа.", 401)
        params = request.query_params
        source = params.get("source", "")
        try:
            start, end = _offset(params.get("start")), _offset(params.get("end"))
        except ValueError:
            return problem("Начало и конец цитаты должны быть целыми числами.", 400)
        if not source or len(source) > MAX_SOURCE:
            return problem("Не указано, какую статью показать.", 400)
        try:
            article = article_text(source, index)
        except RagError as exc:
            return problem(exc.russian, 404)
        if (start is None) != (end is None) or (start is not None and not start <= end <= len(article.text)):
            return problem(f"Цитата должна лежать внутри статьи (0–{len(article.text)} символов).", 400)
        return HTMLResponse(page(article, start, end), headers=HEADERS)

    return Route(PATH, view, methods=["GET"])
