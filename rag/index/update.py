"""Bringing the index up to date with a corpus folder: only new and changed articles are embedded.

The corpus is read under the writer lock, so two updates never work from different readings of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag import fitted
from rag.chunking import Chunk, chunk_text
from rag.corpus import Article, Corpus, FileStat, Skipped, load_corpus
from rag.deprecated import renamed
from rag.errors import IndexDamaged, IndexMissing, ModelMismatch, RagError
from rag.index import sentences, store, stories
from rag.index.manifest import LOCAL, MILVUS, Backend, Manifest
from rag.index.table import ArticleEntry
from rag.models import Embedder, shared_model

log = logging.getLogger("rag")

BATCH = 4096
"""Passages chunked and embedded at a time: memory stays bounded however large the change."""
CHECKPOINT = 20_000
"""Passages after which a build on Ray commits what it has (resumable; half an hour of one e5 process)."""


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
    passages: int = 0
    seconds: float = 0.0
    named: bool = False
    """Whether only named files were looked at (`only`), not the whole corpus folder."""
    chunks = renamed("chunks", "passages")

    @property
    def in_step(self) -> bool:
        """Whether the index holds the corpus as it is (nothing new, changed or removed)."""
        return not (self.added or self.changed or self.removed)

    def summary(self) -> str:
        """One line: counts of each kind of article, passages, model and time."""
        return (
            f"indexed {len(self.added)} new, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged{' of those named' if self.named else ''}, "
            f"{len(self.skipped)} skipped article(s): "
            f"{self.passages} passages, model {self.model}, {self.seconds:.1f} s"
        )


def _previous(index: Path, rebuild: bool) -> Manifest | None:
    if rebuild:
        return None
    try:
        return store.read_manifest(index)[1]
    except IndexMissing:
        return None
    except IndexDamaged as exc:
        raise IndexDamaged(f"{exc} (an update needs a readable index; --rebuild starts from scratch)") from exc


def _model_for(previous: Manifest | None, model: str | None) -> Embedder:
    """The model of the previous index, unless another one is asked for (then only with --rebuild)."""
    if previous is not None:
        built_with = previous.model
        if model is not None and model != built_with and str(Path(model).resolve()) != built_with:
            raise ModelMismatch(
                f"the index was built with {built_with}; to switch to {model}, run: "
                f"rag index --rebuild --model {model}"
            )
        model = built_with
    embedder = shared_model(model)
    if previous is not None and embedder.dimension != previous.dimension:
        raise ModelMismatch(
            f"{embedder.name} now gives {embedder.dimension}-dimensional vectors but the index holds "
            f"{previous.dimension}-dimensional ones; run: rag index --rebuild"
        )
    return embedder


def load_encoder(index: str | Path) -> None:
    """Load the passage encoder that the next update of `index` will use (its model's; the default for a new
    index) now, e.g. in a server, so that its first added article does not wait seconds for it."""
    _model_for(_previous(Path(index), rebuild=False), None).load()


def _backend(index: Path, previous: Manifest | None, backend: str | None, uri: str | None) -> Backend:
    """Where a new index (or a rebuild) keeps its passages (`Manifest.backend`): where asked (a Milvus index
    without a URI gets `milvus.db` inside the index folder, run by Milvus Lite), else where the index kept
    them before. An update of an existing index cannot move them: that takes --rebuild."""
    if backend is None and uri is None:
        try:
            before = previous or store.read_manifest(index)[1]  # a rebuild keeps the index's place
        except RagError:
            return Backend()
        return before.backend.place()
    if backend not in (None, LOCAL, MILVUS):
        raise RagError(f"unknown backend {backend!r}: local or milvus")
    wanted = Backend()
    if backend == MILVUS or backend is None:
        from rag.index.milvus import public_uri

        wanted = Backend(MILVUS, public_uri(uri or str(index / "milvus.db")))
    if previous is not None and wanted.uri != previous.backend.uri:
        where = previous.backend.uri or "the index folder"
        raise RagError(f"the index keeps its passages in {where}; to move them, run: rag index --rebuild "
                       f"--backend {backend or 'milvus'}" + (f" --uri {uri}" if uri else ""))
    return wanted


def build_index(
    corpus: str | Path = "corpus",
    index: str | Path = "index",
    model: str | None = None,
    rebuild: bool = False,
    progress: bool = False,
    optimize: bool = False,
    wait: float | None = None,
    backend: str | None = None,
    uri: str | None = None,
    ray: str | None = None,
    ray_actors: int | None = None,
    only: Collection[str] | None = None,
) -> BuildReport:
    """Bring the index in `index` up to date with the articles in `corpus`.

    New and changed articles are chunked and embedded, deleted ones dropped; unchanged ones are not touched.
    The new version replaces the old one atomically; concurrent updates wait for each other. `model` picks the
    embedding model of a new index (see `rag.models`); `optimize` merges all vector segments into one and
    rewrites the word index without deleted passages. `wait`: seconds to wait for another update to finish
    (default: `rag.settings.lock_timeout()`), then `IndexBusy`. `backend` ("local" or "milvus") and `uri` (a
    Milvus Lite `.db` path or a server's URL) choose where a new index keeps its passages (`rag.index.milvus`).
    `ray` ("auto" or a cluster's address) chunks and embeds on Ray with `ray_actors` encoders (default: one per
    CPU), committing every `CHECKPOINT` passages (`rag.index.ray_encoding`). `only`: the article files to
    look at (names relative to `corpus`, see `rag.corpus.source_name`), added, changed or removed as they now
    are, instead of a `stat` of every file of the folder: adding one article to an archive then costs that
    article alone. A new index, or a rebuild, always reads the whole folder.
    """
    index = Path(index)
    started = time.perf_counter()
    def on_wait(holder: str) -> None:
        log.warning("the index %s is being updated by %s: waiting for it", index, holder)

    with store.writing(index, on_wait, wait):
        previous = _previous(index, rebuild)
        place = _backend(index, previous, backend, uri)
        scan, report, fresh, touched = _changes(corpus, previous, only if previous is not None else None)
        embedder = _model_for(previous, model)
        report.model = embedder.name
        if fresh or report.removed or touched or previous is None or optimize:
            # an index keeps the settings it was built with; a new one takes those fitted for its model
            base = (previous or Manifest(embedder.name, embedder.dimension, fitted.for_model(embedder.name), "", "",
                                         backend=place)).evolve(corpus=str(Path(corpus).resolve()))
            update = store.Update(index, previous, base, optimize)
            update.delete(report.changed + report.removed)
            for source in touched:  # same text, new stat: recorded, so that the next scan need not read it
                update.restat(source, scan.seen[source].size, scan.seen[source].mtime_ns)
            update = _add(update, fresh, scan.seen, embedder, progress, ray, ray_actors)
            update.commit()
            report.passages = update.manifest.passages
        else:
            report.passages = previous.passages
    report.seconds = time.perf_counter() - started
    return report


def _changes(corpus: str | Path, previous: Manifest | None, only: Collection[str] | None = None
             ) -> tuple[Corpus, BuildReport, list[Article], list[str]]:
    """The corpus (or the files `only` names) read against the index's manifest (unchanged files by their
    stat alone): what an update would add, change and remove, the articles it would embed, and the files read
    again whose text had not changed (touched)."""
    old = previous.articles.stats(only) if previous is not None else {}
    scan = load_corpus(corpus, old, only)  # the table records each file's stat as indexed
    report = BuildReport(previous.model if previous else "", skipped=scan.skipped, notes=scan.notes,
                         unchanged=list(scan.unchanged), named=only is not None)
    fresh, touched = [], []
    for article in scan.articles:  # the files read: new ones, and those whose stat changed
        stat = old.get(article.source)
        if stat is None:
            report.added.append(article.source)
        elif previous.articles[article.source].hash == article.digest:
            report.unchanged.append(article.source)
            seen = scan.seen[article.source]
            if (seen.size, seen.mtime_ns) != (stat.size, stat.mtime_ns):
                touched.append(article.source)
            continue
        else:
            report.changed.append(article.source)
        fresh.append(article)
    current = {a.source for a in scan.articles} | set(scan.unchanged)
    report.removed = sorted(s for s in old if s not in current)
    return scan, report, fresh, touched


def pending(index: str | Path, corpus: str | Path | None = None, manifest: Manifest | None = None) -> BuildReport:
    """What the corpus holds that the live index does not (new, changed, removed and skipped articles), without
    changing anything: `rag status` and `rag serve` report it. `corpus` defaults to the one the index was
    built from; `manifest`, the live one, when the caller has just read it."""
    manifest = manifest or store.read_manifest(index)[1]
    started = time.perf_counter()
    report = _changes(manifest.corpus if corpus is None else corpus, manifest)[1]
    report.passages, report.seconds = manifest.passages, time.perf_counter() - started
    return report


class _PassageBar:
    """One progress bar over a whole change, in passages: passages/s and the time left. Its total is estimated
    from the characters still to chunk, at the passages per character of those chunked so far (before any, one
    passage per `step` characters, the chunk size less its overlap), so that a big change shows its end from the
    start without chunking everything first."""

    def __init__(self, articles: list[Article], step: int) -> None:
        from tqdm.auto import tqdm

        self.left = sum(len(a.text) for a in articles)
        self.chars = self.passages = 0
        self.bar = tqdm(total=max(1, round(self.left / step)), unit="passage", desc="embedding", dynamic_ncols=True,
                        smoothing=0.1)

    def chunked(self, article: Article, passages: int) -> None:
        """Count an article as chunked into `passages` and re-estimate the total."""
        self.left -= len(article.text)
        self.chars += len(article.text)
        self.passages += passages
        self.bar.total = self.passages + round(self.left * self.passages / max(self.chars, 1))
        self.bar.refresh()

    def update(self, passages: int) -> None:
        """Count `passages` more as embedded."""
        self.bar.update(passages)

    def close(self, failed: bool = False) -> None:
        """End the bar: its last line stays, or, when the update `failed`, is cleared, so that the error is the
        line left on the terminal instead of being appended to the bar's."""
        self.bar.leave = not failed
        self.bar.close()


