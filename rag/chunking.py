"""Splitting an article into overlapping passages that keep their exact character offsets.

LangChain's recursive splitter is given Russian-prose separators: paragraphs first, then lines,
sentences, clauses and words; it never cuts inside a word unless a single "word" exceeds the size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.settings import CHUNK_OVERLAP, CHUNK_SIZE, MAX_PASSAGE

SEPARATORS = [
    r"\n\s*\n",  # paragraphs
    r"\n",  # lines
    r"(?<=[.!?…])[\"»”)]*\s+",  # sentences (closing quotes stay with their sentence)
    r"(?<=[;:])\s+",  # clauses
    r"(?<=[,–—])\s+",  # comma clauses and dashes
    r"\s+",  # words
    "",  # characters: only for a "word" longer than the chunk
]


_SPACES = re.compile(r"\s*")


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: `text == article.text[start:end]`."""

    source: str
    start: int
    end: int
    text: str


def make_splitter(size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP) -> RecursiveCharacterTextSplitter:
    """The splitter for Russian prose, `size` characters at most per chunk, `overlap` characters shared."""
    if not 0 < size <= MAX_PASSAGE:
        raise ValueError(f"chunk size must be between 1 and {MAX_PASSAGE} characters, not {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap must be between 0 and the chunk size, not {overlap}")
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=size,
        chunk_overlap=overlap,
        strip_whitespace=True,
    )


def chunk_text(source: str, text: str, size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP) -> list[Chunk]:
    """The passages of one article, in order, each located at its exact offsets in `text`."""
    pieces = make_splitter(size, overlap).split_text(text)
    starts = locate(text, pieces, overlap)
    if starts is None:  # the splitter only ever returns substrings; this guards the offsets contract
        raise AssertionError(f"the chunks of {source} could not be placed in its article")
    return [Chunk(source, start, start + len(piece), piece) for start, piece in zip(starts, pieces)]


def locate(text: str, pieces: list[str], overlap: int) -> list[int] | None:
    """Where each of the splitter's pieces starts in `text`: in order, each after the one before and no later
    than where that one ends (only whitespace between), all of them covering the text.

    A piece that occurs several times in reach (an article repeating its words) is first looked for where the
    splitter puts it, right after the overlap it shares with the one before; when that leaves no place for a
    later piece, the other occurrences are tried (a depth-first search, each dead end remembered).
    """
    if not pieces:
        return []
    first = _SPACES.match(text).end()
    chosen: list[int] = []
    options = [iter([first] if text.startswith(pieces[0], first) else [])]
    dead: set[tuple[int, int]] = set()
    while options:
        i = len(options) - 1
        start = next(options[-1], None)
        if start is None:
            options.pop()
            if chosen:
                dead.add((i - 1, chosen.pop()))
            continue
        if (i, start) in dead:
            continue
        end = start + len(pieces[i])
        if i + 1 == len(pieces):
            if not text[end:].strip():
                return chosen + [start]
            dead.add((i, start))
            continue
        chosen.append(start)
        options.append(_places(text, pieces[i + 1], start, end, overlap))
    return None


def _places(text: str, piece: str, start: int, end: int, overlap: int) -> Iterator[int]:
    """The starts that the piece after [start, end) may have: past `start`, no later than the whitespace after
    `end`; the one after the shared overlap first, then the others in order."""
    reach = _SPACES.match(text, end).end()
    found = list(_occurrences(text, piece, start + 1, reach))
    expected = max(start + 1, end - overlap)
    yield from sorted(found, key=lambda at: (at < expected, at))


def _occurrences(text: str, piece: str, lo: int, hi: int) -> Iterator[int]:
    """Starts of `piece` in `text` from `lo` to `hi`, both included."""
    at = text.find(piece, lo, hi + len(piece))
    while at >= 0:
        yield at
        at = text.find(piece, at + 1, hi + len(piece))
