"""The embedder interface that indexing and retrieval depend on, and its sentence-transformers implementation.

An `Embedder` turns questions and passages into unit vectors; which model runs (multilingual e5 from
the bundled weights, a hub model, a local folder, navec word vectors) is the only thing that differs.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from rag import settings

PROGRESS_BATCH = 16
"""Texts encoded between two progress reports (the model batches them by `BATCH_CHARACTERS`), at most one batch."""
DOCUMENT_PROMPTS = ("document", "passage", "corpus")
"""The prompts a passage is encoded with, the first the model has (as sentence-transformers' `encode_document`)."""
Progress = Callable[[int], None]
"""Told how many more passages were just encoded: a progress bar's `update`, owned by the caller."""
BATCH_CHARACTERS = 4000
"""Characters per forward pass on the CPU (texts sorted by length, so a batch pads little): 4 passages of 1000,
16 sentences. e5 on 2 cores encoded XQuAD's 145 passages in ~10.0 s at 4 a batch, 10.5 at 8, 11 at 16, 12.2 at
32 (sentence-transformers' default); their 620 sentences in 11.5 s at 4, 10.4 at 8 and 16 (bfloat16)."""


@runtime_checkable
class Embedder(Protocol):
    """Encodes questions and passages as float32 unit vectors of `dimension`; `name` is what an index records.

    `encode_passages` is what an index stores (deterministic for the same texts), for passages and, when they
    are indexed, their sentences (`rag.index.sentences`, for key quotes); `encode_sentences` is for a few
    sentences at question time (an index of format 5 stored none), by the quickest encoder that gives the same
    vectors.
    """

    name: str

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray: ...

    def encode_sentences(self, texts: list[str]) -> np.ndarray: ...

    def load(self) -> None:
        """Load (or build) what encoding passages needs now rather than on first use: before a progress bar
        starts counting passages, or in a server that will index the articles it is given."""
        ...


def built_once(target: Path, build: Callable[[Path], None], announce: Callable[[], None] | None = None) -> Path:
    """The model folder `target`, made by `build(folder)` on first use: written aside and renamed, so a
    killed build leaves nothing half-made, and two processes building at once both end with a whole folder."""
    if (target / "modules.json").exists():
        return target
    if announce:
        announce()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp / "model")
        try:
            os.rename(tmp / "model", target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not (target / "modules.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def quiet_hub_libraries() -> None:
    """No "Loading weights" / "Writing shards" bars nor load reports: on every start they say nothing to a user."""
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def sentence_transformer(path_or_name: str, prompts: dict[str, str] | None = None, **kwargs) -> object:
    """A `SentenceTransformer` on the CPU, quietly."""
    from sentence_transformers import SentenceTransformer

    quiet_hub_libraries()
    return SentenceTransformer(path_or_name, device="cpu", prompts=prompts, **kwargs)


def _unit(vectors: object, rows: int) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(rows, -1)


@contextlib.contextmanager
def _workers() -> Iterator[ThreadPoolExecutor]:
    """One worker thread per core of torch's, each running its batches on one core: on 2 cores e5 encoded
    XQuAD's passages in 5.3-5.5 s where both cores on each batch in turn took 5.6-7.2 s (and its sentences
    in 5.6-5.7 s against 5.9-7.5), as a model this small keeps two cores busy on one batch only in part."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rag-encode") as pool:
            yield pool
    finally:
        torch.set_num_threads(threads)


def _split(rows: list[int], size: int) -> list[list[int]]:
    return [rows[start:start + size] for start in range(0, len(rows), size)]


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use, encoding with its own query/document prompts.

    Encoding is serialised: tokenizers are not safe to call from several threads at once. (A word-vector
    model in a local folder is read by `rag.models.static` instead, without torch.)
    """

    def __init__(self, name: str, load: Callable[[], object], dimension: int | None = None) -> None:
        self.name = name
        self._load = load
        self._model: object | None = None
        self._dimension = dimension
        self._lock = threading.RLock()

    @property
    def model(self) -> object:
        """The loaded `SentenceTransformer` (loaded now if it was not yet)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def load(self) -> None:
        """Load the model now (see `Embedder.load`)."""
        self.model

    @property
    def dimension(self) -> int:
        """Length of the vectors the model produces."""
        if self._dimension is None:
            self._dimension = int(self.model.get_embedding_dimension())
        return self._dimension

    def _math(self) -> contextlib.AbstractContextManager:
        """bfloat16 matrix products where the CPU computes them natively (`settings.bfloat16`): 1.6× faster
        with e5, whose vectors then agree with float32's to a cosine of 0.99998 at least (XQuAD's passages
        and sentences); float32 elsewhere."""
        if not settings.bfloat16():
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of questions (with the model's query prompt)."""
        with self._lock, self._math():
            model = self.model
            return _unit(model.encode_query(texts, normalize_embeddings=True, convert_to_numpy=True), len(texts))

    def encode_passages(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Unit vectors of passages (with the model's document prompt), telling `progress` as they are done.

        Passages are encoded longest first in batches of about `BATCH_CHARACTERS`, so that each pads to similar
        lengths; each batch is tokenized here (a tokenizer is not safe in several threads) and run through the
        model by one of `_workers`, one single-threaded worker per core."""
        with self._lock:
            model = self.model.eval()
            prompt = next((model.prompts[n] for n in DOCUMENT_PROMPTS if n in model.prompts), None)
            out = np.zeros((len(texts), self.dimension), dtype=np.float32)
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            pending: collections.deque[list] = collections.deque()
            with _workers() as pool:
                for start in range(0, len(order), PROGRESS_BATCH):
                    rows = order[start:start + PROGRESS_BATCH]
                    size = max(1, BATCH_CHARACTERS // max(1, len(texts[rows[0]])))  # the longest comes first
                    pending.append([(batch, pool.submit(self._forward, model, model.preprocess(
                        [texts[i] for i in batch], prompt=prompt))) for batch in _split(rows, size)])
                    while len(pending) > 1 or (pending and start + PROGRESS_BATCH >= len(order)):
                        done = pending.popleft()  # one group at a time, while the next is being encoded
                        for batch, vectors in done:
                            out[batch] = vectors.result()
                        if progress is not None:
                            progress(sum(len(batch) for batch, _ in done))
            return out

    def _forward(self, model: object, features: dict) -> np.ndarray:
        """Unit vectors of one tokenized batch, computed in the calling worker's thread."""
        import torch

        with torch.inference_mode(), self._math():
            vectors = model(features)["sentence_embedding"]
        return _unit(torch.nn.functional.normalize(vectors.float(), dim=1).numpy(), len(vectors))

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of a few sentences at question time: as passages."""
        return self.encode_passages(texts)
