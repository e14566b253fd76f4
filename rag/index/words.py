"""Passages and their words: the `LexicalIndex` interface retrieval uses, and its tantivy implementation.

Tantivy (the Rust search engine) keeps the passages' text and offsets, their article's metadata, and an
inverted index of their search terms with BM25 statistics, in immutable segments it merges itself. The
terms are cut by `rag.text.terms` (lower case, ё→е, stop words, Snowball stems cut to `prefix` letters) and
indexed with tantivy's whitespace tokenizer, so BM25 ranks, key quotes and the tuner all see the same words.

Scores are BM25 divided by the most a passage could score for the question ((k1 + 1) times the sum of its
terms' IDF), a share from 0 to 1 that fusion and the no-answer threshold rely on; a term the index has never
seen counts with the highest IDF, so a question about something absent scores low.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import tantivy

from rag import dates
from rag.errors import IndexDamaged
from rag.index import checksums
from rag.index.filters import Filter
from rag.text import terms

K1 = 1.2
"""Tantivy's BM25 term-frequency saturation (fixed in the engine); b is 0.75."""
WRITER_HEAP = 64_000_000
"""Bytes tantivy buffers before writing a segment while indexing."""


@dataclass(frozen=True)
class StoredPassage:
    """A passage as the index keeps it: `text == article_text[start:end]` of the article at `source`."""

    id: int
    source: str
    start: int
    end: int
    text: str


@runtime_checkable
class LexicalIndex(Protocol):
    """Search terms of the live passages, scored with BM25 on a 0-1 scale; also returns the passages."""

    def terms(self, text: str) -> list[str]:
        """The search terms of a text, as this index cuts them."""
        ...

    def search(self, terms: list[str], n: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the `n` best-matching passages, best first (ties by id); only matches, and only
        passages of articles `where` admits."""
        ...

    def scores(self, terms: list[str], ids: np.ndarray) -> np.ndarray:
        """Scores of the given passages (0 where none of the terms occurs)."""
        ...

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term; an unseen term gets the largest possible value."""
        ...

    def frequency(self, term: str) -> int:
        """How many passages hold a term (what its idf is computed from: in tantivy, deleted passages count until
        a merge drops them, as they do in the scores)."""
        ...

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]:
        """The stored passages with these ids."""
        ...


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("article", stored=True, tokenizer_name="raw")
    builder.add_unsigned_field("start", stored=True)
    builder.add_unsigned_field("end", stored=True)
    builder.add_bytes_field("text", stored=True)
    builder.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("title", tokenizer_name="raw", stored=True)
    builder.add_date_field("date", indexed=True, fast=True)
    builder.add_text_field("publisher", tokenizer_name="raw", fast=True)
    return builder.build()


SCHEMA = _schema()


class TantivyWords:
    """A `LexicalIndex` over the tantivy index in `folder`, as committed (thread-safe for searching)."""

    def __init__(self, folder: Path, prefix: int, files: Mapping[str, str]) -> None:
        """Open the index in `folder` after checking its `files` against their checksums (`WordsWriter.commit`)."""
        self.prefix = prefix
        for name, checksum in files.items():
            checksums.verify(folder / name, checksum)
        try:
            self.index = tantivy.Index.open(str(folder))
            self.index.config_reader("Manual")
            self.searcher = self.index.searcher()
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexDamaged(f"the word index {folder} cannot be opened ({exc}); run: rag index --rebuild") from exc
        self.size = self.searcher.num_docs
        self._unseen = math.log1p((self.size + 0.5) / 0.5)

    def terms(self, text: str) -> list[str]:
        return terms(text, self.prefix)

    def frequency(self, term: str) -> int:
        return self.searcher.doc_freq("terms", term)

    def idf(self, term: str) -> float:
        df = self.frequency(term)
        return math.log1p((self.size - df + 0.5) / (df + 0.5)) if df else self._unseen

    def weight(self, query: list[str]) -> float:
        """The most a passage can score for these terms: what the scores are divided by."""
        return (K1 + 1) * sum(self.idf(t) for t in dict.fromkeys(query))

    def _query(self, query: list[str]) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(SCHEMA, "terms", t)) for t in dict.fromkeys(query)])

    def _hits(self, query: tantivy.Query, n: int, weight: float) -> tuple[np.ndarray, np.ndarray]:
        hits = self.searcher.search(query, n, count=False).hits
        ids = np.array(self.searcher.fast_field_values("id", [a for _, a in hits]), dtype=np.int64)
        scores = np.array([s for s, _ in hits], dtype=np.float32) / np.float32(weight)
        order = np.lexsort((ids, -scores))
        return ids[order], scores[order]

    def search(self, query: list[str], n: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not query or n <= 0 or not self.size:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        matching = self._query(query)
        if where:
            matching = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, matching), *((tantivy.Occur.Must, q) for q in _restrictions(where))])
        return self._hits(matching, n, self.weight(query))

    def scores(self, query: list[str], ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros(len(ids), dtype=np.float32)
        if not query or not len(ids):
            return out
        only = tantivy.Query.const_score_query(_ids(ids), 0.0)
        both = tantivy.Query.boolean_query([(tantivy.Occur.Must, only), (tantivy.Occur.Should, self._query(query))])
        found, scores = self._hits(both, len(ids), self.weight(query))
        position = {int(i): p for p, i in enumerate(ids)}
        for i, score in zip(found, scores):
            out[position[int(i)]] = score
        return out

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]:
        if not len(ids):
            return {}
        query = _ids(ids)
        found = {}
        for _, address in self.searcher.search(query, len(ids), count=False).hits:
            doc = self.searcher.doc(address)
            passage = StoredPassage(doc["id"][0], doc["article"][0], doc["start"][0], doc["end"][0],
                                    doc["text"][0].decode("utf-8"))
            found[passage.id] = passage
        return found


