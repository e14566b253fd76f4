"""Building an index on Ray against one process, on the same corpus: Ray's overhead, and throughput by workers.

    python -m bench.ray --xquad ../shared/data/xquad-ru-dev.json [--copies 4] [--model NAME] [--work /tmp/rag-ray] [--out docs/scale.md]

The corpus is XQuAD-ru dev's articles, written `--copies` times (each copy's first line names it, so no two
articles are the same), skipped when the file is absent. Every build starts from an empty index in this
process through `rag.build_index`, and each counts loading the model, as `rag index` does (the model loads on
its first use: in the single-process build, and in each actor of a Ray build, which also counts the actors
starting); the local Ray cluster is started beforehand (timed apart).

Each Ray build's vectors are compared with the single process's, passage by passage (the smallest cosine):
batches of other passages may change the last bits of a vector, never its meaning.

Two comparisons: one actor with all of the machine's CPUs against one process (Ray's overhead), and one
against two actors of one CPU each, the first on a cluster of one CPU (how throughput grows with workers of
the same size, which is how a cluster grows; on 2 cores a second worker can only come with half the CPUs).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import rag
from bench import xquad
from bench.report import write_section
from rag.index import store
from rag.models import shared_model


def corpus(path: Path, folder: Path, copies: int) -> Path:
    """XQuAD's articles written `copies` times into `folder`, each copy's text opened by a line naming it."""
    articles = xquad.load(path)
    for copy in range(copies):
        marked = [replace(a, text=f"Копия {copy + 1}.\n\n{a.text}") for a in articles]
        xquad.write_corpus(marked, folder / f"copy-{copy + 1}")
    return folder


BUILDS = (("one process", None, {}), ("Ray, 1 actor", None, {"ray": "auto", "ray_actors": 1}),
          ("Ray, 2 actors of 1 CPU", None, {"ray": "auto", "ray_actors": 2}),
          ("Ray, 1 actor of 1 CPU", 1, {"ray": "auto", "ray_actors": 1}))
"""(name, the local cluster's CPUs (None: the machine's), build options)."""
NO_CLUSTER = object()


def measure(path: Path, work: Path, model: str | None, copies: int) -> dict:
    import ray

    from rag.index import ray_encoding

    shutil.rmtree(work, ignore_errors=True)
    folder = corpus(path, work / "corpus", copies)
    embedder = shared_model(model)
    results = {"model": embedder.name, "ray start": []}
    running = NO_CLUSTER  # the CPUs the running local cluster was started with
    for name, cpus, options in BUILDS:
        if options and cpus != running:  # a Ray build on a cluster of other CPUs: (re)start it, timed apart
            ray.shutdown()
            started = time.perf_counter()
            ray_encoding.connect("auto", cpus)
            results["ray start"].append(time.perf_counter() - started)
            running = cpus
        started = time.perf_counter()
        report = rag.build_index(folder, _index(work, name), model=embedder.name, **options)
        seconds = time.perf_counter() - started
        same = smallest_cosine(_index(work, BUILDS[0][0]), _index(work, name))
        results[name] = (seconds, report.passages, same)
        print(f"{name}: {results[name][0]:.1f} s", file=sys.stderr, flush=True)
    ray.shutdown()
    return results


def _index(work: Path, build: str) -> Path:
    return work / build.replace(" ", "").replace(",", "")


def smallest_cosine(one: str | Path, other: str | Path) -> float:
    """The smallest cosine between two indexes' vectors of the same passage id (both built from one corpus):
    whether two ways of building give the same vectors."""
    a, b = store.load(one), store.load(other)
    ids = np.arange(a.manifest.next_id)
    return float(np.sum(a.vectors.vectors(ids) * b.vectors.vectors(ids), axis=1).min())


def table(r: dict) -> str:
    def row(name: str, against: str) -> str:
        return (f"| {name} | {r[name][0]:.1f} | {r[name][1] / r[name][0]:.1f} | "
                f"{r[name][0] / r[against][0]:.2f}× {against} | {r[name][2]:.6f} |")

    starts = ", ".join(f"{s:.1f}" for s in r["ray start"])
    return "\n".join([
        f"XQuAD-ru dev's articles written {r['copies']} times ({r['one process'][1]} passages), model {r['model']}, "
        f"this machine ({os.cpu_count()} cores); a local Ray cluster started beforehand (in {starts} s).",
        "",
        "| build | seconds | passages/s | time vs | min cosine with one process's vectors |",
        "|---|---|---|---|---|",
        row("one process", "one process"),
        row("Ray, 1 actor", "one process"),
        row("Ray, 1 actor of 1 CPU", "one process"),
        row("Ray, 2 actors of 1 CPU", "Ray, 1 actor of 1 CPU"),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = xquad.bench_parser(__doc__.split("\n")[0], Path("/tmp/rag-ray"))
    parser.add_argument("--copies", type=int, default=4, help="Times the articles are written (default 4).")
    args = parser.parse_args(argv)
    if xquad.skipped(args.xquad):
        return
    results = measure(args.xquad, args.work, args.model, args.copies)
    text = table({**results, "copies": args.copies})
    print(text)
    if args.out:
        write_section(args.out, "ray", "## Building on Ray\n\n" + text)


if __name__ == "__main__":
    main()
