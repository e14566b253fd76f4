"""Fitting retrieval's free parameters for an embedding model, and measuring them on held-out questions.

    rag-bench tune --xquad ../shared/data/xquad-ru-dev.json --xquad-en ../shared/data/xquad-en-dev.json [--model M] [--write]

Fitted by grid search on the mean tuning MRR of the article's questions, XQuAD-ru and XQuAD asked in
English: chunking, stem prefix and the dense weight (over each question's pooled candidates, as the search
fuses them); then, by the real search,
how the best passages are re-scored by their sentence closest to the question. Then the no-answer
thresholds on the best passage's score (one for questions in the articles' Russian, one for questions
in other languages, which are scored by meaning alone), the key quote's weighting and answer-type
rule by the answers `rag.answer` gives, and last the logistic no-answer rule (`rag.search.no_answer`) on
what the thresholds let through. The splits are fixed so that reruns agree: the article's
questions alternate (even lines tune, odd lines are held out), XQuAD's questions about its first 12
articles tune and the rest are held out; retrieval always runs over the whole corpus (the article's: the seed
article from ../shared, `--seed`). Data that is absent is skipped, with a line. `--write` records the values
for the model in `rag/fitted.json`, from where new indexes take them.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from bench import seed, xquad
from bench.evaluation import Confusion, Question, contains, first_hit, hit_at, load_questions, mrr
from bench.report import write_section
from rag.chunking import chunk_text
from rag.corpus import load_corpus
from rag.errors import RagError
from rag.fitted import NO_ANSWER_FEATURES, Fitted, for_model
from rag.index import sentences as sentence_store
from rag.index import store
from rag.index.manifest import Manifest
from rag.index.table import ArticleEntry
from rag.models import Embedder, shared_model
from rag.models.base import Progress
from rag.search import no_answer
from rag.search.answer import evidence, judge, read, reply, respond
from rag.search.candidates import Candidates
from rag.search.retriever import Retriever

CHUNKINGS = [(1000, 200), (1200, 200), (1500, 300)]
PREFIXES = [0, 5]
"""Stem prefixes tried (0: whole Snowball stems); BM25's k1 and b are tantivy's."""
DENSE_WEIGHTS = np.round(np.arange(0.3, 1.001, 0.05), 2)
QUOTE_DENSE_WEIGHTS = [0.3, 0.5, 0.7, 0.85]
QUOTE_MARGINS = [0.0, 0.02, 0.05, 0.1, 0.2]
QUOTE_WINDOWS = [(0.0, 0.0), *itertools.product([0.2, 0.3, 0.5], [-0.01, -0.005, 0.0])]
"""(`quote_window`, `quote_single`): the key sentence takes a neighbour by `quote_margin`, or the best of the
sentences and two-sentence windows is quoted (the margin is then unused)."""
RERANK = [(0, 0.0), (3, 0.3), (3, 0.5), (5, 0.3), (5, 0.5), (5, 0.7)]
"""(depth, weight) of re-scoring the best passages by their closest sentence."""
ANSWER_TYPES = [(False, 1.0), (True, 0.02), (True, 0.05), (True, 0.08), (True, 0.12), (True, 1.0)]
"""Answer-type rule off, or on with the number / date allowed this far under the best sentence's score (1.0:
anywhere in the passage; the rule then declines only a passage that gives none)."""
XQUAD_TUNING_ARTICLES = 12
MAX_DECLINED = 0.005
"""At most this share of a tuning set's answerable questions (but one at least) may fall under each of
the no-answer thresholds (the passage's, then the sentence's)."""
RULE_DECLINED = 0.01
"""The share of each tuning set's answerable questions that reach the no-answer rule which it may decline (a
pooled share let it decline 5 of the article's 82 paraphrased questions, which XQuAD's many outweighed)."""
NO_ANSWER_C = 10.0
"""Inverse regularization of the no-answer rule's logistic regression (its features are on 0-1 scales)."""


def split_alternate(questions: list[Question]) -> tuple[list[Question], list[Question]]:
    """A question file's questions for tuning (even lines) and held out (odd lines)."""
    return questions[0::2], questions[1::2]


