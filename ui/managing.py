"""The article panel's list (the indexed articles and followed feeds) and its remove and replace actions: the
index is updated incrementally and the list redrawn.

Removing asks for a confirmation first (a second button, shown only after the first); both actions go through
`ui.writes` (the same per-address rate limit as adding), and neither exists in a read-only chat.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr

from rag.articles import MAX_ADD_BYTES, list_articles, remove_article, replace_article
from rag.errors import RagError
from rag.search.live import open_index
from ui import filters, format, web
from ui.limits import take_upload
from ui.writes import Writes


def source_choices(index: Path) -> list[tuple[str, str]]:
    """The articles as dropdown choices: "title — file" shown, the file's name as the value."""
    return [(f"{a.title} — {a.source}", a.source) for a in list_articles(index)]


def article_list(app: gr.Blocks, index: Path) -> tuple[gr.HTML, Callable[[], str]]:
    """The «Статьи в индексе» table and the followed feeds inside the current layout, drawn when a page opens;
    returns the table and what draws it (for the actions that change it)."""
    gr.Markdown("### Статьи в индексе", elem_id="articles-panel")
    table = gr.HTML(elem_id="articles")
    feeds = gr.HTML(elem_id="feeds")

    def articles() -> str:
        return format.articles_table(list_articles(index))

    app.load(articles, None, table, api_visibility="private")
    app.load(lambda: web.feeds_html(index), None, feeds, api_visibility="private")
    return table, articles


def follow(table: gr.HTML, index: Path, publisher: gr.Dropdown, chosen: gr.Dropdown | None) -> None:
    """Keep the publisher filter's choices (and the article to change, where there is that dropdown) those of
    the index whenever the list is redrawn."""

    def choices() -> tuple:
        publishers = gr.update(choices=filters.publisher_choices(open_index(index).publishers))
        return (publishers,) if chosen is None else (publishers, gr.update(choices=source_choices(index)))

    table.change(choices, None, [publisher] if chosen is None else [publisher, chosen], api_visibility="private")


def panel(corpus: Path, writes: Writes, table: gr.HTML, articles: Callable[[], str]) -> gr.Dropdown:
    """Build the «Изменить или удалить статью» block inside the current layout and wire its actions (endpoints
    `/remove_article`, `/replace_article`); `table` is redrawn with `articles()` after a change. Returns the
    article dropdown, whose choices follow the list."""
    index = writes.index
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

    def ask_first(chosen: str | None) -> tuple:
        if not chosen:
            return gr.update(visible=False), "", format.problem("Выберите статью в списке.")
        return (gr.update(visible=True),
                f"<p>Удалить <code>{format.escape(chosen)}</code> из корпуса и индекса? Отменить это нельзя.</p>", "")

    def do_remove(chosen: str | None, request: gr.Request) -> tuple:
        if not chosen:
            return gr.update(visible=False), format.problem("Выберите статью в списке."), gr.skip()

        def work() -> tuple:
            report = remove_article(corpus, chosen, index=index)
            return (gr.update(visible=False), f"<p>✓ Статья <code>{format.escape(chosen)}</code> удалена; индекс "
                    f"обновлён за {report.seconds:.1f} с.</p>", articles())

        return writes.change(request, "Статья не удалена", work, lambda line: (gr.update(visible=False), line,
                                                                               gr.skip()))

    def do_replace(chosen: str | None, upload: str | None, pasted: str, request: gr.Request) -> tuple:
        def work() -> tuple:
            if not chosen:
                raise RagError("выберите статью в списке")
            given = take_upload(upload, writes.upload_cache) if upload else {"text": pasted if pasted.strip() else None}
            report = replace_article(corpus, chosen, index=index, **given)
            return (f"<p>✓ Текст статьи <code>{format.escape(chosen)}</code> заменён; индекс обновлён за "
                    f"{report.seconds:.1f} с.</p>", articles(), None, "")

        return writes.change(request, "Текст не заменён", work, lambda line: (line, *[gr.skip()] * 3), upload=upload)

    remove.click(ask_first, [source], [confirm, question, status], api_visibility="private")
    no.click(lambda: (gr.update(visible=False), ""), None, [confirm, status], api_visibility="private")
    yes.click(do_remove, [source], [confirm, status, table], api_name="remove_article",
              api_visibility="undocumented", concurrency_limit=1, concurrency_id="index-writes")
    replace.click(do_replace, [source, file, text], [status, table, file, text], api_name="replace_article",
                  api_visibility="undocumented", concurrency_limit=1, concurrency_id="index-writes")
    return source
