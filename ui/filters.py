"""The chat's filter controls (dates and publisher), handed to `rag.answer`, which checks them."""

from __future__ import annotations

import gradio as gr

ALL = ""
"""The publisher choice that places no bound."""


def controls() -> tuple[gr.Textbox, gr.Textbox, gr.Dropdown]:
    """Since, until and publisher inputs in a collapsed "Фильтры" block (inside the current layout)."""
    with gr.Accordion("Фильтры: даты и издание", open=False, elem_id="filters"):
        with gr.Row():
            since = gr.Textbox(label="С даты", placeholder="ГГГГ-ММ-ДД", elem_id="since", min_width=140)
            until = gr.Textbox(label="По дату", placeholder="ГГГГ-ММ-ДД", elem_id="until", min_width=140)
        publisher = gr.Dropdown(label="Издание", choices=[("Все издания", ALL)], value=ALL, elem_id="publisher",
                                allow_custom_value=False)
    return since, until, publisher


def publisher_choices(publishers: list[str]) -> list[tuple[str, str]]:
    """The dropdown's choices: every publisher of the index, after "all"."""
    return [("Все издания", ALL), *((p, p) for p in publishers)]


def chosen(since: str | None, until: str | None, publisher: str | None) -> dict:
    """The filter as `rag.answer`'s keyword arguments (blank fields place no bound)."""
    return {"since": (since or "").strip() or None, "until": (until or "").strip() or None,
            "publisher": publisher or None}
