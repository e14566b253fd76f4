"""The manifest of an index version: one typed object saying everything that version holds.

It names the model and the retrieval settings fitted for it, every article (content hash, metadata and the
range of passage ids it owns) and the vector segments. A passage id is never reused: a removed or replaced
article's ids simply stop being live, and the segments holding them drop them at their next merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import pairwise

from rag.errors import IndexDamaged
from rag.fitted import Fitted

FORMAT = 4
"""Version 4: words in tantivy, vectors in FAISS segments, passages named by ids (see `rag.index.store`), a
checksum for every file (`rag.index.checksums`)."""


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

    @property
    def ids(self) -> range:
        return range(self.first, self.first + self.passages)


@dataclass(frozen=True)
class SegmentEntry:
    """A vector segment: how many vectors it holds (live or not), whether its search is approximate, and the
    checksums of its two files (`<name>.faiss`, `<name>.ids.npy`)."""

    name: str
    rows: int
    approximate: bool
    checksum: str
    ids_checksum: str


@dataclass(frozen=True)
class Manifest:
    """What one index version holds; `next_id` is the first passage id never given out."""

    model: str
    dimension: int
    fitted: Fitted
    built_at: str
    corpus: str
    articles: dict[str, ArticleEntry] = field(default_factory=dict)
    segments: tuple[SegmentEntry, ...] = ()
    words: dict[str, str] = field(default_factory=dict)
    """The files of the version's word index and their checksums."""
    next_id: int = 0
    format: int = FORMAT
    backend: dict = field(default_factory=dict)
    """Where the passages live when not in this folder (`rag.index.milvus`): kind, URI (never a password),
    collection, and the ranges of passage ids retired by this version's update; empty: here (tantivy, FAISS)."""

    @property
    def remote(self) -> bool:
        """Whether the passages live in Milvus rather than in the index folder."""
        return bool(self.backend)

    @property
    def passages(self) -> int:
        """Live passages: those of the listed articles."""
        return sum(a.passages for a in self.articles.values())

    def evolve(self, **changes) -> Manifest:
        return replace(self, **changes)

    def to_json(self) -> dict:
        """The manifest as stored in `manifest.json` and printed by `rag status --json`."""
        return {
            "format": self.format, "model": self.model, "dimension": self.dimension,
            "fitted": self.fitted.to_json(), "built_at": self.built_at, "corpus": self.corpus,
            "passages": self.passages, "next_id": self.next_id,
            "segments": [dict(s.__dict__) for s in self.segments], "words": self.words,
            "articles": {source: dict(a.__dict__) for source, a in self.articles.items()},
        } | ({"backend": self.backend} if self.backend else {})

    @classmethod
    def from_json(cls, data: dict, where: str) -> Manifest:
        """The manifest read from JSON, checked: anything missing or inconsistent raises `IndexDamaged`."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise IndexDamaged(f"the index in {where} has format {found}, not {FORMAT}; run: rag index --rebuild")
        try:
            manifest = cls(
                model=str(data["model"]), dimension=int(data["dimension"]), fitted=Fitted.from_json(data["fitted"]),
                built_at=str(data["built_at"]), corpus=str(data["corpus"]), next_id=int(data["next_id"]),
                segments=tuple(SegmentEntry(**s) for s in data["segments"]),
                words={str(name): str(checksum) for name, checksum in data["words"].items()},
                articles={str(source): ArticleEntry(**a) for source, a in data["articles"].items()},
                backend=dict(data.get("backend", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IndexDamaged(f"the index in {where} is damaged (manifest.json lacks or garbles {exc}); "
                               "run: rag index --rebuild") from exc
        problems = manifest._problems()
        if problems:
            raise IndexDamaged(f"the index in {where} is damaged: {problems}; run: rag index --rebuild")
        return manifest

    def _problems(self) -> str | None:
        if self.dimension <= 0:
            return f"dimension {self.dimension}"
        spans = sorted((a.first, a.first + a.passages, source) for source, a in self.articles.items())
        for (_, end, one), (start, _, other) in pairwise(spans):
            if start < end:
                return f"articles {one} and {other} share passage ids"
        if spans and (spans[0][0] < 0 or spans[-1][1] > self.next_id):
            return "passage ids beyond the manifest's range"
        if not self.remote and sum(s.rows for s in self.segments) < self.passages:
            return "fewer vectors than passages"
        return None
