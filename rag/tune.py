"""Fitting retrieval's free parameters on a tuning split, and measuring them on the held-out rest.

    python -m rag.tune --xquad ../shared/data/xquad-ru-dev.json

Fitted, by a grid search that maximises the mean of the two tuning sets' MRR: chunk size and overlap,
how many letters of a stem are kept, BM25's k1 and b, the dense weight and the article weight; then the
no-answer threshold on the best passage's score (see `fit_threshold`). The splits are fixed so that
reruns agree: the article's questions alternate (even lines tune, odd lines are held out), XQuAD's
questions about its first 12 articles tune and those about the last 12 are held out; retrieval always
runs over the whole corpus. The printed values go into rag/settings.py, rag/retrieval.py, rag/lexical.py
and rag/text.py by hand.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import faiss
import numpy as np

from rag import offline_model, store, text, xquad
from rag.chunking import chunk_text
from rag.corpus import load_corpus
from rag.embeddings import Embedder, shared_model
from rag.evaluation import Question, hit_at, load_questions, mrr
from rag.retrieval import Retriever, fuse

CHUNKINGS = [(600, 150), (800, 200), (1000, 200), (1000, 300)]
PREFIXES = [0, 5, 6]
DENSE_WEIGHTS = np.round(np.arange(0.0, 0.81, 0.05), 2)
ARTICLE_WEIGHTS = [0.0, 0.25, 0.5, 1.0, 2.0]
BM25 = [(1.2, 0.75), (1.5, 0.75), (1.2, 0.5), (2.0, 0.75), (0.9, 0.4)]
XQUAD_TUNING_ARTICLES = 12
MAX_DECLINED = 0.015
"""At most this share of a tuning set's answerable questions (but one at least) may fall under the
no-answer threshold: the article target allows 1 of its 65."""


@contextmanager
def prefix_of_stems(letters: int) -> Iterator[None]:
    """Search terms cut to `letters` letters while inside (rag.text.PREFIX, which terms() reads)."""
    kept, text.PREFIX = text.PREFIX, letters
    try:
        yield
    finally:
        text.PREFIX = kept


def split_article(questions: list[Question]) -> tuple[list[Question], list[Question]]:
    """The article's questions for tuning (even lines) and held out (odd lines)."""
    return questions[0::2], questions[1::2]


def split_xquad(articles: list[xquad.Article]) -> tuple[list[Question], list[Question]]:
    """XQuAD's questions about its first 12 articles (tuning) and about the rest (held out)."""
    return xquad.questions(articles[:XQUAD_TUNING_ARTICLES]), xquad.questions(articles[XQUAD_TUNING_ARTICLES:])


def memory_stored(corpus: Path, embedder: Embedder, size: int, overlap: int) -> store.Stored:
    """An index of `corpus` with the given chunking, built in memory like `rag.build_index` builds one on disk."""
    articles = load_corpus(corpus).articles
    chunks = [c for a in articles for c in chunk_text(a.source, a.text, size, overlap)]
    vectors = faiss.IndexFlatIP(embedder.dimension)
    if chunks:
        vectors.add(embedder.encode_passages([c.text for c in chunks]))
    manifest = {"model": embedder.name, "articles": {a.source: {"title": a.title} for a in articles}}
    return store.Stored("memory", manifest, chunks, vectors)


@dataclass
class Scored:
    """Every passage's parts for every question of a set, and which passages hold each answer."""

    questions: list[Question]
    parts: np.ndarray  # questions x 4 x passages, see Retriever.parts
    hits: np.ndarray  # questions x passages, True where the passage contains an answer

    def ranks(self, dense_weight: float, article_weight: float, k: int = 5) -> list[int | None]:
        """Rank of the first passage holding the answer among the top `k`, per answerable question."""
        scores = fuse(self.parts, dense_weight, article_weight)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        found = np.take_along_axis(self.hits, order, axis=1)
        return [int(np.argmax(f)) + 1 if f.any() else None
                for f, q in zip(found, self.questions) if q.answerable]

    def best(self, dense_weight: float, article_weight: float) -> np.ndarray:
        """The best passage's score per question (what the no-answer threshold is compared with)."""
        return fuse(self.parts, dense_weight, article_weight).max(axis=1)


def score(retriever: Retriever, questions: list[Question]) -> Scored:
    """The parts of every passage for every question (dense and lexical both computed)."""
    texts = [c.text for c in retriever.stored.chunks]
    parts = np.stack([retriever.parts(retriever.query(q.question)) for q in questions])
    hits = np.array([[any(a in t for a in q.answers) for t in texts] for q in questions], dtype=bool)
    return Scored(questions, parts, hits.reshape(len(questions), len(texts)))


def fit_threshold(answerable: list[np.ndarray], unanswerable: np.ndarray, max_declined: float = MAX_DECLINED) -> float:
    """The no-answer threshold: what declines the most unanswerable questions while declining at most
    `max_declined` of each set's answerable questions, one at least (by their best scores). It is put just
    above the highest tuning score it declines, not midway to the next: a question scoring in between is
    answered, since a wrong "no answer" hides what the article says while a wrong quote shows itself."""
    limits = []
    for scores in answerable:
        limit = np.sort(scores)[max(1, int(max_declined * len(scores)))]
        below = np.concatenate([scores, unanswerable])
        below = below[below < limit]
        limits.append(below.max() + 1e-4 if len(below) else limit)
    return float(min(limits))


