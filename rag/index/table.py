"""The article table: every indexed article's metadata, file stat and passage ids, kept the way Lucene keeps
documents, so that an update costs its change and not the archive.

Rows live in immutable Arrow files (`segments/a-*.arrow`, memory-mapped when read); the manifest names them
with their checksums and, per file, the rows deleted since it was written. An update writes only the rows it
adds (a new, changed or re-stat'ed article) as a new file and records the rows it deletes; files merge by the
same policy as the vector segments (`rag.index.merging`). Reading the table for one update or one question
maps the files and builds what it needs column by column, never an object per article.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from itertools import compress, repeat
from pathlib import Path

import numpy as np
import pyarrow as pa

from rag.corpus import Seen
from rag.errors import IndexDamaged
from rag.index import checksums, files, stories


@dataclass(frozen=True)
class ArticleEntry:
    """An indexed article: its content hash, metadata, and its passages' ids `first .. first + passages - 1`."""

    hash: str
    title: str
    first: int
    passages: int
    date: str | None = None
    publisher: str | None = None
    url: str | None = None
    size: int = 0
    mtime_ns: int = 0
    text_hash: str = ""
    """The file as indexed (size, modification time) and its text's hash: an unchanged file is not read again."""
    story: str | None = None
    """The story the article tells: copies of one story from several outlets share it (`rag.index.stories`)."""
    bands: str | None = None
    """Its text's LSH band keys (`rag.index.stories.encode`): how a later copy finds its story."""

    @property
    def ids(self) -> range:
        return range(self.first, self.first + self.passages)


_FIELDS = [f.name for f in fields(ArticleEntry)]
_INTEGERS = {"first", "passages", "size", "mtime_ns"}
SCHEMA = pa.schema([("source", pa.string())] + [(n, pa.int64() if n in _INTEGERS else pa.string()) for n in _FIELDS])
_STORY_FIELDS = ("story", "bands")
"""Columns a table written before stories were kept lacks: read as empty (each article its own story)."""


@dataclass(frozen=True)
class TableEntry:
    """A file of the article table: its rows (live or not), its checksum, and the rows deleted since."""

    name: str
    rows: int
    checksum: str
    deleted: tuple[int, ...] = ()
    bands_checksum: str = ""
    """The checksum of its sorted band keys (`<name>.bands.npy`); empty for a file written before stories."""

    @property
    def live(self) -> int:
        return self.rows - len(self.deleted)


