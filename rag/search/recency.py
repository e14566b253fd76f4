"""Dates that matter: the newer article first when a question asks for the latest, or when two articles state
different figures for the same thing.

«Какой сейчас курс…», «последние данные», «на сегодня», «в этом году», "the latest": of the passages that
answer about as well as the best (within `MARGIN` of its score) and hold a key quote, the one of the newest
article comes first, and the answer says its date. Without such words, two such passages of different
articles whose key quotes hold different numbers are two states of one fact: the newer is put first too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag import dates
from rag.search.retriever import Passage

MARGIN = 0.1
"""How far under the best score a passage still answers as well (scores are on a 0-1 scale)."""
_LATEST = re.compile(r"(?<!\w)(последн\w*|сейчас|на сегодня\w*|в этом году|в текущем году|текущ\w*|ныне\w*|"
                     r"latest|current\w*|now|most recent|today)(?!\w)", re.I)
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Ordered:
    """The passages in the order answered from, and the line saying which article came first and why."""

    passages: list[Passage]
    notice: str | None = None


def asks_for_latest(question: str) -> bool:
    """Whether the question asks for the latest state of things («последние», «сейчас», "latest"…)."""
    return bool(_LATEST.search(question))


def newest_first(passages: list[Passage], latest: bool, quote: Callable[[Passage], str | None]) -> Ordered:
    """`passages` (best first) with the newest answering article's passage first when the question asks for the
    latest (`latest`) or when answering passages of two articles quote different figures; `quote` gives a
    passage's key quote (None: it does not answer)."""
    if not passages:
        return Ordered(passages)
    close = [p for p in passages if p.score >= passages[0].score - MARGIN and dates.day(p.date) is not None]
    if not latest and len({p.source for p in close}) < 2:
        return Ordered(passages)
    quoted = [(p, text) for p in close if (text := quote(p)) is not None]
    if not quoted:
        return Ordered(passages)
    newest, text = max(quoted, key=lambda q: dates.day(q[0].date))  # the first of the newest: the best scoring
    if not latest:
        figures = {frozenset(_FIGURE.findall(t)) for _, t in quoted}
        if len(figures - {frozenset()}) < 2:
            return Ordered(passages)
    order = [newest] + [p for p in passages if p is not newest]
    why = "самая свежая из статей, что отвечают на вопрос" if latest else "статьи называют разные цифры, новее эта"
    return Ordered(order, f"Сначала — {why}: «{newest.title}» от {newest.date}.")
