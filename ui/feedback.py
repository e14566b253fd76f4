"""👍/👎 and a comment on the chat's answers, recorded beside the index by `rag.record_feedback`.

The chat keeps the answers it gave in a per-tab state, keyed by their message's place in the conversation,
so a verdict is recorded with the question, answer and passages it is about, not with the message's HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr

from rag.errors import RagError
from rag.feedback import MAX_COMMENT, record_feedback
from ui import format
from ui.limits import RateLimit

FEEDBACK_LIMIT = 30
"""Verdicts one client address may record per minute."""


def controls() -> tuple[gr.Textbox, gr.HTML]:
    """The optional comment box and the line that confirms a verdict."""
    comment = gr.Textbox(label="Комментарий к оценке", show_label=False,
                         placeholder="Комментарий к оценке (необязательно): напишите его, затем оцените ответ", max_length=MAX_COMMENT, elem_id="feedback-comment", lines=1)
    status = gr.HTML(elem_id="feedback-status")
    return comment, status


def handler(index: Path) -> Callable:
    """The chatbot's `.like` listener: records the verdict on the answer clicked, with the comment typed."""
    limit = RateLimit(FEEDBACK_LIMIT, 60.0)

    def on_like(answers: dict, comment: str, data: gr.LikeData, request: gr.Request) -> tuple[str, str]:
        reply = (answers or {}).get(data.index) if isinstance(data.index, int) else None
        if reply is None or data.liked not in (True, False):
            return format.problem("Эту реплику оценить нельзя: оцените ответ бота."), comment
        client = request.client.host if request and request.client else "unknown"
        if wait := limit.wait(client):
            return format.problem(f"Слишком много оценок подряд: подождите {max(1, round(wait))} с."), comment
        try:
            record_feedback(index, reply, liked=data.liked, comment=comment)
        except (RagError, OSError) as exc:
            return format.problem(f"Оценка не записана: {format.failure(exc)}"), comment
        return "<p>✓ Спасибо, оценка записана.</p>", ""

    return on_like
