"""Extraction quality: how many of the saved pages' snippets each extractor gets right, and titles and dates.

    python -m bench.extraction [--pages ../shared/data/html_pages] [--out docs/ingest.md]

Why: `rag add URL` keeps a page's main text and nothing else. pages.json names, per page, snippets of its
article (`with`: must be in the text) and of its boilerplate (`without`: must not be); a snippet is right
when the extractor's text holds it (or not), whitespace made single spaces. trafilatura's defaults are the
baseline (comments included), `rag.ingest.extract.SETTINGS` what the product uses, readability-lxml
another library made for it. Titles and dates are compared with the page's where pages.json gives one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import date
from pathlib import Path

import lxml.html
import trafilatura
from readability import Document

from bench.report import write_section
from rag.ingest.extract import SETTINGS, extract

VARIANTS: dict[str, dict] = {
    "trafilatura defaults": {},
    "no comments": {"include_comments": False},
    "no comments, favor_precision": {"include_comments": False, "favor_precision": True},
    "no comments, favor_recall": {"include_comments": False, "favor_recall": True},
    "no comments, favor_recall, no tables": {"include_comments": False, "favor_recall": True, "include_tables": False},
}
_SPACES = re.compile(r"\s+")


def flat(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


def score(text: str, page: dict) -> int:
    """Snippets right: `with` ones found in `text`, `without` ones not found."""
    return sum(flat(s) in text for s in page["with"]) + sum(flat(s) not in text for s in page["without"])


def trafilatura_run(settings: dict):
    """An extractor: (text, title, date) of a page with trafilatura under `settings`."""
    def run(html: str, url: str) -> tuple[str, str | None, str | None]:
        found = extract(html, url, settings)
        return (found.text, found.title, found.date) if found else ("", None, None)
    return run


def readability_run(html: str, url: str) -> tuple[str, str | None, str | None]:
    """readability-lxml's main content as text (it finds no dates)."""
    doc = Document(html, url=url)
    body = lxml.html.fromstring(doc.summary(html_partial=True)).text_content()
    return body, doc.short_title() or None, None


def main(argv: list[str] | None = None) -> None:
    """Score every variant on every page, print the table (and write it into --out)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=Path, default=Path("../shared/data/html_pages"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    index = args.pages / "pages.json"
    if not index.is_file():
        print(f"no {index}: skipped")
        return
    pages = json.loads(index.read_text(encoding="utf-8"))
    runs = {name: trafilatura_run(settings) for name, settings in VARIANTS.items()}
    runs["readability-lxml"] = readability_run
    used = next((name for name, settings in VARIANTS.items() if settings == SETTINGS), "rag.ingest SETTINGS")
    runs.setdefault(used, trafilatura_run(SETTINGS))
    total = sum(len(p["with"]) + len(p["without"]) for p in pages.values())
    titled = sum(bool(p["title"]) for p in pages.values())
    dated = sum(bool(p["date"]) for p in pages.values())
    rows = []
    for name, run in runs.items():
        right = titles = dates = 0
        started = time.perf_counter()
        for file, page in pages.items():
            html = (args.pages / file).read_bytes().decode("utf-8", errors="replace")
            text, title, day = run(html, page["url"])
            right += score(flat(text), page)
            titles += bool(page["title"]) and flat(title) == flat(page["title"])
            dates += bool(page["date"]) and day == page["date"]
        ms = (time.perf_counter() - started) * 1000 / len(pages)
        mark = " (used)" if name == used else ""
        rows.append(f"| {name}{mark} | {right}/{total} | {titles}/{titled} | {dates}/{dated} | {ms:.0f} |")
    section = "\n".join([
        "## Extraction quality",
        "",
        f"Produced by `python -m bench.extraction {' '.join(argv if argv is not None else sys.argv[1:])}` on "
        f"{date.today().isoformat()}: {len(pages)} saved pages of ../shared/data/html_pages, {total} snippets "
        "(article text that must be kept, boilerplate that must not).",
        "",
        "| extractor | snippets right | titles | dates | ms per page |",
        "|---|---|---|---|---|",
        *rows,
    ])
    print(section)
    if args.out:
        write_section(args.out, "extraction", section)


if __name__ == "__main__":
    main()
