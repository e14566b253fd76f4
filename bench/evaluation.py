"""Measuring answers against a question set whose answers are exact words of the articles.

A passage or quote "hits" when its text contains one of the question's answers, so every number is
reproducible without judgement calls. Unanswerable questions (answer null) measure abstention: the
system should decline them (`Answer.answer is None`) and answer the rest. The metric functions are
shared with `bench.quality`, which applies them to other retrievers too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

K = 5
"""Passages asked for per question; MRR counts ranks up to this."""

KINDS = ("plain", "paraphrase", "unanswerable")

TARGETS = {
    "plain hit@1": 1.0,
    "paraphrase hit@1": 0.90,
    "paraphrase hit@3": 0.90,
    "unanswerable declined": 0.80,
}
"""Share of questions that must come out right on the article's evaluation set."""

MAX_WRONGLY_DECLINED = 1
"""Answerable questions that may be declined on the article's evaluation set."""

XQUAD_TARGETS = {"hit@1": 0.97, "hit@5": 0.995, "quote": 0.90}
"""Targets on XQuAD-ru dev (24 Wikipedia articles as one corpus): passages, and key quotes holding the answer."""

XQUAD_EN_TARGETS = {"hit@1": 0.85, "hit@5": 0.95}
"""Targets for XQuAD's English questions asked over the same Russian articles."""


@dataclass(frozen=True)
class Question:
    """A question and the exact strings that count as its answer (none: the corpus cannot answer it)."""

    question: str
    answers: tuple[str, ...] = ()
    kind: str = "plain"

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_questions(path: str | Path) -> list[Question]:
    """The questions of a JSON-lines file: {"question", "answer" (string or null), "kind"} per line."""
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        answer = row.get("answer")
        kind = row.get("kind") or ("plain" if answer else "unanswerable")
        if (answer is None) != (kind == "unanswerable"):
            raise ValueError(f"{path}:{number}: only unanswerable questions have a null answer")
        questions.append(Question(row["question"], (answer,) if answer else (), kind))
    return questions


def contains(text: str | None, answers: Iterable[str]) -> bool:
    """Whether `text` contains one of the answers verbatim."""
    return text is not None and any(a in text for a in answers)


def first_hit(texts: Sequence[str], answers: Iterable[str]) -> int | None:
    """1-based rank of the first text that contains an answer, None when none does."""
    answers = tuple(answers)
    return next((rank for rank, text in enumerate(texts, 1) if contains(text, answers)), None)


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first hit is within the top `k` (0 for no questions)."""
    return float(np.mean([r is not None and r <= k for r in ranks])) if ranks else 0.0


def mrr(ranks: Sequence[int | None]) -> float:
    """Mean reciprocal rank of the first hit (a miss counts 0)."""
    return float(np.mean([1 / r if r else 0.0 for r in ranks])) if ranks else 0.0


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of `predicted` against `actual` (1.0 where nothing was predicted or expected)."""
    both = sum(p and a for p, a in zip(predicted, actual))
    precision = both / sum(predicted) if any(predicted) else 1.0
    recall = both / sum(actual) if any(actual) else 1.0
    return precision, recall


@dataclass(frozen=True)
class Confusion:
    """What answers did with a set's questions, counted: answered with the answer in the quote (right) or not
    (wrong: a quote without it, or any quote for an unanswerable question), declined an unanswerable question
    (right) or an answerable one (wrong)."""

    answered_right: int
    answered_wrong: int
    declined_right: int
    declined_wrong: int

    HEADER = ("| set | answered right | answered wrong | declined right | declined wrong |\n"
              "|---|---|---|---|---|")

    @classmethod
    def of(cls, answerable: Sequence[bool], quote_hit: Sequence[bool], declined: Sequence[bool]) -> Confusion:
        """The counts over questions given as parallel flags."""
        rows = list(zip(answerable, quote_hit, declined))
        return cls(sum(a and h and not d for a, h, d in rows), sum(not d and not (a and h) for a, h, d in rows),
                   sum(d and not a for a, _, d in rows), sum(d and a for a, _, d in rows))

    def row(self, name: str) -> str:
        """A Markdown row under `HEADER`."""
        return (f"| {name} | {self.answered_right} | {self.answered_wrong} | {self.declined_right} | "
                f"{self.declined_wrong} |")


