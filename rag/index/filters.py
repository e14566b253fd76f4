"""Which articles a question searches: a date range and a publisher, checked once and applied inside the index.

The word index applies a filter as part of its query (tantivy keeps each passage's date as a date field and
its publisher as a raw term); the vector index searches only the passage ids the filter admits (a FAISS id
selector). So a filtered question still gets its `k` best passages among the admitted ones, not whatever
is left of the `k` best of the whole archive.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rag import dates
from rag.errors import RagError
from rag.index.manifest import Manifest
from rag.index.table import passage_mask

MAX_PUBLISHER = 200
"""Longest publisher name a filter accepts (names are matched whole)."""


@dataclass(frozen=True)
class Filter:
    """Articles dated `since`..`until` (inclusive; an undated article is left out by either bound) from
    `publisher` (the name as the index stores it); None places no bound."""

    since: datetime.date | None = None
    until: datetime.date | None = None
    publisher: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.since, self.until, self.publisher))

    def admits(self, date: str | None, publisher: str | None) -> bool:
        """Whether an article with this date and publisher is searched."""
        if self.publisher is not None and publisher != self.publisher:
            return False
        if self.since is None and self.until is None:
            return True
        day = dates.day(date)
        return day is not None and (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def describe(self) -> str:
        """The filter in Russian words, for the answer's notice ("с 2025-01-01 по 2025-12-31, издания «Zakon.kz»")."""
        parts = []
        if self.since and self.until:
            parts.append(f"с {self.since.isoformat()} по {self.until.isoformat()}")
        elif self.since:
            parts.append(f"с {self.since.isoformat()}")
        elif self.until:
            parts.append(f"по {self.until.isoformat()}")
        if self.publisher:
            parts.append(f"издания «{self.publisher}»")
        return ", ".join(parts)


def parse_date(value: str | datetime.date | None, name: str) -> datetime.date | None:
    """A filter bound from an ISO date (or a date); RagError with a Russian line for anything else."""
    if value is None or isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return dates.parse(text)
    except ValueError:
        shown = text[:40]
        raise RagError(f"--{name} {shown!r} is not a date: use YYYY-MM-DD",
                       russian=f"«{shown}» — не дата: укажите её как ГГГГ-ММ-ДД, например 2025-03-01") from None


def make_filter(since: str | datetime.date | None = None, until: str | datetime.date | None = None,
                publisher: str | None = None, publishers: Iterable[str] = ()) -> Filter | None:
    """The checked filter for these bounds, or None when there is none. `publisher` is matched against the
    index's `publishers` regardless of case; an unknown one or an empty date range raises RagError."""
    start, end = parse_date(since, "since"), parse_date(until, "until")
    if start and end and start > end:
        raise RagError(f"--since {start} is after --until {end}",
                       russian=f"начало периода ({start}) позже его конца ({end})")
    name = (publisher or "").strip()[:MAX_PUBLISHER] or None
    if name is not None:
        known = {p.casefold(): p for p in publishers if p}
        if name.casefold() not in known:
            listed = ", ".join(sorted(known.values())[:10]) or "нет ни одного"
            raise RagError(f"no article of publisher {name!r} in the index",
                           russian=f"в индексе нет статей издания «{name}» (издания: {listed})")
        name = known[name.casefold()]
    found = Filter(start, end, name)
    return found if found else None


def admitted(manifest: Manifest, where: Filter) -> np.ndarray:
    """A mask over all passage ids the manifest gave out: True for the live passages of admitted articles."""
    firsts, counts = manifest.articles.spans()  # in the order `columns` gives the articles
    rows = manifest.articles.columns("date", "publisher")
    keep = np.fromiter((where.admits(date, publisher) for date, publisher in rows), dtype=bool, count=len(firsts))
    return passage_mask(manifest.next_id, firsts[keep], counts[keep])
