"""Building an index on Ray (1 and 2 actors) against one process, on the same corpus: throughput and overhead.

    python -m bench.ray --xquad ../shared/data/xquad-ru-dev.json [--model NAME] [--work /tmp/rag-ray] [--out docs/scale.md]

The corpus is XQuAD-ru dev's articles (skipped when the file is absent). Every build starts from an empty
index in this process through `rag.build_index`; the model is loaded here before the single-process build
(so its time is encoding and writing), while a Ray build's time includes what Ray adds: its local cluster
started once beforehand (timed apart), then per build the actors starting and each loading the model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import rag
from bench import xquad
from bench.report import write_section
from rag.models import shared_model


def measure(path: Path, work: Path, model: str | None) -> dict:
    import ray

    from rag.index import ray_encoding

    shutil.rmtree(work, ignore_errors=True)
    corpus = xquad.write_corpus(xquad.load(path), work / "corpus")
    embedder = shared_model(model)
    started = time.perf_counter()
    ray_encoding.connect("auto")
    results = {"ray start": time.perf_counter() - started, "model": embedder.name}
    for name, options in (("one process", {}), ("Ray, 1 actor", {"ray": "auto", "ray_actors": 1}),
                          ("Ray, 2 actors", {"ray": "auto", "ray_actors": 2})):
        started = time.perf_counter()
        report = rag.build_index(corpus, work / name.replace(" ", "").replace(",", ""), model=embedder.name,
                                 **options)
        results[name] = (time.perf_counter() - started, report.chunks)
        print(f"{name}: {results[name][0]:.1f} s", file=sys.stderr, flush=True)
    ray.shutdown()
    return results


def table(r: dict) -> str:
    base = r["one process"][0]
    rows = [f"| {name} | {r[name][0]:.1f} | {r[name][1] / r[name][0]:.1f} | {r[name][0] / base:.2f}× |"
            for name in ("one process", "Ray, 1 actor", "Ray, 2 actors")]
    return "\n".join([
        f"XQuAD-ru dev's articles ({r['one process'][1]} passages), model {r['model']}, this machine "
        f"({os.cpu_count()} cores); a local Ray cluster started once beforehand in {r['ray start']:.1f} s.",
        "",
        "| build | seconds | passages/s | time vs one process |",
        "|---|---|---|---|",
        *rows,
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--xquad", type=Path, required=True, help="XQuAD-ru dev (SQuAD format); skipped if absent.")
    parser.add_argument("--model", default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-ray"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.xquad.exists():
        print(f"skipped: {args.xquad} not found", file=sys.stderr)
        return
    text = table(measure(args.xquad, args.work, args.model))
    print(text)
    if args.out:
        write_section(args.out, "ray", "## Building on Ray\n\n" + text)


if __name__ == "__main__":
    main()
