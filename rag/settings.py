"""Defaults shared by indexing, retrieval and the interfaces, in one place."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
"""The multilingual model the product prefers when the Hugging Face hub can be reached."""

CHUNK_SIZE = 1000
"""Target passage length in characters (hard limit for what users see: MAX_PASSAGE; fitted by rag.tune)."""

CHUNK_OVERLAP = 200
"""Characters of whole sentences repeated between neighbouring chunks."""

MAX_PASSAGE = 1000
MAX_QUESTION = 1000
"""Longer questions are cut to this many characters, with a notice."""

MAX_ARTICLE_BYTES = 5 * 1024 * 1024
"""Articles larger than this are skipped: a news article is never this long."""


def default_corpus() -> Path:
    """The corpus folder: $RAG_CORPUS or ./corpus."""
    return Path(os.environ.get("RAG_CORPUS", "corpus"))


def default_index() -> Path:
    """The index folder: $RAG_INDEX or ./index."""
    return Path(os.environ.get("RAG_INDEX", "index"))


def cache_dir() -> Path:
    """Where built models (the offline one) are kept: $RAG_CACHE or ~/.cache/rag."""
    return Path(os.environ.get("RAG_CACHE") or Path.home() / ".cache" / "rag")

DENSE_WEIGHT = 0.3
"""Share of the dense (embedding) score in the hybrid score; the rest is normalised BM25 (fitted by
`python -m rag.tune`, like NO_ANSWER_BELOW and the chunking)."""

NO_ANSWER_BELOW = 0.2036
"""A best hybrid score under this means the corpus holds no answer."""
