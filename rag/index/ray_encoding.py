"""Chunking and encoding articles as a Ray Data pipeline (`rag index --ray`), for archives one process would
take days to encode; imported only then, so nothing else ever imports Ray.

The articles (read and hashed by the update, which needs their content hashes) are chunked by Ray tasks and
encoded by a pool of actors, each loading the model once; the vectors come back to this process in article
order, which writes them to the index (local or Milvus) as a single-process build would. `address` "auto"
joins the Ray cluster this machine belongs to, or starts one on it; any other address (ray://host:10001 or
host:6379) joins that cluster, shipping the `rag` package to its workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import ray

from rag.chunking import Chunk, chunk_text
from rag.corpus import Article
from rag.index import sentences
from rag.index.sentences import Sentences
from rag.models import shared_model

BATCH = 64
"""Passages the vectors come back to this process by."""
NICENESS = "RAY_worker_niceness"
"""Ray's setting of its workers' priority (the raylet reads it from its environment)."""
ARTICLES_PER_BLOCK = 200
"""Articles per block of the pipeline's input (at least one block per actor, so that all of them work). An actor
encodes a whole block at a time, longest passages first as one process does, so that its batches pad little
(64 passages at a time in article order took 1.3× as long)."""


class _Encoder:
    """A Ray actor's model: loaded once, then encoding batch after batch."""

    def __init__(self, model: str) -> None:
        self.embedder = shared_model(model)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        batch["vector"] = self.embedder.encode_passages(texts)
        each = sentences.per_passage(*sentences.encode(texts, self.embedder))
        batch["sentences"] = np.array([v.tobytes() for v in each], dtype=object)  # a passage's, as bytes: ragged
        return batch


def _chunks(row: dict, size: int, overlap: int) -> list[dict]:
    return [{"article": row["article"], "start": c.start, "end": c.end, "text": c.text}
            for c in chunk_text(row["source"], row["text"], size, overlap)]


def connect(address: str, cpus: int | None = None) -> None:
    """Join (or start, for "auto" on a machine without one) the Ray cluster, once per process; a cluster started
    here has `cpus` CPUs (default: the machine's).

    Its workers run at normal priority: at Ray's default (nice 15) the driver's and Ray's own polling preempt
    an encoder's math threads, which then wait for each other (on 2 cores e5 took 1.15× as long). A cluster
    started with `ray start` takes the same setting from RAY_worker_niceness=0 in its environment."""
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # the update reports progress and errors itself
    if ray.is_initialized():
        return
    if address == "auto":
        ours = NICENESS not in os.environ  # read by the raylet this starts; a user's own setting stays
        if ours:
            os.environ[NICENESS] = "0"
        try:
            ray.init(num_cpus=cpus, logging_level="ERROR", log_to_driver=False)
        finally:
            if ours:
                del os.environ[NICENESS]
    else:
        import rag

        ray.init(address=address, logging_level="ERROR", log_to_driver=False,
                 runtime_env={"py_modules": [str(Path(rag.__file__).parent)]})


def encode(articles: list[Article], model: str, chunk_size: int, chunk_overlap: int, address: str = "auto",
           actors: int | None = None) -> Iterator[tuple[Article, list[Chunk], np.ndarray, Sentences]]:
    """Each article with its chunks, their vectors and their sentences' (`rag.index.sentences.encode`), in the
    order given; `actors` encoders (default: one per CPU of the cluster)."""
    connect(address)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # passage ids follow the articles' order, as without Ray
    context.enable_progress_bars = False  # the update shows its own
    cpus = max(int(ray.cluster_resources().get("CPU", 1)), 1)
    actors = actors or cpus
    blocks = max(1, min(len(articles), max(actors, len(articles) // ARTICLES_PER_BLOCK)))
    rows = ray.data.from_items([{"article": n, "source": a.source, "text": a.text} for n, a in enumerate(articles)],
                               override_num_blocks=blocks)
    encoded = rows.flat_map(_chunks, fn_kwargs={"size": chunk_size, "overlap": chunk_overlap}, num_cpus=0).map_batches(
        _Encoder, fn_constructor_args=(model,), batch_size=None, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=max(1, cpus // actors))  # Ray gives an actor
    # as many math threads as CPUs: one actor on a 2-CPU machine encodes with both, as one process does
    done = 0
    pending: list[tuple[Chunk, np.ndarray, np.ndarray]] = []
    dimension = shared_model(model).dimension
    for batch in encoded.iter_batches(batch_size=BATCH, batch_format="numpy"):
        for n, start, end, text, vector, sentence_bytes in zip(batch["article"], batch["start"], batch["end"],
                                                                batch["text"], batch["vector"], batch["sentences"]):
            while done < n:  # the previous article is complete (or had no passages)
                yield _article(articles[done], pending, dimension)
                done, pending = done + 1, []
            pending.append((Chunk(articles[int(n)].source, int(start), int(end), str(text)), vector,
                            np.frombuffer(sentence_bytes, dtype=sentences.STORED).reshape(-1, dimension)))
    for article in articles[done:]:
        yield _article(article, pending, dimension)
        pending = []


def _article(article: Article, pending: list[tuple[Chunk, np.ndarray, np.ndarray]], dimension: int
             ) -> tuple[Article, list[Chunk], np.ndarray, Sentences]:
    vectors = np.stack([v for _, v, _ in pending]) if pending else np.zeros((0, 0), dtype=np.float32)
    return article, [c for c, _, _ in pending], vectors, sentences.joined([s for _, _, s in pending], dimension)
