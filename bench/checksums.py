"""What checksums cost: a cold `rag ask` with every stored file verified on open, and with verification off.

    python -m bench.checksums [--passages 44000] [--repeat 9] [--work /tmp/rag-scale] [--out docs/scale.md]

Why: every file of an index is checked against its recorded xxh3 checksum once per process (see
`rag.index.checksums`), and a cold `rag ask` is the process that pays for it in full. The archive is the
scale benchmark's synthetic news (`bench.scale`) with the word-vector model, so encoding does not hide the
cost. Each run is a fresh `rag ask` process; runs with and without verification alternate, so drift on the
machine hits both alike. Verification off is the same code with `checksums.verify` replaced by a no-op in
the child, never a switch of the product. The page cache is warm (the files were just written or read):
on a cold disk verification reads whole files that a memory map would partly skip.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bench.report import write_section
from bench.scale import ensure_archive, load_vocabulary, machine

PASSAGES_PER_ARTICLE = 4.81
"""Passages per generated article with today's chunker (docs/scale.md)."""
MODEL = "navec-news-v1-static"
ASK = "from rag.cli import main; main()"
UNCHECKED = "import rag.index.checksums as c; c.verify = lambda path, expected: None; " + ASK


def cold_ask(code: str, index: Path, question: str) -> float:
    """Seconds a fresh `rag ask` process takes to answer `question` from `index`."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, "ask", "--index", str(index), question], check=True,
                   capture_output=True)
    return time.perf_counter() - started


def verify_all(index: Path) -> tuple[int, float]:
    """Bytes of the live version's files and the seconds hashing all of them takes in this process."""
    from rag.index import checksums, store

    version, manifest = store.read_manifest(index)
    paths = [index / version / "words" / name for name in manifest.words]
    paths += [index / "segments" / f"{s.name}{suffix}" for s in manifest.segments for suffix in (".faiss", ".ids.npy")]
    started = time.perf_counter()
    for path in paths:
        checksums.of_file(path)
    return sum(p.stat().st_size for p in paths), time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Build the index if needed, time cold questions both ways, print the table (and write it into --out)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=44_000)
    parser.add_argument("--repeat", type=int, default=9, help="Cold questions each way.")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-scale"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    articles = round(args.passages / PASSAGES_PER_ARTICLE)
    corpus = args.work / f"corpus-s0-{articles}"
    ensure_archive(load_vocabulary(), corpus, articles, 0)
    index = args.work / f"index-checksums-{articles}"
    if not index.exists():
        subprocess.run([sys.executable, "-c", ASK, "index", "--corpus", str(corpus), "--index", str(index),
                        "--model", MODEL], check=True)
    from rag.index import store

    passages = store.read_manifest(index)[1].passages
    question = "Какие новости о строительстве и экономике?"
    cold_ask(ASK, index, question)  # the page cache filled once before timing
    checked, unchecked = [], []
    for _ in range(args.repeat):
        checked.append(cold_ask(ASK, index, question))
        unchecked.append(cold_ask(UNCHECKED, index, question))
    size, hashing = verify_all(index)
    with_, without = statistics.median(checked), statistics.median(unchecked)
    lines = [
        "## Checksums: what verifying every stored file costs a cold question",
        "",
        (f"Produced by `python -m bench.checksums {' '.join(argv if argv is not None else sys.argv[1:])}` on "
        f"{date.today().isoformat()}.  "),
        f"Machine: {machine()}.",
        "",
        (f"{passages:,} passages ({articles:,} generated articles, `{MODEL}`); {size / 2**20:.0f} MiB of stored files "
        f"(word index and vector segments). Median of {args.repeat} fresh `rag ask` processes each way, "
        "alternating; page cache warm."),
        "",
        "| | cold `rag ask` (median, min–max) |",
        "|---|---|",
        f"| files verified on open | {with_:.2f} s ({min(checked):.2f}–{max(checked):.2f}) |",
        f"| verification off | {without:.2f} s ({min(unchecked):.2f}–{max(unchecked):.2f}) |",
        f"| overhead | {with_ - without:+.2f} s ({(with_ - without) / without:+.1%}) |",
        (f"| hashing all {size / 2**20:.0f} MiB in one process | {hashing * 1000:.0f} ms "
        f"({size / 2**30 / hashing:.1f} GiB/s) |"),
    ]
    section = "\n".join(lines)
    print(section)
    print(json.dumps({"checked": checked, "unchecked": unchecked, "hashing_s": hashing, "bytes": size}))
    if args.out:
        write_section(args.out, "checksums", section)


if __name__ == "__main__":
    main()
