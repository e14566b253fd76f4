"""The index's passages in Milvus: the `VectorIndex` and `LexicalIndex` interfaces over one collection.

One collection per index holds each passage: id, article, title, date (days since 1970), publisher, offsets
and text, its dense vector (inner product), its BM25 sparse vector (`rag.index.bm25`: Milvus Lite runs no
BM25 itself) and its sentences' vectors (`rag.index.sentences`), as base64 text (Milvus has no field for a
variable number of vectors). The index folder keeps the rest as locally: versions, manifest (which names the backend, the
URI without any password, and the collection) and the term statistics, so the commit point stays CURRENT.

An update inserts its passages before its commit, with ids from the manifest's `next_id` on, which no reader
of an older version looks at (searches ask for `id < next_id`); it deletes the passages of removed and
replaced articles after its commit ("retired" ranges, recorded in the manifest so that the next update deletes
them again should a crash come between). A search asks for as many more as may be retired and keeps the live
ones. A date or publisher filter reaches Milvus as an expression: over the `day` and `publisher` fields for
the words, over id ranges (an article's passages are consecutive ids) for the vectors. A local `.db` path runs
Milvus Lite in this process (one process at a time may open it); an `http://`
URI reaches a Milvus server, with the token from the `RAG_MILVUS_TOKEN` environment variable.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

from rag import dates
from rag.errors import IndexBusy, IndexDamaged, RagError
from rag.index import sentences as sentence_store
from rag.index.bm25 import TermStats
from rag.index.filters import Filter
from rag.index.manifest import Manifest
from rag.index.sentences import Sentences
from rag.index.table import ArticleEntry
from rag.index.words import StoredPassage
from rag.index.writers import Version
from rag.text import terms

MAX_TEXT = 65_535
"""Bytes of a passage's text a VARCHAR field holds (Milvus' limit); passages are far shorter."""
MAX_RESULTS = 16_384
"""The most rows Milvus returns for one search or query."""
INSERT_ROWS = 2_000
"""Rows sent in one insert."""
TERMS_FILE = "terms.npz"
NOT_STORED = "-"
"""The `sentences` field of a passage whose sentence vectors do not fit into it (over 63 sentences: encoded
when a question needs them). Base64 never holds "-"."""

_clients: dict[str, MilvusClient] = {}
_clients_lock = threading.Lock()


def is_local(uri: str) -> bool:
    """Whether the URI is a Milvus Lite database on disk rather than a server."""
    return not uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def public_uri(uri: str) -> str:
    """The URI as the index records it: a local path made absolute, a server's without user and password."""
    if is_local(uri):
        return str(Path(uri).resolve())
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


def connect(uri: str) -> MilvusClient:
    """One client per URI in this process (Milvus Lite serves a `.db` to one process: this one)."""
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            try:
                if is_local(uri):
                    Path(uri).parent.mkdir(parents=True, exist_ok=True)
                    client = MilvusClient(uri)
                else:
                    client = MilvusClient(uri=uri, token=os.environ.get("RAG_MILVUS_TOKEN", ""))
            except MilvusException as exc:
                if is_local(uri) and _held(Path(uri)):
                    raise IndexBusy(f"the Milvus Lite database {uri} is open in another process (a running rag "
                                    "serve?): Milvus Lite serves one process at a time; stop it or use a Milvus "
                                    "server", russian="база Milvus Lite открыта другим процессом (например, rag "
                                    "serve): остановите его или используйте сервер Milvus") from exc
                raise RagError(f"cannot reach Milvus at {uri} ({exc})",
                               russian="база Milvus недоступна: подробности в журнале сервера") from exc
            _clients[uri] = client
        return client


def _held(database: Path) -> bool:
    """Whether another process holds the Milvus Lite database (its `LOCK` file's flock)."""
    try:
        with open(database / "LOCK", "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def collection_name(index: Path, generation: int) -> str:
    """A collection of its own for each index (and each rebuild of it) on a shared server."""
    token = hashlib.sha1(str(index.resolve()).encode()).hexdigest()[:10]
    return f"rag_{token}_{generation:08d}"


def create_collection(client: MilvusClient, name: str, dimension: int) -> None:
    """A new, empty collection for an index's passages."""
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("article", DataType.VARCHAR, max_length=4096)
    schema.add_field("title", DataType.VARCHAR, max_length=4096)
    schema.add_field("day", DataType.INT64)  # days since 1970-01-01, -1 when undated
    schema.add_field("publisher", DataType.VARCHAR, max_length=1024)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("length", DataType.INT64)  # search terms, for BM25
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("sentences", DataType.VARCHAR, max_length=MAX_TEXT)
    params = client.prepare_index_params()
    params.add_index("dense", index_type="FLAT", metric_type="IP")  # exact, as the local index below 100k
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=params)


