"""The article panel's remove and replace actions: the index is updated incrementally and the list redrawn.

Removing asks for a confirmation first (a second button, shown only after the first); both actions count
against the same per-address rate limit as adding, and neither exists in a read-only chat.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr

from rag.articles import MAX_ADD_BYTES, list_articles, remove_article, replace_article
from rag.errors import RagError
from rag.search.live import open_index
from ui import format
from ui.limits import RateLimit, discard_upload, take_upload


def source_choices(index: Path) -> list[tuple[str, str]]:
    """The articles as dropdown choices: "title — file" shown, the file's name as the value."""
    return [(f"{a.title} — {a.source}", a.source) for a in list_articles(index)]


def panel(index: Path, corpus: Path, limit: RateLimit, too_many: Callable[[float, str], str], table: gr.HTML,
          upload_cache: str) -> gr.Dropdown:
    """Build the "Изменить или удалить статью" block inside the current layout and wire its actions; `table` is
    redrawn after a change. Returns the article dropdown (the app refreshes its choices with the list)."""
    with gr.Accordion("Изменить или удалить статью", open=False, elem_id="manage-article"):
        source = gr.Dropdown(label="Статья", choices=[], value=None, elem_id="manage-source",
                             allow_custom_value=True)  # any name reaches the library, which checks it
        remove = gr.Button("Удалить статью…", variant="stop", elem_id="remove")
        with gr.Column(visible=False, elem_id="confirm-remove") as confirm:
            question = gr.HTML()
            with gr.Row():
                yes = gr.Button("Да, удалить", variant="stop", elem_id="remove-yes")
                no = gr.Button("Отмена", elem_id="remove-no")
        file = gr.File(label=f"Новый текст файлом .txt или .md (до {MAX_ADD_BYTES // 2**20} МиБ)",
                       file_types=[".txt", ".md"], type="filepath", elem_id="replace-file")
        text = gr.Textbox(label="…или вставьте новый текст статьи", lines=5, elem_id="replace-text")
        replace = gr.Button("Заменить текст статьи", elem_id="replace")
        status = gr.HTML(elem_id="manage-status")

    def client(request: gr.Request | None) -> str:
        return request.client.host if request and request.client else "unknown"

    def ask_first(chosen: str | None) -> tuple:
        if not chosen:
            return gr.update(visible=False), "", format.problem("Выберите статью в списке.")
        return (gr.update(visible=True),
                f"<p>Удалить <code>{format.escape(chosen)}</code> из корпуса и индекса? Отменить это нельзя.</p>", "")

    def do_remove(chosen: str | None, request: gr.Request) -> tuple:
        if not chosen:
            return gr.update(visible=False), format.problem("Выберите статью в списке."), gr.skip()
        if wait := limit.wait(client(request)):
            return gr.update(visible=False), too_many(wait, "Статья не удалена"), gr.skip()
        try:
            report = remove_article(corpus, chosen, index=index)
            open_index(index)  # the new version goes live here, not on the next question
        except (RagError, OSError) as exc:
            return gr.update(visible=False), format.problem(f"Статья не удалена: {format.failure(exc)}"), gr.skip()
        done = f"<p>🗑️ Статья <code>{format.escape(chosen)}</code> удалена; индекс обновлён за {report.seconds:.1f} с.</p>"
        return gr.update(visible=False), done, format.articles_table(list_articles(index))

    def do_replace(chosen: str | None, upload: str | None, pasted: str, request: gr.Request) -> tuple:
        if wait := limit.wait(client(request)):
            if upload:
                discard_upload(upload, upload_cache)
            return too_many(wait, "Текст не заменён"), *[gr.skip()] * 3
        try:
            if not chosen:
                raise RagError("выберите статью в списке")
            given = take_upload(upload, upload_cache) if upload else {"text": pasted if pasted.strip() else None}
            report = replace_article(corpus, chosen, index=index, **given)
            open_index(index)
        except (RagError, OSError) as exc:
            return format.problem(f"Текст не заменён: {format.failure(exc)}"), *[gr.skip()] * 3
        done = (f"<p>✓ Текст статьи <code>{format.escape(chosen)}</code> заменён; индекс обновлён за "
                f"{report.seconds:.1f} с.</p>")
        return done, format.articles_table(list_articles(index)), None, ""

    remove.click(ask_first, [source], [confirm, question, status], api_visibility="private")
    no.click(lambda: (gr.update(visible=False), ""), None, [confirm, status], api_visibility="private")
    yes.click(do_remove, [source], [confirm, status, table], api_name="remove_article",
              api_visibility="undocumented", concurrency_limit=1, concurrency_id="index-writes")
    replace.click(do_replace, [source, file, text], [status, table, file, text], api_name="replace_article",
                  api_visibility="undocumented", concurrency_limit=1, concurrency_id="index-writes")
    return source
