"""The index on disk, its versions and its one commit point.

    index/
      CURRENT            name of the live version and its manifest's checksum: the commit point (replaced
                         atomically)
      .lock              held by the one process updating the index (`flock`: it dies with its process)
      .lock.owner        who holds it: pid, command, since when
      segments/          vector segments (`rag.index.vectors`) and article-table files (`rag.index.table`),
                         immutable, shared by versions
      v-<generation>/    manifest.json (`rag.index.manifest`) and words/ (tantivy, `rag.index.words`)

An update builds the next version in a hidden folder: its writer (`rag.index.writers`) hard-links the live
version's tantivy files (immutable once written) and commits its changes there and writes the new vector
segments (or, for an index in Milvus, inserts rows no reader looks at yet); the update then writes the manifest
naming the segments and the checksum of every file, renames the folder into place and only then replaces
CURRENT. Everything before that last step is invisible to readers; a process killed at any moment leaves
CURRENT naming a whole version, and the next update removes what the killed one left. The cost of an
update is its change plus the merges the merge policies start, not the archive: it writes only its new
vectors, passages and article rows, and a manifest that names files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from rag.errors import IndexBusy, IndexDamaged, IndexMissing, RagError
from rag.index import checksums, files, merging, stories
from rag.index.manifest import Manifest, live_ids
from rag.index.sentences import Sentences
from rag.index.table import ArticleEntry, Articles
from rag.index.vectors import FaissSegments, VectorIndex
from rag.index.words import LexicalIndex, StoredPassage, TantivyWords
from rag.index.writers import SEGMENTS, WORDS, IndexWriter, Version, open_writer
from rag.settings import lock_timeout

POINTER = "CURRENT"
LOCK = ".lock"
OWNER = ".lock.owner"
"""Who holds the writer lock (pid, command, since when), for the message of an update that waits for it."""
KEEP_VERSIONS = 2
"""The live version and the one before it stay on disk, so a reader that just resolved the old pointer can
still open it."""
_VERSION = re.compile(r"v-\d{8}")
_POINTER = re.compile(r"(v-\d{8})(?: ([0-9a-f]{16}))?")


@dataclass
class Stored:
    """An opened index version: its manifest, its words and passages, and its vectors."""

    version: str
    manifest: Manifest
    words: LexicalIndex
    vectors: VectorIndex

    @property
    def fitted(self):
        """The retrieval settings this index was built with (see `rag.fitted`)."""
        return self.manifest.fitted


def check_folder(index: Path) -> None:
    """Raise a clear error when the index path exists but is not a folder."""
    if index.exists() and not index.is_dir():
        raise RagError(f"index path {index} is a file, not a folder: remove it or pass another --index")


def _pointer(index: str | Path) -> tuple[str, str | None] | None:
    """The live version's name and its manifest's checksum (None in an index older than checksums), or None
    when there is no index. The pointer may only name a version folder inside the index."""
    try:
        with open(os.path.join(index, POINTER), encoding="utf-8") as fh:
            text = fh.read(64).strip()
    except (FileNotFoundError, NotADirectoryError):
        check_folder(Path(index))
        return None
    except (OSError, UnicodeError) as exc:
        raise IndexDamaged(f"cannot read {Path(index) / POINTER} ({exc}); run: rag index --rebuild") from exc
    match = _POINTER.fullmatch(text)
    if match is None:
        raise IndexDamaged(f"{Path(index) / POINTER} does not name a version of this index; run: rag index --rebuild")
    return match.group(1), match.group(2)


def current_version(index: str | Path) -> str | None:
    """Name of the live version, or None when there is no index (one small read: it runs per question)."""
    pointer = _pointer(index)
    return pointer and pointer[0]


def pointer_stamp(index: str | Path) -> tuple[int, int, int] | None:
    """Identity of the CURRENT file (inode, mtime, size), which every swap changes: a stat, cheaper than a read."""
    try:
        st = os.stat(os.path.join(index, POINTER))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def read_manifest(index: str | Path) -> tuple[str, Manifest]:
    """The live version's name and manifest, without opening words or vectors (`rag status`)."""
    index = Path(index)
    pointer = _pointer(index)
    if pointer is None:
        raise IndexMissing(f"no index in {index}: run: rag index --index {index}")
    version, checksum = pointer
    path = index / version / "manifest.json"
    try:
        raw = path.read_bytes()
        if checksum is not None and checksums.of_bytes(raw) != checksum:
            raise IndexDamaged(f"{path} is damaged (its checksum is not the one recorded in {index / POINTER}); "
                               "run: rag index --rebuild")
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise IndexDamaged(f"the index in {index} is damaged ({exc}); run: rag index --rebuild") from exc
    manifest = Manifest.from_json(data, index)  # an index without checksums fails here, on its format
    if checksum is None:
        raise IndexDamaged(f"{index / POINTER} lacks the manifest's checksum; run: rag index --rebuild")
    return version, manifest