def packed(vectors: np.ndarray) -> str:
    """A passage's sentence vectors as the `sentences` field holds them (`NOT_STORED` when too many)."""
    text = base64.b64encode(sentence_store.stored(vectors).tobytes()).decode("ascii")
    return text if len(text) <= MAX_TEXT else NOT_STORED


def unpacked(text: str, dimension: int, collection: str) -> np.ndarray | None:
    """The sentence vectors a `sentences` field holds, None when not stored."""
    if text == NOT_STORED:
        return None
    try:
        return np.frombuffer(base64.b64decode(text, validate=True), dtype=sentence_store.STORED).reshape(-1, dimension)
    except (binascii.Error, ValueError) as exc:
        raise IndexDamaged(f"the sentence vectors of a passage in the Milvus collection {collection} are "
                           f"damaged ({exc}); run: rag index --rebuild") from exc


def _ranges(ranges: Sequence[tuple[int, int]]) -> str:
    return " or ".join(f"(id >= {a} and id < {b})" for a, b in ranges)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The [first, end) runs of True in a mask over passage ids."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _expression(where: Filter | None) -> str | None:
    """A filter as a Milvus expression over the collection's `day` and `publisher` fields (None: no filter)."""
    if not where:
        return None
    parts = ["day >= 0"] if where.since or where.until else []  # an undated article is left out by any bound
    if where.since:
        parts.append(f"day >= {dates.days_since_epoch(where.since)}")
    if where.until:
        parts.append(f"day <= {dates.days_since_epoch(where.until)}")
    if where.publisher is not None:
        parts.append(f"publisher == {json.dumps(where.publisher[:256], ensure_ascii=False)}")
    return " and ".join(parts)


