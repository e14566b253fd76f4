"""Turning library results into what the chat shows: escaped HTML inside Markdown, never raw article text.

Every piece of text that comes from an article, a question or a file goes through `escape`, and is
placed inside an HTML block (<p>, <blockquote>, <details>, <table>), where Markdown does not apply.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Sequence
from urllib.parse import urlencode

from rag.errors import RagError
from rag.search.answer import Answer
from rag.articles import ArticleInfo
from rag.search.retriever import Passage
from rag.search.summary import Summary

_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "\\`*_[]~|$"})
"""Characters Markdown, GFM or LaTeX rendering act on inline, as HTML entities (shown as themselves)."""

ARTICLE_PATH = "/article"
"""Where the server shows an article whole (`ui.article_page`)."""

_LINE_BREAKS = re.compile(r"[ \t]*\r?\n\s*")
_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря")


def escape(text: str) -> str:
    """`text` as inert HTML: tags and Markdown characters as entities, line breaks as <br> (never a blank line)."""
    escaped = html.escape(text, quote=True).translate(_MARKDOWN)
    return _LINE_BREAKS.sub(lambda m: "<br>" * min(m.group().count("\n"), 2), escaped)


def date(value: str | None) -> str:
    """An ISO date as Russian words ("4 марта 2026"); anything else escaped as it is."""
    if not value:
        return ""
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        return escape(value)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def link(url: str | None, label: str) -> str:
    """An external link to an http(s) `url` (escaped) with an already escaped `label`; empty for other URLs."""
    if not url or not re.match(r"https?://", url, re.I):
        return ""
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">{label}</a>'


def failure(error: Exception) -> str:
    """What went wrong with a change, as the chat says it: a RagError's Russian line, a write's reason."""
    if isinstance(error, RagError):
        return error.russian
    return f"ошибка записи ({error.strerror})" if isinstance(error, OSError) else "внутренняя ошибка"


def problem(text: str) -> str:
    """A line saying what went wrong (already in Russian), marked as a warning."""
    return f"<p>⚠️ {escape(text)}</p>"


ECHO_CHARS = 300
"""Characters of a question echoed in the chat: a huge paste is shown as its start and a note, not a page."""


def question(text: str) -> str:
    """The user's chat message: the question exactly as typed, shown as text; a long one cut to ECHO_CHARS
    with a note giving its length."""
    if len(text) <= ECHO_CHARS:
        return f"<p>{escape(text)}</p>"
    return f"<p>{escape(text[:ECHO_CHARS])}… <em>(показано {ECHO_CHARS} из {len(text)} символов)</em></p>"


def quote_block(passage: Passage, start: int, end: int) -> str:
    """The passage as a quotation, the article span [start, end) in <mark>."""
    s, e = start - passage.start, end - passage.start
    text = passage.text
    return f"<blockquote>{escape(text[:s])}<mark>{escape(text[s:e])}</mark>{escape(text[e:])}</blockquote>"


def key_quote(passage: Passage, start: int, end: int) -> str:
    """The key quote [start, end) alone and in full: what the reply shows first."""
    return f"<blockquote class='key-quote'>{escape(passage.text[start - passage.start:end - passage.start])}</blockquote>"


def folded_passage(passage: Passage, start: int, end: int) -> str:
    """The passage the key quote [start, end) comes from, the quote marked, folded under a summary line."""
    return f"<details class='passage'><summary>Весь отрывок</summary>{quote_block(passage, start, end)}</details>"


def article_link(source: str, start: int, end: int, label: str) -> str:
    """A link opening the article view in a new tab, [start, end) marked and scrolled to; `label` escaped.
    The address is relative, so it works under whatever path the chat is served."""
    address = f"{ARTICLE_PATH.lstrip('/')}?{urlencode({'source': source, 'start': start, 'end': end})}#quote"
    return (f'<a class="article-link" href="{html.escape(address, quote=True)}" target="_blank" '
            f'rel="noopener">{label}</a>')


def source_line(passage: Passage, start: int | None = None, end: int | None = None) -> str:
    """Where the quote [start, end) comes from: title (opening the article at the quote), date, publisher and
    link when known, the file, and the other outlets that published the story."""
    title = article_link(passage.source, passage.start if start is None else start,
                         passage.end if end is None else end, f"«{escape(passage.title)}»")
    parts = [title, date(passage.date), escape(passage.publisher or ""),
             link(passage.url, "ссылка"), f"<code>{escape(passage.source)}</code>"]
    return f"<p><b>Источник:</b> {' · '.join(p for p in parts if p)}{also(passage)}</p>"


def also(passage: Passage) -> str:
    """«также: …»: the other copies of the passage's story, each linked to its page (else to the article view),
    with its publisher and date; empty when the story has no other copy."""
    if not passage.same_story:
        return ""
    copies = []
    for copy in passage.same_story:
        label = escape(copy.publisher or copy.title)
        named = link(copy.url, label) or article_link(copy.source, 0, 0, label)
        copies.append(" ".join(p for p in (named, date(copy.date)) if p))
    return f"<br><small class='same-story'>также: {'; '.join(copies)}</small>"


def passages(found: Sequence[Passage], summary: str) -> str:
    """Passages with their scores and dates (each opening its article at it) and the other outlets of their
    story, in a collapsed <details> block titled `summary`."""
    items = "".join(
        f"<li><b>{p.score:.3f}</b> · {article_link(p.source, p.start, p.end, '«' + escape(p.title) + '»')} · "
        f"{date(p.date) + ' · ' if p.date else ''}<code>{escape(p.source)}</code>, символы {p.start}–{p.end}"
        f"{also(p)}<br>{escape(p.text)}</li>"
        for p in found
    )
    return f"<details><summary>{summary} ({len(found)})</summary><ol>{items}</ol></details>"


def summary(found: Summary) -> str:
    """An article's summary: its title, date and publisher, then its central sentences quoted with offsets."""
    about = [f"«{escape(found.title)}»", date(found.date), escape(found.publisher or ""), link(found.url, "ссылка"),
             f"<code>{escape(found.source)}</code>"]
    items = "".join(f"<li><blockquote>{escape(s.text)}</blockquote><small>символы {s.start}–{s.end}</small></li>"
                    for s in found.sentences)
    return f"<p><b>Кратко о статье</b> {' · '.join(a for a in about if a)}</p><ol class='summary'>{items}</ol>"