def load(index: str | Path) -> Stored:
    """The live version of the index, opened (memory-mapped) and checked for consistency."""
    index = Path(index)
    version, manifest = read_manifest(index)
    if manifest.remote:
        from rag.index import milvus  # pymilvus is imported only for an index in Milvus

        words, vectors = milvus.open_version(index / version, manifest, live_ids(manifest))
        return Stored(version, manifest, words, vectors)
    words = TantivyWords(index / version / WORDS, manifest.fitted.prefix, manifest.words)
    vectors = FaissSegments(index / SEGMENTS, manifest.segments, live_ids(manifest), manifest.dimension)
    if words.size != manifest.passages or sum(s.live for s in vectors.segments) != manifest.passages:
        raise IndexDamaged(f"the index in {index} is damaged: {words.size} passages and "
                           f"{sum(s.live for s in vectors.segments)} vectors, the manifest says {manifest.passages}; "
                           "run: rag index --rebuild")
    return Stored(version, manifest, words, vectors)


class Update:
    """The next version of an index, being made: articles deleted and added, then `commit` makes it live.

    It keeps the article table and the commit point; the passages go to the backend's `IndexWriter`
    (`rag.index.writers`). Use only with `writing()` held. Passage ids are given out in the order articles are
    added.
    """

    def __init__(self, index: Path, previous: Manifest | None, base: Manifest, optimize: bool = False) -> None:
        """The next version after `previous` (None: a new index), whose manifest starts as `base`. With
        `optimize` the commit merges what the backend can merge: all vector segments into one, the word index
        without its deleted passages, the article table's files."""
        self.index = index
        index.mkdir(parents=True, exist_ok=True)
        self.generation = _generation(index) + 1
        self.version = f"v-{self.generation:08d}"
        self.tmp = index / f".tmp-{self.version}"
        _collect_garbage(index)
        self.tmp.mkdir(parents=True)
        (index / SEGMENTS).mkdir(exist_ok=True)
        self.previous = (current_version(index), previous) if previous is not None else None
        self.optimize = optimize
        self.writer: IndexWriter = open_writer(Version(index, self.tmp, self.generation, base, previous,
                                                       None if previous is None else index / self.previous[0],
                                                       optimize))
        self.base = base
        # filled in place (a copy per added article would be quadratic), from what the base has not written yet
        self.added: dict[str, ArticleEntry] = dict(base.articles.added)
        self.removed: set[str] = set(base.articles.removed)
        self.next_id = base.next_id
        self._keys: dict[int, str] = {}
        """The band keys of the articles this update added, to the source of each (`story_for`)."""

    @property
    def manifest(self) -> Manifest:
        """The manifest of the version being made, as it stands."""
        return self.base.evolve(articles=self.base.articles.changed(self.added, self.removed), next_id=self.next_id)

    def delete(self, sources: list[str]) -> None:
        """Remove these articles (their passages stop being live)."""
        self.writer.delete({source: entry for source in sources if (entry := self._listed(source))})
        for source in sources:
            self.added.pop(source, None)
            self.removed.add(source)

    def _listed(self, source: str) -> ArticleEntry | None:
        """The article as the version being made lists it, None when it does not (the base's table: its row map
        built once, not the whole archive's again for the manifest as it stands)."""
        if source in self.added:
            return self.added[source]
        return None if source in self.removed else self.base.articles.get(source)

    def restat(self, source: str, size: int, mtime_ns: int) -> None:
        """Record a new size and modification time for an article whose file changed but whose text did not."""
        entry = self.added.get(source) or self.base.articles[source]  # the base's table: its row map built once
        self.added[source] = replace(entry, size=size, mtime_ns=mtime_ns)

    def story_for(self, keys: np.ndarray) -> str | None:
        """The story of the article already in the index, or added by this update, that shares most band keys
        with `keys` (`rag.index.stories`); None: a story of its own."""
        mine = Counter(source for key in keys.tolist() if (source := self._keys.get(key)) in self.added)
        if mine:
            return self.added[mine.most_common(1)[0][0]].story
        return self.base.articles.story_for(keys, self.removed)

    def add(self, source: str, entry: ArticleEntry, passages: list[tuple[int, int, str]], vectors: np.ndarray,
            sentences: Sentences) -> None:
        """Add an article (`entry` without its ids and story yet) with its passages (start, end, text), their vectors
        and their sentences' (each passage's sentence count and all their vectors: `rag.index.sentences.encode`);
        its story is that of a near-duplicate already there, else a new one."""
        first = self.next_id
        stored = [StoredPassage(first + n, source, start, end, text) for n, (start, end, text) in enumerate(passages)]
        keys = stories.decode(entry.bands)
        story = self.story_for(keys) or entry.text_hash[:16] or source
        self.added[source] = entry = replace(entry, first=first, passages=len(passages), story=story)
        self._keys.update(dict.fromkeys(keys.tolist(), source))
        self.next_id = first + len(passages)
        self.writer.add(entry, stored, vectors, sentences)

    def commit(self) -> str:
        """Have the writer make its passages durable, write the article table (merged as the policy, or
        `optimize`, says) and make the new version live; returns its name."""
        manifest = self.writer.commit(self.manifest)
        self.base = manifest.evolve(articles=self._write_articles(manifest.articles),
                                    built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        files.fsync_dir(self.index / SEGMENTS)
        self._publish()
        self.writer.published()
        return self.version

    def _publish(self) -> None:
        """Write the manifest, move the version into place and replace CURRENT: the commit point."""
        self.added, self.removed = {}, set()
        data = json.dumps(self.manifest.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        files.write_bytes(self.tmp / "manifest.json", data)
        files.fsync_dir(self.tmp)
        os.rename(self.tmp, self.index / self.version)
        files.fsync_dir(self.index)
        pointer = f"{self.version} {checksums.of_bytes(data)}"
        files.replace_file(self.index / POINTER, pointer.encode())  # the commit point
        known = {self.version: self.manifest}
        if self.previous is not None:
            known[self.previous[0]] = self.previous[1]
        _collect_garbage(self.index, known)

    def _write_articles(self, articles: Articles) -> Articles:
        """The article table with this update's rows written as a new file, merged as the policy says."""
        folder = self.index / SEGMENTS
        articles = articles.write(folder, f"a-{self.generation:08d}")
        for round_ in range(len(articles.entries)):
            chosen = merging.to_merge(articles.entries, {e.name: e.live for e in articles.entries},
                                      self.optimize and round_ == 0)
            if not chosen:
                break
            articles = articles.merged(folder, f"a-{self.generation:08d}-m{round_}", chosen)
        return articles


def _generation(index: Path) -> int:
    """The highest version number in the folder (live, old or half-written), so a new one never reuses a name."""
    numbers = [int(m.group(1)) for p in index.iterdir() if (m := re.fullmatch(r"(?:\.tmp-)?v-(\d{8})", p.name))]
    return max(numbers, default=0)


def _collect_garbage(index: Path, known: dict[str, Manifest] | None = None) -> None:
    """Remove half-written versions, all but the newest KEEP_VERSIONS whole ones, and then, when `known` is
    given, the vector segments no kept version names. A kept version's manifest is taken from `known` when
    there (an update holds the two it keeps: reading an archive's manifest costs a second), else read."""
    live = current_version(index)
    versions = sorted(p.name for p in index.glob("v-*") if p.is_dir() and _VERSION.fullmatch(p.name))
    keep = set(versions[-KEEP_VERSIONS:]) | ({live} if live else set())
    for path in index.iterdir():
        stale = path.name.startswith(".tmp-v-") or (_VERSION.fullmatch(path.name) and path.name not in keep)
        if stale and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    if known is None:
        return
    named: set[str] = set()
    for version in keep:
        try:
            if version in known:
                named |= {s.name for s in known[version].segments} | {t.name for t in known[version].articles.entries}
            else:
                data = json.loads((index / version / "manifest.json").read_text(encoding="utf-8"))
                named |= {s["name"] for s in data["segments"] + data.get("tables", [])}
        except (OSError, ValueError, KeyError, TypeError):
            return  # a version we cannot read: keep every segment rather than guess
    for path in (index / SEGMENTS).iterdir() if (index / SEGMENTS).is_dir() else ():
        if path.name[:2] in ("s-", "a-") and path.name.split(".")[0] not in named:
            path.unlink(missing_ok=True)


@contextmanager
def writing(index: str | Path, on_wait=None, timeout: float | None = None) -> Iterator[None]:
    """Hold the index's writer lock, waiting at most `timeout` seconds (default `settings.lock_timeout()`) for
    another writer; `on_wait(holder)` is called once if one holds it first, `holder` saying who it is.

    The lock is the operating system's (`flock`): it dies with its process, so a killed updater never leaves a
    stale lock behind. Raises `IndexBusy`, naming the holder, when the wait runs out."""
    index = Path(index)
    check_folder(index)
    try:
        index.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RagError(f"cannot create the index folder {index}: {exc.strerror}") from exc
    lock = FileLock(str(index / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _holder(index)
        wait = lock_timeout() if timeout is None else timeout
        if on_wait and wait > 0:
            on_wait(holder)
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise IndexBusy(f"the index {index} is being updated by {holder}; gave up after waiting {wait:g} s "
                            "(wait longer with --wait SECONDS or RAG_LOCK_TIMEOUT)") from None
    except OSError as exc:
        raise RagError(f"cannot lock the index folder {index}: {exc.strerror}") from exc
    owner = index / OWNER
    try:
        command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]])[:200]
        owner.write_text(json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                                     "command": command}), encoding="utf-8")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _holder(index: Path) -> str:
    """Who holds the writer lock, as its owner file says: pid, command and since when."""
    try:
        owner = json.loads((index / OWNER).read_text(encoding="utf-8"))
        pid, since, command = int(owner["pid"]), str(owner["since"]), str(owner["command"])
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"process {pid} ({command}, since {since}), which is not running on this machine"
    except PermissionError:
        pass
    return f"process {pid} ({command}, since {since})"