class MilvusPassages:
    """The live passages of one index version in a collection: the searches both interfaces share."""

    def __init__(self, client: MilvusClient, collection: str, next_id: int, live: np.ndarray, retired: int) -> None:
        self.client, self.collection = client, collection
        self.live, self.retired = live, retired
        self.visible = f"id < {next_id}"
        try:
            client.load_collection(collection)
        except MilvusException as exc:
            raise IndexDamaged(f"the Milvus collection {collection} cannot be loaded ({exc}); "
                               "run: rag index --rebuild") from exc

    def search(self, field: str, query, n: int, output: list[str], only: str | None = None
               ) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Ids, scores and `output` fields of the `n` best live rows by `field` (among those the expression
        `only` admits), plus those that may be retired."""
        admitted = self.visible if only is None else f"{self.visible} and ({only})"
        hits = self.client.search(self.collection, data=[query], anns_field=field, filter=admitted,
                                  limit=min(n + self.retired, MAX_RESULTS), output_fields=output,
                                  search_params={"metric_type": "IP"})[0]
        ids = np.array([h["id"] for h in hits], dtype=np.int64)
        keep = self.live[ids] if len(ids) else np.zeros(0, dtype=bool)
        scores = np.array([h["distance"] for h in hits], dtype=np.float32)
        return ids[keep], scores[keep], [h["entity"] for h, k in zip(hits, keep) if k]

    def get(self, ids: Sequence[int], output: list[str]) -> dict[int, dict]:
        """The `output` fields of the live rows with these ids."""
        wanted = [int(i) for i in ids if 0 <= i < len(self.live) and self.live[i]]
        found: dict[int, dict] = {}
        for at in range(0, len(wanted), MAX_RESULTS):
            part = wanted[at:at + MAX_RESULTS]
            for row in self.client.query(self.collection, filter=f"id in {part}", output_fields=["id", *output]):
                found[int(row["id"])] = row
        return found


class MilvusVectors:
    """A `VectorIndex` over the dense vectors of a collection; `sentences`: whether its rows hold their
    sentences' vectors (a collection made before they were stored does not)."""

    def __init__(self, rows: MilvusPassages, dimension: int, sentences: bool) -> None:
        self.rows, self.dimension, self.has_sentences = rows, dimension, sentences

    def search(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if n <= 0 or (allowed is not None and not allowed.any()):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        only = None if allowed is None else _ranges(_runs(allowed))  # an article's passages are a run of ids
        ids, scores, _ = self.rows.search("dense", np.asarray(vector, dtype=np.float32).tolist(), n, [], only)
        order = np.lexsort((ids, -scores))[:n]
        return ids[order], scores[order]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        rows = self.rows.get(ids, ["dense"])
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for at, i in enumerate(np.asarray(ids).tolist()):
            if i in rows:
                out[at] = rows[i]["dense"]
        return out

    def sentences(self, ids: list[int]) -> list[np.ndarray | None]:
        if not self.has_sentences:
            return [None] * len(ids)
        rows = self.rows.get(ids, ["sentences"])
        return [unpacked(rows[i]["sentences"], self.dimension, self.rows.collection) if i in rows else None
                for i in ids]


class MilvusWords:
    """A `LexicalIndex` over the sparse BM25 vectors of a collection, scored exactly by `TermStats`."""

    def __init__(self, rows: MilvusPassages, stats: TermStats, prefix: int) -> None:
        self.rows, self.stats, self.prefix = rows, stats, prefix
        self.size = stats.passages

    def terms(self, text: str) -> list[str]:
        return terms(text, self.prefix)

    def idf(self, term: str) -> float:
        return self.stats.idf(term)

    def _scored(self, query: list[str], ids: np.ndarray, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        scores = self.stats.scores(query, [r["sparse"] for r in rows], np.array([r["length"] for r in rows]))
        order = np.lexsort((ids, -scores))
        order = order[scores[order] > 0]
        return ids[order], scores[order]

    def search(self, query: list[str], n: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        question = self.stats.question(query)
        if not question or n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # ranked by BM25 with the reference length, re-scored with the current one: twice as many looked at
        ids, _, rows = self.rows.search("sparse", question, 2 * n, ["sparse", "length"], _expression(where))
        ids, scores = self._scored(query, ids, rows)
        return ids[:n], scores[:n]

    def scores(self, query: list[str], ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros(len(ids), dtype=np.float32)
        if not query or not len(ids):
            return out
        rows = self.rows.get(ids.tolist(), ["sparse", "length"])
        found = np.array([i for i in ids.tolist() if i in rows], dtype=np.int64)
        scored, scores = self._scored(query, found, [rows[int(i)] for i in found])
        position = {int(i): p for p, i in enumerate(ids)}
        for i, score in zip(scored.tolist(), scores.tolist()):
            out[position[i]] = score
        return out

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]:
        rows = self.rows.get(list(ids), ["article", "start", "end", "text"])
        return {i: StoredPassage(i, r["article"], int(r["start"]), int(r["end"]), r["text"]) for i, r in rows.items()}


class MilvusWriter:
    """Inserts an update's passages into a collection and keeps the term statistics in step."""

    def __init__(self, client: MilvusClient, collection: str, stats: TermStats, prefix: int, sentences: bool) -> None:
        self.client, self.collection, self.stats, self.prefix = client, collection, stats, prefix
        self.sentences = sentences
        self._rows: list[dict] = []

    def add(self, passages: Sequence[StoredPassage], vectors: np.ndarray, sentences: tuple[np.ndarray, np.ndarray],
            title: str, date: str | None, publisher: str | None) -> None:
        """Add one article's passages with their vectors and their sentences' (sent in batches of
        `INSERT_ROWS`; the sentences' only into a collection that has their field)."""
        day = dates.day(date)
        days = -1 if day is None else dates.days_since_epoch(day)
        counts, sentence_vectors = sentences
        first = sentence_store.starts(counts)
        for n, (p, vector) in enumerate(zip(passages, np.asarray(vectors, dtype=np.float32))):
            words = terms(p.text, self.prefix)
            row = {"id": p.id, "article": p.source, "title": title[:1000], "day": days,
                   "publisher": (publisher or "")[:256], "start": p.start, "end": p.end,
                   "length": len(words), "text": p.text, "dense": vector.tolist(), "sparse": self.stats.add(words)}
            if self.sentences:
                row["sentences"] = packed(sentence_vectors[first[n]:first[n + 1]])
            self._rows.append(row)
        if len(self._rows) >= INSERT_ROWS:
            self.flush()

    def forget(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Take the passages with ids in these [first, end) ranges out of the statistics (their rows stay until
        `delete`: readers of the live version still see them)."""
        for at in range(0, len(ranges), 256):
            rows = self.client.query(self.collection, filter=_ranges(ranges[at:at + 256]),
                                     output_fields=["sparse", "length"])
            self.stats.remove([r["sparse"] for r in rows], [r["length"] for r in rows])

    def flush(self) -> None:
        """Send the rows added so far."""
        if self._rows:
            self.client.insert(self.collection, self._rows)
            self._rows = []

    def delete(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Delete the rows with ids in these [first, end) ranges."""
        for at in range(0, len(ranges), 256):
            self.client.delete(self.collection, filter=_ranges(ranges[at:at + 256]))

    def delete_from(self, first: int) -> None:
        """Delete the rows from id `first` on: what an update that never committed inserted."""
        self.client.delete(self.collection, filter=f"id >= {first}")


def open_version(folder: Path, manifest: Manifest, live: np.ndarray) -> tuple[MilvusWords, MilvusVectors]:
    """The words and vectors of the index version in `folder` (its manifest names the collection)."""
    backend = manifest.backend
    stats = TermStats.load(folder / TERMS_FILE, manifest.words.get(TERMS_FILE, ""))
    retired = sum(end - first for first, end in backend.retired)
    rows = MilvusPassages(connect(backend.uri), backend.collection, manifest.next_id, live, retired)
    if stats.passages != manifest.passages:
        raise IndexDamaged(f"the term statistics in {folder} count {stats.passages} passages, the manifest "
                           f"{manifest.passages}; run: rag index --rebuild")
    return (MilvusWords(rows, stats, manifest.fitted.prefix),
            MilvusVectors(rows, manifest.dimension, backend.sentences))


class MilvusIndexWriter:
    """An `IndexWriter` (`rag.index.writers`) into a collection: rows inserted before the update's commit
    point, the retired ones deleted after it; a new collection for a new index or a rebuild."""

    def __init__(self, version: Version) -> None:
        previous, base = version.previous, version.base
        self.folder = version.folder
        self.client = connect(base.backend.uri)
        self.fresh = previous is None or previous.backend.collection is None
        if self.fresh:  # a new collection has the sentence vectors field (older ones may lack it)
            self.backend = replace(base.backend, collection=collection_name(version.index, version.generation),
                                   sentences=True)
            create_collection(self.client, self.backend.collection, base.dimension)
            stats = TermStats.empty()
        else:
            self.backend = replace(base.backend, collection=previous.backend.collection)
            stats = TermStats.load(version.previous_folder / TERMS_FILE, previous.words.get(TERMS_FILE, ""))
            self.client.load_collection(self.backend.collection)
        self.rows = MilvusWriter(self.client, self.backend.collection, stats, base.fitted.prefix,
                                 self.backend.sentences)
        if not self.fresh:  # what a killed update left: rows never committed, rows retired but not yet deleted
            self.rows.delete_from(previous.next_id)
            self.rows.delete(previous.backend.retired)
        self.token = collection_name(version.index, 0)[:-8]
        self.retired: list[tuple[int, int]] = []

    def add(self, article: ArticleEntry, passages: Sequence[StoredPassage], vectors: np.ndarray,
            sentences: Sentences) -> None:
        self.rows.add(passages, vectors, sentences, article.title, article.date, article.publisher)

    def delete(self, articles: Mapping[str, ArticleEntry]) -> None:
        """Retire the passages of these articles: out of the term statistics now, out of the collection once
        the new version is live (readers of the old one still see them)."""
        ranges = [(a.first, a.first + a.passages) for a in articles.values()]
        self.rows.forget(ranges)
        self.retired += ranges

    def commit(self, manifest: Manifest) -> Manifest:
        """Send the last rows and save the term statistics in the new version's folder."""
        self.rows.flush()
        self.client.flush(self.backend.collection)
        words = {TERMS_FILE: self.rows.stats.save(self.folder / TERMS_FILE)}
        return manifest.evolve(words=words, backend=replace(self.backend, retired=tuple(self.retired)))

    def published(self) -> None:
        """Delete the retired rows; after a rebuild, drop the index's older collections."""
        self.rows.delete(self.retired)
        if self.fresh:
            for name in self.client.list_collections():
                if name.startswith(self.token) and name != self.backend.collection:
                    self.client.drop_collection(name)
