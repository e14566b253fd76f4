"""What adding from the web costs: one page by link (fetch + extraction + today's add-one) against adding the
same text as a file, and one `rag feeds update` pass over a feed of 100 items, then a second, unchanged pass.

    python -m bench.ingest [--out docs/ingest.md]

The pages come from bench.news_site on 127.0.0.1 (RAG_FETCH_ALLOW_PRIVATE=1), so the network costs nothing
and what is measured is ours; the index uses navec, so encoding does not hide it. No politeness delay.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import rag
from bench.news_site import NewsSite, article_html, rss, story
from bench.report import write_section
from rag.ingest.feeds import add_feed, update_feeds
from rag.models import navec


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Time both, print the table (and write it into --out)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    os.environ["RAG_FETCH_ALLOW_PRIVATE"] = "1"
    site = NewsSite.start()
    work = Path(tempfile.mkdtemp(prefix="rag-ingest-"))
    corpus, index = work / "corpus", work / "index"
    corpus.mkdir()
    (corpus / "first.md").write_text("---\ntitle: Первая\n---\n" + "\n\n".join(story(0)[1]), encoding="utf-8")
    rag.build_index(corpus, index, model=navec.NAME)
    by_link, as_file = [], []
    for n in range(1, args.repeat + 1):
        title, paragraphs = story(n)
        url = site.route(f"/news/{n}", article_html(title, paragraphs))
        by_link.append(timed(lambda: rag.add_url(url, corpus, index=index)))
        text = "\n\n".join(story(1000 + n)[1])

        def add_file() -> None:
            rag.add_article(corpus, title=f"file {n}", text=text, index=index)
        as_file.append(timed(add_file))
    links = [site.route(f"/feed/{n}", article_html(*story(2000 + n))) for n in range(args.items)]
    site.route("/rss", rss([(f"n{n}", link) for n, link in enumerate(links)]), content_type="application/rss+xml",
               etag='"1"')
    add_feed(site.url("/rss"), index=index)
    first = time.perf_counter()
    report = update_feeds(corpus, index, delay=0)
    first = time.perf_counter() - first
    second = timed(lambda: update_feeds(corpus, index, delay=0))
    site.stop()
    link_ms, file_ms = statistics.median(by_link) * 1000, statistics.median(as_file) * 1000
    section = "\n".join([
        "## Adding from the web: cost",
        "",
        f"Produced by `python -m bench.ingest {' '.join(argv if argv is not None else sys.argv[1:])}` on "
        f"{date.today().isoformat()}: pages from a local server, index with `{navec.NAME}`, no politeness delay.",
        "",
        "| what | time |",
        "|---|---|",
        f"| add one article by link (fetch, extract, save, index; median of {args.repeat}) | {link_ms:.0f} ms |",
        f"| add one article as pasted text (save, index; median of {args.repeat}) | {file_ms:.0f} ms |",
        f"| so the fetch and extraction cost | {link_ms - file_ms:+.0f} ms |",
        f"| `update_feeds`, a feed of {args.items} new items ({len(report.added)} added, "
        f"{len(report.skipped)} skipped) | {first:.1f} s ({first / args.items * 1000:.0f} ms per item) |",
        f"| the same feed again, unchanged (one 304) | {second * 1000:.0f} ms |",
    ])
    print(section)
    if args.out:
        write_section(args.out, "ingest-cost", section)


if __name__ == "__main__":
    main()
