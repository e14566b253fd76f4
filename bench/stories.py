"""One story, many outlets: fitting the near-duplicate threshold, and what finding an article's story costs.

The fit: XQuAD-ru's articles (read where they lie, never copied) cut into news-sized articles of three
paragraphs, each republished as another outlet would (a new lead line, a paragraph added, removed or edited,
sentences reordered: one or two edits), against other articles of the same topic (the next three paragraphs,
which repeat one of them as background, and the last two, which repeat none) and of other topics. Every
shingle size and Jaccard threshold is tried on MinHash estimates; the best F1 is kept (the middle of its range
of thresholds), then the LSH bands and rows that datasketch chooses for it are checked on the same pairs.

The cost: archives of 1k to 100k generated articles (random band keys: an archive's unrelated articles share
none) in article-table files as the merge policy leaves them; per added article of generated text, the time of
its signature and of the lookup of its story (`rag.index.table.Articles.story_for`).

    python -m bench.stories --xquad ../shared/data/xquad-ru-dev.json --out docs/stories.md
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import xquad
from bench.report import write_section
from rag.index import merging, stories
from rag.index.table import ArticleEntry, Articles

SIZES = (1, 2, 3, 4, 5)
"""Shingle sizes tried (words)."""
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)
ARCHIVES = (1_000, 10_000, 100_000)
ADDED = 200
"""Articles added (looked up) per archive size."""
BATCH = 1_000
"""Articles per update when the archive is built: the table files an archive of updates leaves."""
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Pair:
    """Two article texts and whether they tell one story; `kind` says how the pair was made."""

    one: str
    other: str
    same: bool
    kind: str


def _sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE.split(paragraph) if s]


def republished(paragraphs: list[str], spare: list[str], rng: random.Random) -> str:
    """The article as another outlet republishes it: one or two edits of those a newsroom makes, an added
    paragraph taken from `spare`."""
    paragraphs = list(paragraphs)
    for edit in rng.sample(["lead", "add", "remove", "edit", "reorder"], rng.randint(1, 2)):
        at = rng.randrange(len(paragraphs))
        if edit == "lead":  # a new lead line made of the article's own words
            words = rng.choice(_sentences(rng.choice(paragraphs))).split()
            rng.shuffle(words)
            paragraphs.insert(0, " ".join(words[:12]))
        elif edit == "add":
            paragraphs.insert(at, rng.choice(spare))
        elif edit == "remove" and len(paragraphs) > 2:
            paragraphs.pop(at)
        elif edit == "edit":
            sentences = _sentences(paragraphs[at])
            if len(sentences) > 1:
                sentences.pop(rng.randrange(len(sentences)))
            words = " ".join(sentences).split()
            for i in rng.sample(range(len(words)), len(words) // 10):
                words[i] = rng.choice(spare).split()[0]
            paragraphs[at] = " ".join(words)
        elif edit == "reorder":
            sentences = _sentences(paragraphs[at])
            rng.shuffle(sentences)
            paragraphs[at] = " ".join(sentences)
    return "\n\n".join(paragraphs)


def pairs(path: Path, seed: int = 0) -> list[Pair]:
    """Same-story pairs (an article and its republications) and other-story pairs (same topic and not)."""
    rng = random.Random(seed)
    topics = [a.text.split("\n\n") for a in xquad.load(path)]
    made: list[Pair] = []
    for n, paragraphs in enumerate(topics):
        first, second, last = paragraphs[0:3], paragraphs[2:5], paragraphs[3:5]
        other = topics[(n + 1 + rng.randrange(len(topics) - 1)) % len(topics)]
        versions = [republished(first, other, rng) for _ in range(4)]  # an outlet's added paragraph: its own
        made += [Pair("\n\n".join(first), v, True, "republished") for v in versions]
        made.append(Pair(versions[0], versions[1], True, "two republications"))
        made.append(Pair("\n\n".join(second), republished(second, other, rng), True, "republished"))
        made.append(Pair("\n\n".join(first), "\n\n".join(second), False, "same topic, one paragraph shared"))
        made += [Pair(v, "\n\n".join(second), False, "same topic, one paragraph shared") for v in versions[:2]]
        made.append(Pair("\n\n".join(first), "\n\n".join(last), False, "same topic, none shared"))
        made.append(Pair("\n\n".join(first), "\n\n".join(other[0:3]), False, "other topic"))
    return made


def precision_recall(predicted: list[bool], pairs_: list[Pair]) -> tuple[float, float, float]:
    """Precision, recall and F1 of same-story decisions."""
    hits = sum(p and q.same for p, q in zip(predicted, pairs_))
    said, true = sum(predicted), sum(q.same for q in pairs_)
    precision, recall = hits / max(said, 1), hits / max(true, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def fit(path: Path) -> dict:
    """Per shingle size, the Jaccard threshold whose LSH decision (datasketch's bands and rows for it, as the
    index decides) has the best F1 on the pairs (the middle of a tie); the best size and threshold overall."""
    from datasketch.lsh import _optimal_param

    made = pairs(path)
    texts = {p.one for p in made} | {p.other for p in made}
    params = {t: _optimal_param(float(t), stories.NUM_PERM, 0.5, 0.5) for t in THRESHOLDS}
    rows = []
    for size in SIZES:
        signatures = {t: stories.signature(t, size) for t in texts}
        scored = []
        for threshold, (bands, per_band) in params.items():
            keys = {t: stories.band_keys(s, bands, per_band) for t, s in signatures.items()}
            decided = [bool(np.intersect1d(keys[p.one], keys[p.other]).size) for p in made]
            scored.append((float(threshold), bands, per_band, *precision_recall(decided, made), decided))
        best = max(s[5] for s in scored)
        tied = [s for s in scored if s[5] == best]
        rows.append((size, *tied[len(tied) // 2]))
    size, threshold, bands, per_band, *_, decided = max(rows, key=lambda r: (r[6], -abs(r[0] - 3)))
    by_kind = {k: (sum(1 for p, d in zip(made, decided) if p.kind == k and d), sum(1 for p in made if p.kind == k))
               for k in sorted({p.kind for p in made})}
    return {"pairs": made, "sizes": [r[:7] for r in rows], "size": size, "threshold": threshold, "bands": bands,
            "rows": per_band, "by_kind": by_kind}


def _generated_text(rng: random.Random, vocabulary: list[str], words: int = 300) -> str:
    return " ".join(rng.choice(vocabulary) for _ in range(words)) + "."


def archive(folder: Path, size: int, rng: np.random.Generator) -> Articles:
    """An article table of `size` generated articles, written `BATCH` at a time and merged as updates leave it."""
    articles = Articles(folder)
    for generation, start in enumerate(range(0, size, BATCH)):
        keys = rng.integers(0, 2**63, size=(min(BATCH, size - start), stories.BANDS), dtype=np.uint64)
        added = {f"a{start + i:07d}.md": ArticleEntry(f"{start + i:064x}", "t", start + i, 1, story=f"{start + i:016x}",
                                                      bands=stories.encode(k)) for i, k in enumerate(keys)}
        articles = articles.changed(added, set()).write(folder, f"a-{generation:08d}")
        for round_ in range(len(articles.entries)):
            chosen = merging.to_merge(articles.entries, {e.name: e.live for e in articles.entries}, False)
            if not chosen:
                break
            articles = articles.merged(folder, f"a-{generation:08d}-m{round_}", chosen)
    return Articles(folder, articles.entries)  # as a reader opens it: nothing cached


def lookups(sizes: tuple[int, ...] = ARCHIVES, added: int = ADDED) -> list[dict]:
    """Per archive size: its table files, and the median time of an added article's signature and story lookup."""
    rng = random.Random(1)
    vocabulary = [f"слово{i}" for i in range(5_000)]
    texts = [_generated_text(rng, vocabulary) for _ in range(added)]
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as work:
            articles = archive(Path(work), size, np.random.default_rng(size))
            articles.story_for(np.zeros(stories.BANDS, dtype=np.uint64))  # open the files once, as an update does
            signing, looking = [], []
            for text in texts:
                started = time.perf_counter()
                keys = stories.keys_of(text)
                signed = time.perf_counter()
                articles.story_for(keys)
                looking.append(time.perf_counter() - signed)
                signing.append(signed - started)
            results.append({"articles": size, "files": len(articles.entries),
                            "signature_ms": statistics.median(signing) * 1e3,
                            "lookup_ms": statistics.median(looking) * 1e3})
    return results


