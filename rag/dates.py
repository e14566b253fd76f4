"""Article dates: the one reading of an ISO date that the corpus, the index, its filters and the answers share.

An article's date is kept as the text its front matter gave. What counts as its day is decided here once, so
that the word index (tantivy's date field), the vector filter (`rag.index.filters`), Milvus' `day` field and
the recency order never disagree about an article.
"""

from __future__ import annotations

import datetime

EPOCH = datetime.date(1970, 1, 1)


def parse(text: str) -> datetime.date:
    """The day an ISO date names ("2025-03-01"), or an ISO date-time's ("2025-03-01T12:00"); ValueError for
    anything else. For input that must be a date: the caller turns the ValueError into its own message."""
    return datetime.date.fromisoformat(text[:10] if len(text) > 10 and text[10] == "T" else text)


def day(value: object) -> datetime.date | None:
    """The day of a stored date (its first ten characters as an ISO date: a date-time counts by its day), None
    when there is none or it is no date. For dates already taken in, where a bad one means "undated"."""
    if not value:
        return None
    try:
        return parse(str(value)[:10])
    except ValueError:
        return None


def days_since_epoch(day: datetime.date) -> int:
    """A day as days since 1970-01-01: how Milvus stores it."""
    return (day - EPOCH).days


def midnight_utc(day: datetime.date) -> datetime.datetime:
    """A day as its midnight UTC: how tantivy stores it."""
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
