"""The manifest of an index version: one typed object saying everything that version holds.

It names the model and the retrieval settings fitted for it, the files of the article table (every article's
content hash, metadata and the range of passage ids it owns: `rag.index.table`), the vector segments and the
word index's files. A passage id is never reused: a removed or replaced article's ids simply stop being
live, and the segments holding them drop them at their next merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rag.errors import IndexDamaged
from rag.fitted import Fitted, for_model
from rag.index.table import ArticleEntry, Articles, TableEntry, passage_mask

FORMAT = 6
"""Version 6: the sentence vectors of each passage stored in its segment (`rag.index.sentences`), their
blocks' checksums too (`SegmentEntry.sentence_blocks`) in segments written since they were verified by block;
those written before are verified whole, as they were (the format did not change: each segment says which it
is). Version 5
(the article table in Arrow files) stored none: it is still read, its passages' sentences encoded when a
question first needs them, as then, and its next update writes version 6 (`rag index --rebuild` stores them
all). Version 4 (words in tantivy, vectors in FAISS segments, passages named by ids, a checksum for every
file) listed the articles in the manifest itself: it is read as version 5."""
READABLE = (4, 5, FORMAT)


@dataclass(frozen=True)
class SegmentEntry:
    """A vector segment: how many vectors it holds (live or not), whether its search is approximate, and the
    checksums of its files (`<name>.faiss`, `<name>.ids.npy`, `<name>.sentences.npy`,
    `<name>.sentence_counts.npy`, `<name>.sentence_blocks.npy`; the sentences' None in a segment of format 5,
    which has none, and the blocks' in one written before sentence files were verified by block: its sentence
    file is verified whole at opening)."""

    name: str
    rows: int
    approximate: bool
    checksum: str
    ids_checksum: str
    sentences: str | None = None
    sentence_counts: str | None = None
    sentence_blocks: str | None = None


LOCAL = "local"
MILVUS = "milvus"


@dataclass(frozen=True)
class Backend:
    """Where a version's passages live (`rag.index.writers` picks the writer by `kind`): `LOCAL`, in the index
    folder (tantivy, FAISS segments), or `MILVUS` (`rag.index.milvus`) at `uri` (never with a password) in
    `collection`, where `retired` are the [first, end) passage id ranges this version's update retired (deleted
    after its commit, and again by the next update should a crash come between) and `sentences` whether the
    collection holds its passages' sentence vectors (one made before they were stored does not)."""

    kind: str = LOCAL
    uri: str = ""
    collection: str | None = None
    retired: tuple[tuple[int, int], ...] = ()
    sentences: bool = False

    @property
    def remote(self) -> bool:
        """Whether the passages live outside the index folder."""
        return self.kind != LOCAL

    def place(self) -> Backend:
        """Where this backend is, without what one version put there: what a rebuild keeps."""
        return Backend(self.kind, self.uri)

    def to_json(self) -> dict:
        """As `manifest.json` keeps it: nothing for a local index (as before there was a choice)."""
        if not self.remote:
            return {}
        return {"kind": self.kind, "uri": self.uri, "collection": self.collection,
                "retired": [list(r) for r in self.retired], "sentences": self.sentences}

    @classmethod
    def from_json(cls, data: dict) -> Backend:
        """The backend `to_json` (or an older version, which wrote only the keys it had) wrote; ValueError for
        an unknown kind."""
        if not data:
            return cls()
        if data.get("kind") != MILVUS:
            raise ValueError(f"backend {data.get('kind')!r}")
        collection = data.get("collection")
        return cls(MILVUS, str(data["uri"]), None if collection is None else str(collection),
                   tuple((int(a), int(b)) for a, b in data.get("retired", ())), bool(data.get("sentences")))