def split_xquad(articles: list[xquad.Article]) -> tuple[list[Question], list[Question]]:
    """XQuAD's questions about its first 12 articles (tuning) and about the rest (held out)."""
    return xquad.questions(articles[:XQUAD_TUNING_ARTICLES]), xquad.questions(articles[XQUAD_TUNING_ARTICLES:])


def half_indexed(articles: list[xquad.Article]) -> tuple[list[xquad.Article], list[Question], list[Question]]:
    """XQuAD with every other article indexed: the indexed articles, and all questions split as `split_xquad`
    does, those about an article left out unanswerable (questions about subjects no article covers)."""
    asked = [[q if n % 2 == 0 else Question(q.question, (), "unanswerable") for q in a.questions]
             for n, a in enumerate(articles)]
    tuning, held = asked[:XQUAD_TUNING_ARTICLES], asked[XQUAD_TUNING_ARTICLES:]
    return articles[0::2], [q for qs in tuning for q in qs], [q for qs in held for q in qs]


def indexed(corpus: Path, folder: Path, embedder: Embedder, settings: Fitted, encoded: dict) -> store.Stored:
    """An index of `corpus` in `folder`, chunked and embedded as `rag.build_index` would with `settings` (each
    passage's vector and sentence vectors kept in `encoded` by its text, so other stem prefixes and corpora of
    the same articles reuse them)."""
    articles = load_corpus(corpus).articles
    chunks = [chunk_text(a.source, a.text, settings.chunk_size, settings.chunk_overlap) for a in articles]
    missing = list(dict.fromkeys(c.text for cs in chunks for c in cs if c.text not in encoded))
    if missing:
        with tqdm(total=len(missing), desc="encoding", unit="passage") as bar:
            vectors = embedder.encode_passages(missing, progress=bar.update)
        counts, sentence_vectors = sentence_store.encode(missing, embedder)
        encoded.update(zip(missing, zip(vectors, sentence_store.per_passage(counts, sentence_vectors))))
    update = store.Update(folder, None, Manifest(embedder.name, embedder.dimension, settings, "", str(corpus)))
    for article, cs in zip(articles, chunks):
        kept = [encoded[c.text] for c in cs]
        update.add(article.source, ArticleEntry(article.digest, article.title, 0, 0),
                   [(c.start, c.end, c.text) for c in cs], np.stack([v for v, _ in kept]),
                   sentence_store.joined([s for _, s in kept], embedder.dimension))
    update.commit()
    return store.load(folder)


@dataclass
class Scored:
    """Each question's pooled candidates with their scores (`Retriever.candidates`), and which hold the answer."""

    questions: list[Question]
    candidates: list[Candidates]
    hits: list[dict[int, bool]]  # per question: candidate id -> the passage contains an answer
    same_language: np.ndarray  # questions: asked in the articles' language

    def ranks(self, dense_weight: float, k: int = 5) -> list[int | None]:
        """Rank of the first passage holding the answer among the top `k`, per answerable question."""
        ranks = []
        for question, candidates, hits, same in zip(self.questions, self.candidates, self.hits, self.same_language):
            if question.answerable:
                ids, _ = candidates.best(dense_weight if same else 1.0, k)
                ranks.append(next((n for n, i in enumerate(ids, 1) if hits[int(i)]), None))
        return ranks


def score(retriever: Retriever, questions: list[Question], vectors: np.ndarray) -> Scored:
    """The candidates of every question, the questions' vectors given (encoded once)."""
    queries = [retriever.query(q.question, v) for q, v in zip(questions, vectors)]
    candidates = [retriever.candidates(q) for q in queries]
    hits = []
    for question, found in zip(questions, candidates):
        passages = retriever.words.passages(found.ids)
        hits.append({i: contains(p.text, question.answers) for i, p in passages.items()})
    return Scored(questions, candidates, hits, np.array([q.same_language for q in queries], dtype=bool))


