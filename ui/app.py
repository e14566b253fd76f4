"""The Gradio app: a Russian chat that quotes the articles, and a panel to list, add, replace and remove them.

Formatting is in `ui.format`, the work in the library (`rag.answer`, `rag.articles`, `rag.build_index`,
`rag.record_feedback`); this module only wires them to components, with the filter controls in `ui.filters`,
👍/👎 in `ui.feedback`, replace and remove in `ui.manage`, and the article view (a source's link opens its
article at the quote) in `ui.article_page`. The named API endpoint `/ask` answers a question (and, given the
earlier ones, a follow-up) with the same HTML the chat shows, links included; `ui.api` adds the plain JSON
API beside it (`POST /api/ask`, documented at `/docs`).

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
from rag.articles import MAX_ADD_BYTES, list_articles, save_article
from rag.corpus import source_name
from rag.errors import RagError
from rag.index import store
from rag.index.update import load_encoder
from rag.search.answer import NO_ARTICLES, Answer
from rag.search.followup import MAX_HISTORY
from rag.search.live import open_index
from rag.settings import DEFAULT_K, MAX_QUESTION
from ui import api, article_page, feedback, filters, format, manage, web
from ui.limits import ADD_LIMIT, ADD_WINDOW_S, BodyLimit, RateLimit, discard_upload, take_upload

log = logging.getLogger("rag")

EXAMPLES = [
    "Со сколькими государствами у Казахстана дипломатические отношения?",
    "Сколько составили глобальные военные расходы в прошлом году?",
    "С какого года казахстанские миротворцы участвуют в миссиях ООН?",
    "В скольких странах казахстанцы могут бывать без визы?",
]

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

CONCURRENCY = 8
"""Questions answered at once: `rag.answer` is thread-safe, so many tabs need not queue one behind another."""

DELETE_CACHE = (600, 3600)
"""Gradio's cache sweep: every 10 minutes, files the app stored (uploads, outputs) over an hour old are deleted."""


EMPTY_MESSAGE = "Напишите вопрос: пустое сообщение не отправляется."
"""The hint for an empty message, shown under the question box."""

ADD_FIRST = " Добавьте статью справа, в «Добавить статью»."
"""Said after the library's `NO_ARTICLES` (a fresh install without ../shared) where articles can be added."""

COUNT_JS = (f"(q) => {{ const t = q.trim(), c = t.slice(0, {MAX_QUESTION}), i = c.lastIndexOf(' '); "
            f"return t.length <= {MAX_QUESTION} ? `${{q.length}} / {MAX_QUESTION} символов` : "
            f"`${{q.length}} / {MAX_QUESTION} символов: искать будем по первым ${{i > 0 ? i : {MAX_QUESTION}}}, "
            f"остальное не войдёт`; }}")
"""The counter under the question box, in the browser: the limit is known before anything is cut, and where the
search will stop is the number the answer gives (`clean_question` cuts at the last word's end)."""


def question_box() -> tuple[gr.Textbox, gr.HTML]:
    """The question box, which says its limit (placeholder and a live counter) instead of cutting silently: a
    longer question is sent whole and the answer says where the search stopped."""
    with gr.Row():
        box = gr.Textbox(label="Ваш вопрос", placeholder=f"Ваш вопрос (до {MAX_QUESTION} символов)…",
                         show_label=False, scale=5, elem_id="question", submit_btn="Спросить")
    count = gr.HTML(f"0 / {MAX_QUESTION} символов", elem_id="question-count")
    return box, count


def too_many_adds(seconds: float, what: str = "Статья не добавлена") -> str:
    """The article panel's message for a client over the rate limit (`what` was not done): when it may try again."""
    return format.problem(f"{what}: слишком много статей с вашего адреса (не больше {ADD_LIMIT} "
                          f"за {ADD_WINDOW_S:.0f} с). Подождите {max(1, round(seconds))} с и попробуйте снова.")


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


