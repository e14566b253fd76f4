"""Chunks are exact slices of their article, at most the chunk size, cut between words, and cover it."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_text
from tests.conftest import ARTICLE

WORDS = st.sampled_from(
    ["Казахстан", "дипломатия", "мира", "ООН", "2024", "т.е.", "«Мир»", "–", "и", "в", "Касым-Жомарт", "😀", "a"]
)
ENDS = st.sampled_from([" ", " ", " ", ". ", "! ", "? ", ", ", "; ", "\n", "\n\n", "  \n \n"])
TEXTS = st.lists(st.tuples(WORDS, ENDS), min_size=1, max_size=400).map(lambda xs: "".join(w + e for w, e in xs))


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, size=st.integers(40, 1000), overlap_share=st.floats(0, 0.5))
# repeated words: the first occurrence after the overlap is not always where the splitter took a chunk from
@example(text="Казахстан Казахстан Казахстан т.е. Казахстан ", size=40, overlap_share=0.5)
@example(text="Казахстан Казахстан Казахстан. Казахстан. Казахстан ", size=40, overlap_share=0.5)
def test_chunks_are_exact_slices_that_cover_the_text(text: str, size: int, overlap_share: float) -> None:
    overlap = int(size * overlap_share)
    chunks = chunk_text("a.txt", text, size=size, overlap=overlap)
    covered = [False] * len(text)
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert len(chunk.text) <= size
        assert chunk.text == chunk.text.strip()
        for i in range(chunk.start, chunk.end):
            covered[i] = True
        # never inside a word: the characters around a chunk are not letters of the same word
        if chunk.start > 0:
            assert not (text[chunk.start - 1].isalnum() and text[chunk.start].isalnum())
        if chunk.end < len(text):
            assert not (text[chunk.end - 1].isalnum() and text[chunk.end].isalnum())
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_article_chunks_overlap_and_fit_the_passage_limit(article_text: str) -> None:
    chunks = chunk_text(ARTICLE, article_text)
    assert len(chunks) > 5
    assert all(len(c.text) <= 1000 for c in chunks)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:])), "neighbouring chunks share sentences"
    starts = [article_text[c.start] for c in chunks]
    assert all(re.match(r"[\w\"«“(–-]", ch) for ch in starts), "chunks start at a word, not mid-punctuation"
