"""Follow-up questions measured: pairs (earlier questions, an elliptical or a self-contained follow-up, the
exact words of the article that answer it), asked through `rag.answer(..., history=...)`.

A follow-up is right when its key quote holds the answer, and, for a self-contained one, when it was not
changed by the history; the share of right ones is the figure (`rag-bench followups`), also for the
follow-ups that switch subject («А с какими организациями?» after a question about states). Pairs about
XQuAD-ru articles (`"corpus": "xquad"`) are asked over an index of the seed article and the XQuAD file's
articles, built for the run; without the XQuAD file they are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

QUESTIONS = Path("corpus/eval/followups.jsonl")
TARGET = 0.80
"""Share of follow-ups that must come out right (issue 11)."""


@dataclass(frozen=True)
class FollowUp:
    """Earlier questions, the follow-up, its answer (exact words of the article) and its kind."""

    history: tuple[str, ...]
    question: str
    answer: str
    kind: str  # "elliptical" or "self-contained"
    switch: bool = False  # brings a subject, an object or a question word of its own
    corpus: str = "article"  # "article" (the seed) or "xquad"


@dataclass(frozen=True)
class Outcome:
    """How one follow-up came out: the question as searched, whether the quote / the first passage hold the
    answer."""

    follow_up: FollowUp
    understood: str | None
    quote_hit: bool
    top_hit: bool

    @property
    def right(self) -> bool:
        completed = self.understood is not None
        return self.quote_hit and completed == (self.follow_up.kind == "elliptical")


def load(path: str | Path = QUESTIONS) -> list[FollowUp]:
    """The follow-ups of a JSON-lines file: {"history": [...], "question", "answer", "kind"} per line, with
    optional "switch" and "corpus"."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [FollowUp(tuple(r["history"]), r["question"], r["answer"], r["kind"], r.get("switch", False),
                     r.get("corpus", "article")) for r in rows]


def build_with_xquad(folder: Path, seed_article: Path, xquad_file: Path) -> Path:
    """An index in `folder` of the seed article and the XQuAD file's articles, for the XQuAD follow-ups."""
    import rag
    from bench import seed, xquad

    corpus = xquad.write_corpus(xquad.load(xquad_file), folder / "corpus")
    seed.add_to(corpus, seed_article)
    rag.build_index(corpus, folder / "index")
    return folder / "index"


def evaluate(path: str | Path = QUESTIONS, index: str | Path = "index", xquad: bool = False) -> list[Outcome]:
    """Ask every follow-up after its history; the XQuAD ones only when the index holds XQuAD (`xquad`)."""
    from rag.search.answer import answer

    outcomes = []
    for f in load(path):
        if f.corpus == "xquad" and not xquad:
            continue
        reply = answer(f.question, index=index, history=list(f.history))
        quote = reply.answer or ""
        top = reply.passages[0].text if reply.passages else ""
        outcomes.append(Outcome(f, reply.understood, f.answer in quote, f.answer in top))
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    """One line per follow-up (✓/✗, how it was understood), then the shares by kind and the target."""
    lines = []
    for o in outcomes:
        lines.append(f"{'✓' if o.right else '✗'} {' → '.join(o.follow_up.history)} → {o.follow_up.question}"
                     f"{f'  [понят как: {o.understood}]' if o.understood else ''}")
    groups = {"elliptical": lambda f: f.kind == "elliptical", "self-contained": lambda f: f.kind != "elliptical",
              "switching": lambda f: f.switch, "xquad": lambda f: f.corpus == "xquad", "all": lambda f: True}
    for kind, member in groups.items():
        group = [o for o in outcomes if member(o.follow_up)]
        if group:
            right = sum(o.right for o in group)
            top = sum(o.top_hit for o in group)
            lines.append(f"{kind:<15} n={len(group):<3} right {right / len(group):.3f} "
                         f"(quote holds the answer; self-contained ones unchanged), first passage holds it "
                         f"{top / len(group):.3f}")
    share = sum(o.right for o in outcomes) / len(outcomes) if outcomes else 0.0
    lines.append(f"target: right ≥ {TARGET:.2f}: {'met' if share >= TARGET else 'MISSED'}")
    return "\n".join(lines)
