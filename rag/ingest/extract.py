"""A web page's article: its main text without menus, banners, «Читайте также», comments and footers, and its
title, date of publication, site name and canonical link (trafilatura; dates by htmldate).

The settings are the ones that scored best on ../shared/data/html_pages (bench/extraction.py, docs/ingest.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura
from courlan import normalize_url

from rag.ingest.guard import FetchRefused

SETTINGS: dict = {"include_comments": False, "favor_precision": True}
"""trafilatura's options for news pages: readers' comments left out, precision over recall (236 of 250 snippets
right against the defaults' 229, docs/ingest.md)."""

MIN_TEXT = 200
"""An extracted text shorter than this (characters) is no article: a login form, a gallery, an error page."""

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Extracted:
    """What a page holds as an article: `text` in paragraphs, and what is known of it (None when not found)."""

    text: str
    title: str | None
    date: str | None
    publisher: str | None
    url: str | None


def canonical(url: str) -> str:
    """`url` as one article is known whatever link reached it: courlan's normalisation (lower-case host,
    sorted query, tracking parameters and fragment dropped)."""
    try:
        return normalize_url(url, strict=True)
    except (ValueError, AttributeError):
        return url


def extract(html: str, url: str | None = None, settings: dict | None = None) -> Extracted | None:
    """The article of `html` (found at `url`, if known) with trafilatura under `settings` (default SETTINGS),
    or None when the page holds no text at all."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, **(SETTINGS if settings is None else settings))
    if doc is None or not (doc.text or "").strip():
        return None
    lines = [_SPACES.sub(" ", line).strip() for line in doc.text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0] == (doc.title or "").strip():
        lines = lines[1:]  # the headline is the title, not the article's first paragraph
    text = "\n\n".join(lines)
    day = _DAY.match(doc.date or "")
    link = doc.url or url
    return Extracted(text, doc.title or None, day.group(0) if day else None, doc.sitename or doc.hostname or None,
                     canonical(link) if link else None)


def article(html: str, url: str | None = None) -> Extracted:
    """The article of `html`, or FetchRefused when it holds none worth keeping (under MIN_TEXT characters)."""
    found = extract(html, url)
    if found is None or len(found.text) < MIN_TEXT:
        where = f" at {url[:200]}" if url else ""
        raise FetchRefused(f"the page{where} holds no article text (a login form, a gallery or an error page?)",
                           russian="на странице нет текста статьи (форма входа, галерея или страница ошибки?)")
    return found