def fit_threshold(answerable: list[np.ndarray], unanswerable: np.ndarray, max_declined: float = MAX_DECLINED) -> float:
    """The no-answer threshold: what declines the most unanswerable questions while declining at most
    `max_declined` of each set's answerable questions, one at least (by their best scores). It is put just
    above the highest tuning score it declines, not midway to the next: a question scoring in between is
    answered, since a wrong "no answer" hides what the article says while a wrong quote shows itself."""
    limits = []
    for scores in answerable:
        if not len(scores):
            continue
        limit = np.sort(scores)[min(len(scores) - 1, max(1, int(max_declined * len(scores))))]
        below = np.concatenate([scores, unanswerable])
        below = below[below < limit]
        limits.append(below.max() + 1e-4 if len(below) else limit)
    return float(min(limits)) if limits else float("-inf")


def mean_mrr(sets: dict[str, Scored], ranked: tuple[str, ...], dense_weight: float) -> float:
    """The objective of the fit: the mean tuning MRR over the `ranked` sets at this dense weight."""
    return float(np.mean([mrr(sets[name].ranks(dense_weight)) for name in ranked if name in sets]))


def fit_weights(candidates: dict[tuple, dict[str, Scored]], ranked: tuple[str, ...]) -> tuple[Fitted, float]:
    """The chunking, stem prefix and dense weight with the best mean tuning MRR over the `ranked` sets; ties go
    to the first found (smaller dense weight)."""
    best, objective = None, -1.0
    for (chunking, prefix), sets in candidates.items():
        for w in DENSE_WEIGHTS:
            value = mean_mrr(sets, ranked, float(w))
            if value > objective + 1e-9:
                best = Fitted(chunk_size=chunking[0], chunk_overlap=chunking[1], prefix=prefix, dense_weight=float(w))
                objective = value
    return best, objective


@dataclass
class Values:
    """A per-question value of a tuning set (a best score), with which questions are answerable and which
    are asked in the articles' language."""

    values: np.ndarray
    answerable: np.ndarray
    same_language: np.ndarray


def _fit_pair(sets: dict[str, Values], keep: dict[str, np.ndarray] | None = None) -> tuple[float, float]:
    """Thresholds on per-question values: one for questions in the articles' language, one for the rest,
    each fitted on the answerable and unanswerable tuning questions of that kind (those in `keep`)."""
    pair = []
    for same in (True, False):
        answerable, unanswerable = [], []
        for name, v in sets.items():
            mask = (v.same_language == same) & (keep[name] if keep else True)
            if (mask & v.answerable).any():
                answerable.append(v.values[mask & v.answerable])
            unanswerable.extend(v.values[mask & ~v.answerable])
        pair.append(fit_threshold(answerable, np.array(unanswerable)))
    return pair[0], pair[1]


def search_ranks(retriever: Retriever, questions: list[Question], k: int = 5) -> list[int | None]:
    """Rank of the first of `retriever.search`'s passages holding the answer, per answerable question."""
    return [first_hit([p.text for p in retriever.search(q.question, k)], q.answers) for q in questions if q.answerable]


def fit_rerank(settings: Fitted, tuning: dict[str, tuple[Retriever, list[Question]]], ranked: tuple[str, ...]) -> Fitted:
    """The re-scoring by closest sentence (depth, weight) with the best mean tuning MRR, by the real search."""
    best, objective = settings, -1.0
    for depth, weight in RERANK:
        candidate = replace(settings, rerank_depth=depth, rerank_weight=weight)
        values = []
        for name in ranked:
            retriever, questions = tuning[name]
            values.append(mrr(search_ranks(retriever.with_fitted(candidate), questions)))
        if np.mean(values) > objective + 1e-9:
            best, objective = candidate, float(np.mean(values))
    return best