def _encoded(articles: list[Article], embedder: Embedder, settings, bar: _PassageBar | None
             ) -> Iterator[tuple[Article, list[Chunk], np.ndarray, sentences.Sentences]]:
    """Each article with its chunks, their vectors and their sentences' (`rag.index.sentences.encode`), embedded
    in this process `BATCH` passages at a time."""
    batch: list[tuple] = []
    for n, article in enumerate(articles):
        chunks = chunk_text(article.source, article.text, settings.chunk_size, settings.chunk_overlap)
        batch.append((article, chunks))
        if bar is not None:
            bar.chunked(article, len(chunks))
        if sum(len(chunks) for _, chunks in batch) < BATCH and n + 1 < len(articles):
            continue
        texts = [c.text for _, chunks in batch for c in chunks]
        vectors = embedder.encode_passages(texts, progress=None if bar is None else bar.update)
        each = sentences.per_passage(*sentences.encode(texts, embedder))
        at = 0
        for one, chunks in batch:
            yield one, chunks, vectors[at:at + len(chunks)], sentences.joined(each[at:at + len(chunks)],
                                                                              embedder.dimension)
            at += len(chunks)
        batch = []


def _add(update: store.Update, articles: list[Article], seen: dict[str, FileStat], embedder: Embedder,
         progress: bool, ray: str | None = None, actors: int | None = None) -> store.Update:
    """Chunk, embed and add the articles, in this process or on Ray (`rag.index.ray_encoding`), with a progress
    bar in passages (`_PassageBar`), and the sentences of the passages with them (`rag.index.sentences`). On
    Ray the update commits every `CHECKPOINT`
    passages, so that a build stopped or killed resumes where it was: the articles committed are unchanged
    the next time. Returns the update, still to commit."""
    settings = update.manifest.fitted
    if progress and articles and ray is None:
        embedder.load()  # a model built or loaded now is not counted in the bar's passages/s, nor drawn over it
    bar = _PassageBar(articles, settings.chunk_size - settings.chunk_overlap) if progress and articles else None
    if ray is None:
        encoded = _encoded(articles, embedder, settings, bar)
    else:
        from rag.index import ray_encoding

        encoded = ray_encoding.encode(articles, embedder.name, settings.chunk_size, settings.chunk_overlap, ray,
                                      actors)
    try:
        uncommitted = 0
        for one, chunks, vectors, sentence_vectors in encoded:
            stat = seen[one.source]
            entry = ArticleEntry(one.digest, one.title, 0, 0, one.date, one.publisher, one.url, stat.size,
                                 stat.mtime_ns, stat.text_hash, bands=stories.encode(stories.keys_of(one.text)))
            update.add(one.source, entry, [(c.start, c.end, c.text) for c in chunks], vectors, sentence_vectors)
            uncommitted += len(chunks)
            if bar is not None and ray is not None:  # Ray's workers chunk and embed: counted as their articles come
                bar.chunked(one, len(chunks))
                bar.update(len(chunks))
            if ray is not None and uncommitted >= CHECKPOINT:
                update.commit()
                update = store.Update(update.index, update.manifest, update.manifest)
                uncommitted = 0
    except BaseException:
        if bar is not None:
            bar.close(failed=True)
        raise
    if bar is not None:
        bar.close()
    return update