def report(fitted: dict | None, costs: list[dict]) -> str:
    """The markdown section: the fit (per shingle size, per kind of pair) and the lookup costs."""
    lines = ["## One story, many outlets", ""]
    if fitted is not None:
        same = sum(p.same for p in fitted["pairs"])
        lines += [f"Near-duplicate threshold fitted on {len(fitted['pairs'])} pairs built from XQuAD-ru ({same} "
                  f"republications, {len(fitted['pairs']) - same} other stories; `python -m bench.stories`). "
                  "The decision is the index's: MinHash (128 permutations), LSH bands and rows as datasketch "
                  "chooses them for the threshold; the best threshold per shingle size:", "",
                  "| shingle (words) | threshold | bands × rows | precision | recall | F1 |", "|---|---|---|---|---|---|"]
        lines += [f"| {s} | {t:.2f} | {b} × {r} | {p:.3f} | {rc:.3f} | {f:.3f} |"
                  for s, t, b, r, p, rc, f in fitted["sizes"]]
        lines += ["", f"Kept: {fitted['size']}-word shingles, Jaccard threshold {fitted['threshold']:.2f}, "
                  f"{fitted['bands']} bands of {fitted['rows']} rows. What it says per kind of pair:", "",
                  "| pairs | said same story |", "|---|---|"]
        lines += [f"| {k} | {hit} of {n} |" for k, (hit, n) in fitted["by_kind"].items()]
        lines.append("")
    lines += ["Finding an added article's story (median per article, 2-core machine; generated text and band keys):", "",
              "| archive (articles) | table files | signature | lookup |", "|---|---|---|---|"]
    lines += [f"| {c['articles']:,} | {c['files']} | {c['signature_ms']:.2f} ms | {c['lookup_ms']:.3f} ms |"
              for c in costs]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Fit the threshold (when XQuAD is there), time the lookups, print and write the section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--xquad", type=Path, default=Path("../shared/data/xquad-ru-dev.json"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(ARCHIVES))
    args = parser.parse_args(argv)
    fitted = fit(args.xquad) if args.xquad.exists() else None
    if fitted is None:
        print(f"{args.xquad} is not there: the threshold fit is skipped")
    section = report(fitted, lookups(tuple(args.sizes)))
    print(section)
    if args.out is not None:
        write_section(args.out, "stories", section)


if __name__ == "__main__":
    main()
