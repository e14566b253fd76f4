"""Local index against the Milvus backend (Milvus Lite) on XQuAD-ru dev: same answers, and what a question costs.

    python -m bench.milvus --xquad ../shared/data/xquad-ru-dev.json [--model NAME] [--work /tmp/rag-milvus]
                           [--repeat 3] [--out docs/scale.md]

Both indexes are built from the same corpus (the XQuAD articles) with the same model, through `rag.build_index`;
every question is encoded once and searched in both (`Retriever.search`, re-scoring included), so the
latency is retrieval alone, in this process, best of `--repeat` rounds per question after an untimed one
(which reads and analyses the passages' sentences for re-scoring, each from its own store). Reported: the share of
questions with the same top-5 passages (ids and order), hit@1 of each, and p50/p95 latency.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import rag
from bench import xquad
from bench.evaluation import first_hit, hit_at
from bench.report import write_section
from rag.search.live import open_index


def _timed(retriever, query, repeat: int) -> tuple[list, float]:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        found = retriever.search(query, k=5)
        best = min(best, time.perf_counter() - started)
    return found, best


def compare(path: Path, work: Path, model: str | None, repeat: int) -> dict:
    """Build both indexes of the XQuAD corpus (or bring those `work` holds up to date) and ask every question
    of both."""
    articles = xquad.load(path)
    corpus = xquad.write_corpus(articles, work / "corpus")
    built = {}
    for name, options in (("local", {}), ("milvus", {"backend": "milvus", "uri": str(work / "milvus.db")})):
        started = time.perf_counter()
        report = rag.build_index(corpus, work / name, model=model, **options)
        built[name] = (time.perf_counter() - started, report.passages)
    local, remote = open_index(work / "local"), open_index(work / "milvus")
    same, ranks, latency = 0, {"local": [], "milvus": []}, {"local": [], "milvus": []}
    questions = xquad.questions(articles)
    for n, question in enumerate(questions):
        if n % 100 == 0:
            print(f"{n}/{len(questions)} questions", file=sys.stderr, flush=True)
        query = local.query(question.question)
        found = {}
        for name, retriever in (("local", local), ("milvus", remote)):
            retriever.search(query, k=5)  # untimed: the passages' sentences are read and analysed (cached)
            found[name], seconds = _timed(retriever, query, repeat)
            latency[name].append(seconds * 1000)
            ranks[name].append(first_hit([p.text for p in found[name]], question.answers))
        same += [p.id for p in found["local"]] == [p.id for p in found["milvus"]]
    return {"questions": len(questions), "passages": built["local"][1], "same": same / len(questions),
            "hit1": {n: hit_at(r, 1) for n, r in ranks.items()},
            "p50": {n: float(np.percentile(v, 50)) for n, v in latency.items()},
            "p95": {n: float(np.percentile(v, 95)) for n, v in latency.items()},
            "build": {n: b[0] for n, b in built.items()}, "model": local.embedder.name}


def table(r: dict) -> str:
    return "\n".join([
        f"XQuAD-ru dev: {r['questions']} questions over {r['passages']} passages, model {r['model']}, this machine "
        f"({__import__('os').cpu_count()} cores). Latency: retrieval of the top 5 for an encoded question "
        "(re-scoring included), in process.",
        "",
        "| | local (tantivy + FAISS) | Milvus Lite |",
        "|---|---|---|",
        f"| same top-5 as local | | {r['same']:.1%} |",
        f"| hit@1 | {r['hit1']['local']:.3f} | {r['hit1']['milvus']:.3f} |",
        f"| latency p50 / p95 (ms) | {r['p50']['local']:.1f} / {r['p95']['local']:.1f} | "
        f"{r['p50']['milvus']:.1f} / {r['p95']['milvus']:.1f} |",
        f"| build (s, encoding included) | {r['build']['local']:.1f} | {r['build']['milvus']:.1f} |",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = xquad.bench_parser(__doc__.split("\n")[0], Path("/tmp/rag-milvus"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if xquad.skipped(args.xquad):
        return
    result = compare(args.xquad, args.work, args.model, args.repeat)
    text = table(result)
    print(text)
    if args.out:
        write_section(args.out, "milvus", "## Local index and Milvus Lite\n\n" + text)


if __name__ == "__main__":
    main()
