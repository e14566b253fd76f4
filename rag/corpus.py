"""Reading a folder of articles: UTF-8 (or detected legacy encodings) text with optional YAML front matter.

Files that cannot be indexed are not fatal: they come back as `Skipped` with the reason, so the rest of
the corpus is still indexed and the summary can name each one.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

import yaml
from charset_normalizer import from_bytes

from rag import dates
from rag.errors import RagError
from rag.settings import MAX_ARTICLE_BYTES

ARTICLE_SUFFIXES = (".txt", ".md")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_ARCHIVE_DATE = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})(?:\s+|\Z)")
"""How the news-site archive (../shared/seeds) dates an article: ` date 2026-03-04 ` before its first words."""
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.01
"""Text with more control characters than this share is binary content under a text name."""
MAX_FRONT_MATTER = 16 * 1024
MAX_FRONT_MATTER_DEPTH = 8
"""Front matter holds a few one-line fields: larger or deeper YAML is refused before it is built."""


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases (540 bytes of `&a [*a, *a]` layers expand to gigabytes) and with
    nesting bounded, so no file can make the reader build more than its own few KiB."""

    depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed",
                                              self.peek_event().start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_FRONT_MATTER_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_FRONT_MATTER_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


@dataclass(frozen=True)
class Article:
    """One article: `text` is what offsets refer to; `source` is its path relative to the corpus folder."""

    source: str
    title: str
    text: str
    date: str | None = None
    publisher: str | None = None
    url: str | None = None

    @property
    def digest(self) -> str:
        """Content hash of everything indexed about the article (text and metadata)."""
        meta = "\x1f".join(str(v) for v in (self.title, self.date, self.publisher, self.url))
        return hashlib.sha256(f"{meta}\x1e{self.text}".encode()).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    source: str
    reason: str


def decode(data: bytes) -> tuple[str, str | None]:
    """Text of a file's bytes and, when it was not UTF-8, the encoding it was read as.

    Raises ValueError for binary content or text whose encoding cannot be told.
    """
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        text, encoding = data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise ValueError("not UTF-8 and its encoding could not be detected") from None
        text, encoding = str(best), best.encoding
    if len(_CONTROL.findall(text)) > MAX_CONTROL_SHARE * len(text):
        raise ValueError("binary file (control characters throughout)")
    return text, encoding


def parse_article(source: str, raw: str) -> Article:
    """An Article from a file's text: YAML front matter (title, date, publisher or source, url) then the body.

    Without a date in front matter, a leading `date YYYY-MM-DD` (the news-site archive's form, as in
    ../shared/seeds) is the date and not part of the text the offsets refer to; one that is no real day
    stays text. Raises ValueError for broken front matter or an empty body.
    """
    meta: dict = {}
    body = raw
    match = _FRONT_MATTER.match(raw)
    if match:
        if len(match.group(1)) > MAX_FRONT_MATTER:
            raise ValueError(f"broken front matter (over {MAX_FRONT_MATTER // 1024} KiB)")
        try:
            meta = yaml.load(match.group(1), Loader=_FrontMatterLoader) or {}  # a safe loader, see above
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise ValueError(f"broken front matter ({first})") from None
        if not isinstance(meta, dict):
            raise ValueError("broken front matter (it is not a mapping of keys to values)")
        body = raw[match.end():]
    elif raw.startswith("---"):
        raise ValueError("broken front matter (no closing '---' line)")
    dated = _ARCHIVE_DATE.match(body)
    if dated and "date" not in meta and dates.day(dated.group(1)) is not None:
        meta["date"] = dated.group(1)
        body = body[dated.end():]
    body = body.strip()
    if not body:
        raise ValueError("empty article")

    def field(name: str) -> str | None:
        value = meta.get(name)
        return None if value is None else str(value).strip() or None

    title = field("title") or Path(source).stem.replace("_", " ")
    return Article(source, title, body, field("date"), field("publisher") or field("source"), field("url"))


def future_date(value: str | None) -> str | None:
    """`value` when it is an ISO date after tomorrow (a typo or an embargo worth a word), else None."""
    day = dates.day(value)
    return value if day is not None and day > datetime.date.today() + datetime.timedelta(days=1) else None


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def article_files(corpus: Path) -> list[tuple[str, str]]:
    """Article files below `corpus` with their names relative to it, in a stable order; hidden files and
    folders left out, linked folders not entered (one `scandir` per folder: archives hold many files)."""
    found: list[tuple[str, str]] = []
    folders = [(os.fspath(corpus), "")]
    while folders:  # a stack, not recursion: any depth of folders
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, f"{prefix}{entry.name}/"))
                elif entry.name.lower().endswith(ARTICLE_SUFFIXES):
                    found.append((prefix + entry.name, entry.path))
    return sorted(found)


class FileStat(Protocol):
    """A file as last read: its size and modification time, and the hash of its article's text (a `Seen`, or
    the index's `ArticleEntry`, which records the same)."""

    size: int
    mtime_ns: int
    text_hash: str


