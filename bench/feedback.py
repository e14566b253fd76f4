"""The failing questions readers marked 👎 in the chat, asked again: what a change to retrieval should fix.

    rag-bench eval --feedback --index index
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rag.feedback import read_feedback
from rag.search.answer import answer


@dataclass
class Failing:
    """A question readers disliked the answer to: how often, what they said, and what it gets now."""

    question: str
    disliked: int = 0
    liked: int = 0
    answers: list[str | None] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    now: str | None = None


def failing(index: str | Path) -> list[Failing]:
    """The questions with at least one 👎, most disliked first (a question's 👍 are counted beside)."""
    found: dict[str, Failing] = {}
    for item in read_feedback(index):
        key = " ".join(item["question"].split()).casefold()
        one = found.setdefault(key, Failing(item["question"]))
        if item["liked"]:
            one.liked += 1
            continue
        one.disliked += 1
        one.answers.append(item.get("answer"))
        if item.get("comment"):
            one.comments.append(str(item["comment"]))
    return sorted((f for f in found.values() if f.disliked), key=lambda f: (-f.disliked, f.question))


def report(index: str | Path) -> str:
    """The failing questions as Markdown, each asked again over the index as it is now."""
    rows = failing(index)
    if not rows:
        return "No answer was marked 👎: nothing to report."
    lines = [f"# {len(rows)} failing question(s) from readers' 👎", "",
             "| 👎 | 👍 | question | answer then | answer now | comments |", "|---|---|---|---|---|---|"]
    for row in rows:
        row.now = answer(row.question, index=index).answer
        then = row.answers[-1]
        cells = [str(row.disliked), str(row.liked), row.question, _cell(then),
                 "(same)" if row.now == then else _cell(row.now), "; ".join(row.comments) or "—"]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def _cell(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "(no answer)"
    return text if len(text) <= limit else text[:limit - 1] + "…"
