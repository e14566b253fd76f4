"""The «Добавить статью» panel: an article pasted, uploaded (.txt, .md, a saved .html page) or fetched by its
link, saved to the corpus by `rag.save_article` (or `ui.web` for pages) and indexed at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr

from rag.articles import MAX_ADD_BYTES, index_article, save_article
from rag.errors import RagError
from rag.search.live import open_index
from ui import format, web
from ui.limits import take_upload
from ui.writes import Writes

CLEARED = (None, "", "", "", "", "")
"""The form after an article was added: no file, every field empty."""


def unchanged(line: str) -> tuple:
    """The panel's outputs when the article was not added (or not indexed): `line`, the form left as it was."""
    return line, *[gr.skip()] * 7


def added(path: Path, seconds: float) -> str:
    """The panel's line for an article saved and indexed."""
    return (f"<p>✓ Добавлена статья <code>{format.escape(path.name)}</code>; индекс обновлён "
            f"за {seconds:.1f} с. Можно задавать вопросы.</p>")


def not_indexed(path: Path, error: Exception) -> str:
    """The panel's line for an article saved whose index update failed: it is kept, the next update indexes it."""
    return format.problem(f"Статья сохранена как {path.name}, но индекс не обновлён: {format.failure(error)}. "
                          "Она войдёт в индекс при следующем обновлении (rag index) или перезапуске.")


def panel(corpus: Path, writes: Writes, table: gr.HTML, articles: Callable[[], str]) -> None:
    """Build the collapsed «Добавить статью» block inside the current layout and wire its action (endpoint
    `/add_article`); `table` is redrawn with `articles()` after an add."""
    index = writes.index
    with gr.Accordion("Добавить статью", open=False, elem_id="add-article"):
        file = gr.File(label=f"Файл .txt, .md или сохранённая страница .html (до {MAX_ADD_BYTES // 2**20} МиБ)",
                       file_types=[".txt", ".md", *web.FILE_TYPES], type="filepath")
        title = gr.Textbox(label="Заголовок (для файла — по желанию)", elem_id="new-title")
        text = gr.Textbox(label="…или текст статьи", lines=6, elem_id="new-text")
        with gr.Row():
            date = gr.Textbox(label="Дата", placeholder="ГГГГ-ММ-ДД")
            publisher = gr.Textbox(label="Издание")
        url = gr.Textbox(label="Ссылка", placeholder="https://… (без файла и текста — статья загружается с сайта)",
                         elem_id="new-url")
        button = gr.Button("Добавить и проиндексировать", variant="primary", elem_id="add")
        status = gr.HTML(elem_id="add-status")

    def add(file: str | None, title: str, text: str, date: str, publisher: str, url: str,
            request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008 (Gradio's way)
        def work() -> tuple:
            progress(0.1, desc="Проверяю статью…")
            if web.wanted(file, text, url):  # a link or a saved page: fetched, extracted, saved and indexed
                return web.done(web.add(file, url, corpus, index, writes.upload_cache)), articles(), *CLEARED
            # an upload is in memory once taken: no copy is kept
            upload = take_upload(file, writes.upload_cache) if file else {"text": text if text.strip() else None}
            path = save_article(corpus, title=title, date=date or None, publisher=publisher or None, url=url or None,
                                index=index, **upload)
            progress(0.4, desc="Обновляю индекс…")
            try:  # the new article alone; a failure here keeps it saved, so the add is not refused
                report = index_article(corpus, path, index=index)
                open_index(index)
            except (RagError, OSError) as exc:
                return unchanged(not_indexed(path, exc))
            return added(path, report.seconds), articles(), *CLEARED

        return writes.change(request, "Статья не добавлена", work, unchanged, upload=file, refund=True)

    # Gradio runs `add` in a worker thread, one write at a time (concurrency_id "index-writes"); questions keep
    # being answered from the previous index version until `open_index` swaps in the new one.
    button.click(add, [file, title, text, date, publisher, url],
                 [status, table, file, title, text, date, publisher, url],
                 api_name="add_article", api_visibility="undocumented", concurrency_limit=1,
                 concurrency_id="index-writes")