def fit_thresholds(settings: Fitted, tuning: dict[str, tuple[Retriever, list[Question]]]) -> Fitted:
    """The no-answer thresholds from the tuning halves: on the best passage's score, then, for the questions
    that pass it, on the best sentence's similarity in that passage; each for questions in the articles'
    language and for the rest."""
    passages, sentences = {}, {}
    for name, (retriever, questions) in tuning.items():
        retriever = retriever.with_fitted(settings)
        tops, closest, same_language = [], [], []
        for q in questions:
            query = retriever.query(q.question)
            top = retriever.search(query, 1)[0]
            tops.append(top.score)
            closest.append(float(retriever.similarities(query, top).max()))
            same_language.append(query.same_language)
        answerable = np.array([q.answerable for q in questions], dtype=bool)
        same_language = np.array(same_language, dtype=bool)
        passages[name] = Values(np.array(tops), answerable, same_language)
        sentences[name] = Values(np.array(closest), answerable, same_language)
    same, cross = _fit_pair(passages)
    keep = {name: v.values >= np.where(v.same_language, same, cross) for name, v in passages.items()}
    same_sentence, cross_sentence = _fit_pair(sentences, keep)
    return replace(settings, no_answer_below=same, no_answer_below_cross=cross, sentence_below=same_sentence,
                   sentence_below_cross=cross_sentence)


@dataclass
class Outcomes:
    """What `rag.answer` did with a set's questions: quote hits and declines."""

    questions: list[Question]
    quote_hit: list[bool]
    declined: list[bool]

    def summary(self) -> str:
        answerable = [i for i, q in enumerate(self.questions) if q.answerable]
        unanswerable = [i for i, q in enumerate(self.questions) if not q.answerable]
        quotes = np.mean([self.quote_hit[i] for i in answerable]) if answerable else 0.0
        line = f"quote hit {quotes:.3f}, answerable declined {sum(self.declined[i] for i in answerable)}"
        if unanswerable:
            line += f", unanswerable declined {sum(self.declined[i] for i in unanswerable)}/{len(unanswerable)}"
        return line

    @property
    def confusion(self) -> Confusion:
        """Answered right / wrong, declined right / wrong."""
        return Confusion.of([q.answerable for q in self.questions], self.quote_hit, self.declined)

    @property
    def goodness(self) -> tuple[int, int]:
        """Right outcomes (quote holds the answer, or an unanswerable question declined), then fewer wrong declines."""
        right = sum(h if q.answerable else d for q, h, d in zip(self.questions, self.quote_hit, self.declined))
        return right, -sum(d for q, d in zip(self.questions, self.declined) if q.answerable)


def answer_all(retriever: Retriever, questions: list[Question], searched: list[tuple] | None = None) -> Outcomes:
    """Ask every question through the same code as `rag.answer` (key quote, thresholds, answer types); with
    `searched`, each question's (query, passages) found before, when only the quote's settings changed."""
    if searched is None:
        replies = [respond(retriever, q.question, k=5) for q in questions]
    else:
        replies = [reply(retriever, q.question, query, passages) for q, (query, passages) in zip(questions, searched)]
    return Outcomes(questions, [contains(r.answer, q.answers) for r, q in zip(replies, questions)],
                    [r.answer is None for r in replies])


def fit_answers(settings: Fitted, retrievers: dict[str, tuple[Retriever, list[Question]]],
                keep_weighting: bool = False) -> Fitted:
    """The key quote's weighting and margin, the answer-type rule and the two-sentence windows with the most right
    answers (quotes holding the answer, unanswerable questions declined) on the tuning sets; with `keep_weighting`,
    only the windows and the answer-type rule, the weighting and margin as `settings` has them. `tune` leaves the
    half-indexed set out: declining its questions about absent articles is the no-answer rule's job, and scoring
    them here moved the quote weight 0.85 -> 0.3 and lost held-out XQuAD-ru quotes (0.843 -> 0.728)."""
    best, goodness = settings, None
    searched = {}
    for name, (retriever, questions) in retrievers.items():
        retriever = retriever.with_fitted(settings)
        queries = [retriever.query(q.question) for q in questions]
        searched[name] = [(query, retriever.search(query, 5)) for query in queries]
    if keep_weighting:
        weights, margins = [settings.quote_dense_weight], [settings.quote_margin]
    else:
        weights, margins = QUOTE_DENSE_WEIGHTS, QUOTE_MARGINS
    for quote_weight, margin, (typed, type_margin), (window, single) in itertools.product(
            weights, margins, ANSWER_TYPES, QUOTE_WINDOWS):
        if window and margin != margins[0]:
            continue  # the margin is unused with windows
        candidate = replace(settings, quote_dense_weight=quote_weight, quote_margin=margin, answer_types=typed,
                            type_margin=type_margin, quote_window=window, quote_single=single)
        total = [0, 0]
        for name, (retriever, questions) in retrievers.items():
            right, wrong = answer_all(retriever.with_fitted(candidate), questions, searched[name]).goodness
            total = [total[0] + right, total[1] + wrong]
        if goodness is None or tuple(total) > goodness:
            best, goodness = candidate, tuple(total)
    return best