class Articles(Mapping[str, ArticleEntry]):
    """The articles of one index version, by source: the files `entries` in `folder` minus their deleted rows,
    and, while an update makes the next version, the articles it `removed` and `added` on top of them."""

    def __init__(self, folder: Path | None = None, entries: tuple[TableEntry, ...] = (),
                 added: dict[str, ArticleEntry] | None = None, removed: set[str] | None = None) -> None:
        self.folder, self.entries = folder, entries
        self.added = {} if added is None else added
        self.removed = set() if removed is None else removed
        self._tables: list[pa.Table] | None = None
        self._masks: dict[int, np.ndarray] = {}
        self._rows: dict[str, tuple[int, int]] | None = None
        self._spans: tuple[np.ndarray, np.ndarray] | None = None
        self._sidecars: list[np.ndarray | None] | None = None

    # --- reading ---------------------------------------------------------------------------------------

    def tables(self) -> list[pa.Table]:
        """The files, opened (checked against their checksums) and memory-mapped."""
        if self._tables is None:
            self._tables = [_read(self.folder / f"{e.name}.arrow", e) for e in self.entries]
        return self._tables

    def _live(self, t: int) -> np.ndarray:
        """Which rows of file `t` are live in this version."""
        if t not in self._masks:
            mask = np.ones(self.entries[t].rows, dtype=bool)
            mask[list(self.entries[t].deleted)] = False
            if self.removed or self.added:
                gone = self.removed | self.added.keys()
                mask &= [source not in gone for source in self.tables()[t].column("source").to_pylist()]
            self._masks[t] = mask
        return self._masks[t]

    def rows(self) -> dict[str, tuple[int, int]]:
        """Where each live article of the files is: (file, row)."""
        if self._rows is None:
            self._rows = {}
            for t, table in enumerate(self.tables()):
                places = zip(table.column("source").to_pylist(), zip(repeat(t), range(table.num_rows)))
                live = self._live(t)
                self._rows.update(places if live.all() else compress(places, live))
        return self._rows

    def __getitem__(self, source: str) -> ArticleEntry:
        if source in self.added:
            return self.added[source]
        if source in self.removed:
            raise KeyError(source)
        t, r = self.rows()[source]
        row = self.tables()[t].slice(r, 1).to_pylist()[0]
        return ArticleEntry(**{name: row[name] for name in _FIELDS})

    def __contains__(self, source: object) -> bool:
        return source in self.added or (source not in self.removed and source in self.rows())

    def __iter__(self) -> Iterator[str]:
        for (source,) in self.columns("source"):
            yield source

    def __len__(self) -> int:
        if not self.added and not self.removed:
            return sum(e.live for e in self.entries)
        return len(self.rows()) + len(self.added)

    def columns(self, *names: str) -> Iterator[tuple]:
        """The live articles' values of some columns, one tuple per article, file by file, then those added:
        what a scan of the archive needs without an object per article."""
        for t, table in enumerate(self.tables()):
            live = self._live(t)
            values = [table.column(n).to_pylist() for n in names]
            yield from (zip(*values) if live.all() else compress(zip(*values), live))
        for source, entry in self.added.items():
            yield tuple(source if n == "source" else getattr(entry, n) for n in names)

    def items(self) -> Iterator[tuple[str, ArticleEntry]]:  # type: ignore[override]
        for row in self.columns("source", *_FIELDS):
            yield row[0], ArticleEntry(*row[1:])

    def values(self) -> Iterator[ArticleEntry]:  # type: ignore[override]
        return (entry for _, entry in self.items())

    def stats(self, sources: Collection[str] | None = None) -> dict[str, Seen]:
        """Each article's file as indexed, by source (or those of `sources` that are indexed): what a corpus
        scan compares the files with."""
        if sources is not None:
            return {s: Seen(e.size, e.mtime_ns, e.text_hash) for s in sources if (e := self.get(s)) is not None}
        stats = {}
        for t, table in enumerate(self.tables()):
            sources, *values = (table.column(n).to_pylist() for n in ("source", "size", "mtime_ns", "text_hash"))
            live = self._live(t)
            rows = zip(sources, map(Seen, *values))
            stats.update(rows if live.all() else compress(rows, live))
        stats.update((source, Seen(e.size, e.mtime_ns, e.text_hash)) for source, e in self.added.items())
        return stats

    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """The live articles' first passage ids and passage counts."""
        if self._spans is not None:
            return self._spans
        firsts, counts = [], []
        for t, table in enumerate(self.tables()):
            live = self._live(t)
            firsts.append(_integers(table, "first")[live])
            counts.append(_integers(table, "passages")[live])
        firsts.append(np.fromiter((e.first for e in self.added.values()), dtype=np.int64, count=len(self.added)))
        counts.append(np.fromiter((e.passages for e in self.added.values()), dtype=np.int64, count=len(self.added)))
        self._spans = np.concatenate(firsts), np.concatenate(counts)
        return self._spans

    def story_for(self, keys: np.ndarray, gone: Collection[str] = ()) -> str | None:
        """The story of the live article sharing most band keys with `keys` (a new article's), or None: a
        binary search in each file's sorted keys, whatever the archive holds. The articles `gone` (those an
        update removes or adds anew) are not looked at."""
        if self._sidecars is None:
            self._sidecars = [None if not e.bands_checksum else stories.read_sidecar(
                self.folder / f"{e.name}.bands.npy", e.bands_checksum) for e in self.entries]
        shared: Counter[tuple[int, int]] = Counter()
        for t, sidecar in enumerate(self._sidecars):
            if sidecar is not None:
                shared.update((t, int(r)) for r in stories.rows_sharing(sidecar, keys))
        for (t, r), _ in shared.most_common():
            table = self.tables()[t]
            if not _listed(self.entries[t].deleted, r) and (source := table.column("source")[r].as_py()) not in gone \
                    and source not in self.removed and source not in self.added:
                return table.column("story")[r].as_py()
        return None

    # --- the next version ------------------------------------------------------------------------------

    def changed(self, added: dict[str, ArticleEntry], removed: set[str]) -> Articles:
        """These articles with `removed` gone and `added` put in (or in place of the old): the next version as an
        update makes it, which keeps and fills the two collections it passes."""
        view = Articles(self.folder, self.entries, added, removed)
        view._tables, view._sidecars = self._tables, self._sidecars  # the same files, already open
        return view

    def write(self, folder: Path, name: str) -> Articles:
        """This table with its added rows written as the file `name` and its removed rows recorded as deleted:
        the table as a manifest stores it."""
        gone = self.removed | self.added.keys()
        entries = []
        for entry, table in zip(self.entries, self.tables()):
            newly = {r for r, source in enumerate(table.column("source").to_pylist()) if source in gone}
            deleted = tuple(sorted(newly.union(entry.deleted)))
            entries.append(replace(entry, deleted=deleted))
        if self.added:
            entries.append(write_table(folder, name, list(self.added.items())))
        return Articles(folder, tuple(e for e in entries if e.live))

    def merged(self, folder: Path, name: str, merging: list[TableEntry]) -> Articles:
        """This table with the files `merging` rewritten as one file `name` of their live rows."""
        rows = list(Articles(self.folder, tuple(merging)).items())
        kept = tuple(e for e in self.entries if e not in merging)
        return Articles(folder, kept + ((write_table(folder, name, rows),) if rows else ()))