@dataclass(frozen=True)
class Outcome:
    """What the system did with one question: rank of the first hit passage, quote hit, declined."""

    question: Question
    rank: int | None
    quote_hit: bool
    declined: bool


@dataclass
class Report:
    """Results over a question set, by kind of question, with the article targets checked."""

    outcomes: list[Outcome]

    def of(self, kind: str | None = None) -> list[Outcome]:
        """Outcomes of one kind of question (all answerable ones for None)."""
        return [o for o in self.outcomes if (o.question.kind == kind if kind else o.question.answerable)]

    def retrieval(self, kind: str | None = None) -> dict[str, float]:
        """hit@1, hit@3, MRR and the key-quote hit rate of a kind of (answerable) question."""
        group = self.of(kind)
        ranks = [o.rank for o in group]
        quotes = float(np.mean([o.quote_hit for o in group])) if group else 0.0
        return {"n": len(group), "hit@1": hit_at(ranks, 1), "hit@3": hit_at(ranks, 3), "MRR": mrr(ranks),
                "quote": quotes}

    def abstention(self) -> dict[str, float]:
        """Precision and recall of declining, on the unanswerable questions, and answerable ones declined."""
        declined = [o.declined for o in self.outcomes]
        unanswerable = [not o.question.answerable for o in self.outcomes]
        precision, recall = precision_recall(declined, unanswerable)
        wrongly = sum(d and not u for d, u in zip(declined, unanswerable))
        return {"precision": precision, "recall": recall, "wrongly declined": wrongly}

    def measured(self) -> dict[str, float]:
        """The numbers the targets are about, by TARGETS' names."""
        plain, para = self.retrieval("plain"), self.retrieval("paraphrase")
        return {"plain hit@1": plain["hit@1"], "paraphrase hit@1": para["hit@1"],
                "paraphrase hit@3": para["hit@3"], "unanswerable declined": self.abstention()["recall"]}

    def missed_targets(self) -> list[str]:
        """The targets this report misses, one line each (empty when all are met)."""
        missed = [f"{name}: {value:.3f} < {TARGETS[name]:.2f}" for name, value in self.measured().items()
                  if value < TARGETS[name] - 1e-9]
        wrongly = self.abstention()["wrongly declined"]
        if wrongly > MAX_WRONGLY_DECLINED:
            missed.append(f"answerable questions declined: {wrongly} > {MAX_WRONGLY_DECLINED}")
        return missed

    def format(self) -> str:
        """A plain-text table: retrieval by kind, abstention, and the targets met or missed."""
        lines = [f"{'questions':<14}{'n':>4}{'hit@1':>8}{'hit@3':>8}{'MRR':>8}{'quote':>8}"]
        for kind in ("plain", "paraphrase", None):
            r = self.retrieval(kind)
            lines.append(f"{kind or 'answerable':<14}{r['n']:>4}{r['hit@1']:>8.3f}{r['hit@3']:>8.3f}"
                         f"{r['MRR']:>8.3f}{r['quote']:>8.3f}")
        a = self.abstention()
        lines.append(f"\nunanswerable: {len(self.of('unanswerable'))}; declining: precision {a['precision']:.3f}, "
                     f"recall {a['recall']:.3f}; answerable questions declined: {a['wrongly declined']}")
        lines.append(f"(hit@k: a passage among the first k contains the answer; MRR over {K} passages; "
                     "quote: the key quote contains it)")
        missed = self.missed_targets()
        lines.append("\ntargets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
        return "\n".join(lines)


def evaluate(questions_path: str | Path, index: str | Path = "index", k: int = K) -> Report:
    """Ask every question of the set through `rag.answer` and compare with the known answers."""
    from rag.search.answer import answer

    outcomes = []
    for q in load_questions(questions_path):
        reply = answer(q.question, k=k, index=index)
        rank = first_hit([p.text for p in reply.passages], q.answers) if q.answerable else None
        outcomes.append(Outcome(q, rank, contains(reply.answer, q.answers), reply.answer is None))
    return Report(outcomes)
