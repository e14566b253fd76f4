"""When segments merge, as Lucene's log merge policy says: `MERGE_FACTOR` segments of one size class become
one, so a row is rewritten about log(archive) times and the number of segments stays small; a mostly
deleted segment is rewritten alone. Vector segments and article-table files follow the same policy."""

from __future__ import annotations

import math
from typing import Protocol, TypeVar

MERGE_FACTOR = 8
"""Segments of one size class merged at once; also how much bigger each class is than the one below."""
SMALLEST_CLASS = 1_000
"""Rows of the smallest size class: smaller segments all count as that class."""
COMPACT_ABOVE = 0.5
"""A segment with more than this share of deleted rows is rewritten at the next update."""


class Segment(Protocol):
    """What the policy knows of a segment: its name and how many rows it holds, live or not."""

    @property
    def name(self) -> str: ...

    @property
    def rows(self) -> int: ...


S = TypeVar("S", bound=Segment)


def _class(rows: int) -> int:
    return int(math.log(max(rows, SMALLEST_CLASS) / SMALLEST_CLASS, MERGE_FACTOR))


def to_merge(segments: tuple[S, ...], live: dict[str, int], optimize: bool) -> list[S]:
    """The segments the next merge rewrites into one (`live`: each one's live rows, by name): all
    (`optimize`), a full size class, or the mostly deleted ones; none when the policy is met."""
    if optimize:
        return list(segments) if len(segments) > 1 or any(live[s.name] < s.rows for s in segments) else []
    mostly_deleted = [s for s in segments if s.rows and 1 - live[s.name] / s.rows > COMPACT_ABOVE]
    if mostly_deleted:
        return mostly_deleted
    classes: dict[int, list[S]] = {}
    for s in segments:
        classes.setdefault(_class(live[s.name]), []).append(s)
    full = [group for _, group in sorted(classes.items()) if len(group) >= MERGE_FACTOR]
    return full[0] if full else []
