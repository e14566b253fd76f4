"""XQuAD (SQuAD v1.1 format) as a corpus of articles plus a question set, for benchmarks and tuning.

Each `data[]` entry is one article: its paragraphs joined by blank lines; a question is answered when
a returned passage contains one of its `answers[].text`. The file is read where it lies (it is never
copied into the project); callers skip their XQuAD part when it is absent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.evaluation import Question
from rag.text import terms


@dataclass(frozen=True)
class Article:
    """One XQuAD article: its title and text, the questions asked about it and the paragraph each was asked
    about (`contexts`, in the same order)."""

    title: str
    text: str
    questions: list[Question]
    contexts: list[str]


def load(path: str | Path, articles: int | None = None, asked_in: str | Path | None = None) -> list[Article]:
    """The first `articles` articles (all when None) of an XQuAD file.

    With `asked_in`, another language's XQuAD file with the same question ids: its questions are asked
    instead (the answers stay those of `path`, which is what the passages hold): the cross-lingual set.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"][:articles]
    asked = {}
    if asked_in is not None:
        asked = {qa["id"]: qa["question"] for entry in json.loads(Path(asked_in).read_text(encoding="utf-8"))["data"]
                 for p in entry["paragraphs"] for qa in p["qas"]}
    loaded = []
    for entry in data:
        paragraphs = [p["context"].replace("\ufeff", "").strip() for p in entry["paragraphs"]]
        asked_about = [(Question(asked[qa["id"]] if asked_in is not None else qa["question"],
                                 tuple(dict.fromkeys(a["text"] for a in qa["answers"])), "xquad"), paragraph)
                       for p, paragraph in zip(entry["paragraphs"], paragraphs)
                       for qa in p["qas"] if asked_in is None or qa["id"] in asked]
        loaded.append(Article(entry["title"], "\n\n".join(paragraphs), [q for q, _ in asked_about],
                              [paragraph for _, paragraph in asked_about]))
    return loaded


def write_corpus(articles: list[Article], folder: str | Path) -> Path:
    """Write the articles as `NN_title.txt` files into `folder` (created), a corpus for `rag.build_index`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for number, article in enumerate(articles):
        name = re.sub(r"[^\w-]+", "_", article.title).strip("_") or "article"
        (folder / f"{number:02d}_{name}.txt").write_text(article.text + "\n", encoding="utf-8")
    return folder


def questions(articles: list[Article]) -> list[Question]:
    """All questions of the articles, in order."""
    return [q for a in articles for q in a.questions]


def word_overlap(articles: list[Article]) -> list[float]:
    """For each question, in order, the share of its search terms (stems, stop words left out) that the paragraph
    it was asked about holds: high for a question written with the paragraph's words, low for one that says it
    otherwise, as people who ask without the article at hand do."""
    shares = []
    for article in articles:
        for question, context in zip(article.questions, article.contexts):
            asked, held = set(terms(question.question)), set(terms(context))
            shares.append(len(asked & held) / len(asked) if asked else 0.0)
    return shares


def bench_parser(description: str, work: Path) -> argparse.ArgumentParser:
    """The command line the XQuAD benchmarks share: --xquad (required), --model, --work (default `work`), --out;
    each adds its own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--xquad", type=Path, required=True, help="XQuAD-ru dev (SQuAD format); skipped if absent.")
    parser.add_argument("--model", default=None)
    parser.add_argument("--work", type=Path, default=work)
    parser.add_argument("--out", type=Path)
    return parser


def skipped(path: Path) -> bool:
    """Whether a benchmark is skipped for want of the XQuAD file at `path` (said on stderr)."""
    if path.exists():
        return False
    print(f"skipped: {path} not found", file=sys.stderr)
    return True