def fit_no_answer_rule(settings: Fitted, tuning: dict[str, tuple[Retriever, list[Question]]], echo=print) -> Fitted:
    """The logistic no-answer rule (`rag.search.no_answer`) for questions in the articles' language: weights
    fitted on the best passages of the tuning questions that nothing before it declines (unanswerable against
    answerable, classes balanced), and the confidence under which it declines (`Fitted.no_answer_bar`): the
    one that declines at most `RULE_DECLINED` of each set's answerable questions among them. Each signal is
    printed with its weight times its spread (how much it moves the decision). The settings unchanged when
    there are too few unanswerable questions to fit on."""
    from sklearn.linear_model import LogisticRegression

    rows, unanswerable, sets = [], [], []
    for name, (retriever, questions) in tuning.items():
        retriever = retriever.with_fitted(replace(settings, no_answer_rule=()))
        for q in questions:
            query = retriever.query(q.question)
            top = retriever.search(query, 1)[0]
            if query.same_language and judge(retriever, query, top).span is not None:
                rows.append(evidence(retriever, query, top, read(retriever, query, top)).features)
                unanswerable.append(not q.answerable)
                sets.append(name)
    y, sets = np.array(unanswerable, dtype=bool), np.array(sets)
    if y.sum() < 2 or (~y).sum() < 2:
        return settings
    x = np.array(rows)
    model = LogisticRegression(C=NO_ANSWER_C, class_weight="balanced", max_iter=10_000).fit(x, y)
    rule = (float(model.intercept_[0]), *(float(w) for w in model.coef_[0]))
    sure = np.array([no_answer.confidence(rule, row) for row in x])
    bar = min(float(np.quantile(sure[~y & (sets == name)], RULE_DECLINED)) for name in set(sets[~y]))
    echo(f"\nThe no-answer rule, fitted on {len(y)} tuning questions that reach it ({int(y.sum())} unanswerable), "
         f"declines under confidence {bar:.3f}; its signals by how much each moves the decision (weight of "
         "\"no answer\" times the signal's spread):\n\n| signal | weight | weight × spread |\n|---|---|---|")
    for name, w, spread in sorted(zip(NO_ANSWER_FEATURES, model.coef_[0], x.std(axis=0)), key=lambda t: -abs(t[1] * t[2])):
        echo(f"| {name} | {w:+.2f} | {w * spread:+.3f} |")
    return replace(settings, no_answer_rule=rule, no_answer_bar=bar, no_answer_signals=NO_ANSWER_FEATURES)


def report(name: str, retriever: Retriever, questions: list[Question]) -> str:
    """One line of retrieval results with the retriever's settings."""
    ranks = search_ranks(retriever, questions)
    return (f"{name:<24} n={len(ranks):>3} hit@1 {hit_at(ranks, 1):.3f} hit@3 {hit_at(ranks, 3):.3f} "
            f"hit@5 {hit_at(ranks, 5):.3f} MRR {mrr(ranks):.3f}")


