"""The Gradio app: a Russian chat that quotes the articles, and a panel to list, add, replace and remove them.

This module only assembles the page and launches it; each job has its module: asking in `ui.asking` (the chat,
its filters and 👍/👎, and the named endpoint `/ask`, which answers with the same HTML the chat shows), adding
in `ui.adding`, the article list with replace and remove in `ui.managing`, every change to the articles through
the one handler of `ui.writes`. The work is the library's (`rag.answer`, `rag.articles`, `rag.build_index`),
the HTML `ui.format`'s; the article view (a source's link opens its article at the quote) is `ui.article_page`,
and `ui.api` adds the plain JSON API beside the chat (`POST /api/ask`, documented at `/docs`).

Served beyond this machine, the app is guarded: `start`/`serve` pass `auth` (user, password pairs) to Gradio's
login (the article view asks for it too), `read_only` leaves out the add, replace and remove actions and their
endpoints, changes to articles are rate-limited per client address, and uploads are removed from Gradio's
cache once read (the rest of the cache is swept by age); the guards themselves are in `ui.limits`.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

import rag
from rag.articles import MAX_ADD_BYTES
from rag.index import store
from rag.index.update import load_encoder
from rag.settings import DEFAULT_K, QUESTIONS_PER_MINUTE
from ui import adding, api, article_page, asking, managing
from ui.limits import ADD_LIMIT, BodyLimit, RateLimit
from ui.writes import Writes

# ADD_LIMIT and DEFAULT_K are read here by the tests and bench/load.py.
__all__ = ["ADD_LIMIT", "DEFAULT_K", "build_app", "launch_options", "reconcile", "serve", "start"]

log = logging.getLogger("rag")

CSS = """
.message mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 3px; }
.message code, table.articles code { overflow-wrap: anywhere; }
.message, .message details, .message blockquote { overflow-wrap: anywhere; max-width: 100%; }
#to-articles { display: none; }
@media (max-width: 600px) {
  .gradio-container { padding: 4px !important; }
  #to-articles { display: block; }
  #chat { height: 62vh !important; }
  table.articles { table-layout: fixed; }
  table.articles td, table.articles th { overflow-wrap: anywhere; }
}
.message blockquote { border-left: 4px solid #f59e0b; margin: 0 0 .5em; padding: .25em .75em; }
.message details summary { cursor: pointer; font-weight: 600; }
table.articles { width: 100%; font-size: .9em; }
table.articles td, table.articles th { padding: 4px 6px; vertical-align: top; }
#question-count { font-size: .85em; color: #6b7280; margin-top: -8px; }
"""
"""Styles for the quote, its highlight, the sources, the article list and the question's length counter."""

RUSSIAN = gr.I18n(**{locale: {"upload_text.drop_file": "Перетащите файл сюда", "common.or": "или",
                               "upload_text.click_to_upload": "нажмите, чтобы выбрать"} for locale in ("en", "ru")})
"""Gradio's own words on the upload area, in Russian whatever the browser's language (its default is English)."""

DELETE_CACHE = (600, 3600)
"""Gradio's cache sweep: every 10 minutes, files the app stored (uploads, outputs) over an hour old are deleted."""


def launch_options(index: str | Path) -> dict:
    """What `launch` needs besides host, port and login: styles, the upload limit, the Russian interface, the
    request size limit, and the article view and the JSON API over `index` (routes of the server's own)."""
    return {"css": CSS, "max_file_size": MAX_ADD_BYTES, "footer_links": [], "i18n": RUSSIAN,
            "app_kwargs": {"middleware": [Middleware(BodyLimit)],
                           "routes": [article_page.route(index), *api.routes(index)]}}


def reconcile(index: Path, corpus: Path) -> None:
    """Bring the index up to date with the corpus before serving (an article saved by a chat that was stopped
    before indexing it is indexed now), saying what was done; without a corpus folder, serve the index as it is."""
    if not corpus.is_dir() and store.current_version(index) is not None:
        log.warning("corpus folder %s not found: serving the index in %s as it is", corpus, index)
        return
    report = rag.build_index(corpus, index, progress=True)
    for skipped in report.skipped:
        log.warning("skipped: %s: %s", skipped.source, skipped.reason)
    log.info("%s", report.summary())


def build_app(index: str | Path, corpus: str | Path, *, read_only: bool = False,
              questions_per_minute: int = QUESTIONS_PER_MINUTE) -> gr.Blocks:
    """The chat app over `index`, adding articles to `corpus`; the index is brought up to date with the corpus
    (`reconcile`) and warmed here.

    With `read_only` there are no add, replace and remove actions nor their endpoints: only questions (with
    filters and 👍/👎) and the article list. `questions_per_minute`: what one client address may ask (0: any).
    """
    index, corpus = Path(index), Path(corpus)
    reconcile(index, corpus)
    rag.answer(asking.EXAMPLES[0], index=index)  # loads the model and the index once, before the first visitor
    if not read_only:  # the passage encoder (torch: seconds), aside, so that the first add does not wait for it
        threading.Thread(target=load_encoder, args=(index,), name="load-encoder", daemon=True).start()
    with gr.Blocks(title="Вопросы по статьям", analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        gr.Markdown("## Вопросы по новостным статьям\nСпросите о статьях — ответ приходит дословной "
                    "цитатой с источником.")
        gr.HTML("<a href='#articles-panel'>Статьи и добавление статьи ↓</a>", elem_id="to-articles")
        with gr.Row():
            with gr.Column(scale=3):
                asked = RateLimit(questions_per_minute, 60.0) if questions_per_minute else None
                publisher = asking.panel(index, read_only=read_only, limit=asked)
            with gr.Column(scale=2):
                table, articles = managing.article_list(app, index)
                if read_only:
                    gr.Markdown("Только чтение: статьи здесь не добавляются.", elem_id="read-only")
                    chosen = None
                else:  # one handler, one rate limit, for every change; uploads are in Gradio's cache
                    writes = Writes(index, app.GRADIO_CACHE)
                    adding.panel(corpus, writes, table, articles)
                    chosen = managing.panel(corpus, writes, table, articles)
        managing.follow(table, index, publisher, chosen)
    return app


def start(index: str | Path, corpus: str | Path, host: str = "127.0.0.1", port: int = 0, *, read_only: bool = False,
          auth: Sequence[tuple[str, str]] | None = None,
          questions_per_minute: int = QUESTIONS_PER_MINUTE) -> tuple[gr.Blocks, str]:
    """Build and launch the app in background threads (port 0: a free one); returns it and its URL.

    `auth`: (user, password) pairs that must log in first (API clients too); `read_only`: no adding articles;
    `questions_per_minute` as in `build_app`.
    """
    if not port:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
    app = build_app(index, corpus, read_only=read_only, questions_per_minute=questions_per_minute)
    _, url, _ = app.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                           auth=list(auth) if auth else None, **launch_options(index))
    return app, url


def serve(index: Path, corpus: Path, host: str = "127.0.0.1", port: int = 7860, share: bool = False, *,
          read_only: bool = False, auth: Sequence[tuple[str, str]] | None = None,
          questions_per_minute: int = QUESTIONS_PER_MINUTE) -> None:
    """Serve the chat at http://host:port until interrupted (a public share link only if `share`), printing one
    line with the address to open (Gradio's own lines, the share hint among them, are left out).

    `auth`, `read_only` and `questions_per_minute` as in `start`; `rag serve` insists on a login or read-only beyond
    loopback.
    """
    app = build_app(index, corpus, read_only=read_only, questions_per_minute=questions_per_minute)
    _, url, public = app.launch(server_name=host, server_port=port, share=share, auth=list(auth) if auth else None,
                                quiet=True, prevent_thread_lock=True, **launch_options(index))
    print(f"The chat is ready: open {url} in a browser{f' (public link: {public})' if public else ''}; "
          "Ctrl+C stops it.", flush=True)
    app.block_thread()
