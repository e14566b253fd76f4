"""The chat: a question box that says its limit, the conversation with 👍/👎, the filters, the examples, and the
named endpoint `/ask` that answers with the same HTML. The answers are `rag.answer`'s, formatted by `ui.format`."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import gradio as gr

import rag
from rag.errors import RagError
from rag.search.answer import NO_ARTICLES, Answer
from rag.search.followup import MAX_HISTORY
from rag.settings import DEFAULT_K, MAX_QUESTION
from ui import feedback, filters, format
from ui.limits import RateLimit, client_address

EXAMPLES = [
    "Со сколькими государствами у Казахстана дипломатические отношения?",
    "Сколько составили глобальные военные расходы в прошлом году?",
    "С какого года казахстанские миротворцы участвуют в миссиях ООН?",
    "В скольких странах казахстанцы могут бывать без визы?",
]

CONCURRENCY = 8
"""Questions answered at once: `rag.answer` is thread-safe, so many tabs need not queue one behind another."""

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


def replier(index: Path, *, read_only: bool) -> Callable[..., tuple[str, Answer | None]]:
    """The chat's message for a question (and the answer it shows, None for an error) over `index`."""

    def replied(question: str, k: int, since: str | None, until: str | None, publisher: str | None,
                history: list[str]) -> tuple[str, Answer | None]:
        try:
            reply = rag.answer(question, k=k, index=index, history=history, **filters.chosen(since, until, publisher))
        except RagError as exc:
            return format.problem(exc.russian), None
        if reply.notice == NO_ARTICLES:
            return format.problem(NO_ARTICLES + ("" if read_only else ADD_FIRST)), None
        return format.reply(reply), reply

    return replied


def too_many(limit: RateLimit | None, request: gr.Request | None) -> str | None:
    """The notice for a question over its address's `limit` (None: it may be asked, and is counted)."""
    if limit is None or request is None or not (wait := limit.wait(client_address(request))):
        return None
    return (f"Слишком много вопросов с вашего адреса: не больше {limit.limit} в минуту. "
            f"Спросите снова через {math.ceil(wait)} с.")


def panel(index: Path, *, read_only: bool, limit: RateLimit | None = None) -> gr.Dropdown:
    """Build the chat column inside the current layout, wire it, and add the `/ask` endpoint; returns the
    publisher filter, whose choices follow the article list. `limit`: questions per client address (None: any)."""
    replied = replier(index, read_only=read_only)

    def ask(question: str, k: int = DEFAULT_K, since: str = "", until: str = "", publisher: str = "",
            history: list[str] | None = None, request: gr.Request | None = None) -> str:
        """Answer a question about the articles: the key quote with its source (a link to the article view at
        the quote) and passages, as HTML; `since`/`until` (YYYY-MM-DD) and `publisher` restrict the articles;
        `history`: the earlier questions of the conversation, oldest first, for follow-ups («А когда?»)."""
        if notice := too_many(limit, request):
            return format.problem(notice)
        return replied(question, k, since, until, publisher, history or [])[0]

    def chat(question: str, messages: list, k: float, since: str, until: str, publisher: str, answers: dict,
             asked: list[str] | None, request: gr.Request) -> tuple:
        if not question.strip():  # the hint goes where the counter is, under the box; the chat stays as it was
            return question, messages, answers, asked or [], format.problem(EMPTY_MESSAGE)
        if notice := too_many(limit, request):  # the question stays in the box, to be sent again
            return question, messages, answers, asked or [], format.problem(notice)
        shown, reply = replied(question, int(k), since, until, publisher, asked or [])
        asked = [*(asked or []), question[:MAX_QUESTION]][-MAX_HISTORY:]  # all a follow-up may need, bounded
        messages = [*messages, {"role": "user", "content": format.question(question)},
                    {"role": "assistant", "content": shown}]
        answers = {**(answers or {}), len(messages) - 1: reply} if reply else answers
        return "", messages, answers, asked, gr.skip()

    chatbot = gr.Chatbot(
        label="Чат", show_label=False, height=560, latex_delimiters=[], feedback_options=("Like", "Dislike"),
        buttons=["copy"], placeholder="Задайте вопрос о статье — ответ будет цитатой из неё.", elem_id="chat",
    )
    answers = gr.State({})  # the answers shown, by their message's place: what a verdict is about
    asked = gr.State([])  # the questions of this conversation, for follow-ups
    box, count = question_box()
    comment, verdict = feedback.controls()
    with gr.Row():
        k = gr.Slider(1, 10, value=DEFAULT_K, step=1, label="Сколько отрывков показывать", scale=3, elem_id="k")
        gr.ClearButton([chatbot, box, answers, verdict, asked], value="Очистить чат", scale=1, size="md")
    since, until, publisher = filters.controls()
    gr.Examples([[q] for q in EXAMPLES], inputs=[box], label="Примеры вопросов", elem_id="examples")

    box.submit(chat, [box, chatbot, k, since, until, publisher, answers, asked],
               [box, chatbot, answers, asked, count], api_visibility="private", concurrency_limit=CONCURRENCY)
    box.change(None, [box], [count], js=COUNT_JS)  # in the browser, on every keystroke
    chatbot.like(feedback.handler(index), [answers, comment], [verdict, comment], api_visibility="private")
    gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY)
    return publisher