class WordsWriter:
    """Adds and deletes passages of the tantivy index in `folder`; nothing is visible before `commit`."""

    def __init__(self, folder: Path, prefix: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.prefix = folder, prefix
        self.index = tantivy.Index(SCHEMA, path=str(folder), reuse=True)
        self.writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)

    def delete(self, sources: Sequence[str]) -> None:
        """Delete every passage of these articles."""
        for source in sources:
            self.writer.delete_documents_by_term("article", source)

    def add(self, passages: Sequence[StoredPassage], title: str, date: str | None, publisher: str | None) -> None:
        """Add one article's passages."""
        day = dates.day(date)
        for p in passages:
            doc = tantivy.Document()
            doc.add_unsigned("id", p.id)
            doc.add_text("article", p.source)
            doc.add_unsigned("start", p.start)
            doc.add_unsigned("end", p.end)
            doc.add_bytes("text", p.text.encode("utf-8"))
            doc.add_text("terms", " ".join(terms(p.text, self.prefix)))
            doc.add_text("title", title)
            if day is not None:
                doc.add_date("date", dates.midnight_utc(day))
            if publisher:
                doc.add_text("publisher", publisher)
            self.writer.add_document(doc)

    def commit(self, known: Mapping[str, str] = {}, known_folder: Path | None = None) -> dict[str, str]:
        """Make the changes durable in this folder, wait for the merges they started, and return the checksums
        of the folder's files (those hard-linked from `known_folder` are taken from `known`)."""
        self.writer.commit()
        self.writer.wait_merging_threads()
        return checksums.of_folder(self.folder, known, known_folder)



def _ids(ids: Sequence[int]) -> tantivy.Query:
    """The passages with these ids: one term query each, joined. (tantivy's term-set query walks the whole id
    dictionary: 1.6-2.0 ms for 100 ids at a million passages, against 0.4 ms.)"""
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(SCHEMA, "id", int(i)))
                                        for i in ids])


def _restrictions(where: Filter) -> list[tantivy.Query]:
    """The filter as queries that match without scoring: a date range, a publisher term."""
    found = []
    if where.since is not None or where.until is not None:
        bound = [None if d is None else dates.midnight_utc(d) for d in (where.since, where.until)]
        found.append(tantivy.Query.range_query(SCHEMA, "date", tantivy.FieldType.Date, *bound))
    if where.publisher is not None:
        found.append(tantivy.Query.term_query(SCHEMA, "publisher", where.publisher))
    return [tantivy.Query.const_score_query(q, 0.0) for q in found]


def copy_words(source: Path, target: Path) -> None:
    """A copy of the committed tantivy index in `source` at `target` that can change without touching it:
    the immutable segment files are hard links, only the small metadata files are copied."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.name.startswith(".tantivy-") or not path.is_file():
            continue  # lock files belong to one folder
        if path.suffix == ".json":
            shutil.copy2(path, target / path.name)
        else:
            try:
                (target / path.name).hardlink_to(path)
            except OSError:  # a file system without hard links
                shutil.copy2(path, target / path.name)
