"""Splitting an article into overlapping passages that keep their exact character offsets.

LangChain's recursive splitter is given Russian-prose separators: paragraphs first, then lines,
sentences, clauses and words; it never cuts inside a word unless a single "word" exceeds the size.
"""

from __future__ import annotations

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
    chunks: list[Chunk] = []
    cursor = 0
    for piece in make_splitter(size, overlap).split_text(text):
        start = text.find(piece, cursor)
        if start < 0:  # the splitter only ever returns substrings; this guards the offsets contract
            raise AssertionError(f"chunk of {source} not found in its article")
        chunks.append(Chunk(source, start, start + len(piece), piece))
        # the next chunk repeats at most `overlap` characters: searching from there skips earlier
        # occurrences of the same words (an article may repeat a sentence)
        cursor = max(start + 1, start + len(piece) - overlap)
    return chunks
