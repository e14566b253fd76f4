"""The sentences of each passage, split and encoded when the passage is indexed, so that no question waits for
sentence encoding (key quotes and re-scoring read them; docs/benchmarks.md).

A passage's sentences are razdel's sentences within each of its lines (`sentence_spans`); their vectors are
stored beside the passage vectors, in the same segments (`rag.index.vectors`) or the same Milvus rows
(`rag.index.milvus`), as `STORED` (half precision: the key quotes of every dev question are those of float32,
at half the disk). A passage whose sentence vectors were never stored (an index of format 5) has the count
`UNKNOWN`: its sentences are encoded when a question first needs them, as before.
"""

from __future__ import annotations

import numpy as np
from razdel import sentenize

from rag.models import Embedder

STORED = np.float16
"""How sentence vectors are stored; read back as float32."""
UNKNOWN = -1
"""The sentence count of a passage whose sentence vectors are not stored."""


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of `text`: razdel's sentences within each line, so that a heading or a
    paragraph without a final full stop never runs into the next one (blank lines give no sentence)."""
    spans, start = [], 0
    for line in text.split("\n"):
        spans += [(start + s.start, start + s.stop) for s in sentenize(line) if s.text.strip()]
        start += len(line) + 1
    return spans


def encode(texts: list[str], embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """The sentence count of each passage and the vectors of all their sentences, passage after passage, as
    stored (`STORED`); encoded in one call, as a question's sentences were."""
    sentences = [[text[a:b] for a, b in sentence_spans(text)] for text in texts]
    flat = [s for one in sentences for s in one]
    vectors = embedder.encode_sentences(flat) if flat else np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.array([len(one) for one in sentences], dtype=np.int32), stored(vectors)


def stored(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as stored."""
    return np.ascontiguousarray(vectors, dtype=STORED)


def starts(counts: np.ndarray) -> np.ndarray:
    """The first sentence row of each passage given its sentence counts, and one past the last at the end."""
    return np.concatenate([[0], np.cumsum(np.maximum(counts, 0), dtype=np.int64)])