def reply(answer: Answer) -> str:
    """The bot's message: notice, the key quote in full (after «Возможно:» when it is a borderline answer), its
    source (article, date), the passage it comes from folded, and the passages (or an article's summary); a
    decline says why."""
    blocks = []
    if answer.notice:
        blocks.append(f"<p><em>{escape(answer.notice)}</em></p>")
    if answer.summary is not None:
        blocks.append(summary(answer.summary))
    elif answer.answer is not None:
        top = answer.passages[0]
        span = (top, answer.quote_start, answer.quote_end)
        if answer.tentative:
            blocks.append("<p><b>Возможно:</b></p>")
        blocks += [key_quote(*span), source_line(*span), folded_passage(*span), passages(answer.passages, "Источники")]
    elif answer.passages:
        if answer.why is not None:
            blocks.append(f"<p>Причина: {escape(answer.why.russian)}.</p>")
        blocks.append(passages(answer.passages, "Ближайшие отрывки, ответа в них нет"))
    return "\n\n".join(blocks)


def articles_table(articles: Sequence[ArticleInfo]) -> str:
    """The indexed articles as an HTML table: title (linked when a URL is known), date, passages."""
    if not articles:
        return "<p>В индексе пока нет статей.</p>"
    rows = "".join(
        f"<tr><td>{link(a.url, escape(a.title)) or escape(a.title)}"
        f"{'<br><small>' + escape(a.publisher) + '</small>' if a.publisher else ''}</td>"
        f"<td>{date(a.date)}</td><td>{a.passages}</td></tr>"
        for a in articles
    )
    return (f"<table class='articles'><thead><tr><th>Статья</th><th>Дата</th><th>Отрывков</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