class Seen(NamedTuple):
    """A file as read: its size and modification time, and the hash of its article's text (a tuple: the index
    makes one per article of an archive when it compares the corpus with its table)."""

    size: int
    mtime_ns: int
    text_hash: str


@dataclass(frozen=True)
class Corpus:
    """What a corpus folder holds: the articles to read and index, the files unchanged since they were last
    indexed (not read again), the files skipped and why, notes on the rest, and how each file was seen."""

    articles: list[Article]
    skipped: list[Skipped]
    notes: list[Skipped]
    unchanged: list[str] = field(default_factory=list)
    seen: dict[str, FileStat] = field(default_factory=dict)


def text_hash(text: str) -> str:
    """The hash duplicates are told by: of the article's text alone."""
    return hashlib.sha256(text.encode()).hexdigest()


def source_name(corpus: str | Path, path: str | Path) -> str:
    """The name an article file has in the index (its path relative to the corpus folder, with '/'), from a
    path given as on a command line; a path outside the folder is an error."""
    root, full = Path(corpus).resolve(), Path(os.path.abspath(path))
    try:
        relative = full.relative_to(root)
    except ValueError:
        try:
            relative = full.resolve().relative_to(root)
        except ValueError:
            raise RagError(f"{path} is not inside the corpus folder {corpus}",
                           russian=f"файл {path} лежит вне папки корпуса {corpus}") from None
    if not relative.parts:
        raise RagError(f"{path} is the corpus folder itself, not an article in it",
                       russian=f"{path} — это сама папка корпуса, а не статья в ней")
    return relative.as_posix()


def _named_files(corpus: Path, sources: Collection[str]) -> list[tuple[str, str]]:
    """`article_files` for the files `sources` names alone (those not there now are left out: removed)."""
    named = []
    for source in sorted(set(sources)):
        parts = source.split("/")
        if any(p.startswith(".") or p in ("", "..") for p in parts) or not source.lower().endswith(ARTICLE_SUFFIXES):
            continue
        path = os.path.join(corpus, *parts)
        if os.path.lexists(path) and not os.path.isdir(path):
            named.append((source, path))
    return named


def load_corpus(corpus: str | Path, known: Mapping[str, FileStat] | None = None,
                only: Collection[str] | None = None) -> Corpus:
    """Every indexable article of a folder (or of the files `only` names), the files skipped with their
    reasons, and notes (e.g. encodings).

    A file whose size and modification time are those in `known` is listed as unchanged without being read
    (as git's index does), so that scanning an archive for one new article costs a `stat` per file."""
    folder = Path(corpus)
    if not folder.exists():
        raise RagError(f"corpus folder {folder} does not exist")
    if not folder.is_dir():
        raise RagError(f"corpus {folder} is not a folder")
    root = folder.resolve()
    articles: list[Article] = []
    skipped: list[Skipped] = []
    notes: list[Skipped] = []
    known = known or {}
    stats: dict[str, FileStat] = {}
    unchanged: list[str] = []
    files = article_files(folder) if only is None else _named_files(folder, only)
    for source, path in files:  # the unchanged first, so a new copy of an indexed article is the duplicate
        was = known.get(source)
        if was is None:
            continue
        try:
            st = os.lstat(path)  # a link is read (and checked) again, whatever it points to
        except OSError:
            continue
        if (was.size, was.mtime_ns) == (st.st_size, st.st_mtime_ns) and stat.S_ISREG(st.st_mode):
            unchanged.append(source)
            stats[source] = was
    seen: dict[str, str] = {stats[s].text_hash: s for s in unchanged}
    for source, name in files:
        if source in stats:
            continue
        path = Path(name)
        try:
            if path.is_symlink() and not _is_inside(path, root):
                raise ValueError("symbolic link pointing outside the corpus folder")
            if not path.is_file():
                raise ValueError("not a regular file (broken link?)")
            st = path.stat()
            size = st.st_size
            if size > MAX_ARTICLE_BYTES:
                raise ValueError(f"too large ({size // 1024} KiB; the limit is {MAX_ARTICLE_BYTES // 1024} KiB)")
            text, encoding = decode(path.read_bytes())
            article = parse_article(source, text)
        except (OSError, ValueError) as exc:
            skipped.append(Skipped(source, str(exc)))
            continue
        body_hash = text_hash(article.text)
        if body_hash in seen:
            skipped.append(Skipped(source, f"duplicate of {seen[body_hash]}"))
            continue
        seen[body_hash] = source
        stats[source] = Seen(st.st_size, st.st_mtime_ns, body_hash)
        if encoding:
            notes.append(Skipped(source, f"not UTF-8: read as {encoding}"))
        if (when := future_date(article.date)) is not None:
            notes.append(Skipped(source, f"its date {when} is in the future"))
        articles.append(article)
    return Corpus(articles, skipped, notes, unchanged, stats)