@dataclass
class Fit:
    """The fitted parameters and what they give on the tuning split."""

    chunking: tuple[int, int]
    prefix: int
    bm25: tuple[float, float]
    dense_weight: float
    article_weight: float
    objective: float
    threshold: float = 0.0


def fit(article: dict[tuple, Scored], xq: dict[tuple, Scored]) -> Fit:
    """Grid search over chunking, stems, BM25, dense and article weights by the mean tuning MRR of both
    sets; then the no-answer threshold for the winner."""
    best: Fit | None = None
    for key in article:
        for w, b in itertools.product(DENSE_WEIGHTS, ARTICLE_WEIGHTS):
            objective = (mrr(article[key].ranks(w, b)) + mrr(xq[key].ranks(w, b))) / 2
            if best is None or objective > best.objective + 1e-9:
                best = Fit(*key, float(w), float(b), objective)
    key = (best.chunking, best.prefix, best.bm25)
    tops = article[key].best(best.dense_weight, best.article_weight)
    answerable = np.array([q.answerable for q in article[key].questions])
    best.threshold = fit_threshold([tops[answerable], xq[key].best(best.dense_weight, best.article_weight)],
                                   tops[~answerable])
    return best


def report(name: str, scored: Scored, fitted: Fit) -> str:
    """One line of held-out (or any) results for the fitted weights."""
    ranks = scored.ranks(fitted.dense_weight, fitted.article_weight)
    tops = scored.best(fitted.dense_weight, fitted.article_weight)
    answerable = np.array([q.answerable for q in scored.questions])
    declined = tops < fitted.threshold
    unans = f", unanswerable declined {declined[~answerable].mean():.3f}" if (~answerable).any() else ""
    return (f"{name:<28} n={len(ranks):>3} hit@1 {hit_at(ranks, 1):.3f} hit@3 {hit_at(ranks, 3):.3f} "
            f"hit@5 {hit_at(ranks, 5):.3f} MRR {mrr(ranks):.3f}; answerable declined "
            f"{int(declined[answerable].sum())}{unans}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad", type=Path, required=True, help="XQuAD-ru dev file (SQuAD format)")
    parser.add_argument("--questions", type=Path, default=Path("corpus/eval/questions.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    embedder = shared_model(offline_model.NAME)
    articles = xquad.load(args.xquad)
    questions = load_questions(args.questions)
    art_tune, art_held = split_article(questions)
    xq_tune, xq_held = split_xquad(articles)
    tuning_art, tuning_xq, held = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        xq_corpus = xquad.write_corpus(articles, Path(tmp) / "xquad")
        for size, overlap in CHUNKINGS:
            art_stored = memory_stored(args.corpus, embedder, size, overlap)
            xq_stored = memory_stored(xq_corpus, embedder, size, overlap)
            for prefix, bm25 in itertools.product(PREFIXES, BM25):
                key = ((size, overlap), prefix, bm25)
                with prefix_of_stems(prefix):  # a dense weight strictly between 0 and 1 computes both parts
                    art = Retriever(art_stored, embedder, dense_weight=0.5, bm25=bm25)
                    xqr = Retriever(xq_stored, embedder, dense_weight=0.5, bm25=bm25)
                    tuning_art[key], tuning_xq[key] = score(art, art_tune), score(xqr, xq_tune)
                    held[key] = (score(art, art_held), score(xqr, xq_held))
            print(f"scored chunking {size}/{overlap}", flush=True)
    fitted = fit(tuning_art, tuning_xq)
    key = (fitted.chunking, fitted.prefix, fitted.bm25)
    print(f"\nfitted on the tuning split (objective: mean MRR@5 {fitted.objective:.4f}):")
    print(f"  CHUNK_SIZE = {fitted.chunking[0]}, CHUNK_OVERLAP = {fitted.chunking[1]}   (rag/settings.py)")
    print(f"  DENSE_WEIGHT = {fitted.dense_weight}, NO_ANSWER_BELOW = {fitted.threshold:.4f}   (rag/settings.py)")
    print(f"  ARTICLE_WEIGHT = {fitted.article_weight}   (rag/retrieval.py)")
    print(f"  K1 = {fitted.bm25[0]}, B = {fitted.bm25[1]}   (rag/lexical.py)")
    print(f"  PREFIX = {fitted.prefix}   (rag/text.py)")
    print("\ntuning split:")
    print(report("article questions (even)", tuning_art[key], fitted))
    print(report("XQuAD articles 1-12", tuning_xq[key], fitted))
    print("held out:")
    print(report("article questions (odd)", held[key][0], fitted))
    print(report("XQuAD articles 13-24", held[key][1], fitted))


if __name__ == "__main__":
    main()