def write_table(folder: Path, name: str, rows: list[tuple[str, ArticleEntry]]) -> TableEntry:
    """Write `rows` as the article-table file `name` (Arrow IPC, uncompressed so that it can be mapped),
    flushed to disk."""
    columns = [[s for s, _ in rows]] + [[getattr(e, n) for _, e in rows] for n in _FIELDS]
    arrays = [_array(values, column.type) for values, column in zip(columns, SCHEMA)]
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, SCHEMA) as writer:
        writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=SCHEMA))
    data = sink.getvalue()
    files.write_bytes(folder / f"{name}.arrow", memoryview(data))
    bands = stories.write_sidecar(folder / f"{name}.bands.npy", [e.bands for _, e in rows])
    return TableEntry(name, len(rows), checksums.of_bytes(memoryview(data)), bands_checksum=bands)


def _listed(ordered: tuple[int, ...], value: int) -> bool:
    """Whether `value` is in the sorted tuple `ordered` (a binary search: a file's deleted rows)."""
    at = bisect.bisect_left(ordered, value)
    return at < len(ordered) and ordered[at] == value


def passage_mask(size: int, firsts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A mask over passage ids `0 .. size - 1`: True for the ids of the articles with these spans."""
    edges = np.zeros(size + 1, dtype=np.int64)
    np.add.at(edges, firsts, 1)
    np.add.at(edges, firsts + counts, -1)
    return np.cumsum(edges[:-1]) > 0


def _array(values: list, kind: pa.DataType) -> pa.Array:
    """An Arrow array of `values` (integers, or strings and None) made from its buffers: `pa.array` would import
    pandas to check whether `values` is one of its objects, half a second of a one-off `rag index`."""
    if kind == pa.int64():
        return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(np.array(values, dtype=np.int64))])
    encoded = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    valid = np.packbits([v is not None for v in values], bitorder="little")
    buffers = [pa.py_buffer(valid), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(kind, len(values), buffers, null_count=values.count(None))


def _integers(table: pa.Table, name: str) -> np.ndarray:
    """A column of integers as numpy (through Python: pyarrow's own `to_numpy` imports pandas, half a second
    of a one-off command)."""
    return np.array(table.column(name).to_pylist(), dtype=np.int64)


def _read(path: Path, entry: TableEntry) -> pa.Table:
    checksums.verify(path, entry.checksum)
    try:
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    except (OSError, pa.ArrowException) as exc:
        raise IndexDamaged(f"article table {path} cannot be read ({exc}); run: rag index --rebuild") from exc
    if table.schema == _BEFORE_STORIES:
        table = _with_stories(table)
    if table.schema != SCHEMA or table.num_rows != entry.rows or any(r >= entry.rows for r in entry.deleted):
        raise IndexDamaged(f"article table {path} does not hold the {entry.rows} rows the manifest says; "
                           "run: rag index --rebuild")
    return table


_BEFORE_STORIES = pa.schema([f for f in SCHEMA if f.name not in _STORY_FIELDS])


def _with_stories(table: pa.Table) -> pa.Table:
    """A table file written before stories were kept, with their columns empty."""
    for name in _STORY_FIELDS:
        table = table.append_column(SCHEMA.field(name), pa.nulls(table.num_rows, pa.string()))
    return table