@dataclass(frozen=True)
class Manifest:
    """What one index version holds; `next_id` is the first passage id never given out."""

    model: str
    dimension: int
    fitted: Fitted
    built_at: str
    corpus: str
    articles: Articles = field(default_factory=Articles)
    segments: tuple[SegmentEntry, ...] = ()
    words: dict[str, str] = field(default_factory=dict)
    """The files of the version's word index and their checksums."""
    next_id: int = 0
    format: int = FORMAT
    backend: Backend = field(default_factory=Backend)

    @property
    def remote(self) -> bool:
        """Whether the passages live outside the index folder (in Milvus)."""
        return self.backend.remote

    @property
    def passages(self) -> int:
        """Live passages: those of the listed articles."""
        return int(self.articles.spans()[1].sum())

    def evolve(self, **changes) -> Manifest:
        return replace(self, **changes)

    def to_json(self, listing: bool = False) -> dict:
        """The manifest as stored in `manifest.json` (the article table by its files), or, with `listing`, as
        `rag status --json` prints it: every article too."""
        data = {
            "format": self.format, "model": self.model, "dimension": self.dimension,
            "fitted": self.fitted.to_json(), "built_at": self.built_at, "corpus": self.corpus,
            "passages": self.passages, "next_id": self.next_id,
            "segments": [dict(s.__dict__) for s in self.segments], "words": self.words,
            "tables": [dict(t.__dict__) for t in self.articles.entries],
        } | ({"backend": self.backend.to_json()} if self.remote else {})
        if listing:
            data["articles"] = {source: {k: v for k, v in a.__dict__.items() if k != "bands"}  # LSH keys: noise
                                for source, a in self.articles.items()}
        return data

    @classmethod
    def from_json(cls, data: dict, index: Path) -> Manifest:
        """The manifest read from JSON, its article table in `index`'s segments folder, checked: anything missing
        or inconsistent raises `IndexDamaged`. A version 4 manifest's articles become rows its next update
        writes."""
        if not isinstance(data, dict) or data.get("format") not in READABLE:
            found = data.get("format") if isinstance(data, dict) else None
            raise IndexDamaged(f"the index in {index} has format {found}, not {FORMAT}; run: rag index --rebuild")
        try:
            if data["format"] == 4:
                listed = {str(source): ArticleEntry(**a) for source, a in data["articles"].items()}
                articles = Articles(index / "segments").changed(listed, set())
            else:
                articles = Articles(index / "segments", tuple(TableEntry(**{**t, "deleted": tuple(t["deleted"])})
                                                              for t in data["tables"]))
            manifest = cls(
                model=str(data["model"]), dimension=int(data["dimension"]), fitted=Fitted.from_json(data["fitted"], for_model(str(data["model"]))),
                built_at=str(data["built_at"]), corpus=str(data["corpus"]), next_id=int(data["next_id"]),
                segments=tuple(SegmentEntry(**s) for s in data["segments"]),
                words={str(name): str(checksum) for name, checksum in data["words"].items()}, articles=articles,
                backend=Backend.from_json(data.get("backend") or {}),
            )
            problems = manifest._problems()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IndexDamaged(f"the index in {index} is damaged (manifest.json lacks or garbles {exc}); "
                               "run: rag index --rebuild") from exc
        if problems:
            raise IndexDamaged(f"the index in {index} is damaged: {problems}; run: rag index --rebuild")
        return manifest

    def _problems(self) -> str | None:
        if self.dimension <= 0:
            return f"dimension {self.dimension}"
        if len(self.articles.entries) != len({t.name for t in self.articles.entries}):
            return "an article table file listed twice"
        firsts, counts = self.articles.spans()
        order = np.argsort(firsts, kind="stable")
        firsts, ends = firsts[order], (firsts + counts)[order]
        if len(firsts) and (firsts[1:] < ends[:-1]).any():
            return "two articles share passage ids"
        if len(firsts) and (firsts[0] < 0 or ends.max() > self.next_id):
            return "passage ids beyond the manifest's range"
        if not self.remote and sum(s.rows for s in self.segments) < counts.sum():
            return "fewer vectors than passages"
        return None


def live_ids(manifest: Manifest) -> np.ndarray:
    """A mask over all passage ids ever given out: True for those of the listed articles."""
    return passage_mask(manifest.next_id, *manifest.articles.spans())
