"""What a filter costs a question: warm `rag.retrieve` latency with and without date and publisher filters on a
generated archive (`bench.scale`'s articles: seven publishers, dates over seven years), and a check that each
filtered question still gets its k passages, all admitted (the filter is applied in the index, not after k).

    python -m bench.filters --articles 5000 [--model navec-news-v1-static] [--work /tmp/rag-filters]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import rag
from bench.scale import ensure_archive, load_vocabulary, make_questions
from rag.models import navec
from rag.search.live import open_index

K = 5
FILTERS = {
    "none": {},
    "publisher (1 of 7)": {"publisher": "ТАСС"},
    "one year (1 of 7)": {"since": "2022-01-01", "until": "2022-12-31"},
    "one month (1 of 84)": {"since": "2022-03-01", "until": "2022-03-31"},
    "one month and publisher (1 of 588)": {"since": "2022-03-01", "until": "2022-03-31", "publisher": "ТАСС"},
}
"""The filters measured, with the share of the archive each admits."""


def measure(index: Path, questions: list[str]) -> list[tuple[str, float, float, int, float]]:
    """For each filter: p50 and p95 ms of warm retrieval, the passages it admits, and the share of its
    questions that got all K passages."""
    manifest = open_index(index).stored.manifest
    rows = []
    for name, where in FILTERS.items():
        rag.retrieve(questions[0], k=K, index=index, **where)  # warm-up: the filter's passage mask is cached
        times, full = [], 0
        for question in questions:
            started = time.perf_counter()
            found = rag.retrieve(question, k=K, index=index, **where)
            times.append((time.perf_counter() - started) * 1000)
            admitted = all(_admits(manifest.articles[p.source], where) for p in found)
            assert admitted, f"{name}: a passage outside the filter"
            full += len(found) == K
        passages = sum(a.passages for a in manifest.articles.values() if _admits(a, where))
        p50, p95 = np.percentile(times, [50, 95]).tolist()
        rows.append((name, p50, p95, passages, full / len(questions)))
    return rows


def _admits(article, where: dict) -> bool:
    day = article.date or ""
    return (where.get("publisher") in (None, article.publisher) and day >= where.get("since", "")
            and day <= where.get("until", "9999"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.filters", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="Articles to generate.")
    parser.add_argument("--model", default=navec.NAME, help="Embedding model of the index.")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-filters"), help="Folder for the archive and index.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    corpus, index = args.work / f"corpus-{args.articles}", args.work / f"index-{args.articles}"
    ensure_archive(load_vocabulary(), corpus, args.articles, args.seed)
    report = rag.build_index(corpus, index, model=args.model)
    questions = make_questions(corpus, args.articles, args.seed)
    print(f"{report.passages} passages of {args.articles} articles, model {report.model}, {len(questions)} questions, "
          f"k={K}\n")
    print("| filter | passages admitted | warm retrieve p50 / p95 ms | questions with all k passages |")
    print("|---|---|---|---|")
    for name, p50, p95, passages, full in measure(index, questions):
        print(f"| {name} | {passages} | {p50:.1f} / {p95:.1f} | {full:.0%} |")


if __name__ == "__main__":
    main()
