"""Where a vector segment should switch from exact search to HNSW, and how deep HNSW must search.

    python -m bench.vectors [--sizes 10000,50000,100000,200000] [--out docs/scale.md]

Passage vectors are made the way the word-vector model makes them (a SIF-weighted mean of navec's vectors
of ~80 words drawn by frequency, normalised), so their distribution is that of real passages. For each
segment size: the latency of one exact query (FAISS flat inner product), the HNSW build time, and HNSW's
latency and recall@10 against the exact answer at several search depths. The segment code uses the
threshold and depth this table supports (`rag.index.vectors.APPROXIMATE_FROM`, `HNSW_SEARCH_DEPTH`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from bench.quality import machine
from bench.report import write_section
from rag.index import vectors as vector_segments

WORDS_PER_PASSAGE = 80
QUERIES = 200
DEPTHS = (256, 512, 1024)


def passage_vectors(count: int, seed: int = 0) -> np.ndarray:
    """`count` unit vectors distributed like the word-vector model's passage vectors."""
    from navec import Navec

    from rag.models.navec import SIF_A, navec_path

    navec = Navec.load(str(navec_path()))
    words = navec.pq.unpack().astype(np.float32)
    counts = np.asarray(navec.vocab.counts, dtype=np.float64)
    p = counts / counts.sum()
    words *= (SIF_A / (SIF_A + p))[:, None].astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((count, words.shape[1]), dtype=np.float32)
    for start in range(0, count, 1_000):  # 1,000 passages of 80 gathered words: ~100 MB at a time
        n = min(1_000, count - start)
        drawn = rng.choice(len(words), size=(n, WORDS_PER_PASSAGE), p=p)
        out[start:start + n] = words[drawn].sum(axis=1)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _per_query_ms(search, queries: np.ndarray) -> float:
    """Median milliseconds of one single-vector search."""
    times = []
    for q in queries:
        started = time.perf_counter()
        search(q[None, :])
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def measure(size: int, data: np.ndarray, queries: np.ndarray) -> dict:
    """Exact and HNSW search of a segment of `size` vectors: latency, build time, recall@10 by depth."""
    vectors = data[:size]
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    _, exact = flat.search(queries, 10)
    row = {"size": size, "exact_ms": _per_query_ms(lambda q: flat.search(q, 10), queries)}
    hnsw = faiss.IndexHNSWFlat(vectors.shape[1], vector_segments.HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = vector_segments.HNSW_BUILD_DEPTH
    started = time.perf_counter()
    hnsw.add(vectors)
    row["build_s"] = time.perf_counter() - started
    for depth in DEPTHS:
        params = faiss.SearchParametersHNSW(efSearch=depth)
        _, found = hnsw.search(queries, 10, params=params)
        row[f"recall_{depth}"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)]))
        row[f"hnsw_ms_{depth}"] = _per_query_ms(lambda q, p=params: hnsw.search(q, 10, params=p), queries)
    return row


def table(rows: list[dict]) -> str:
    """The measurements as a markdown table."""
    head = "| vectors | exact ms/query | HNSW build s | " + " | ".join(
        f"HNSW ef={d} ms / recall@10" for d in DEPTHS) + " |"
    lines = [head, "|" + "---|" * (3 + len(DEPTHS))]
    for r in rows:
        cells = [f"{r['size']:,}", f"{r['exact_ms']:.2f}", f"{r['build_s']:.1f}"]
        cells += [f"{r[f'hnsw_ms_{d}']:.2f} / {r[f'recall_{d}']:.3f}" for d in DEPTHS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vectors", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000,200000")
    parser.add_argument("--out", type=Path, help="Replace the vectors section of this markdown file.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    faiss.omp_set_num_threads(1)  # one question is searched by one thread, as `rag serve` does
    data = passage_vectors(max(sizes) + QUERIES)
    queries, data = data[:QUERIES], data[QUERIES:]
    rows = []
    for size in sizes:
        rows.append(measure(size, data, queries))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = (f"Vector segments, word-vector passages (300 dimensions), {QUERIES} queries, one thread, on {machine()}. "
            f"HNSW M={vector_segments.HNSW_LINKS}, efConstruction={vector_segments.HNSW_BUILD_DEPTH}. The index "
            f"switches to HNSW at {vector_segments.APPROXIMATE_FROM:,} vectors and searches it with "
            f"ef={vector_segments.HNSW_SEARCH_DEPTH}.\n\n"
            + table(rows) + "\n\nProduced by `python -m bench.vectors --sizes " + args.sizes + "`.")
    print("\n" + text)
    if args.out:
        write_section(args.out, "vectors", text)


if __name__ == "__main__":
    main()