def build_app(index: str | Path, corpus: str | Path, *, read_only: bool = False) -> gr.Blocks:
    """The chat app over `index`, adding articles to `corpus`; the index is brought up to date with the corpus
    (`reconcile`) and warmed here.

    With `read_only` there are no add, replace and remove actions nor their endpoints: only questions (with
    filters and 👍/👎) and the article list.
    """
    index, corpus = Path(index), Path(corpus)
    limit = RateLimit()
    reconcile(index, corpus)
    rag.answer(EXAMPLES[0], index=index)  # loads the model and the index once, before the first visitor
    if not read_only:  # the passage encoder (torch: seconds), aside, so that the first add does not wait for it
        threading.Thread(target=load_encoder, args=(index,), name="load-encoder", daemon=True).start()

    def replied(question: str, k: int, since: str | None, until: str | None, publisher: str | None,
                history: list[str]) -> tuple[str, Answer | None]:
        """The chat's message for a question (and the answer it shows, None for an error)."""
        try:
            reply = rag.answer(question, k=k, index=index, history=history,
                               **filters.chosen(since, until, publisher))
        except RagError as exc:
            return format.problem(exc.russian), None
        if reply.notice == NO_ARTICLES:
            return format.problem(NO_ARTICLES + ("" if read_only else ADD_FIRST)), None
        return format.reply(reply), reply

    def ask(question: str, k: int = DEFAULT_K, since: str = "", until: str = "", publisher: str = "",
            history: list[str] | None = None) -> str:
        """Answer a question about the articles: the key quote with its source (a link to the article view at
        the quote) and passages, as HTML; `since`/`until` (YYYY-MM-DD) and `publisher` restrict the articles;
        `history`: the earlier questions of the conversation, oldest first, for follow-ups («А когда?»)."""
        return replied(question, k, since, until, publisher, history or [])[0]

    def chat(question: str, messages: list, k: float, since: str, until: str, publisher: str, answers: dict,
             asked: list[str] | None) -> tuple:
        if not question.strip():  # the hint goes where the counter is, under the box; the chat stays as it was
            return question, messages, answers, asked or [], format.problem(EMPTY_MESSAGE)
        shown, reply = replied(question, int(k), since, until, publisher, asked or [])
        asked = [*(asked or []), question[:MAX_QUESTION]][-MAX_HISTORY:]  # all a follow-up may need, bounded
        messages = [*messages, {"role": "user", "content": format.question(question)},
                    {"role": "assistant", "content": shown}]
        answers = {**(answers or {}), len(messages) - 1: reply} if reply else answers
        return "", messages, answers, asked, gr.skip()

    def articles() -> str:
        return format.articles_table(list_articles(index))

    def choices() -> tuple:
        """The article and publisher dropdowns' choices, after the list changed."""
        publishers = filters.publisher_choices(open_index(index).publishers)
        return gr.update(choices=publishers), *([] if read_only else [gr.update(choices=manage.source_choices(index))])

    def add(file: str | None, title: str, text: str, date: str, source: str, url: str,
            request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008 (Gradio's way)
        client = request.client.host if request and request.client else "unknown"
        if wait := limit.wait(client):
            if file:
                discard_upload(file, upload_cache)
            return too_many_adds(wait), *[gr.skip()] * 7
        progress(0.1, desc="Проверяю статью…")
        try:
            if web.wanted(file, text, url):  # a link or a saved page: fetched, extracted, saved and indexed
                added = web.add(file, url, corpus, index, upload_cache)
                open_index(index)
                return web.done(added), articles(), None, "", "", "", "", ""
            if file:
                upload = take_upload(file, upload_cache)  # the article is in memory now; no copy is kept
            else:
                upload = {"text": text if text.strip() else None}
            path = save_article(corpus, title=title, date=date or None, publisher=source or None, url=url or None,
                                index=index, **upload)
        except (RagError, OSError) as exc:
            limit.refund(client)  # nothing was added: a refusal does not count toward the limit
            return format.problem(f"Статья не добавлена: {format.failure(exc)}"), *[gr.skip()] * 7
        progress(0.4, desc="Обновляю индекс…")
        try:
            report = rag.build_index(corpus, index, only=[source_name(corpus, path)])  # the new article alone
            open_index(index)  # the new version goes live here, not on the next question
        except (RagError, OSError) as exc:  # the article is saved: the next update or start indexes it
            return format.problem(f"Статья сохранена как {path.name}, но индекс не обновлён: {format.failure(exc)}. "
                                  "Она войдёт в индекс при следующем обновлении (rag index) или перезапуске."), \
                *[gr.skip()] * 7
        status = (f"<p>✓ Добавлена статья <code>{format.escape(path.name)}</code>; индекс обновлён "
                  f"за {report.seconds:.1f} с. Можно задавать вопросы.</p>")
        return status, articles(), None, "", "", "", "", ""

    with gr.Blocks(title="Вопросы по статьям", analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        gr.Markdown("## Вопросы по новостным статьям\nСпросите о статьях — ответ приходит дословной "
                    "цитатой с источником.")
        gr.HTML("<a href='#articles-panel'>Статьи и добавление статьи ↓</a>", elem_id="to-articles")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Чат", show_label=False, height=560, latex_delimiters=[], feedback_options=("Like", "Dislike"),
                    buttons=["copy"], placeholder="Задайте вопрос о статье — ответ будет цитатой из неё.",
                    elem_id="chat",
                )
                answers = gr.State({})  # the answers shown, by their message's place: what a verdict is about
                asked = gr.State([])  # the questions of this conversation, for follow-ups
                box, count = question_box()
                comment, verdict = feedback.controls()
                with gr.Row():
                    k = gr.Slider(1, 10, value=DEFAULT_K, step=1, label="Сколько отрывков показывать", scale=3,
                                  elem_id="k")
                    gr.ClearButton([chatbot, box, answers, verdict, asked], value="Очистить чат", scale=1, size="md")
                since, until, publisher = filters.controls()
                gr.Examples([[q] for q in EXAMPLES], inputs=[box], label="Примеры вопросов", elem_id="examples")
            with gr.Column(scale=2):
                gr.Markdown("### Статьи в индексе", elem_id="articles-panel")
                table = gr.HTML(elem_id="articles")
                feeds = gr.HTML(elem_id="feeds")
                if read_only:
                    gr.Markdown("Только чтение: статьи здесь не добавляются.", elem_id="read-only")
                else:
                    with gr.Accordion("Добавить статью", open=False, elem_id="add-article"):
                        file = gr.File(label=f"Файл .txt, .md или сохранённая страница .html (до "
                                             f"{MAX_ADD_BYTES // 2**20} МиБ)",
                                       file_types=[".txt", ".md", *web.FILE_TYPES], type="filepath")
                        title = gr.Textbox(label="Заголовок (для файла — по желанию)", elem_id="new-title")
                        text = gr.Textbox(label="…или текст статьи", lines=6, elem_id="new-text")
                        with gr.Row():
                            date = gr.Textbox(label="Дата", placeholder="ГГГГ-ММ-ДД")
                            source = gr.Textbox(label="Издание")
                        url = gr.Textbox(label="Ссылка", placeholder="https://… (без файла и текста — статья "
                                         "загружается с сайта)", elem_id="new-url")
                        add_button = gr.Button("Добавить и проиндексировать", variant="primary", elem_id="add")
                        status = gr.HTML(elem_id="add-status")
                    upload_cache = file.GRADIO_CACHE  # where Gradio keeps uploads (GRADIO_TEMP_DIR)
                    sources = manage.panel(index, corpus, limit, too_many_adds, table, upload_cache)

        app.load(articles, None, table, api_visibility="private")
        app.load(lambda: web.feeds_html(index), None, feeds, api_visibility="private")
        table.change(choices, None, [publisher] if read_only else [publisher, sources], api_visibility="private")
        box.submit(chat, [box, chatbot, k, since, until, publisher, answers, asked],
                   [box, chatbot, answers, asked, count], api_visibility="private", concurrency_limit=CONCURRENCY)
        box.change(None, [box], [count], js=COUNT_JS)  # in the browser, on every keystroke
        chatbot.like(feedback.handler(index), [answers, comment], [verdict, comment], api_visibility="private")
        if not read_only:
            # Gradio runs `add` in a worker thread, one at a time (concurrency_limit=1); questions keep being
            # answered from the previous index version until `open_index` swaps in the new one.
            add_button.click(add, [file, title, text, date, source, url],
                             [status, table, file, title, text, date, source, url],
                             api_name="add_article", api_visibility="undocumented", concurrency_limit=1,
                             concurrency_id="index-writes")
        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY)
    return app


def start(index: str | Path, corpus: str | Path, host: str = "127.0.0.1", port: int = 0, *, read_only: bool = False,
          auth: Sequence[tuple[str, str]] | None = None) -> tuple[gr.Blocks, str]:
    """Build and launch the app in background threads (port 0: a free one); returns it and its URL.

    `auth`: (user, password) pairs that must log in first (API clients too); `read_only`: no adding articles.
    """
    if not port:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
    app = build_app(index, corpus, read_only=read_only)
    _, url, _ = app.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                           auth=list(auth) if auth else None, **launch_options(index))
    return app, url


def serve(index: Path, corpus: Path, host: str = "127.0.0.1", port: int = 7860, share: bool = False, *,
          read_only: bool = False, auth: Sequence[tuple[str, str]] | None = None) -> None:
    """Serve the chat at http://host:port until interrupted (a public share link only if `share`), printing one
    line with the address to open (Gradio's own lines, the share hint among them, are left out).

    `auth` and `read_only` as in `start`; `rag serve` insists on one of them beyond loopback.
    """
    app = build_app(index, corpus, read_only=read_only)
    _, url, public = app.launch(server_name=host, server_port=port, share=share, auth=list(auth) if auth else None,
                                quiet=True, prevent_thread_lock=True, **launch_options(index))
    print(f"The chat is ready: open {url} in a browser{f' (public link: {public})' if public else ''}; "
          "Ctrl+C stops it.", flush=True)
    app.block_thread()
