"""Where an update writes passages: the `IndexWriter` interface, and its implementation in the index folder.

An update (`rag.index.store.Update`) keeps the article table and the commit point; the passages themselves,
their words, vectors and sentence vectors, go to one `IndexWriter`, picked by the manifest's backend
(`open_writer`): `LocalIndexWriter` here (tantivy in the new version's folder, FAISS segments beside the live
ones) or `rag.index.milvus.MilvusIndexWriter` (a Milvus collection). Nothing a writer does is seen by a reader
before the update replaces CURRENT; `published` then drops what only the old version needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rag.index import files, merging
from rag.index import vectors as vector_segments
from rag.index.manifest import Manifest, SegmentEntry, live_ids
from rag.index.sentences import Sentences
from rag.index.table import ArticleEntry
from rag.index.words import StoredPassage, TantivyWords, WordsWriter, copy_words

SEGMENTS = "segments"
WORDS = "words"
SEGMENT_ROWS = 200_000
"""An update writes its new vectors in segments of at most this many: a big build never holds more in memory."""


@dataclass(frozen=True)
class Version:
    """The index version an update makes, as its writer sees it: `folder` is hidden until the commit point;
    `previous` (None: a new index or a rebuild) is the live version's manifest, in `previous_folder`; `base`
    what the new one starts from (model dimension, fitted settings, backend)."""

    index: Path
    folder: Path
    generation: int
    base: Manifest
    previous: Manifest | None = None
    previous_folder: Path | None = None
    optimize: bool = False


@runtime_checkable
class IndexWriter(Protocol):
    """Writes the passages of the next index version: words, vectors and sentence vectors, under the ids the
    update gives them; none of it is visible before the update's commit point."""

    def add(self, article: ArticleEntry, passages: Sequence[StoredPassage], vectors: np.ndarray,
            sentences: Sentences) -> None:
        """Add one article's passages (their ids `article.ids`), their vectors (one row each) and their
        sentences' (each passage's count and all their vectors: `rag.index.sentences.encode`)."""
        ...

    def delete(self, articles: Mapping[str, ArticleEntry]) -> None:
        """Delete every passage of these articles (source to the entry the version being made lists)."""
        ...

    def commit(self, manifest: Manifest) -> Manifest:
        """Make what was written durable and return `manifest` naming it (its segments, words and backend)."""
        ...

    def published(self) -> None:
        """Called once the new version is live: remove what only the previous one needed."""
        ...


def open_writer(version: Version) -> IndexWriter:
    """The writer for the version's backend (pymilvus is imported only for an index in Milvus)."""
    if version.base.remote:
        from rag.index.milvus import MilvusIndexWriter

        return MilvusIndexWriter(version)
    return LocalIndexWriter(version)


class LocalIndexWriter:
    """An `IndexWriter` into the index folder: words into the new version's tantivy index (hard links to the
    previous version's files, changed there), vectors into new FAISS segments merged by `rag.index.merging`'s
    policy. With `optimize` it merges all segments into one and rewrites the word index without its deleted
    passages, so that its statistics, and hence its scores, are those of a fresh build."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.folder = version.index / SEGMENTS
        self.previous_words = None if version.previous_folder is None else version.previous_folder / WORDS
        if self.previous_words is not None and not version.optimize:
            copy_words(self.previous_words, version.folder / WORDS)
        self.words = WordsWriter(version.folder / WORDS, version.base.fitted.prefix)
        self._ids: list[np.ndarray] = []
        self._vectors: list[np.ndarray] = []
        self._sentences: list[Sentences] = []
        self._pending = 0
        self._written: tuple[SegmentEntry, ...] = ()

    def add(self, article: ArticleEntry, passages: Sequence[StoredPassage], vectors: np.ndarray,
            sentences: Sentences) -> None:
        self.words.add(passages, article.title, article.date, article.publisher)
        self._ids.append(np.array([p.id for p in passages], dtype=np.int64))
        self._vectors.append(np.asarray(vectors, dtype=np.float32).reshape(len(passages), self.version.base.dimension))
        self._sentences.append(sentences)
        self._pending += len(passages)
        if self._pending >= SEGMENT_ROWS:
            self._write_segment()

    def delete(self, articles: Mapping[str, ArticleEntry]) -> None:
        self.words.delete(list(articles))  # the vectors: their ids stop being live with the manifest

    def _write_segment(self) -> None:
        """Write the vectors added since the last segment as a new segment."""
        if self._pending:
            name = f"s-{self.version.generation:08d}" + (f"-{len(self._written)}" if self._written else "")
            dimension = self.version.base.dimension
            sentences = (np.concatenate([c for c, _ in self._sentences]),
                         np.concatenate([v for _, v in self._sentences]).reshape(-1, dimension))
            self._written += (vector_segments.write_segment(self.folder, name, np.concatenate(self._ids),
                                                            np.concatenate(self._vectors), sentences),)
        self._ids, self._vectors, self._sentences, self._pending = [], [], [], 0

    def _keep_words(self, manifest: Manifest) -> None:
        """Add the passages the previous version keeps to a word index started afresh (`optimize`)."""
        previous = self.version.previous
        old = TantivyWords(self.previous_words, previous.fitted.prefix, previous.words)
        firsts = dict(previous.articles.columns("source", "first"))
        for source, entry in manifest.articles.items():
            if firsts.get(source) == entry.first:
                stored = old.passages(entry.ids)
                self.words.add([stored[i] for i in entry.ids], entry.title, entry.date, entry.publisher)

    def commit(self, manifest: Manifest) -> Manifest:
        """Write the new vectors as a segment, merge segments as the policy (or `optimize`) says, and commit the
        word index."""
        generation, optimize = self.version.generation, self.version.optimize
        if optimize and self.version.previous is not None:
            self._keep_words(manifest)
        self._write_segment()
        segments = manifest.segments + self._written
        live = live_ids(manifest)
        counts = {s.name: int(live[np.load(self.folder / f"{s.name}.ids.npy", mmap_mode="r")].sum())
                  for s in segments}
        for round_ in range(len(segments)):
            chosen = merging.to_merge(segments, counts, optimize and round_ == 0)
            if not chosen:
                break
            merged = vector_segments.merge(self.folder, f"s-{generation:08d}-m{round_}", chosen, live,
                                           manifest.dimension)
            segments = tuple(s for s in segments if s not in chosen) + ((merged,) if merged else ())
            if merged:
                counts[merged.name] = merged.rows  # a merge keeps only live vectors
        files.fsync_dir(self.folder)
        words = self.words.commit(self.version.base.words, self.previous_words)  # files written afresh are hashed
        return manifest.evolve(segments=segments, words=words)

    def published(self) -> None:
        """Nothing to do: the segments no kept version names are removed with the old versions."""
