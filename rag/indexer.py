"""Bringing the index up to date with a corpus folder: only new and changed articles are embedded."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag import fitted, store
from rag.chunking import Chunk, chunk_text
from rag.corpus import Skipped, load_corpus
from rag.errors import IndexDamaged, IndexMissing, ModelMismatch
from rag.models import Embedder, shared_model

log = logging.getLogger("rag")


@dataclass
class BuildReport:
    """What an index update did, for the summary line."""

    model: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: counts of each kind of article, passages, model and time."""
        return (
            f"indexed {len(self.added)} new, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped article(s): "
            f"{self.chunks} passages, model {self.model}, {self.seconds:.1f} s"
        )


def _previous(index: Path, rebuild: bool) -> store.Stored | None:
    if rebuild:
        return None
    try:
        return store.load(index)
    except IndexMissing:
        return None
    except IndexDamaged as exc:
        raise IndexDamaged(f"{exc} (an update needs a readable index; --rebuild starts from scratch)") from exc


def _model_for(previous: store.Stored | None, model: str | None) -> Embedder:
    """The model of the previous index, unless another one is asked for (then only with --rebuild)."""
    if previous is not None:
        built_with = previous.manifest["model"]
        if model is not None and model != built_with and str(Path(model).resolve()) != built_with:
            raise ModelMismatch(
                f"the index was built with {built_with}; to switch to {model}, run: "
                f"rag index --rebuild --model {model}"
            )
        model = built_with
    embedder = shared_model(model)
    if previous is not None and embedder.dimension != previous.manifest["dimension"]:
        raise ModelMismatch(
            f"{embedder.name} now gives {embedder.dimension}-dimensional vectors but the index holds "
            f"{previous.manifest['dimension']}-dimensional ones; run: rag index --rebuild"
        )
    return embedder


def build_index(
    corpus: str | Path = "corpus",
    index: str | Path = "index",
    model: str | None = None,
    rebuild: bool = False,
    progress: bool = False,
) -> BuildReport:
    """Bring the index in `index` up to date with the articles in `corpus`.

    New and changed articles are chunked and embedded, deleted ones dropped, unchanged ones reuse
    their stored vectors. The new index replaces the old one atomically; concurrent updates wait
    for each other. `model` picks the embedding model for a new index (see `rag.embeddings`).
    """
    index = Path(index)
    started = time.perf_counter()
    scan = load_corpus(corpus)
    with store.writing(index, on_wait=lambda: log.warning("another update of %s is running: waiting for it", index)):
        previous = _previous(index, rebuild)
        embedder = _model_for(previous, model)
        # an index keeps the settings it was built with; a new one takes those fitted for its model
        settings = previous.fitted if previous is not None else fitted.for_model(embedder.name)
        old_articles = previous.manifest["articles"] if previous else {}
        report = BuildReport(embedder.name, skipped=scan.skipped, notes=scan.notes)

        old_rows: dict[str, list[int]] = {}
        if previous is not None:
            for row, chunk in enumerate(previous.chunks):
                old_rows.setdefault(chunk.source, []).append(row)
        chunks: list[Chunk] = []
        vectors: list[np.ndarray] = []
        fresh: list[Chunk] = []
        for article in scan.articles:
            old = old_articles.get(article.source)
            if old is None:
                report.added.append(article.source)
            elif old.get("hash") == article.digest:
                report.unchanged.append(article.source)
                rows = old_rows.get(article.source, [])
                chunks.extend(previous.chunks[r] for r in rows)
                vectors.extend(previous.vectors.reconstruct(r) for r in rows)
                continue
            else:
                report.changed.append(article.source)
            fresh.extend(chunk_text(article.source, article.text, settings.chunk_size, settings.chunk_overlap))
        current = {a.source for a in scan.articles}
        report.removed = sorted(s for s in old_articles if s not in current)

        if fresh:
            show = progress and len(fresh) > 64
            vectors.extend(embedder.encode_passages([c.text for c in fresh], progress=show))
            chunks.extend(fresh)
        if report.added or report.changed or report.removed or previous is None:
            order = {a.source: i for i, a in enumerate(scan.articles)}
            ranked = sorted(range(len(chunks)), key=lambda i: (order[chunks[i].source], chunks[i].start))
            manifest = {
                "model": embedder.name,
                "dimension": embedder.dimension,
                "fitted": settings.to_json(),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "corpus": str(Path(corpus).resolve()),
                "articles": {
                    a.source: {
                        "hash": a.digest, "title": a.title, "date": a.date, "publisher": a.publisher,
                        "url": a.url, "chunks": sum(c.source == a.source for c in chunks),
                    }
                    for a in scan.articles
                },
            }
            matrix = np.array([vectors[i] for i in ranked], dtype=np.float32).reshape(len(chunks), embedder.dimension)
            store.save(index, manifest, [chunks[i] for i in ranked], matrix)
        report.chunks = len(chunks)
    report.seconds = time.perf_counter() - started
    return report