class _Remembered:
    """An embedder that encodes each question once: tuning asks the same questions many times."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder, self.name, self.dimension = embedder, embedder.name, embedder.dimension
        self._queries: dict[str, np.ndarray] = {}

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._queries]
        if missing:
            self._queries.update(zip(missing, self.embedder.encode_queries(missing)))
        return np.stack([self._queries[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def encode_passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        return self.embedder.encode_passages(texts, progress)

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode_sentences(texts)


def recorded_retrieval(name: str) -> Fitted:
    """The chunking, stem prefix, fusion and re-scoring recorded for the model `name`, the rest generic: what
    `tune(keep_retrieval=True)` starts from."""
    kept = for_model(name)
    return Fitted(chunk_size=kept.chunk_size, chunk_overlap=kept.chunk_overlap, prefix=kept.prefix,
                  dense_weight=kept.dense_weight, rerank_depth=kept.rerank_depth, rerank_weight=kept.rerank_weight)


QUOTE_FIELDS = ("quote_dense_weight", "quote_margin")
"""The key quote's weighting, which `tune(keep_quote=True)` keeps as recorded (its windows and answer-type rule are
fitted on it)."""
ANSWERS_SECTION = "## Answers: right, wrong and declined"
HALF = "xquad-ru-half"
"""The tuning set of XQuAD with every other article indexed: it tunes the no-answer thresholds and rule only."""


def load_vectors(path: Path | None, model: str) -> dict:
    """Passage and sentence vectors by passage text that an earlier run with `model` saved (`--cache`), as
    `indexed` keeps them; empty without them, or when saved for another model."""
    if path is None or not path.is_file():
        return {}
    with np.load(path) as saved:
        if str(saved["model"]) != model:
            return {}
        sentences = sentence_store.per_passage(saved["counts"], saved["sentences"])
        return dict(zip(saved["texts"].tolist(), zip(saved["vectors"], sentences)))


def save_vectors(path: Path | None, model: str, encoded: dict) -> None:
    """Keep the vectors `indexed` encoded for the next run (`--cache`): encoding XQuAD takes minutes on 2 cores.
    A change to how passages or sentences are encoded makes the file stale: delete it then."""
    if path is None or not encoded:
        return
    vectors = np.stack([v for v, _ in encoded.values()])
    counts, sentences = sentence_store.joined([s for _, s in encoded.values()], vectors.shape[1])
    with path.open("wb") as fh:
        np.savez(fh, model=np.array(model), texts=np.array(list(encoded)), vectors=vectors, counts=counts,
                 sentences=sentences)


def tune(xquad_ru: Path | None, xquad_en: Path | None, questions: list[Path], seed_article: Path,
         model: str | None = None, echo=print, keep_retrieval: bool = False, keep_quote: bool = False,
         cache: Path | None = None, out: Path | None = None) -> Fitted:
    """Fit every setting for `model` (see the module) on the `questions` sets about the seed article at
    `seed_article` and on XQuAD, and print the tuning and held-out results; with `keep_retrieval`, only what
    comes after ranking (thresholds, key quote, no-answer rule), the recorded chunking, stems, fusion and
    re-scoring kept (a full refit can prefer settings the held-out halves reject); with `keep_quote`, the
    recorded key quote weighting too (`QUOTE_FIELDS`), the windows and answer-type rule refitted on it. `cache`: a
    file keeping the passages' vectors between runs; `out`: a Markdown file to write the confusion table per set and the rule's signals into (its "answers"
    section)."""
    embedder = _Remembered(shared_model(model))
    kept = recorded_retrieval(embedder.name) if keep_retrieval else None
    grid = ([((kept.chunk_size, kept.chunk_overlap), kept.prefix)] if kept
            else list(itertools.product(CHUNKINGS, PREFIXES)))
    data: dict[str, tuple[Path, list[Question], list[Question]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "article"
        if (why := seed.missing(seed_article)) is not None:
            echo(f"skipped: {', '.join(map(str, questions))}: {why}")
            questions = []
        else:
            seed.add_to(corpus, seed_article)
        for path in questions:
            if path.is_file():
                data[path.stem] = (corpus, *split_alternate(load_questions(path)))
            else:
                echo(f"skipped: {path}: no such file")
        for path in (xquad_ru, xquad_en):
            if path is not None and not path.is_file():
                echo(f"skipped: {path}: no such file")
        if xquad_ru is not None and xquad_ru.is_file():
            articles = xquad.load(xquad_ru)
            xq_corpus = xquad.write_corpus(articles, Path(tmp) / "xquad")
            data["xquad-ru"] = (xq_corpus, *split_xquad(articles))
            kept_half, *asked = half_indexed(articles)
            data[HALF] = (xquad.write_corpus(kept_half, Path(tmp) / "xquad-half"), *asked)
            if xquad_en is not None and xquad_en.is_file():
                data["xquad-en"] = (xq_corpus, *split_xquad(xquad.load(xquad_ru, asked_in=xquad_en)))
        if not data:
            raise RagError("nothing to tune on: neither the article's questions nor XQuAD are at hand")
        echo(f"encoding the questions of {', '.join(data)} with {embedder.name}")
        vectors = {name: embedder.encode_queries([q.question for q in tune_q]) for name, (_, tune_q, _) in data.items()}
        candidates: dict[tuple, dict[str, Scored]] = {}
        stored_by: dict[tuple, dict[Path, store.Stored]] = {}
        encoded = load_vectors(cache, embedder.name)
        corpora = sorted({d[0] for d in data.values()})
        for chunking, prefix in grid:
            settings = Fitted(chunk_size=chunking[0], chunk_overlap=chunking[1], prefix=prefix)
            stored = stored_by[(chunking, prefix)] = {
                folder: indexed(folder, Path(tmp) / f"index-{n}-{chunking[0]}-{prefix}", embedder, settings, encoded)
                for n, folder in enumerate(corpora)}
            retrievers = {folder: Retriever(s, embedder, settings) for folder, s in stored.items()}
            candidates[(chunking, prefix)] = {name: score(retrievers[folder], tune_q, vectors[name])
                                              for name, (folder, tune_q, _) in data.items()}
            echo(f"scored chunking {chunking[0]}/{chunking[1]}, stem prefix {prefix}")
        save_vectors(cache, embedder.name, encoded)
        ranked = tuple(name for name in ("questions", "xquad-ru", "xquad-en") if name in data)
        if kept:
            fitted = kept
            objective = mean_mrr(candidates[grid[0]], ranked, kept.dense_weight)
        else:
            fitted, objective = fit_weights(candidates, ranked)
        stored = stored_by[((fitted.chunk_size, fitted.chunk_overlap), fitted.prefix)]
        by_folder = {folder: Retriever(s, embedder, fitted) for folder, s in stored.items()}
        tuning = {name: (by_folder[folder], tune_q) for name, (folder, tune_q, _) in data.items()}
        if not kept:
            fitted = fit_rerank(fitted, tuning, ranked)
        whole = {name: t for name, t in tuning.items() if name != HALF}
        fitted = fit_thresholds(fitted, whole)  # the half-indexed set's absent-article questions are the rule's
        if keep_quote:
            recorded = for_model(embedder.name)
            fitted = replace(fitted, **{f: getattr(recorded, f) for f in QUOTE_FIELDS})
        fitted = fit_answers(fitted, whole, keep_weighting=keep_quote)
        signals: list[str] = []
        fitted = fit_no_answer_rule(fitted, tuning, lambda line: (echo(line), signals.append(line)))
        echo(f"\nfitted for {embedder.name} (mean tuning MRR@5 of {', '.join(ranked)}: {objective:.4f}):")
        for field, value in fitted.to_json().items():
            echo(f"  {field} = {value}")
        confusions = []
        for half, index in (("tuning", 0), ("held out", 1)):
            echo(f"\n{half}:")
            for name, (folder, tune_q, held_q) in data.items():
                final = by_folder[folder].with_fitted(fitted)
                outcomes = answer_all(final, (tune_q, held_q)[index])
                echo(f"{report(name, final, (tune_q, held_q)[index])}; {outcomes.summary()}")
                confusions.append(outcomes.confusion.row(f"{name}, {half}"))
        echo("\n" + Confusion.HEADER + "\n" + "\n".join(confusions))
    if out is not None:
        write_section(out, "answers", "\n".join([
            ANSWERS_SECTION, "", f"Written by `rag-bench tune --out` for `{embedder.name}`, with the settings it fitted. "
            "Answered right: the key quote holds the answer; answered wrong: it does not, or the question has no "
            f"answer in the indexed articles; declined right / wrong: an unanswerable / answerable question declined. "
            f"`{HALF}`: every other XQuAD-ru article indexed, every question asked. Targets: unanswerable declined "
            "≥ 0.95, answerable declined ≤ 0.02, quote ≥ 0.90; the article: no answerable question declined, every "
            "unanswerable one declined.", "", Confusion.HEADER, *confusions, "", *signals]))
    return fitted

